"""Retention curves: how long customers stay, by group (Kaplan–Meier, with median lifetime and 95% intervals).

Built on lifelines' ``KaplanMeierFitter``. Time is tenure in months; the lifetimes are the
features package's view (:func:`cxlib.features.lifetime_table`) or the churn panel's follow-up.

Examples
--------
>>> curves = RetentionCurves().fit(lifetimes, group_col="plan")  # doctest: +SKIP
>>> curves.summary_[["group", "median_months", "median_ci_low", "median_ci_high"]]  # doctest: +SKIP
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from lifelines import KaplanMeierFitter
from lifelines.utils import median_survival_times

from cxlib.churn._panel import LABEL
from cxlib.features._time import CALENDAR_SLACK_DAYS, DAYS_PER_MONTH
from cxlib.stats._fitted import FittedModel, summary_frame
from cxlib.stats._notes import Note
from cxlib.stats._suppression import pool_small_groups

#: Months at which :class:`RetentionCurves` reports retention by default.
DEFAULT_HORIZONS = (12, 24)


class _RetentionAtFirstHorizon:
    """``estimate_name`` of :class:`RetentionCurves`: retention at the model's first horizon."""

    def __get__(self, model, owner=None) -> str:
        horizons = DEFAULT_HORIZONS if model is None else model.horizons
        return f"retention at {horizons[0]} months"


class RetentionCurves(FittedModel):
    """Kaplan–Meier retention curves by group, with median lifetime and 95% intervals.

    Parameters
    ----------
    alpha : float
        1 - confidence level.
    min_group_size : int
        Groups with fewer customers are pooled into one ``Other (n groups)`` curve (with the next
        smallest group when needed, see :func:`cxlib.stats._suppression.pool_small_groups`), so no small
        group's figures can be derived from the totals.
    horizons : tuple of int
        Months at which retention is reported.

    Attributes
    ----------
    fitters_ : dict
        Group -> fitted ``KaplanMeierFitter``.
    group_col_ : str or None
        The grouping column.
    flag_ : bool
        True when the grouping column is a yes/no flag (numbers 0 and 1 only): its groups are
        then ``"1"`` (customers with the flag, first) and ``"0"`` (without); reports name them
        with :func:`cxlib.report.group_label` ("With unresolved complaint").
    summary_ : DataFrame
        One row per group: the standard columns (``term`` and ``label`` are the group, as
        ``group``; ``estimate`` the share still a customer at the first horizon with its
        interval; no p-values), then group, group_col and flag (as :attr:`group_col_` and
        :attr:`flag_`, so a report can name the group from the table alone), customers, churned,
        median_months (inf = not reached), its interval (median_ci_low, median_ci_high), and
        retention at each horizon with its interval (``retention_12m``, ``retention_12m_low``,
        ``retention_12m_high``, ...).
    caveats_ : list of Note
        Groups pooled or not shown, medians not reached; sentences from :func:`cxlib.report.render`.
    """

    estimate_name = _RetentionAtFirstHorizon()
    null_value = None

    def __init__(self, alpha: float = 0.05, min_group_size: int = 10, horizons=DEFAULT_HORIZONS):
        self.alpha = alpha
        self.min_group_size = min_group_size
        self.horizons = horizons

    @classmethod
    def config_params(cls, config) -> dict:
        """``analysis.min_group_size``."""
        return {"min_group_size": config.analysis["min_group_size"]}

    def fit(
        self,
        frame: pd.DataFrame,
        duration_col: str = "duration_months",
        event_col: str = LABEL,
        group_col: str | None = None,
        entry_col: str | None = None,
    ) -> RetentionCurves:
        """Fit one curve per group (or one overall); returns self."""
        self.group_col_ = group_col
        self.flag_ = group_col is not None and _is_flag(frame[group_col])
        self.fitters_: dict[str, KaplanMeierFitter] = {}
        self.caveats_: list[Note] = []
        grouping = {"column": group_col, "flag": self.flag_}
        if group_col:
            names = frame[group_col].map(lambda value: _group_key(value, self.flag_))
            names, pooling = pool_small_groups(names, self.min_group_size, column=group_col)
            if pooling:
                self.caveats_.append(
                    Note(
                        "curves.groups_pooled",
                        {
                            "groups": list(pooling.groups),
                            "min_size": self.min_group_size,
                            "pooled_label": pooling.label,
                            "size": pooling.size,
                            **grouping,
                        },
                    )
                )
            groups = list(frame.groupby(names.to_numpy(), sort=True))
            if self.flag_:  # customers with the flag first (stable: the other groups keep their order)
                groups.sort(key=lambda item: item[0] != "1")
        else:
            groups = [("All customers", frame)]
        rows = []
        for name, part in groups:
            if len(part) < self.min_group_size:
                self.caveats_.append(
                    Note(
                        "curves.group_too_small",
                        {"group": str(name), "min_size": self.min_group_size, **grouping},
                    )
                )
                continue
            kmf = KaplanMeierFitter(alpha=self.alpha, label=str(name))
            kmf.fit(
                part[duration_col], part[event_col].astype(bool), entry=part[entry_col] if entry_col else None
            )
            self.fitters_[str(name)] = kmf
            rows.append(self._row(str(name), part, kmf, event_col, duration_col))
        self.summary_ = self._summary(rows)
        longest = frame[duration_col].max()
        if np.isinf(self.summary_["median_months"]).any():
            self.caveats_.append(Note("curves.median_not_reached", {"months": float(longest)}))
        return self

    def _row(self, name, part, kmf, event_col, duration_col) -> dict:
        ci = median_survival_times(kmf.confidence_interval_)
        row = {
            "group": name,
            "group_col": self.group_col_,
            "flag": self.flag_,
            "customers": len(part),
            "churned": int(part[event_col].sum()),
            "median_months": float(kmf.median_survival_time_),
            "median_ci_low": float(ci.iloc[0, 0]),
            "median_ci_high": float(ci.iloc[0, 1]),
        }
        bands = kmf.confidence_interval_survival_function_
        for horizon in self.horizons:
            if horizon > part[duration_col].max():
                row[f"retention_{horizon}m"] = row[f"retention_{horizon}m_low"] = row[
                    f"retention_{horizon}m_high"
                ] = np.nan
                continue
            # "after 24 months" counts calendar months: tenures derived from whole months or years
            # land within a day or two of 24 average months, on either side
            at_horizon = horizon + CALENDAR_SLACK_DAYS / DAYS_PER_MONTH
            row[f"retention_{horizon}m"] = float(kmf.survival_function_at_times(at_horizon).iloc[0])
            at = bands.index[bands.index <= at_horizon].max()
            row[f"retention_{horizon}m_low"] = float(bands.loc[at].iloc[0])
            row[f"retention_{horizon}m_high"] = float(bands.loc[at].iloc[1])
        return row

    def _summary(self, rows: list[dict]) -> pd.DataFrame:
        """The standard columns (retention at the first horizon) ahead of the per-group figures."""
        table = pd.DataFrame(
            rows,
            columns=[
                "group",
                "group_col",
                "flag",
                "customers",
                "churned",
                "median_months",
                "median_ci_low",
                "median_ci_high",
            ]
            + self._retention_columns(),
        )
        first = f"retention_{self.horizons[0]}m"
        standard = pd.DataFrame(
            {
                "term": table["group"],
                "label": table["group"],
                "estimate": table[first],
                "ci_low": table[f"{first}_low"],
                "ci_high": table[f"{first}_high"],
                "unit": f"share still a customer after {self.horizons[0]} months",
            }
        )
        return summary_frame(pd.concat([standard, table], axis=1), extra=list(table.columns))

    def _retention_columns(self) -> list[str]:
        return [f"retention_{h}m{end}" for h in self.horizons for end in ("", "_low", "_high")]

    def plot_curves(self, ax=None, title: str | None = None, xlabel: str = "Tenure (months)"):
        """Retention curves with shaded 95% bands; see :func:`cxlib.churn._plots.plot_retention`."""
        self.check_is_fitted()
        from cxlib.churn._plots import plot_retention

        return plot_retention(self, ax=ax, title=title, xlabel=xlabel)


def _is_flag(values: pd.Series) -> bool:
    """True for a yes/no flag: numbers (or booleans) whose values are 0 and 1 only."""
    if not pd.api.types.is_numeric_dtype(values) and not pd.api.types.is_bool_dtype(values):
        return False
    return set(np.unique(values.dropna().astype(float))) <= {0.0, 1.0}


def _group_key(value, flag: bool) -> str:
    """A group as text: ``"1"`` / ``"0"`` for a yes/no flag's values, the value itself otherwise."""
    if flag and isinstance(value, bool | float | int | np.number) and value in (0, 1):
        return str(int(value))
    return str(value)

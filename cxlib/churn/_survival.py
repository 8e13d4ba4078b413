"""Survival: how long customers stay, by group, and how drivers change the hazard of leaving.

Built on lifelines (Kaplan–Meier, Cox proportional hazards, Weibull AFT), the field's standard
survival library. Time is tenure in months.

- :func:`lifetime_table`: every customer's observed lifetime (signup to churn, or censored at the
  as-of date) for retention curves.
- :class:`RetentionCurves`: Kaplan–Meier curves by group with median lifetime and 95% intervals.
- :class:`ChurnHazards`: Cox model of the churn panel (covariates at the cut-off, follow-up after
  it, left-truncated at the tenure reached by then), hazard ratios, and a proportional-hazards test.
- :class:`RemainingLifetime`: Weibull model giving each customer's expected remaining lifetime
  within a horizon, given the tenure they have already reached.

Examples
--------
>>> curves = RetentionCurves().fit(lifetimes, group_col="plan")  # doctest: +SKIP
>>> curves.summary_[["group", "median_months", "median_ci_low", "median_ci_high"]]  # doctest: +SKIP
"""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
from lifelines import KaplanMeierFitter, WeibullAFTFitter
from lifelines.utils import median_survival_times
from scipy import stats
from statsmodels.duration.hazard_regression import PHReg
from statsmodels.stats.multitest import multipletests

from cxlib.churn._panel import LABEL, ChurnCutoff
from cxlib.data._load import CustomerData
from cxlib.features._time import DAYS_PER_MONTH
from cxlib.stats._design import DesignEncoder, feature_label
from cxlib.stats._fitted import FittedModel, summary_frame
from cxlib.stats._notes import Note
from cxlib.stats._suppression import pool_small_groups

#: lifelines warns about approximations and convergence; each is reported as a caveat instead.
_QUIET = ("ignore",)


def lifetime_table(
    data: CustomerData, at: ChurnCutoff, attributes=(), segments: pd.DataFrame | None = None
) -> pd.DataFrame:
    """Each customer's observed lifetime in months and whether it ended in churn.

    The churn rule (:class:`cxlib.features.ChurnRule`) at the as-of date decides: a customer who
    has churned by then lives from signup to their churn date (contractual: the recorded date;
    inactivity: ``inactivity_days`` after the last purchase, or after signup for a customer who
    never bought); the others are censored at the as-of date. Snapshot: tenure, ended if labelled
    churned.

    Parameters
    ----------
    data : CustomerData
    at : ChurnCutoff
        Its rule and as-of date are used (the cut-off is not).
    attributes : list of str
        Customer columns to carry along for grouping (missing values become ``unknown``).
    segments : DataFrame, optional
        The segmentation notebook's ``segments`` table; adds ``segment_name``.

    Returns
    -------
    DataFrame
        ``customer_id``, ``duration_months`` (at least one day), ``churned`` (bool), the attributes.
    """
    customers = data["customers"]
    as_of = at.as_of
    churned = at.rule.churned_by(data, as_of).to_numpy()
    if at.dated:
        churn_date = pd.Series(at.rule.churn_dates(data, as_of).to_numpy(), index=customers.index)
        end = churn_date.where(churned, as_of)
    else:
        end = pd.Series(as_of, index=customers.index)
    months = ((end - customers["signup_date"]).dt.days / DAYS_PER_MONTH).clip(lower=1 / DAYS_PER_MONTH)
    table = pd.DataFrame(
        {
            "customer_id": customers["customer_id"].to_numpy(),
            "duration_months": months.to_numpy(),
            LABEL: churned,
        }
    )
    for column in attributes:
        table[column] = customers[column].astype("string").fillna("unknown").to_numpy()
    if segments is not None:
        names = segments.drop_duplicates("customer_id").set_index("customer_id")["segment_name"]
        table["segment_name"] = table["customer_id"].map(names).fillna("Not segmented").to_numpy()
    return table


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
            row[f"retention_{horizon}m"] = float(kmf.survival_function_at_times(horizon).iloc[0])
            at = bands.index[bands.index <= horizon].max()
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


class ChurnHazards(FittedModel):
    """Cox proportional-hazards model of churn, reported as hazard ratios with 95% intervals.

    Fitted with statsmodels' ``PHReg``, which handles delayed entry efficiently (lifelines' Cox
    fitter slows down by orders of magnitude with an entry column); hazard ratios agree with
    lifelines' to three decimals on the demo.

    Parameters
    ----------
    reference_levels : dict, optional
        Categorical feature -> reference level.
    max_vif : float
        Collinearity threshold (see :class:`cxlib.stats._design.DesignEncoder`).
    ties : {"efron", "breslow"}
        Handling of tied churn times.
    alpha : float
        1 - confidence level.
    max_rows : int or None
        Above this many customers, fit on a seeded random sample (stated in the caveats).
    seed : int
        Seed of that sample.
    min_level_size : int or None
        Categorical levels with fewer customers are pooled before the fit (see
        :class:`cxlib.stats._design.DesignEncoder`).

    Attributes
    ----------
    summary_ : DataFrame
        One row per term, smallest p-value first: the standard columns (``estimate`` is the
        hazard ratio, ``p_adjusted`` Holm's adjustment across terms), then driver, hazard_ratio
        (= estimate), p_holm (= p_adjusted) and ph_p_value (the proportional-hazards test).
    ph_test_ : DataFrame
        Grambsch–Therneau proportional-hazards test per term: scaled Schoenfeld residuals against
        the rank of churn time (chi-square, 1 df), as lifelines' ``proportional_hazard_test``.
    caveats_ : list of Note
        The design's, a sample taken, terms whose hazards look not proportional; sentences from
        :func:`cxlib.report.render`.
    result_ : statsmodels PHRegResults

    Examples
    --------
    >>> cox = ChurnHazards().fit(panel.frame, panel.numeric, panel.categorical)  # doctest: +SKIP
    >>> cox.summary_[["label", "hazard_ratio", "ci_low", "ci_high"]]  # doctest: +SKIP
    """

    estimate_name = "hazard ratio"
    null_value = 1.0

    def __init__(
        self,
        reference_levels=None,
        max_vif: float | None = 10.0,
        ties: str = "efron",
        alpha: float = 0.05,
        max_rows: int | None = 250_000,
        seed: int = 42,
        min_level_size: int | None = 10,
    ):
        self.reference_levels = reference_levels
        self.max_vif = max_vif
        self.ties = ties
        self.alpha = alpha
        self.max_rows = max_rows
        self.seed = seed
        self.min_level_size = min_level_size

    @classmethod
    def config_params(cls, config) -> dict:
        """``churn_model.reference_levels`` and ``max_vif``, ``analysis.min_group_size`` and the seed."""
        settings = config.values["churn_model"]
        return {
            "reference_levels": settings["reference_levels"],
            "max_vif": settings["max_vif"],
            "min_level_size": config.analysis["min_group_size"],
            "seed": config.seed,
        }

    def fit(
        self,
        frame: pd.DataFrame,
        numeric,
        categorical,
        duration_col: str = "exit_months",
        event_col: str = LABEL,
        entry_col: str | None = "entry_months",
    ) -> ChurnHazards:
        """Fit on the churn panel; returns self.

        Covariates are measured at the cut-off and customers enter the risk set at the tenure
        reached by then (left truncation), so nobody is credited with time before they were
        observed. Tenure is the time scale, so it is not also a covariate.
        """
        numeric = [c for c in numeric if c != "tenure_months"]
        frame, sampled = _sample(frame, self.max_rows, self.seed)
        self.encoder_ = DesignEncoder(
            numeric, categorical, self.reference_levels, self.max_vif, self.min_level_size
        ).fit(frame)
        x, duration, event, entry = _survival_arrays(self.encoder_, frame, duration_col, event_col, entry_col)
        self.terms_ = list(x.columns)
        model = PHReg(duration, x.to_numpy(), status=event.astype(int), entry=entry, ties=self.ties)
        self.result_ = model.fit(disp=False)
        self.ph_test_ = self._ph_test(duration, event)
        self.caveats_ = list(self.encoder_.caveats_) + sampled
        violated = self.ph_test_.index[self.ph_test_["p"] < 0.01]
        if len(violated):
            self.caveats_.append(Note("hazards.not_proportional", {"terms": list(violated)}))
        self.summary_ = self._summary()
        return self

    def _ph_test(self, duration: np.ndarray, event: np.ndarray) -> pd.DataFrame:
        residuals = self.result_.schoenfeld_residuals[event]
        covariance = self.result_.cov_params()
        n_events = len(residuals)
        scaled = n_events * residuals @ covariance
        ranks = stats.rankdata(duration[event])
        centred = ranks - ranks.mean()
        statistic = (centred @ scaled) ** 2 / (n_events * np.diag(covariance) * (centred**2).sum())
        return pd.DataFrame({"chi2": statistic, "p": stats.chi2.sf(statistic, 1)}, index=self.terms_)

    def _summary(self) -> pd.DataFrame:
        params, se = self.result_.params, self.result_.bse
        z = stats.norm.ppf(1 - self.alpha / 2)
        with np.errstate(over="ignore"):  # a separated term's ratio is infinite; the plot shows it cut
            ratios = np.exp(np.vstack([params, params - z * se, params + z * se]))
        p_holm = multipletests(np.asarray(self.result_.pvalues), method="holm")[1]
        table = pd.DataFrame(
            {
                "term": self.terms_,
                "label": [feature_label(t) for t in self.terms_],
                "estimate": ratios[0],
                "ci_low": ratios[1],
                "ci_high": ratios[2],
                "p_value": self.result_.pvalues,
                "p_adjusted": p_holm,
                "unit": [self.encoder_.units_[t] for t in self.terms_],
                "driver": [self.encoder_.term_driver_[t] for t in self.terms_],
                "hazard_ratio": ratios[0],
                "p_holm": p_holm,
                "ph_p_value": self.ph_test_["p"].to_numpy(),
            }
        )
        return summary_frame(table.sort_values("p_value", ignore_index=True))

    def plot_forest(self, ax=None, top: int = 20, title: str | None = None):
        """Forest plot of hazard ratios with 95% intervals (log scale), most significant first.

        See :func:`cxlib.churn._plots.plot_hazard_ratios`; returns the Axes.
        """
        self.check_is_fitted()
        from cxlib.churn._plots import plot_hazard_ratios

        return plot_hazard_ratios(self, ax=ax, top=top, title=title)


def _sample(frame: pd.DataFrame, max_rows: int | None, seed: int) -> tuple[pd.DataFrame, list[Note]]:
    """A seeded random sample of at most ``max_rows`` customers, with a caveat when one is taken.

    Survival fits grow faster than linearly in time and memory (lifelines' Weibull used 5.6 GB on a
    million rows); a quarter of a million customers already pins ratios to a few percent.
    """
    if max_rows is None or len(frame) <= max_rows:
        return frame, []
    caveat = Note("survival.sampled", {"rows": max_rows, "customers": len(frame), "seed": seed})
    return frame.sample(max_rows, random_state=seed), [caveat]


def _survival_arrays(encoder, frame, duration_col, event_col, entry_col):
    """Design matrix, durations, events and entries; an exit on the entry day is nudged by an hour."""
    x = encoder.transform(frame)
    duration = frame[duration_col].to_numpy(dtype=float)
    event = frame[event_col].astype(bool).to_numpy()
    entry = frame[entry_col].to_numpy(dtype=float) if entry_col else None
    if entry is not None:
        duration = np.maximum(duration, entry + 1 / (24 * DAYS_PER_MONTH))
    return x, duration, event, entry


class RemainingLifetime(FittedModel):
    """Expected remaining lifetime within a horizon, from a Weibull accelerated-failure-time model.

    A Weibull model extrapolates smoothly past the longest tenure observed; capping the answer at
    ``horizon_months`` (restricted mean) keeps that extrapolation modest and states it.

    Parameters
    ----------
    horizon_months : int
        Remaining lifetime is counted up to this many months ahead.
    reference_levels : dict, optional
    max_vif : float
    penalizer : float
        Small ridge penalty for stability.
    max_rows : int or None
        Above this many customers, fit on a seeded random sample (stated in the caveats).
    seed : int
        Seed of that sample.
    min_level_size : int or None
        Categorical levels with fewer customers are pooled before the fit (see
        :class:`cxlib.stats._design.DesignEncoder`).

    Attributes
    ----------
    summary_ : DataFrame
        One row per term of the scale (lambda) part of the model: the standard columns
        (``estimate`` is the time ratio exp(coef): the factor by which the term stretches (> 1)
        or shortens (< 1) a customer's lifetime, with its 95% Wald interval and p-value;
        ``p_adjusted`` Holm's adjustment across terms), then driver, time_ratio (= estimate),
        p_holm (= p_adjusted), coef and se (log scale). The Weibull shape is ``shape_``.
    model_ : WeibullAFTFitter
    shape_ : float
        Weibull shape (< 1: the hazard of leaving falls with tenure).
    caveats_ : list of Note
        The design's, a sample taken, and (code ``lifetime.horizon``) the horizon and the Weibull
        assumption; sentences from :func:`cxlib.report.render`.
    """

    estimate_name = "time ratio"
    null_value = 1.0

    def __init__(
        self,
        horizon_months: int = 36,
        reference_levels=None,
        max_vif: float | None = 10.0,
        penalizer: float = 0.001,
        max_rows: int | None = 250_000,
        seed: int = 42,
        min_level_size: int | None = 10,
    ):
        self.horizon_months = horizon_months
        self.reference_levels = reference_levels
        self.max_vif = max_vif
        self.penalizer = penalizer
        self.max_rows = max_rows
        self.seed = seed
        self.min_level_size = min_level_size

    @classmethod
    def config_params(cls, config) -> dict:
        """``churn_model.reference_levels`` and ``max_vif``, ``analysis.min_group_size`` and the seed."""
        settings = config.values["churn_model"]
        return {
            "reference_levels": settings["reference_levels"],
            "max_vif": settings["max_vif"],
            "min_level_size": config.analysis["min_group_size"],
            "seed": config.seed,
            "horizon_months": config.analysis["horizon_months"],
        }

    def fit(
        self,
        frame: pd.DataFrame,
        numeric,
        categorical,
        duration_col: str = "exit_months",
        event_col: str = LABEL,
        entry_col: str | None = "entry_months",
    ) -> RemainingLifetime:
        """Fit on the churn panel (same layout as :meth:`ChurnHazards.fit`); returns self."""
        numeric = [c for c in numeric if c not in ("tenure_months",)]
        frame, sampled = _sample(frame, self.max_rows, self.seed)
        self.encoder_ = DesignEncoder(
            numeric, categorical, self.reference_levels, self.max_vif, self.min_level_size
        ).fit(frame)
        x, duration, event, entry = _survival_arrays(self.encoder_, frame, duration_col, event_col, entry_col)
        table = x.assign(_duration=duration, _event=event)
        if entry is not None:
            table["_entry"] = entry
        with warnings.catch_warnings():
            warnings.simplefilter(*_QUIET)
            self.model_ = WeibullAFTFitter(penalizer=self.penalizer).fit(
                table, "_duration", "_event", entry_col="_entry" if entry_col else None
            )
        self.shape_ = float(np.exp(self.model_.params_.loc[("rho_", "Intercept")]))
        self.caveats_ = (
            list(self.encoder_.caveats_)
            + sampled
            + [Note("lifetime.horizon", {"horizon_months": self.horizon_months, "shape": self.shape_})]
        )
        self.summary_ = self._summary()
        return self

    def _summary(self) -> pd.DataFrame:
        """Time ratios of the scale's terms (not its intercept) from lifelines' summary."""
        fitted = self.model_.summary.loc["lambda_"].drop("Intercept")
        terms = list(fitted.index)
        p_values = fitted["p"].to_numpy()
        p_holm = multipletests(p_values, method="holm")[1] if len(terms) else p_values
        level = f"{100 * (1 - self.model_.alpha):.0f}%"
        return summary_frame(
            {
                "term": terms,
                "label": [feature_label(t) for t in terms],
                "estimate": fitted["exp(coef)"].to_numpy(),
                "ci_low": fitted[f"exp(coef) lower {level}"].to_numpy(),
                "ci_high": fitted[f"exp(coef) upper {level}"].to_numpy(),
                "p_value": p_values,
                "p_adjusted": p_holm,
                "unit": [self.encoder_.units_[t] for t in terms],
                "driver": [self.encoder_.term_driver_[t] for t in terms],
                "time_ratio": fitted["exp(coef)"].to_numpy(),
                "p_holm": p_holm,
                "coef": fitted["coef"].to_numpy(),
                "se": fitted["se(coef)"].to_numpy(),
            }
        )

    def predict(
        self, frame: pd.DataFrame, tenure_col: str = "tenure_months", grid_points: int = 145
    ) -> np.ndarray:
        """Return expected months still a customer within the horizon, given the tenure reached.

        Integrates S(t0 + u) / S(t0) over u in [0, horizon] (trapezoid rule on a monthly-or-finer grid).
        """
        self.check_is_fitted()
        coef = self.model_.params_.loc["lambda_"]
        slopes = coef.drop("Intercept")
        log_scale = (
            coef["Intercept"] + self.encoder_.transform(frame)[slopes.index].to_numpy() @ slopes.to_numpy()
        )
        tenure = frame[tenure_col].to_numpy(dtype=float)
        u = np.linspace(0, self.horizon_months, grid_points)
        out = np.empty(len(frame))
        for start in range(0, len(frame), 20_000):  # bounded memory on a million customers
            part = slice(start, start + 20_000)
            t0, scale = tenure[part, None], np.exp(log_scale[part])[:, None]
            # S(t0 + u) / S(t0) for a Weibull: exp(-((t0 + u) / scale)^rho + (t0 / scale)^rho)
            log_ratio = (t0 / scale) ** self.shape_ - ((t0 + u[None, :]) / scale) ** self.shape_
            out[part] = np.trapezoid(np.exp(log_ratio), u, axis=1)
        return out

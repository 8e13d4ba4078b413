"""One table formatter and one forest plot for every fitted model's ``summary_``.

Every model keeps the contract of :mod:`cxlib.stats._fitted`: a ``summary_`` with the standard
columns, and class attributes that say what the estimate is (``estimate_name``), what its
interval is (``interval_name``), its value of no effect (``null_value``) and whether a higher
estimate is bad or good news (``higher_is``). :func:`format_summary` and :func:`plot_summary`
read only those, so odds ratios, hazard ratios, time ratios, importances and shares share one
table and one chart. The ``unit`` column is shown as it is, never parsed.

Examples
--------
>>> drivers = ChurnDrivers.from_config(config).fit(panel.frame, panel.numeric, panel.categorical)  # doctest: +SKIP
>>> format_summary(drivers, top=10)  # doctest: +SKIP
>>> plot_summary(predictor, top=12)  # doctest: +SKIP
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import pandas as pd

#: Columns a summary must have to be shown (the others of ``SUMMARY_COLUMNS`` are optional).
_REQUIRED_COLUMNS = ("label", "estimate", "ci_low", "ci_high")
#: What the estimate and its interval are called when a bare table says nothing.
_DEFAULT_ESTIMATE_NAME = "estimate"
_DEFAULT_INTERVAL_NAME = "95% confidence interval"


@dataclass(frozen=True)
class _Shown:
    """The rows to show and what the model says about its estimate."""

    rows: pd.DataFrame
    estimate_name: str
    interval_name: str
    null_value: float | None
    higher_is: str | None


def _shown(model_or_summary, rows, **given) -> _Shown:
    """Rows and names from a fitted model (or a bare summary table), explicit values winning."""
    if isinstance(model_or_summary, pd.DataFrame):
        if rows is not None:
            raise TypeError("rows= goes with a model; to show a table, pass it as the first argument")
        model, table = None, model_or_summary
    else:
        model = model_or_summary
        model.check_is_fitted()
        table = model.summary_ if rows is None else rows
    missing = [c for c in _REQUIRED_COLUMNS if c not in table]
    if missing:
        raise KeyError(
            f"the summary has no column(s) {missing}: expected a fitted model's summary_ "
            "(cxlib.stats.SUMMARY_COLUMNS) or rows of it"
        )
    defaults = {
        "estimate_name": _DEFAULT_ESTIMATE_NAME,
        "interval_name": _DEFAULT_INTERVAL_NAME,
        "null_value": None,
        "higher_is": None,
    }
    values = {
        name: given[name] if given.get(name) is not None else getattr(model, name, default)
        for name, default in defaults.items()
    }
    return _Shown(table, **values)


def _heading(text: str) -> str:
    """``text`` with its first letter upper-cased (``str.capitalize`` would lower "ROC")."""
    return text[:1].upper() + text[1:]


def _digits(estimates: pd.Series, null_value: float | None) -> int:
    """Decimals for estimates: 2 for ratios, else two significant figures of the largest."""
    values = np.abs(estimates.to_numpy(dtype=float))
    values = values[np.isfinite(values) & (values > 0)]
    if null_value == 1 or not len(values):
        return 2
    return max(2, 1 - math.floor(math.log10(values.max())))


def _interval(estimate: float, low: float, high: float, digits: int) -> str:
    """E.g. '1.23 (1.01–1.50)'; '–' without an estimate, the estimate alone without an interval."""
    if np.isnan(estimate):
        return "–"
    if np.isnan(low) or np.isnan(high):
        return f"{estimate:.{digits}f}"
    return f"{estimate:.{digits}f} ({low:.{digits}f}–{high:.{digits}f})"


def _p_value(p: float) -> str:
    if np.isnan(p):
        return "–"
    return "< 0.001" if p < 0.001 else f"{p:.3f}"


def format_summary(
    model_or_summary,
    top: int | None = None,
    *,
    rows: pd.DataFrame | None = None,
    estimate_name: str | None = None,
    interval_name: str | None = None,
    label_name: str = "Term",
    unit_name: str = "Unit",
    digits: int | None = None,
) -> pd.DataFrame:
    """Readable table of any model's summary: label, unit, estimate with its interval, p-values.

    Parameters
    ----------
    model_or_summary : FittedModel or DataFrame
        A fitted model (its ``summary_`` and names are used) or a summary table.
    top : int, optional
        Rows shown, in the table's order (default: all).
    rows : DataFrame, optional
        With a model: the rows to show instead of its ``summary_`` (e.g. ``drivers.driver_table()``).
    estimate_name, interval_name : str, optional
        Override the model's (a bare table: "estimate", "95% confidence interval"); together they
        make the estimate's header, e.g. "Odds ratio (95% confidence interval)".
    label_name, unit_name : str
        Headers of the labels and of the ``unit`` text (e.g. "Driver", "Compared with").
    digits : int, optional
        Decimals of the estimates (default: 2 for ratios, else two significant figures of the
        largest).

    Returns
    -------
    DataFrame
        Indexed by label, one header row: unit, the estimate with its interval, ``p-value`` and
        ``p (Holm)`` (columns with no p-value at all, as for importances and shares, are left out).

    Examples
    --------
    >>> table = pd.DataFrame({"label": ["Plan: premium"], "unit": ["vs basic"], "estimate": [0.55],
    ...                       "ci_low": [0.45], "ci_high": [0.65], "p_value": [1e-6], "p_adjusted": [3e-6]})
    >>> format_summary(table, estimate_name="odds ratio").iloc[0].tolist()
    ['vs basic', '0.55 (0.45–0.65)', '< 0.001', '< 0.001']
    """
    shown = _shown(model_or_summary, rows, estimate_name=estimate_name, interval_name=interval_name)
    table = shown.rows if top is None else shown.rows.head(top)
    digits = _digits(shown.rows["estimate"], shown.null_value) if digits is None else digits
    columns: dict[str, list[str]] = {}
    if "unit" in table and table["unit"].notna().any():
        columns[unit_name] = ["–" if pd.isna(u) else str(u) for u in table["unit"]]
    columns[f"{_heading(shown.estimate_name)} ({shown.interval_name})"] = [
        _interval(e, lo, hi, digits)
        for e, lo, hi in zip(
            table["estimate"].astype(float),
            table["ci_low"].astype(float),
            table["ci_high"].astype(float),
            strict=True,
        )
    ]
    if "unstable" in table:  # a separated or extreme estimate is no number to read (see the notes)
        estimates = columns[f"{_heading(shown.estimate_name)} ({shown.interval_name})"]
        for i, bad in enumerate(_not_estimable(table)):
            if bad:
                estimates[i] = "not estimable (see notes)"
    for column, header in (("p_value", "p-value"), ("p_adjusted", "p (Holm)")):
        if column in table and table[column].notna().any():
            columns[header] = [_p_value(p) for p in table[column].astype(float)]
    out = pd.DataFrame(columns, index=table["label"].astype(str).to_numpy())
    if len(table) < len(shown.rows):  # a cut table says so in its header corner
        label_name = f"{label_name} (first {len(table):,} of {len(shown.rows):,} shown)"
    return out.rename_axis(index=None, columns=label_name)  # one header row


def _not_estimable(table: pd.DataFrame) -> list[bool]:
    """Rows flagged unstable for separation or an extreme estimate (a wide interval still reads)."""
    reasons = table["unstable_reasons"] if "unstable_reasons" in table else None
    out = []
    for i, unstable in enumerate(table["unstable"].fillna(False).astype(bool)):
        if reasons is None:
            estimate = float(table["estimate"].iloc[i])
            out.append(bool(unstable) and not (1 / 150 <= estimate <= 150))
        else:
            codes = set(str(reasons.iloc[i]).split(", "))
            out.append(bool(unstable) and bool(codes & {"separation", "extreme_estimate"}))
    return out


def plot_summary(
    model_or_summary,
    ax=None,
    top: int = 20,
    title: str | None = None,
    *,
    rows: pd.DataFrame | None = None,
    estimate_name: str | None = None,
    interval_name: str | None = None,
    null_value: float | None = None,
    higher_is: str | None = None,
):
    """Forest plot of any model's summary: each estimate with its interval, first row on top.

    Built on :func:`cxlib.report.forest_plot`: a log axis for ratios (``null_value`` 1), a linear
    one otherwise (differences and importances: 0; shares: no null); a reference line at the
    null; clear effects coloured by direction after ``higher_is``; the x-label names the
    estimate and its interval. Each row's ``unit`` is added to its label when the summary has
    per-term units (a ``unit_kind`` column, as ratio models have).

    Parameters
    ----------
    model_or_summary : FittedModel or DataFrame
        A fitted model (its ``summary_`` and names are used) or a summary table.
    ax : Axes, optional
    top : int
        Rows shown, in the table's order.
    title : str, optional
        Default: the first row's estimate with its interval.
    rows : DataFrame, optional
        With a model: the rows to show instead of its ``summary_``.
    estimate_name, interval_name, null_value, higher_is : optional
        Override the model's (a bare table: "estimate", "95% confidence interval", None, None).

    Returns
    -------
    Axes

    Examples
    --------
    >>> plot_summary(ChurnPredictor(seed=7).fit(frame, numeric, categorical), top=12)  # doctest: +SKIP
    """
    from cxlib.report._charts import forest_plot  # loads matplotlib only when a chart is drawn

    shown = _shown(
        model_or_summary,
        rows,
        estimate_name=estimate_name,
        interval_name=interval_name,
        null_value=null_value,
        higher_is=higher_is,
    )
    table = shown.rows.head(top)
    return forest_plot(
        table.iloc[::-1],
        "estimate",
        ax=ax,
        title=title or _default_title(table, shown),
        xlabel=_heading(shown.estimate_name),
        null_value=shown.null_value,
        interval_name=shown.interval_name,
        higher_is=shown.higher_is,
        show_units="unit_kind" in table,
    )


def _default_title(table: pd.DataFrame, shown: _Shown) -> str:
    """E.g. 'Unresolved complaint: odds ratio 1.96 (95% confidence interval 1.70–2.26)'."""
    if table.empty or np.isnan(float(table["estimate"].iloc[0])):
        return _heading(shown.estimate_name)
    first = table.iloc[0]
    digits = _digits(table["estimate"], shown.null_value)
    estimate, low, high = (float(first[c]) for c in ("estimate", "ci_low", "ci_high"))
    text = f"{first['label']}: {shown.estimate_name} {estimate:.{digits}f}"
    if np.isnan(low) or np.isnan(high):
        return text
    return f"{text} ({shown.interval_name} {low:.{digits}f}–{high:.{digits}f})"

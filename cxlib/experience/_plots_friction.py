"""Charts of friction: a KPI by channel with intervals; friction's effect on NPS beside churn.

Built on the house theme and forest plot of :mod:`cxlib.report._charts`; titles are passed in by
the report (they state the finding), with plain defaults.

Examples
--------
>>> plot_kpi_by_channel(friction_kpis(data), "complaint_rate")  # doctest: +SKIP
>>> plot_friction_effects(friction_effects(model.summary_, churn_drivers))  # doctest: +SKIP
"""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from matplotlib.axes import Axes

from cxlib.report._charts import ACCENT, axis_labels, finish, forest_plot, new_axes, percent_formatter

#: Axis names of the KPI units (:data:`cxlib.experience.KPI_UNITS`).
_UNIT_AXES = {
    "per_100_customer_years": "per 100 customers per year",
    "share": "share",
    "minutes": "minutes",
    "per_100_orders": "per 100 orders",
}


def plot_kpi_by_channel(
    kpis: pd.DataFrame,
    kpi: str,
    ax: Axes | None = None,
    title: str | None = None,
    dimension: str = "channel",
) -> Axes:
    """One friction KPI per channel (or per group of ``dimension``) with its 95% interval.

    Parameters
    ----------
    kpis : DataFrame
        :func:`cxlib.experience.friction_kpis` output.
    kpi : str
        e.g. ``"complaint_rate"``, ``"first_contact_resolution"``, ``"wait_median"``.
    ax : Axes, optional
    title : str, optional
        The finding; default names the KPI.
    dimension : str
        ``"channel"`` or a group column.

    Returns
    -------
    Axes
    """
    rows = kpis.loc[(kpis["dimension"] == dimension) & (kpis["kpi"] == kpi)].dropna(subset=["estimate"])
    rows = rows.sort_values("estimate")
    ax = new_axes(ax, figsize=(7.5, 0.45 * len(rows) + 1.6))  # a bar's height, not the default figure's
    y = np.arange(len(rows))
    estimate = rows["estimate"].to_numpy(float)
    low = rows["ci_low"].to_numpy(float)
    high = rows["ci_high"].to_numpy(float)
    ax.barh(y, estimate, color=ACCENT, alpha=0.8)
    ax.errorbar(
        estimate,
        y,
        xerr=[np.nan_to_num(estimate - low), np.nan_to_num(high - estimate)],
        fmt="none",
        ecolor="black",
        capsize=3,
        lw=1,
    )
    ax.set_yticks(y, axis_labels(rows["group"]))
    ax.grid(axis="y", visible=False)
    unit = rows["unit"].iloc[0] if len(rows) else ""
    if unit == "share":
        ax.xaxis.set_major_formatter(percent_formatter())
    name = kpi.replace("_", " ").capitalize()
    return finish(
        ax,
        title or f"{name} by {dimension.replace('_', ' ')}",
        f"{name}, {_UNIT_AXES.get(unit, unit)} (95% interval)",
    )


def plot_nps_effects(
    summary: pd.DataFrame,
    ax: Axes | None = None,
    title: str | None = None,
    xlabel: str = "change in NPS answer",
) -> Axes:
    """Forest plot of :attr:`cxlib.experience.FrictionOnNPS.summary_` (first row on top)."""
    return forest_plot(
        summary.iloc[::-1],
        ax=ax,
        title=title or "Friction and the NPS answer",
        xlabel=f"{xlabel} (0-10 points)",
        null_value=0.0,
        interval_name="95% confidence interval",
        higher_is="better",
    )


def _forest_rows(rows: pd.DataFrame, labels, estimate: str, low: str, high: str, unit: str) -> pd.DataFrame:
    """The columns :func:`cxlib.report.forest_plot` reads, from one side of the effects table."""
    return pd.DataFrame(
        {
            "label": np.asarray(labels),
            "estimate": rows[estimate].to_numpy(float),
            "ci_low": rows[low].to_numpy(float),
            "ci_high": rows[high].to_numpy(float),
            "unit": rows[unit].to_numpy(),
        }
    )


def plot_friction_effects(
    effects: pd.DataFrame, title: str | None = None, answer_name: str = "NPS answer"
) -> np.ndarray:
    """Friction's effect on the survey answer (points) beside its hazard ratio on churn, driver by driver.

    Parameters
    ----------
    effects : DataFrame
        :func:`cxlib.experience.friction_effects` output.
    title : str, optional
        The finding, over both panels.
    answer_name : str
        Title of the answer's panel (e.g. "NPS answer", "CSAT answer").

    Returns
    -------
    array of Axes
        The answer's panel and the churn panel; one of them alone when the other has no estimate
        (no surveys, or no churn table).
    """
    rows = effects.iloc[::-1]
    with_churn = rows["hazard_ratio"].notna().any()
    with_answer = rows["nps_effect"].notna().any()
    panels = int(with_churn) + int(with_answer)
    if panels == 0:
        raise ValueError("plot_friction_effects: no effect on the answer and no hazard ratio to draw")
    size = (12.0 if panels == 2 else 7.5, 0.4 * len(rows) + 1.8)
    fig, axes = plt.subplots(1, panels, figsize=size, layout="constrained")
    axes = np.atleast_1d(axes)
    if with_answer:
        answer = _forest_rows(rows, rows["label"], "nps_effect", "nps_ci_low", "nps_ci_high", "nps_unit")
        forest_plot(
            answer,
            ax=axes[0],
            title=answer_name,
            xlabel="points",
            null_value=0.0,
            higher_is="better",
            show_units=True,
        )
    if with_churn:
        # beside the answer's panel the drivers are named on its left; alone, name them here
        names = rows["churn_unit"].fillna("") if with_answer else rows["label"]
        churn = _forest_rows(rows, names, "hazard_ratio", "hr_ci_low", "hr_ci_high", "churn_unit")
        forest_plot(
            churn,
            ax=axes[-1],
            title="Churn",
            xlabel="hazard ratio",
            null_value=1.0,
            higher_is="worse",
            show_units=not with_answer,
        )
    if title:
        fig.suptitle(title)
    return axes

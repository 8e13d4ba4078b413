"""Charts of the journey funnel and of word of mouth.

:mod:`cxlib.experience._funnel` and :mod:`cxlib.experience._referrals` compute; these draw their
tables with the suite's theme (:mod:`cxlib.report._charts`). Every function takes ``ax=None`` and
returns the ``Axes``; the default titles state what the numbers show, and a report passes its own
(translated) title and labels.

Examples
--------
>>> plot_funnel(journey_funnel(data, rule).stages)  # doctest: +SKIP
>>> plot_referral_rates(ReferralRates().fit(data, rule).summary_)  # doctest: +SKIP
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from matplotlib.axes import Axes

from cxlib.report._charts import ACCENT, NEUTRAL, PALETTE, axis_labels, finish, new_axes, percent_formatter


def plot_funnel(
    stages: pd.DataFrame, ax: Axes | None = None, title: str | None = None, stage_labels: dict | None = None
) -> Axes:
    """Horizontal funnel bars: customers per stage, with the count and the conversion from the stage before.

    Parameters
    ----------
    stages : DataFrame
        :attr:`JourneyFunnel.stages` (``stage``, ``customers``, ``conversion``).
    ax : Axes, optional
    title : str, optional
        Default: the step where most customers are lost.
    stage_labels : dict, optional
        Stage -> label shown (default: the stage name in words).

    Returns
    -------
    Axes
    """
    ax = new_axes(ax, figsize=(7.5, 0.55 * len(stages) + 1.6))
    labels = [(stage_labels or {}).get(s, s) for s in stages["stage"]]
    counts = stages["customers"].to_numpy(dtype=float)
    y = np.arange(len(stages))[::-1]  # the first stage on top
    ax.barh(y, counts, color=ACCENT, height=0.6)
    top = counts.max() if len(counts) else 1.0
    for position, (count, conversion) in enumerate(zip(counts, stages["conversion"], strict=True)):
        text = f"{count:,.0f}" if position == 0 else f"{count:,.0f} ({conversion:.0%})"
        ax.text(count + 0.01 * top, y[position], text, va="center", fontsize=9)
    ax.set_yticks(y, axis_labels(labels))
    ax.set_xlim(0, top * 1.25)
    ax.grid(axis="y", visible=False)
    if title is None:
        steps = stages.iloc[1:]
        title = "Customers at each stage of the journey"
        if not steps.empty:
            worst = steps.loc[steps["lost"].idxmax()]
            before = stages["stage"].iloc[stages.index.get_loc(worst.name) - 1]
            title = f"Most customers are lost between {before} and {worst['stage']}".replace("_", " ")
    return finish(ax, title, "customers (conversion from the stage before)")


def plot_conversion_by(
    table: pd.DataFrame,
    by: str,
    stage: str,
    ax: Axes | None = None,
    title: str | None = None,
) -> Axes:
    """Conversion into one stage per group (or cohort) with its 95% interval.

    Parameters
    ----------
    table : DataFrame
        :attr:`JourneyFunnel.by_group` (one ``group_column`` selected, ``by="group"``) or
        :attr:`JourneyFunnel.by_cohort` (``by="cohort"``).
    by : str
        The column naming the groups.
    stage : str
        The stage whose conversion (from the stage before) is drawn.

    Returns
    -------
    Axes
    """
    rows = table.loc[table["stage"] == stage].dropna(subset=["conversion"])
    if by == "cohort":
        rows = rows.sort_values("cohort")
    ax = new_axes(ax, figsize=(7.5, 0.45 * len(rows) + 1.6))
    y = np.arange(len(rows))
    rate, low, high = (rows[c].to_numpy(dtype=float) for c in ("conversion", "ci_low", "ci_high"))
    ax.errorbar(
        rate, y, xerr=np.vstack([rate - low, high - rate]), fmt="o", color=ACCENT, ecolor=NEUTRAL, capsize=3
    )
    ax.set_yticks(y, axis_labels(rows[by].astype(str)))
    ax.xaxis.set_major_formatter(percent_formatter())
    ax.grid(axis="y", visible=False)
    stage_text = stage.replace("_", " ")
    return finish(
        ax, title or f"Conversion to {stage_text} by {by}", f"conversion to {stage_text} (95% interval)"
    )


def plot_referral_rates(summary: pd.DataFrame, ax: Axes | None = None, title: str | None = None) -> Axes:
    """Referrals per 100 customer-months by NPS class, with 95% intervals.

    Parameters
    ----------
    summary : DataFrame
        :attr:`ReferralRates.summary_` (``nps_class``, ``estimate``, ``ci_low``, ``ci_high``).

    Returns
    -------
    Axes
    """
    ax = new_axes(ax, figsize=(7.5, 0.5 * len(summary) + 1.6))
    y = np.arange(len(summary))[::-1]
    rate, low, high = (100 * summary[c].to_numpy(dtype=float) for c in ("estimate", "ci_low", "ci_high"))
    colours = {"promoter": PALETTE[2], "passive": NEUTRAL, "detractor": PALETTE[3]}
    for position, name in enumerate(summary["nps_class"]):
        ax.errorbar(
            rate[position],
            y[position],
            xerr=[[rate[position] - low[position]], [high[position] - rate[position]]],
            fmt="o",
            color=colours.get(name, ACCENT),
            ecolor=NEUTRAL,
            capsize=3,
        )
    ax.set_yticks(y, axis_labels(summary["nps_class"]))
    ax.set_xlim(left=0)
    ax.grid(axis="y", visible=False)
    if title is None:
        known = summary.loc[summary["nps_class"] != "no_answer"].dropna(subset=["estimate"])
        title = "Referral rate by NPS class"
        if len(known) > 1:
            title = f"{known.loc[known['estimate'].idxmax(), 'nps_class'].capitalize()}s refer the most"
    return finish(ax, title, "referrals per 100 customer-months (95% interval)")

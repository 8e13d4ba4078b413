"""Charts of the revenue-impact report: waterfall by lever, tornado of the NPV, targeting curve, NPV spread.

Every function takes ``ax=None`` and returns the Axes; axes carry units (:mod:`cxlib.report._charts`).
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from matplotlib.ticker import MaxNLocator

from cxlib.report import ACCENT, NEUTRAL, PALETTE, WARNING, axis_labels, finish, money_formatter, new_axes

#: Reader's names of the levers and steps.
STEP_LABELS = {
    "loyalty": "More spend per\nloyal customer",
    "retention": "Lower churn,\nlonger lifetimes",
    "word_of_mouth": "New customers by\nword of mouth",
    "cost": "Cost",
    "npv": "Net present value",
    "margin_total": "Total margin",
}
#: Reader's names of the inputs (tornado rows).
INPUT_LABELS = {
    "hazard_ratio": "Churn hazard ratio",
    "spend_ratio": "Spend ratio",
    "promoter_shift": "Share moved to promoter",
    "promoter_spend_ratio": "Promoters' spend vs passives'",
    "referral_rate_gain": "Extra referrals per promoter-month",
    "referred_value": "Value of a referred customer",
    "cac": "Acquisition cost saved",
    "cost_fixed": "One-off cost",
    "cost_per_customer_year": "Running cost per customer-year",
}
#: Gains and losses in the waterfall: the house palette's green and its warning colour.
GOOD, BAD = PALETTE[2], WARNING


def plot_waterfall(
    waterfall: pd.DataFrame,
    currency: str = "EUR",
    title: str | None = None,
    ax=None,
    evidence_labels: dict[str, str] | None = None,
):
    """Each lever's margin stacked up, minus the cost, to the NPV (or the total margin without costs).

    Parameters
    ----------
    waterfall : DataFrame
        :attr:`cxlib.impact.RevenueCase.waterfall` (``step``, ``value``, ``evidence``); with ``low``
        and ``high`` (the step's 95% interval, signed like ``value``) each bar gets an error bar.
    currency : str
        For the axis and the value labels.
    title : str, optional
        The finding; a neutral title by default.
    evidence_labels : dict, optional
        Evidence code -> reader's name: when given, each bar is labelled with what it rests on.
    """
    ax = new_axes(ax, figsize=(8.5, 4.2))
    steps = list(waterfall["step"])
    values = waterfall["value"].to_numpy(float)
    start, running = [], 0.0
    for step, value in zip(steps, values, strict=True):
        if step in ("npv", "margin_total"):
            start.append(0.0)
        else:
            start.append(running)
            running += value
    start = np.array(start)
    colours = [
        ACCENT if s in ("npv", "margin_total") else (GOOD if v >= 0 else BAD)
        for s, v in zip(steps, values, strict=True)
    ]
    x = np.arange(len(steps))
    ax.bar(x, values, bottom=start, color=colours, width=0.6)
    tops = start + np.maximum(values, 0)
    bottoms = start + np.minimum(values, 0)
    if {"low", "high"} <= set(waterfall.columns):
        low = start + waterfall["low"].to_numpy(float)
        high = start + waterfall["high"].to_numpy(float)
        ends = start + values
        shown = np.isfinite(low) & np.isfinite(high)
        ax.errorbar(
            x[shown],
            ends[shown],
            yerr=[ends[shown] - low[shown], high[shown] - ends[shown]],
            fmt="none",
            ecolor="black",
            elinewidth=1,
            capsize=4,
        )
        tops = np.fmax(tops, np.where(shown, high, tops))
        bottoms = np.fmin(bottoms, np.where(shown, low, bottoms))
    span = max(tops.max(), 0) - min(bottoms.min(), 0) or 1.0
    for i, v in enumerate(values):
        text = money_formatter(currency)(v, None)
        if evidence_labels is not None and "evidence" in waterfall:
            text += "\n" + evidence_labels.get(waterfall["evidence"].iloc[i], "")
        ax.text(i, tops[i] + 0.025 * span, text, ha="center", va="bottom", fontsize=9, linespacing=1.2)
    ax.axhline(0, color=NEUTRAL, lw=0.8)
    room = 0.25 if evidence_labels is not None else 0.15  # room for the labels
    ax.set_ylim(min(bottoms.min(), 0) - 0.05 * span, max(tops.max(), 0) + room * span)
    ax.set_xticks(x, [STEP_LABELS.get(s, s) for s in steps])
    ax.yaxis.set_major_formatter(money_formatter(currency))
    return finish(
        ax,
        title or "Margin by lever, cost and net value (present value)",
        ylabel=f"Present value ({currency})",
    )


def plot_tornado(table: pd.DataFrame, currency: str = "EUR", result: str = "NPV", ax=None):
    """One bar per uncertain input: the result with the input at the low and high end of its range.

    Parameters
    ----------
    table : DataFrame
        :func:`cxlib.impact.tornado` output (widest swing first; ``attrs["central"]``).
    """
    table = table.iloc[::-1]
    ax = new_axes(ax, figsize=(8.5, max(2.6, 0.5 * len(table) + 1.4)))
    central = table.attrs.get("central", 0.0)
    y = np.arange(len(table))
    low = table[["result_low", "result_high"]].min(axis=1).to_numpy()
    high = table[["result_low", "result_high"]].max(axis=1).to_numpy()
    ax.barh(y, high - low, left=low, color=ACCENT, alpha=0.85)
    ax.axvline(central, color="black", lw=1)
    if result == "NPV":
        ax.axvline(0, color=WARNING, lw=1, ls="--")
    ax.set_yticks(y, axis_labels([INPUT_LABELS.get(name, name) for name in table["input"]]))
    ax.xaxis.set_major_locator(MaxNLocator(5))
    ax.xaxis.set_major_formatter(money_formatter(currency))
    return finish(
        ax,
        f"What moves the {result} most: each input at the ends of its range",
        xlabel=f"{result} ({currency}); black line: all inputs central",
    )


def plot_targeting(curve: pd.DataFrame, currency: str = "EUR", budget: float | None = None, ax=None):
    """Expected net margin as more customers are enrolled, best prospects first.

    Parameters
    ----------
    curve : DataFrame
        ``cumulative_cost`` and ``net`` (cumulative incremental margin minus cost), in enrolment order
        (:func:`cxlib.impact.targeting`).
    """
    ax = new_axes(ax, figsize=(8.0, 4.0))
    ax.plot(curve["cumulative_cost"], curve["net"], color=ACCENT, lw=2)
    ax.axhline(0, color=NEUTRAL, lw=0.8)
    if budget is not None:
        ax.axvline(budget, color=WARNING, lw=1, ls="--", label="budget")
        ax.legend(loc="best", frameon=False)
    ax.xaxis.set_major_formatter(money_formatter(currency))
    ax.yaxis.set_major_formatter(money_formatter(currency))
    return finish(
        ax,
        "Expected return as enrolment grows, best prospects first",
        xlabel=f"Running cost spent ({currency}, present value)",
        ylabel=f"Net margin ({currency})",
    )


def plot_npv_spread(draws: np.ndarray, currency: str = "EUR", ax=None):
    """Histogram of the Monte Carlo NPV draws, with zero marked."""
    ax = new_axes(ax, figsize=(8.0, 3.4))
    draws = np.asarray(draws, float)
    ax.hist(draws[np.isfinite(draws)], bins=50, color=ACCENT, alpha=0.85)
    ax.axvline(0, color=WARNING, lw=1, ls="--")
    ax.xaxis.set_major_locator(MaxNLocator(6))
    ax.xaxis.set_major_formatter(money_formatter(currency))
    share = float(np.mean(draws > 0))
    return finish(
        ax,
        f"Net present value over the simulations: above zero in {share:.0%} of them",
        xlabel=f"Net present value ({currency})",
        ylabel="Simulations",
    )

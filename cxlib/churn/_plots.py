"""Charts of the churn models: forest plots, importance, partial dependence, gains, calibration, retention.

The models in :mod:`cxlib.churn._models`, :mod:`cxlib.churn._survival` and
:mod:`cxlib.churn._retention` compute; their ``plot_*`` methods delegate here, so only this module
(and the report modules) import the plotting libraries. Default titles state the finding, built
from the fitted results. Odds, hazard and time ratios and importances are all drawn by
:func:`cxlib.report.plot_summary`.

Examples
--------
>>> plot_odds_ratios(ChurnDrivers().fit(frame, numeric, categorical), top=10)  # doctest: +SKIP
>>> plot_gains(test["churned"], {"Gradient boosting": probabilities})  # doctest: +SKIP
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from matplotlib.axes import Axes
from matplotlib.ticker import MaxNLocator
from sklearn.calibration import calibration_curve

from cxlib.churn._flexible import curve_shape
from cxlib.churn._models import gains_table
from cxlib.report._charts import (
    ACCENT,
    NEUTRAL,
    PALETTE,
    axis_labels,
    finish,
    new_axes,
    percent_formatter,
)
from cxlib.report._messages import group_label, variable_label
from cxlib.report._sentences import groups_to_show
from cxlib.report._summary import plot_summary
from cxlib.stats._design import feature_label

if TYPE_CHECKING:
    from cxlib.churn._models import ChurnDrivers, ChurnPredictor
    from cxlib.churn._retention import RetentionCurves
    from cxlib.churn._survival import ChurnHazards, RemainingLifetime


def plot_odds_ratios(
    drivers: ChurnDrivers, ax: Axes | None = None, top: int = 20, title: str | None = None
) -> Axes:
    """Forest plot of a :class:`ChurnDrivers` fit: odds ratios with their intervals, strongest drivers first.

    :func:`cxlib.report.plot_summary` of :meth:`ChurnDrivers.driver_table`.

    Parameters
    ----------
    drivers : ChurnDrivers
        A fitted model.
    ax : Axes, optional
    top : int
        Terms shown, in the order of :meth:`ChurnDrivers.driver_table`.
    title : str, optional
        Default: the best-evidenced term and its odds ratio.
    """
    table = drivers.driver_table()
    first = table.iloc[0]
    default = (
        f"{first['label']} has the strongest evidence of a link to churn (odds ratio {first['estimate']:.2f})"
    )
    return plot_summary(drivers, ax=ax, top=top, title=title or default, rows=table)


def plot_hazard_ratios(
    hazards: ChurnHazards, ax: Axes | None = None, top: int = 20, title: str | None = None
) -> Axes:
    """Forest plot of a :class:`ChurnHazards` fit: hazard ratios with their intervals, most significant first.

    :func:`cxlib.report.plot_summary` of its ``summary_``.

    Parameters
    ----------
    hazards : ChurnHazards
        A fitted model.
    ax : Axes, optional
    top : int
        Terms shown, in the order of its ``summary_`` (smallest p-value first).
    title : str, optional
        Default: the most significant term and its hazard ratio.
    """
    first = hazards.summary_.iloc[0]
    default = f"{first['label']} ({first['unit']}) multiplies the monthly hazard of leaving by {first['estimate']:.2f}"
    return plot_summary(hazards, ax=ax, top=top, title=title or default)


def plot_time_ratios(
    lifetime: RemainingLifetime, ax: Axes | None = None, top: int = 20, title: str | None = None
) -> Axes:
    """Forest plot of a :class:`RemainingLifetime` fit: time ratios with their intervals, most significant first.

    :func:`cxlib.report.plot_summary` of its ``summary_`` sorted by p-value. A time ratio above 1
    stretches a customer's expected lifetime (good news, drawn in the accent colour), below 1
    shortens it.

    Parameters
    ----------
    lifetime : RemainingLifetime
        A fitted model.
    ax : Axes, optional
    top : int
        Terms shown, smallest p-value first.
    title : str, optional
        Default: the most significant term and its time ratio.
    """
    table = lifetime.summary_.sort_values("p_value", kind="stable", ignore_index=True)
    first = table.iloc[0]
    default = (
        f"{first['label']} ({first['unit']}) multiplies the expected lifetime by {first['estimate']:.2f}"
    )
    return plot_summary(lifetime, ax=ax, top=top, title=title or default, rows=table)


def plot_importance(
    predictor: ChurnPredictor, ax: Axes | None = None, top: int = 12, importance: pd.DataFrame | None = None
) -> Axes:
    """Permutation importance of a :class:`ChurnPredictor` with its range over the shuffles, largest first.

    :func:`cxlib.report.plot_summary` on a linear axis, reference line at 0 (no drop).

    Parameters
    ----------
    predictor : ChurnPredictor
        A fitted model.
    ax : Axes, optional
    top : int
        Features shown.
    importance : DataFrame, optional
        The result of :meth:`ChurnPredictor.permutation_importance` (e.g. on a test set);
        default: the model's ``summary_``.
    """
    table = predictor.summary_ if importance is None else importance
    title = f"{table['label'].iloc[0]} matters most to the model's ranking of churners"
    return plot_summary(predictor, ax=ax, top=top, title=title, rows=table)


def plot_partial_dependence(
    predictor: ChurnPredictor, frame: pd.DataFrame, feature: str, ax: Axes | None = None
) -> Axes:
    """Average predicted churn probability as one feature varies, others as observed.

    Levels of a category and the two values of a yes/no flag are drawn as bars, a number as a
    line (see :meth:`ChurnPredictor.partial_dependence`).
    """
    ax = new_axes(ax, figsize=(3.8, 3.0))
    curve = predictor.partial_dependence(frame, feature)
    grid, average = curve["value"].to_numpy(), curve["churn_probability"].to_numpy()
    categorical = feature in predictor.categorical_
    flag = not categorical and set(np.unique(grid)) <= {0.0, 1.0}
    if categorical or flag:  # levels, or a yes/no flag, as bars rather than a line between 0 and 1
        labels = ["no" if g == 0 else "yes" for g in grid] if flag else [str(g) for g in grid]
        order = np.arange(len(grid)) if flag else np.argsort(average)
        ax.barh(range(len(order)), average[order], color=ACCENT)
        ax.set_yticks(range(len(order)), axis_labels(np.asarray(labels)[order], width=24))
        ax.xaxis.set_major_formatter(percent_formatter(1))
        ax.xaxis.set_major_locator(MaxNLocator(4))
        ax.grid(axis="y", visible=False)
        ax.tick_params(axis="y", labelsize=9)
        ax.set_title(feature_label(feature), fontsize=10)
        return finish(ax, feature_label(feature), "Average churn probability", None)
    ax.plot(grid, average, color=ACCENT, lw=2)
    ax.yaxis.set_major_formatter(percent_formatter(1))
    finish(ax, feature_label(feature), feature_label(feature), "Average churn probability")
    ax.title.set_fontsize(10)
    return ax


def plot_partial_dependences(predictor: ChurnPredictor, frame: pd.DataFrame, features) -> np.ndarray:
    """Partial-dependence panels for several features side by side; returns the array of Axes."""
    features = list(features)
    fig, axes = plt.subplots(1, len(features), figsize=(3.9 * len(features), 3.4), layout="constrained")
    axes = np.atleast_1d(axes)
    for feature, ax in zip(features, axes, strict=True):
        plot_partial_dependence(predictor, frame, feature, ax=ax)
    fig.suptitle(
        "How predicted churn changes with each top driver (others as observed)",
        x=0.01,
        ha="left",
        fontweight="bold",
    )
    return axes


def plot_gains(y_true, probabilities: dict[str, np.ndarray], ax: Axes | None = None) -> Axes:
    """Cumulative gains curves of one or more models against random targeting.

    Parameters
    ----------
    y_true : array of bool
    probabilities : dict
        Model name -> predicted churn probability of each customer.
    ax : Axes, optional
    """
    ax = new_axes(ax)
    caught = {}
    for (name, p), colour in zip(probabilities.items(), PALETTE, strict=False):
        table = gains_table(y_true, p)
        ax.plot(
            np.r_[0, table["share_contacted"]],
            np.r_[0, table["share_of_churners_caught"]],
            marker="o",
            ms=3,
            color=colour,
            label=name,
        )
        caught[name] = table.loc[table["decile"] == 2, "share_of_churners_caught"].iloc[0]
    ax.plot(
        [0, 1], [0, 1], color=NEUTRAL, ls="--", label="Random targeting (20% of churners per 20% contacted)"
    )
    ax.xaxis.set_major_formatter(percent_formatter())
    ax.yaxis.set_major_formatter(percent_formatter())
    ax.legend(frameon=False, loc="lower right")
    best = max(caught, key=caught.get)
    return finish(
        ax,
        f"Contacting the riskiest 20% would reach {caught[best]:.0%} of churners ({best.lower()})",
        "Share of customers contacted, highest risk first",
        "Share of churners reached",
    )


def plot_calibration(
    y_true, probabilities: dict[str, np.ndarray], ax: Axes | None = None, bins: int = 10
) -> Axes:
    """Reliability diagram: observed churn rate against predicted probability (quantile bins).

    Parameters
    ----------
    y_true : array of bool
    probabilities : dict
        Model name -> predicted churn probability of each customer.
    ax : Axes, optional
    bins : int
        Quantile bins of the predicted probability.
    """
    ax = new_axes(ax)
    top, worst = 0.0, {}
    for (name, p), colour in zip(probabilities.items(), PALETTE, strict=False):
        observed, predicted = calibration_curve(np.asarray(y_true, int), p, n_bins=bins, strategy="quantile")
        ax.plot(predicted, observed, marker="o", ms=4, color=colour, label=name)
        top = max(top, predicted.max(), observed.max())
        worst[name] = float(np.abs(observed - predicted).max())
    ax.plot([0, top], [0, top], color=NEUTRAL, ls="--", label="Perfect calibration")
    ax.xaxis.set_major_formatter(percent_formatter(0))
    ax.yaxis.set_major_formatter(percent_formatter(0))
    ax.legend(frameon=False, loc="upper left")
    best = min(worst, key=worst.get)
    title = (
        f"{best}: predicted probabilities within {100 * worst[best]:.1f} percentage points of observed churn in every decile"
        if worst[best] < 0.05
        else f"Predicted probabilities miss observed churn by up to {100 * worst[best]:.1f} percentage points in some deciles"
    )
    return finish(
        ax, title, "Predicted churn probability (mean of a decile of customers)", "Observed churn rate"
    )


def plot_retention(
    curves: RetentionCurves, ax: Axes | None = None, title: str | None = None, xlabel: str = "Tenure (months)"
) -> Axes:
    """Kaplan–Meier retention curves of a :class:`RetentionCurves` fit, with shaded 95% bands.

    Parameters
    ----------
    curves : RetentionCurves
        A fitted model.
    ax : Axes, optional
    title : str, optional
        Default: retention at the last horizon shown for at least two groups, best against worst.
    xlabel : str
    """
    ax = new_axes(ax, figsize=(9.0, 4.2))
    # many groups: the curves of the largest and most different ones, as the retention table shows
    first = f"retention_{curves.horizons[0]}m"
    shown = set(groups_to_show(curves.summary_, first, "customers", max_groups=len(PALETTE))["group"])
    fitted = [(name, kmf) for name, kmf in curves.fitters_.items() if name in shown]
    for (name, kmf), colour in zip(fitted, PALETTE, strict=False):
        kmf.plot_survival_function(ax=ax, color=colour, ci_alpha=0.15, lw=2)
        label = group_label(name, curves.group_col_, curves.flag_)
        ax.lines[-1].set_label(f"{axis_labels([label])[0]} (n={kmf.event_table['at_risk'].iloc[0]:,})")
    ax.yaxis.set_major_formatter(percent_formatter())
    ax.set_ylim(0, 1.02)
    legend_title = None if curves.group_col_ is None else variable_label(curves.group_col_)
    if len(fitted) < len(curves.fitters_):
        legend_title = f"{legend_title} ({len(fitted)} of {len(curves.fitters_)} groups)"
    ax.legend(frameon=False, loc="upper left", bbox_to_anchor=(1.01, 1.0), fontsize=9, title=legend_title)
    return finish(ax, title or _retention_title(curves.summary_), xlabel, "Share still a customer")


def _retention_title(summary: pd.DataFrame) -> str:
    """A finding-style title for retention curves from a :class:`RetentionCurves` ``summary_``."""
    keys = [c for c in summary.columns if c.startswith("retention_") and c.count("_") == 1]
    keys = [k for k in keys if summary[k].notna().sum() >= 2]
    if not keys:
        return "Share of customers still with us, by tenure"
    key = keys[-1]
    best, worst = summary.loc[summary[key].idxmax()], summary.loc[summary[key].idxmin()]
    months = key.split("_")[1][:-1]
    if len(summary) == 2:
        high, low = (
            group_label(row["group"], row["group_col"], row["flag"]).lower() for row in (best, worst)
        )
        return (
            f"After {months} months, {best[key]:.0%} are still customers ({high}) vs {worst[key]:.0%} ({low})"
        )
    column = summary["group_col"].iloc[0] if "group_col" in summary else None
    by = variable_label(column) if column is not None else "group"
    by = by if any(c.isupper() for c in by[1:]) else by.lower()  # "InternetService" keeps its capitals
    return f"After {months} months, {worst[key]:.0%} to {best[key]:.0%} are still customers, by {by}"


def plot_effect_curve(drivers: ChurnDrivers, driver: str, ax: Axes | None = None) -> Axes:
    """One driver's effect curve on its own scale: predicted churn with its 95% interval.

    A count entered as levels is drawn as points with interval bars, one per level; a number as a
    line with a shaded band, over its 1st-99th percentiles (:meth:`ChurnDrivers.effect_curve`).
    """
    ax = new_axes(ax, figsize=(3.8, 3.0))
    curve = drivers.effect_curve(driver)
    label = feature_label(driver)
    probability = curve["churn_probability"].to_numpy(dtype=float)
    low, high = curve["ci_low"].to_numpy(dtype=float), curve["ci_high"].to_numpy(dtype=float)
    if drivers.encoder_.form(driver) == "levels":
        positions = np.arange(len(curve))
        ax.errorbar(
            positions,
            probability,
            yerr=[probability - low, high - probability],
            fmt="o",
            color=ACCENT,
            capsize=4,
            lw=1.5,
        )
        ax.set_xticks(positions, axis_labels(curve["value"].astype(str), width=12))
        ax.grid(axis="x", visible=False)
    else:
        values = curve["value"].to_numpy(dtype=float)
        ax.fill_between(values, low, high, color=ACCENT, alpha=0.2, lw=0)
        ax.plot(values, probability, color=ACCENT, lw=2)
    ax.set_ylim(bottom=0)
    ax.yaxis.set_major_formatter(percent_formatter(0))
    ax.yaxis.set_major_locator(MaxNLocator(5))
    finish(ax, f"{label}: {_curve_finding(drivers, driver, curve)}", label, "Predicted churn (95% CI)")
    ax.title.set_fontsize(10)
    return ax


def _curve_finding(drivers: ChurnDrivers, driver: str, curve: pd.DataFrame) -> str:
    """Short finding of an effect curve for its panel title ("peaks at 44-56", "highest at 5")."""
    if drivers.encoder_.form(driver) == "levels":
        top = curve.loc[curve["churn_probability"].idxmax()]
        return f"highest at {top['value']} ({top['churn_probability']:.0%})"
    shape = curve_shape(curve)
    low, high = shape.get("range", (shape["at"], shape["at"]))
    where = f"{low:,.3g}" if low == high else f"{low:,.3g}–{high:,.3g}"
    return {
        "peak": f"peaks at {where}",
        "dip": f"lowest at {where}",
        "rises": "rises across its range",
        "falls": "falls across its range",
    }[shape["kind"]]


def plot_effect_curves(drivers: ChurnDrivers, drivers_shown=None, axes=None, top: int = 4) -> np.ndarray:
    """Effect curves side by side: the curved drivers (strongest first, at most ``top``) or those given.

    Returns the array of Axes; empty, and no figure drawn, when no driver needed a curve
    (:func:`cxlib.churn.describe_effects` says so in words).
    """
    shown = list(drivers_shown) if drivers_shown is not None else drivers.curved_drivers()[:top]
    if not shown:
        return np.array([], dtype=object)
    if axes is None:
        count = max(len(shown), 1)
        _, axes = plt.subplots(1, count, figsize=(3.9 * count, 3.4), layout="constrained", squeeze=False)
    axes = np.ravel(axes)
    for driver, ax in zip(shown, axes, strict=False):
        plot_effect_curve(drivers, driver, ax=ax)
    axes[0].figure.suptitle(
        "Predicted churn by each curved driver (other drivers as they are)",
        x=0.01,
        ha="left",
        fontweight="bold",
    )
    return axes

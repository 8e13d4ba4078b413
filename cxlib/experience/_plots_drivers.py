"""Charts of the key drivers: importance bars with intervals, the importance-performance matrix.

Labels in the matrix are moved apart until no two overlap (adjustText is not a dependency: a few
dozen labels need only a vertical push between overlapping boxes, in display units), with a thin
line back to the point when a label had to move.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from matplotlib.axes import Axes

from cxlib.report._charts import ACCENT, NEUTRAL, PALETTE, WARNING, axis_labels, finish, new_axes

#: Colour of each quadrant of the importance-performance matrix.
QUADRANT_COLOURS = {"fix": WARNING, "maintain": ACCENT, "secondary": NEUTRAL, "surplus": PALETTE[2]}
#: Reader's name of each quadrant, shown in the legend.
QUADRANT_NAMES = {
    "fix": "Fix: important, rated low",
    "maintain": "Maintain: important, rated high",
    "secondary": "Secondary: less important, rated low",
    "surplus": "Surplus: less important, rated high",
}


def plot_importance(summary: pd.DataFrame, r2: float | None = None, ax: Axes | None = None) -> Axes:
    """Horizontal bars of each driver's share of R² (%) with its 95% bootstrap interval.

    Parameters
    ----------
    summary : DataFrame
        :attr:`cxlib.experience.KeyDrivers.summary_`.
    r2 : float, optional
        The model's R², named in the axis label.
    ax : Axes, optional

    Returns
    -------
    Axes
    """
    table = summary.sort_values("share", ascending=True)
    ax = new_axes(ax, figsize=(7.5, max(3.0, 0.32 * len(table) + 1.2)))
    low = (table["share"] - table["share_low"]).clip(lower=0).fillna(0)
    high = (table["share_high"] - table["share"]).clip(lower=0).fillna(0)
    positions = np.arange(len(table))
    ax.barh(positions, table["share"], color=ACCENT, alpha=0.85)
    ax.errorbar(
        table["share"],
        positions,
        xerr=[low.to_numpy(), high.to_numpy()],
        fmt="none",
        ecolor="black",
        capsize=3,
        lw=1,
    )
    ax.set_yticks(positions, axis_labels(table["label"]))
    top = table.iloc[-1]
    explained = f"; R² = {r2:.2f}" if r2 is not None else ""
    return finish(
        ax,
        f"{top['label']} matters most: {top['share']:.0f}% of the variance explained",
        xlabel=f"Share of the variance explained (%{explained}), with 95% bootstrap interval",
    )


def plot_importance_performance(table: pd.DataFrame, ax: Axes | None = None) -> Axes:
    """Importance (% of R²) against performance (mean rating), with quadrant lines and labels.

    Parameters
    ----------
    table : DataFrame
        :func:`cxlib.experience.importance_performance`.
    ax : Axes, optional

    Returns
    -------
    Axes
    """
    ax = new_axes(ax, figsize=(7.5, 5.5))
    for quadrant, group in table.groupby("quadrant", sort=False):
        ax.scatter(
            group["performance"],
            group["importance"],
            s=36,
            color=QUADRANT_COLOURS[quadrant],
            label=QUADRANT_NAMES[quadrant],
            zorder=3,
        )
    ax.errorbar(
        table["performance"],
        table["importance"],
        yerr=[
            (table["importance"] - table["importance_low"]).clip(lower=0).fillna(0).to_numpy(),
            (table["importance_high"] - table["importance"]).clip(lower=0).fillna(0).to_numpy(),
        ],
        fmt="none",
        ecolor=NEUTRAL,
        elinewidth=0.8,
        alpha=0.7,
        zorder=2,
    )
    ax.axvline(table["performance_line"].iloc[0], color=NEUTRAL, lw=1, ls="--", zorder=1)
    ax.axhline(table["importance_line"].iloc[0], color=NEUTRAL, lw=1, ls="--", zorder=1)
    _pad_limits(ax, table["performance"], table["importance"])
    place_labels(
        ax, table["performance"].to_numpy(), table["importance"].to_numpy(), axis_labels(table["label"], 28)
    )
    ax.legend(loc="best", fontsize=8, frameon=False)
    fix = table[table["quadrant"] == "fix"].sort_values("importance", ascending=False)
    title = (
        f"Invest first in {fix['label'].iloc[0]}: important and rated below average"
        if len(fix)
        else "No important driver is rated below the others"
    )
    return finish(
        ax,
        title,
        xlabel="Performance: mean rating",
        ylabel="Importance: share of R² (%), 95% bootstrap interval",
    )


def _pad_limits(ax: Axes, x, y) -> None:
    """Room around the points, more on the right where labels go."""
    x_span = max(float(np.ptp(x)), 0.1)
    y_span = max(float(np.ptp(y)), 1.0)
    ax.set_xlim(float(np.min(x)) - 0.08 * x_span, float(np.max(x)) + 0.35 * x_span)
    ax.set_ylim(max(0.0, float(np.min(y)) - 0.1 * y_span), float(np.max(y)) + 0.12 * y_span)


def place_labels(ax: Axes, x: np.ndarray, y: np.ndarray, labels: list[str], fontsize: float = 8) -> list:
    """Write a label beside each point and push overlapping labels apart vertically.

    Labels start just right of their point; while two label boxes overlap, the pair is pushed
    apart along y by the overlap (in display units, so it works on any scale). A label that moved
    gets a thin line back to its point.

    Returns
    -------
    list of matplotlib.text.Text
    """
    figure = ax.figure
    texts = [
        ax.annotate(
            label,
            (xi, yi),
            xytext=(5, 0),
            textcoords="offset points",
            fontsize=fontsize,
            va="center",
            zorder=4,
        )
        for xi, yi, label in zip(x, y, labels, strict=True)
    ]
    if not texts:
        return texts
    renderer = figure.canvas.get_renderer()
    boxes = [t.get_window_extent(renderer) for t in texts]
    lows = np.array([b.y0 for b in boxes], dtype=float)
    heights = np.array([b.height for b in boxes], dtype=float) + 1.0
    lefts = np.array([b.x0 for b in boxes], dtype=float)
    rights = np.array([b.x1 for b in boxes], dtype=float)
    start = lows.copy()
    centres = ax.transData.transform(np.column_stack([x, y]))
    for _ in range(50):
        # a label lying on another driver's point moves off it (the points stay where they are)
        on_point = False
        for i in range(len(texts)):
            for j, (cx, cy) in enumerate(centres):
                if (
                    i != j
                    and lefts[i] - 4 < cx < rights[i] + 4
                    and lows[i] - 4 < cy < lows[i] + heights[i] + 4
                ):
                    lows[i] = cy + 5 if lows[i] + heights[i] / 2 >= cy else cy - heights[i] - 5
                    on_point = True
        _separate(lows, heights, lefts, rights)
        if not on_point:
            break
    points_per_pixel = 72.0 / figure.dpi
    for text, shift, x_i, y_i in zip(texts, lows - start, x, y, strict=True):
        if abs(shift) < 0.5:
            continue
        text.set_position((5, shift * points_per_pixel))
        ax.annotate(
            "",
            (x_i, y_i),
            xytext=text.get_position(),
            textcoords="offset points",
            arrowprops={"arrowstyle": "-", "color": NEUTRAL, "lw": 0.6},
            zorder=2,
        )
    return texts


def _separate(lows: np.ndarray, heights: np.ndarray, lefts: np.ndarray, rights: np.ndarray) -> None:
    """Push overlapping label boxes apart along y (in place) until none overlap."""
    for _ in range(1000):
        moved = False
        order = np.argsort(lows, kind="stable")
        for position, i in enumerate(order):
            for j in order[position + 1 :]:
                if lefts[j] >= rights[i] or lefts[i] >= rights[j]:
                    continue
                overlap = lows[i] + heights[i] - lows[j]
                if overlap > 0:
                    lows[i] -= overlap / 2 + 0.5
                    lows[j] += overlap / 2 + 0.5
                    moved = True
        if not moved:
            return

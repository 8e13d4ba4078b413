"""One look for every chart: theme, palette, and small helpers that keep titles as findings.

Every ``plot_*`` helper in cxlib takes ``ax=None`` and returns the ``Axes``; titles state the
finding, axes carry units.
"""

from __future__ import annotations

import matplotlib.pyplot as plt
import seaborn as sns
from matplotlib.axes import Axes
from matplotlib.ticker import FuncFormatter

#: Qualitative palette (colour-blind safe) shared by every chart.
PALETTE = sns.color_palette("colorblind")
ACCENT = PALETTE[0]
WARNING = PALETTE[3]
NEUTRAL = "#9a9a9a"
FIGSIZE = (7.5, 4.2)


def set_theme() -> None:
    """Apply the suite's theme (call once at the top of a notebook)."""
    sns.set_theme(
        style="whitegrid",
        palette=PALETTE,
        font="DejaVu Sans",  # ships with matplotlib: no missing-font warnings in reports
        rc={
            "figure.figsize": FIGSIZE,
            "figure.dpi": 100,
            "savefig.dpi": 100,
            "axes.titlesize": 12,
            "axes.titleweight": "bold",
            "axes.titlelocation": "left",
            "axes.spines.top": False,
            "axes.spines.right": False,
        },
    )


def new_axes(ax: Axes | None = None, figsize=FIGSIZE) -> Axes:
    """Return ``ax``, or a fresh Axes on a new figure of the house size."""
    if ax is not None:
        return ax
    _, ax = plt.subplots(figsize=figsize, layout="constrained")
    return ax


def money_formatter(currency: str = "EUR") -> FuncFormatter:
    """Tick formatter for money: 1.2M, 350k, 80 with the currency code."""

    def fmt(value, _pos=None):
        size = abs(value)
        if size >= 1e6:
            return f"{value / 1e6:,.1f}M {currency}"
        if size >= 1e3:
            return f"{value / 1e3:,.0f}k {currency}"
        return f"{value:,.0f} {currency}"

    return FuncFormatter(fmt)


def percent_formatter(decimals: int = 0) -> FuncFormatter:
    """Tick formatter for shares stored as fractions (0.25 -> 25%)."""
    return FuncFormatter(lambda v, _pos=None: f"{v:.{decimals}%}")


def finish(ax: Axes, title: str, xlabel: str | None = None, ylabel: str | None = None) -> Axes:
    """Set a finding-style title and unit-bearing axis labels."""
    ax.set_title(title)
    if xlabel is not None:
        ax.set_xlabel(xlabel)
    if ylabel is not None:
        ax.set_ylabel(ylabel)
    return ax

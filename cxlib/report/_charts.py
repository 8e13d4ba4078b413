"""One look for every chart: theme, palette, and small helpers that keep titles as findings.

Every ``plot_*`` helper in cxlib takes ``ax=None`` and returns the ``Axes``; titles state the
finding, axes carry units.
"""

from __future__ import annotations

import textwrap

import matplotlib.dates as mdates
import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import seaborn as sns
from matplotlib.axes import Axes
from matplotlib.ticker import FuncFormatter, NullFormatter, PercentFormatter

#: Qualitative palette (colour-blind safe) shared by every chart.
PALETTE = sns.color_palette("colorblind")
ACCENT = PALETTE[0]
WARNING = PALETTE[3]
NEUTRAL = "#9a9a9a"
FIGSIZE = (7.5, 4.2)


def set_theme() -> None:
    """Apply the suite's theme (call once at the top of a notebook).

    Mathtext is off: chart titles, labels and ticks carry text from the data or the config
    (segment names, plan values, the currency), and a ``$`` in them would otherwise start a
    formula, or stop the chart from drawing when the "formula" does not parse.
    """
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
            "text.parse_math": False,
        },
    )


#: Longest category label drawn on a chart axis; longer ones are shortened so the plot area keeps its room.
MAX_LABEL = 40


def axis_labels(values, width: int = MAX_LABEL) -> list[str]:
    """Category values as axis labels: underscores as spaces, shortened to ``width`` characters."""
    labels = [" ".join(str(v).replace("_", " ").split()) for v in values]
    return [text if len(text) <= width else text[: width - 1].rstrip() + "…" for text in labels]


def new_axes(ax: Axes | None = None, figsize=FIGSIZE) -> Axes:
    """Return ``ax``, or a fresh Axes on a new figure of the house size."""
    if ax is not None:
        return ax
    _, ax = plt.subplots(figsize=figsize, layout="constrained")
    return ax


def money_formatter(currency: str = "EUR") -> FuncFormatter:
    """Tick formatter for money: 1.2M, 350k, 80 with the currency code.

    A currency longer than a code is shortened in the ticks (the axis label carries it whole),
    so the labels cannot squeeze the plot area away.
    """
    currency = axis_labels([currency], width=8)[0]

    def fmt(value, _pos=None):
        size = abs(value)
        if size >= 1e6:
            return f"{value / 1e6:,.1f}M {currency}"
        if size >= 1e3:
            return f"{value / 1e3:,.0f}k {currency}"
        return f"{value:,.0f} {currency}"

    return FuncFormatter(fmt)


def percent_formatter(decimals: int | None = None) -> PercentFormatter:
    """Tick formatter for shares stored as fractions (0.25 -> 25%); decimals chosen from the tick spacing."""
    return PercentFormatter(xmax=1.0, decimals=decimals)


def finish(ax: Axes, title: str, xlabel: str | None = None, ylabel: str | None = None) -> Axes:
    """Set a finding-style title and unit-bearing axis labels.

    A title wider than the room it has is wrapped: titles carry names from the data, and one
    wider than the figure would squeeze the plot area away.
    """
    ax.set_title(title)
    ax.set_title(_wrapped(title, ax, ax.title.get_fontsize()))
    if xlabel is not None:
        ax.set_xlabel(xlabel)
        ax.set_xlabel(_wrapped(xlabel, ax, ax.xaxis.label.get_fontsize()))
    if ylabel is not None:
        ax.set_ylabel(ylabel)
    return ax


def _wrapped(text: str, ax: Axes, fontsize: float) -> str:
    """``text`` broken into lines that fit the axes' figure (the whole width for a single chart)."""
    figure = ax.figure
    share = 1.0 if len(figure.axes) == 1 else ax.get_position().width
    chars = max(20, int(share * figure.get_figwidth() * 72 / (fontsize * 0.6)))
    if len(text) <= chars or "\n" in text:
        return text
    return textwrap.fill(text, chars, break_long_words=True, break_on_hyphens=False)


def plot_monthly_revenue(monthly, currency: str = "EUR", ax: Axes | None = None) -> Axes:
    """Net revenue per month with a 3-month rolling mean; the title states growth and the peak month.

    Parameters
    ----------
    monthly : DataFrame
        From :func:`cxlib.overview._kpis.monthly_revenue` (``month``, ``net_revenue``).
    """
    ax = new_axes(ax)
    partial = monthly["partial"] if "partial" in monthly else pd.Series(False, index=monthly.index)
    first = monthly["first_month"] if "first_month" in monthly else pd.Series(False, index=monthly.index)
    labels = [
        text for text, any_ in (("first month of data", first.any()), ("month so far", partial.any())) if any_
    ]
    # the first month of data may start mid-month: drawn apart, never a peak, trough or trend point
    partial = partial | first
    full = monthly[~partial]
    ax.bar(full["month"], full["net_revenue"], width=20, color=ACCENT, alpha=0.55, label="month")
    if partial.any():
        _partial_bars(
            ax,
            monthly.loc[partial, "month"],
            monthly.loc[partial, "net_revenue"],
            " / ".join(labels) + " (partial)",
        )
    rolling = full["net_revenue"].rolling(3, min_periods=1).mean()
    ax.plot(full["month"], rolling, color=PALETTE[1], linewidth=2, label="3-month average")
    ax.yaxis.set_major_formatter(money_formatter(currency))
    title = "Net revenue by month"
    if len(full) >= 24:
        last, prior = full["net_revenue"].iloc[-12:].sum(), full["net_revenue"].iloc[-24:-12].sum()
        peak = full.assign(m=full["month"].dt.month).groupby("m")["net_revenue"].mean().idxmax()
        month_name = full.loc[full["month"].dt.month == peak, "month"].iloc[0].strftime("%B")
        title = f"Net revenue {'up' if last >= prior else 'down'} {abs(last / prior - 1):.0%} year on year; {month_name} peaks"
    elif len(full) >= 2:
        best = full.loc[full["net_revenue"].idxmax()]
        title = (
            f"Net revenue peaked in {best['month']:%B %Y} at {money_formatter(currency)(best['net_revenue'])}"
        )
    ax.legend(frameon=False, loc="upper left")
    ax.xaxis.set_major_locator(mdates.MonthLocator(bymonth=[1, 7]))
    ax.xaxis.set_major_formatter(mdates.DateFormatter("%b %Y"))
    return finish(ax, title, None, f"net revenue ({currency})")


def plot_share_bars(
    table, label: str, value: str, title: str, xlabel: str, ax: Axes | None = None, percent: bool = True
) -> Axes:
    """Horizontal bars of ``value`` by ``label``, largest on top, values written at the bar ends."""
    ax = new_axes(ax, figsize=(7.5, 0.45 * len(table) + 1.4))
    table = table.dropna(subset=[value]).sort_values(value)
    ax.barh(range(len(table)), table[value], color=ACCENT)
    ax.set_yticks(range(len(table)), axis_labels(table[label]))
    for y, v in enumerate(table[value]):
        ax.text(v, y, f" {v:.0%}" if percent else f" {v:,.0f}", va="center", fontsize=9)
    if percent:
        ax.xaxis.set_major_formatter(percent_formatter())
    ax.set_xlim(0, table[value].max() * 1.18)
    ax.grid(axis="y", visible=False)
    return finish(ax, title, xlabel, None)


def plot_score_distribution(
    scores, low: int, high: int, title: str, xlabel: str, colours=None, ax: Axes | None = None
) -> Axes:
    """Share of answers per score (e.g. NPS 0-10), coloured by group (detractor/passive/promoter)."""
    ax = new_axes(ax)
    counts = (
        scores.dropna().astype(int).value_counts(normalize=True).reindex(range(low, high + 1), fill_value=0)
    )
    colours = colours or [ACCENT] * len(counts)
    ax.bar(counts.index, counts.to_numpy(), color=colours)
    ax.set_xticks(list(counts.index))
    ax.yaxis.set_major_formatter(percent_formatter())
    return finish(ax, title, xlabel, "share of respondents")


def nps_colours() -> list:
    """Colours for NPS scores 0-10: detractors (0-6), passives (7-8), promoters (9-10)."""
    return [WARNING] * 7 + [NEUTRAL] * 2 + [PALETTE[2]] * 2


def plot_rate_with_interval(
    table,
    label: str,
    rate: str,
    low: str,
    high: str,
    title: str,
    xlabel: str,
    ax: Axes | None = None,
    ylabel: str | None = None,
) -> Axes:
    """Horizontal dot-and-whisker chart of a rate per group with its 95% interval.

    ``ylabel`` names the grouping variable, so a group "Yes" or "0" is never shown without it.
    """
    table = table.dropna(subset=[rate]).sort_values(rate)
    ax = new_axes(ax, figsize=(7.5, 0.45 * len(table) + 1.6))
    y = range(len(table))
    # arrays, not Series: matplotlib calls float() on a one-row Series (a deprecation warning)
    rates, lows, highs = (table[c].to_numpy(dtype=float) for c in (rate, low, high))
    ax.errorbar(
        rates,
        y,
        xerr=np.vstack([rates - lows, highs - rates]),
        fmt="o",
        color=ACCENT,
        ecolor=NEUTRAL,
        capsize=3,
    )
    ax.set_yticks(list(y), axis_labels(table[label]))
    ax.xaxis.set_major_formatter(percent_formatter())
    ax.grid(axis="y", visible=False)
    return finish(ax, title, xlabel, ylabel)


def plot_signups(signups, ax: Axes | None = None) -> Axes:
    """New customers per month; the title states the busiest month.

    The first month of the data (``first_month``: possibly partial and left-censored) is drawn
    hatched and never named as the peak.
    """
    ax = new_axes(ax)
    first = signups["first_month"] if "first_month" in signups else pd.Series(False, index=signups.index)
    rest = signups[~first]
    ax.bar(rest["month"], rest["new_customers"], width=20, color=ACCENT, alpha=0.7)
    if first.any():
        _partial_bars(
            ax,
            signups.loc[first, "month"],
            signups.loc[first, "new_customers"],
            "first month of data (may be partial)",
        )
        ax.legend(frameon=False, loc="upper left")
    ax.xaxis.set_major_locator(mdates.AutoDateLocator(maxticks=8))
    ax.xaxis.set_major_formatter(mdates.ConciseDateFormatter(ax.xaxis.get_major_locator()))
    title = "New customers per month"
    if len(rest):
        busiest = rest.loc[rest["new_customers"].idxmax()]
        after = " after the first month of data" if first.any() else ""
        title = f"New customers peaked at {busiest['new_customers']:,} in {busiest['month']:%B %Y}{after}"
    return finish(ax, title, None, "new customers per month")


#: Ratios are drawn between 1/FOREST_LIMIT and FOREST_LIMIT; intervals reaching beyond are cut there.
FOREST_LIMIT = 100.0

#: Colours of clear effects (interval excluding the null) above and below it, by what a higher
#: estimate means: bad news is drawn in the warning colour; with no such meaning, two hues that
#: show the direction and judge neither (e.g. a longer lifetime is not drawn as bad news).
DIRECTION_COLOURS = {"worse": (WARNING, ACCENT), "better": (ACCENT, WARNING), None: (ACCENT, PALETTE[4])}


def forest_plot(
    table: pd.DataFrame,
    estimate: str = "estimate",
    ax: Axes | None = None,
    title: str = "",
    xlabel: str = "",
    *,
    null_value: float | None = 1.0,
    interval_name: str = "95% interval",
    higher_is: str | None = None,
    show_units: bool = True,
) -> Axes:
    """Horizontal forest plot: each row's ``estimate`` with its interval (``ci_low``, ``ci_high``).

    Rows are drawn bottom-up in the order of ``table`` (reverse it to put the first row on top).
    Ratios (``null_value`` 1) are drawn on a log axis: values and interval ends beyond
    1/:data:`FOREST_LIMIT` to :data:`FOREST_LIMIT` (including zero, infinite or missing ones from
    a separated fit) are cut at the edge with an arrow head, and the axis label says so. Any other
    estimate (differences, importances: ``null_value`` 0; shares: None) is drawn on a linear axis,
    where infinite or missing interval ends are cut at the edge with an arrow and rows without an
    estimate are left empty.

    Parameters
    ----------
    table : DataFrame
        ``label``, ``estimate`` (or the column named by ``estimate``), ``ci_low``, ``ci_high`` and,
        with ``show_units``, ``unit`` (shown after the label: "Plan: premium · vs basic").
    estimate : str
        Column of the estimates.
    ax : Axes, optional
    title, xlabel : str
        ``xlabel`` names the estimate; the scale, ``interval_name`` and the colour key are added.
    null_value : float or None
        The value of no effect: a reference line, and intervals that include it are grey.
        None: no line, every interval in one colour.
    interval_name : str
        What the interval is (e.g. "95% confidence interval", "range over 5 shuffles").
    higher_is : {"worse", "better", None}
        Colours of clear effects by direction (:data:`DIRECTION_COLOURS`).
    show_units : bool
        Append each row's ``unit`` to its label.
    """
    ax = new_axes(ax, figsize=(9.0, 0.32 * len(table) + 1.4))
    y = np.arange(len(table))
    raw = {c: np.asarray(table[c], dtype=float) for c in (estimate, "ci_low", "ci_high")}
    log = null_value == 1
    if log:
        floor, ceiling = 1 / FOREST_LIMIT, FOREST_LIMIT
        value = _clipped(raw[estimate], floor, ceiling, fill=1.0)
        low = _clipped(raw["ci_low"], floor, ceiling, fill=floor)
        high = _clipped(raw["ci_high"], floor, ceiling, fill=ceiling)
        cut_low = ~(raw["ci_low"] > floor)  # NaN counts as cut
        cut_high = ~(raw["ci_high"] < ceiling)
    else:
        floor, ceiling = _linear_limits(raw, null_value)
        shown = ~np.isnan(raw[estimate])
        value = np.clip(raw[estimate], floor, ceiling)
        low = np.where(shown, _clipped(raw["ci_low"], floor, ceiling, fill=floor), np.nan)
        high = np.where(shown, _clipped(raw["ci_high"], floor, ceiling, fill=ceiling), np.nan)
        cut_low = shown & ~np.isfinite(raw["ci_low"])
        cut_high = shown & ~np.isfinite(raw["ci_high"])
    if null_value is None:
        clear, above = np.ones(len(table), bool), np.zeros(len(table), bool)
    else:
        clear = (raw["ci_low"] > null_value) | (raw["ci_high"] < null_value)
        above = raw[estimate] > null_value
    up, down = DIRECTION_COLOURS[higher_is]
    colours = [(up if a else down) if c else NEUTRAL for a, c in zip(above, clear, strict=True)]
    ax.hlines(y, low, high, color=colours, lw=2)
    ax.scatter(value, y, color=colours, zorder=3, s=28)
    for cut, edge, marker in ((cut_low, floor, "<"), (cut_high, ceiling, ">")):
        if cut.any():
            cut_colours = [colour for colour, is_cut in zip(colours, cut, strict=True) if is_cut]
            ax.scatter(np.full(cut.sum(), edge), y[cut], marker=marker, color=cut_colours, s=30)
    if null_value is not None:
        ax.axvline(null_value, color="black", lw=0.8)
    if log:
        _log_ticks(ax, low, high)
    else:
        ax.set_xlim(floor, ceiling)
    labels = table["label"].astype(str)
    if show_units:
        labels = [f"{lab} · {unit}" for lab, unit in zip(labels, table["unit"], strict=True)]
    ax.set_yticks(y, axis_labels(labels))
    ax.grid(axis="y", visible=False)
    notes = (["log scale"] if log else []) + [interval_name]
    if null_value is not None:
        notes.append(f"grey: interval includes {null_value:g}")
    if (cut_low | cut_high).any():
        notes.append(
            f"arrows: interval beyond {floor:g}-{ceiling:g}"
            if log
            else "arrows: interval unbounded or missing"
        )
    return finish(ax, title, f"{xlabel} ({'; '.join(notes)})")


def _log_ticks(ax: Axes, low: np.ndarray, high: np.ndarray) -> None:
    """Readable ticks on a log axis of ratios around 1: finer when the range spans few decades."""
    ax.set_xscale("log")
    ax.xaxis.set_minor_formatter(NullFormatter())
    lowest, highest = min(float(low.min()), 1.0), max(float(high.max()), 1.0)
    fine = highest / lowest < 8  # few decades: finer ticks still fit without overlapping
    candidates = (
        (0.25, 0.5, 0.75, 1, 1.5, 2, 3, 4)
        if fine
        else (0.01, 0.02, 0.05, 0.1, 0.2, 0.5, 1, 2, 5, 10, 20, 50, 100)
    )
    ticks = [t for t in candidates if lowest / 1.2 <= t <= highest * 1.2]
    ax.set_xticks(ticks, [f"{t:g}" for t in ticks])


def _linear_limits(raw: dict[str, np.ndarray], null_value: float | None) -> tuple[float, float]:
    """The x-range of a linear forest plot: every finite value and the null, with a margin."""
    values = np.concatenate([v[np.isfinite(v)] for v in raw.values()])
    if null_value is not None:
        values = np.append(values, null_value)
    if not len(values):
        return -1.0, 1.0
    lowest, highest = float(values.min()), float(values.max())
    margin = 0.05 * (highest - lowest) or 0.05 * max(abs(highest), 1.0)
    return lowest - margin, highest + margin


def _clipped(values, floor: float, ceiling: float, fill: float) -> np.ndarray:
    """Values as floats inside ``[floor, ceiling]``; missing ones become ``fill``."""
    array = np.asarray(values, dtype=float)
    return np.clip(np.where(np.isnan(array), fill, array), floor, ceiling)


def _partial_bars(ax, months, values, label: str) -> None:
    """Monthly bars of partial months (the first month of data, an unfinished month): grey, hatched."""
    ax.bar(months, values, width=20, color=NEUTRAL, alpha=0.5, hatch="//", label=label)


def closed_figure(ax):
    """The figure of ``ax``, closed so that a notebook shows it once: where it is displayed, not again at the cell's end.

    Report functions that return a list of parts to ``display(*parts)`` put a chart among them this way.
    """
    import matplotlib.pyplot as plt

    plt.close(ax.figure)
    return ax.figure

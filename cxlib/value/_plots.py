"""Charts of the customer-value report: value by group, the holdout check, the forecast, P(alive).

Every function takes ``ax=None`` and returns the Axes; titles state what the chart shows, axes carry
units (:mod:`cxlib.report._charts`).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from cxlib.report import (
    ACCENT,
    NEUTRAL,
    PALETTE,
    axis_labels,
    finish,
    money_formatter,
    new_axes,
    percent_formatter,
    variable_label,
)


def plot_value_by_group(
    table: pd.DataFrame, variable: str, currency: str = "EUR", ax=None, in_months: bool = False
):
    """Mean lifetime value per customer of each group, with its interval (horizontal bars).

    Parameters
    ----------
    table : DataFrame
        :func:`cxlib.value.group_value` output (``group``, ``mean``, ``mean_low``, ``mean_high``).
    variable : str
        The group variable (its name titles the axis).
    in_months : bool
        Values are discounted months as a customer (no revenue given), not money.
    """
    table = table.sort_values("mean", kind="stable")
    ax = new_axes(ax, figsize=(7.5, max(2.4, 0.45 * len(table) + 1.4)))
    y = np.arange(len(table))
    ax.barh(y, table["mean"], color=ACCENT, alpha=0.85)
    ax.errorbar(
        table["mean"],
        y,
        xerr=[table["mean"] - table["mean_low"], table["mean_high"] - table["mean"]],
        fmt="none",
        ecolor="black",
        capsize=3,
        lw=1,
    )
    ax.set_yticks(y, axis_labels(table["group"]))
    name = variable_label(variable)
    ax.set_ylabel(name)
    if in_months:
        return finish(
            ax,
            f"Expected months as a customer by {name.lower()} (discounted)",
            xlabel="Discounted months as a customer, mean per customer (95% interval)",
        )
    _money_axis(ax.xaxis, float(table["mean_high"].max()), currency)
    return finish(
        ax,
        f"Expected value per customer by {name.lower()} (on margin, discounted)",
        xlabel=f"Mean lifetime value per customer, {currency} (95% interval)",
    )


def _money_axis(axis, largest: float, currency: str) -> None:
    """Money ticks that stay distinct: whole amounts below 10,000, else the house format (12k, 1.2M)."""
    from matplotlib.ticker import FuncFormatter, MaxNLocator

    axis.set_major_locator(MaxNLocator(nbins=5))
    if largest < 10_000:
        axis.set_major_formatter(FuncFormatter(lambda v, _pos=None: f"{v:,.0f}"))
    else:
        axis.set_major_formatter(money_formatter(currency))


def plot_value_concentration(clv: pd.Series, ax=None):
    """Share of total value held by the most valuable customers (a Lorenz-style curve)."""
    ax = new_axes(ax)
    values = np.sort(np.asarray(clv, float))[::-1]
    share_customers = np.arange(1, len(values) + 1) / len(values)
    share_value = np.cumsum(values) / values.sum()
    ax.plot(share_customers, share_value, color=ACCENT, lw=2)
    ax.plot([0, 1], [0, 1], color=NEUTRAL, ls="--", lw=1, label="every customer worth the same")
    top = int(np.ceil(0.2 * len(values)))
    ax.scatter([top / len(values)], [share_value[top - 1]], color=PALETTE[3], zorder=3)
    ax.annotate(
        f"top 20% hold {share_value[top - 1]:.0%}",
        (top / len(values), share_value[top - 1]),
        textcoords="offset points",
        xytext=(10, -14),
    )
    ax.xaxis.set_major_formatter(percent_formatter(0))
    ax.yaxis.set_major_formatter(percent_formatter(0))
    ax.legend(loc="lower right", frameon=False)
    return finish(
        ax,
        "How concentrated value is",
        xlabel="Customers, most valuable first (share)",
        ylabel="Share of total expected value",
    )


def plot_holdout_by_frequency(table: pd.DataFrame, model: str, ax=None):
    """Mean purchases in the holdout period by calibration frequency: actual vs the model's forecast."""
    ax = new_axes(ax)
    rows = table.loc[table["model"] == model]
    x = np.arange(len(rows))
    ax.plot(x, rows["actual"], marker="o", color="black", label="actual")
    ax.plot(x, rows["expected"], marker="s", color=ACCENT, ls="--", label="forecast")
    ax.set_xticks(x, rows["frequency"])
    ax.legend(frameon=False)
    return finish(
        ax,
        "Forecast vs actual purchases in the holdout period, by purchases before it",
        xlabel="Repeat purchases in the calibration period",
        ylabel="Purchases per customer in the holdout",
    )


def plot_cumulative_forecast(table: pd.DataFrame, unit: str = "week", ax=None):
    """Cumulative repeat purchases over time, actual vs expected, with the end of calibration marked."""
    ax = new_axes(ax)
    ax.plot(table["date"], table["actual"], color="black", label="actual")
    ax.plot(table["date"], table["expected"], color=ACCENT, ls="--", label="model")
    calibration = table.loc[table["period"] == "calibration", "date"]
    if len(calibration) and (table["period"] == "holdout").any():
        ax.axvline(calibration.max(), color=NEUTRAL, ls=":", lw=1)
        ax.annotate(
            "end of calibration",
            (calibration.max(), 0),
            textcoords="offset points",
            xytext=(4, 8),
            color=NEUTRAL,
        )
    import matplotlib.dates as mdates

    ax.yaxis.set_major_formatter(lambda v, _pos=None: f"{v:,.0f}")
    locator = mdates.AutoDateLocator()
    ax.xaxis.set_major_locator(locator)
    ax.xaxis.set_major_formatter(mdates.ConciseDateFormatter(locator))
    ax.legend(frameon=False, loc="upper left")
    return finish(
        ax,
        f"Cumulative repeat purchases, {unit} by {unit}: actual vs the model",
        xlabel="Date",
        ylabel="Repeat purchases (cumulative)",
    )


def plot_alive_grid(grid: pd.DataFrame, age: float, unit: str = "weeks", ax=None):
    """Heat map of P(alive) by frequency (rows) and recency (columns) at one customer age."""
    import matplotlib.pyplot as plt

    ax = new_axes(ax, figsize=(7.5, 4.6))
    image = ax.imshow(
        grid.to_numpy(),
        origin="lower",
        aspect="auto",
        cmap="viridis",
        vmin=0,
        vmax=1,
        extent=[0, float(grid.columns[-1]), -0.5, len(grid) - 0.5],
    )
    bar = plt.colorbar(image, ax=ax)
    bar.set_label("Probability still buying")
    ax.grid(False)
    return finish(
        ax,
        f"Who is still buying: customers first seen {age:.0f} {unit} ago",
        xlabel=f"Recency: {unit} from first to last purchase",
        ylabel="Repeat purchases",
    )


def plot_value_histogram(values: pd.Series, currency: str = "EUR", in_months: bool = False, ax=None):
    """How the expected value (or discounted months as a customer) spreads over customers."""
    ax = new_axes(ax)
    data = np.asarray(values, float)
    data = data[np.isfinite(data)]
    ax.hist(data, bins=min(40, max(5, len(data) // 20)), color=ACCENT, alpha=0.85)
    ax.axvline(float(np.mean(data)), color=PALETTE[3], ls="--", lw=1.5, label="mean")
    ax.legend(frameon=False)
    if in_months:
        return finish(
            ax,
            "How long subscribers are expected to stay (discounted months)",
            xlabel="Discounted months as a customer within the horizon",
            ylabel="Customers",
        )
    _money_axis(ax.xaxis, float(data.max()) if len(data) else 0.0, currency)
    return finish(
        ax,
        "How subscription value spreads over customers",
        xlabel=f"Expected value per customer, {currency} (on margin, discounted)",
        ylabel="Customers",
    )

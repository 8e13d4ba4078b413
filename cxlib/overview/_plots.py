"""Charts of the data overview, drawn from a :class:`~cxlib.overview.DataOverview` with the suite's theme.

Each ``plot_*`` takes ``ax=None`` and returns the ``Axes``, or ``None`` when the data for the
chart is absent (the matching ``*_report`` function of :mod:`cxlib.overview._report` then says
so in words). Titles state the finding; axes carry units.
"""

from __future__ import annotations

from matplotlib.axes import Axes

from cxlib.overview._data_overview import DataOverview
from cxlib.report import _charts as charts
from cxlib.report._messages import group_label, variable_label


def plot_new_customers(overview: DataOverview, ax: Axes | None = None) -> Axes | None:
    """New customers per month; the title states the busiest month after the first month of data.

    None when the signup dates are derived (from a tenure, or first orders): they show no
    acquisition trend, and :func:`cxlib.overview.customer_mix_report` says so.
    """
    if overview.signups is None:
        return None
    return charts.plot_signups(overview.signups, ax=ax)


def plot_churn_by_group(overview: DataOverview, ax: Axes | None = None) -> Axes | None:
    """Churn rate with its 95% interval per plan (or acquisition channel, or region).

    The title names the group that loses the most customers. None without a customer mix, or
    when every group's rate is suppressed.
    """
    mix, column = overview.customer_mix, overview.mix_column
    rated = None if mix is None else mix.dropna(subset=["churn_rate"])
    if rated is None or rated.empty:
        return None
    ordered = rated.sort_values("churn_rate")
    worst, best = ordered.iloc[-1], ordered.iloc[0]
    if worst["churn_low"] > best["churn_high"]:  # the intervals say the highest rate stands apart
        title = (
            f"{variable_label(column)} '{group_label(worst[column])}' loses the most customers "
            f"({worst['churn_rate']:.0%})"
        )
    else:
        title = f"Churn by {variable_label(column)}: no group stands out clearly (intervals overlap)"
    return charts.plot_rate_with_interval(
        mix,
        column,
        "churn_rate",
        "churn_low",
        "churn_high",
        title,
        "share of customers who have churned (all time; 95% interval)",
        ax=ax,
        ylabel=variable_label(column),
    )


def plot_revenue_trend(overview: DataOverview, ax: Axes | None = None) -> Axes | None:
    """Net revenue per month with a 3-month rolling mean; None without transactions."""
    if overview.monthly is None:
        return None
    return charts.plot_monthly_revenue(overview.monthly, overview.currency, ax=ax)


def plot_revenue_by_channel(overview: DataOverview, ax: Axes | None = None) -> Axes | None:
    """Share of net revenue by order channel; None without transactions or with a single channel."""
    mix = overview.channels
    if mix is None or len(mix) <= 1:
        return None
    top = mix.iloc[0]
    return charts.plot_share_bars(
        mix,
        "channel",
        "revenue_share",
        f"{top['channel'].capitalize()} brings {top['revenue_share']:.0%} of net revenue",
        "share of net revenue, last 12 months",
        ax=ax,
    )


def plot_touchpoints(overview: DataOverview, ax: Axes | None = None) -> Axes | None:
    """Touchpoint events per 1,000 active customers (or all customers without transactions) by kind.

    None without interactions.
    """
    if overview.touchpoints is None:
        return None
    rate = "per_1000_active" if overview.touchpoint_base == "active" else "per_1000_customers"
    base = "active customers" if overview.touchpoint_base == "active" else "customers"
    by_kind = overview.touchpoints.groupby("kind", as_index=False)[rate].sum()
    busiest = by_kind.sort_values(rate).iloc[-1]
    return charts.plot_share_bars(
        by_kind,
        "kind",
        rate,
        f"{busiest['kind'].replace('_', ' ').capitalize()}: {busiest[rate]:,.0f} per 1,000 {base} a year",
        f"events per 1,000 {base}, last 12 months",
        ax=ax,
        percent=False,
    )


def plot_scores(overview: DataOverview, ax: Axes | None = None) -> Axes | None:
    """The distribution of NPS answers (or, without NPS, of CSAT), the title giving the score and its interval.

    None when the last 12 months hold no NPS or CSAT answer.
    """
    kpis = overview.kpis.set_index("kpi")
    if "nps" in kpis.index:
        nps = kpis.loc["nps"]
        return charts.plot_score_distribution(
            overview.scores["nps"],
            0,
            10,
            f"NPS {nps['value']:+.0f} (95% CI {nps['low']:+.0f} to {nps['high']:+.0f}): detractors (0-6) in "
            "orange, promoters (9-10) in green",
            "likelihood to recommend (0-10)",
            colours=charts.nps_colours(),
            ax=ax,
        )
    if "satisfied_share" in kpis.index:
        csat = kpis.loc["satisfied_share"]
        return charts.plot_score_distribution(
            overview.scores["csat"],
            1,
            5,
            f"{csat['value']:.0%} of respondents are satisfied (CSAT 4-5; 95% CI {csat['low']:.0%} to "
            f"{csat['high']:.0%})",
            "satisfaction (1-5)",
            ax=ax,
        )
    return None

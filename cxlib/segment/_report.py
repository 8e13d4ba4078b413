"""Presentation of fitted segments for reports: the summary table and findings as sentences."""

from __future__ import annotations

import pandas as pd

from cxlib.report._safe_text import md_text
from cxlib.segment._segmenter import NO_PURCHASE_LABEL, Segmenter

#: Columns of the segment summary shown in reports, with their display formats.
REPORT_COLUMNS = {
    "name": None,
    "customers": "{:,.0f}",
    "share_of_customers": "{:.1%}",
    "share_of_revenue": "{:.1%}",
    "avg_order_value": "{:,.2f}",
    "orders_per_active_month": "{:.2f}",
    "churn_rate": "{:.1%}",
    "nps": "{:+.0f}",
    "mean_likelihood_to_recommend": "{:.1f}",
    "csat": "{:.2f}",
    "stability": "{:.2f}",
    "distinguishing": None,
}


def report_table(segmenter: Segmenter) -> tuple[pd.DataFrame, dict[str, str]]:
    """Segment summary columns for a report, and their formats (aggregates only).

    Parameters
    ----------
    segmenter : Segmenter
        Fitted.

    Returns
    -------
    (DataFrame, dict)
        The table (segment number as a column) and column -> format string.
    """
    summary = segmenter.summary_
    columns = [c for c in REPORT_COLUMNS if c in summary]
    table = summary[columns].reset_index()
    table["distinguishing"] = table["distinguishing"].str.replace("_", " ")
    return table, {c: f for c, f in REPORT_COLUMNS.items() if c in columns and f}


def describe_segments(segmenter: Segmenter, currency: str = "EUR") -> str:
    """Findings on the segments as sentences built from the numbers (Markdown).

    Parameters
    ----------
    segmenter : Segmenter
        Fitted.
    currency : str

    Returns
    -------
    str
        Markdown; segment names (generated or from ``segmentation.names``) and the currency are
        escaped with :func:`cxlib.report._safe_text.md_text`.
    """
    prof = segmenter.profiles_.dropna(subset=["customers"])
    currency = md_text(currency)
    lines = []
    if "share_of_revenue" in prof and len(prof):
        top = prof["share_of_revenue"].idxmax()
        row = prof.loc[top]
        lines.append(
            f"**{md_text(row['name'])}** (segment {top}) are {row['share_of_customers']:.0%} of customers but bring "
            f"{row['share_of_revenue']:.0%} of net revenue, with an average order of "
            f"{row['avg_order_value']:,.0f} {currency} and {row['orders_per_active_month']:.1f} orders a month."
        )
    if "churn_rate" in prof and prof["churn_rate"].notna().any():
        worst, best = prof["churn_rate"].idxmax(), prof["churn_rate"].idxmin()
        lines.append(
            f"Churn is highest among **{md_text(prof.loc[worst, 'name'])}** ({prof.loc[worst, 'churn_rate']:.0%}) and "
            f"lowest among **{md_text(prof.loc[best, 'name'])}** ({prof.loc[best, 'churn_rate']:.0%})."
        )
    if "nps" in prof and prof["nps"].notna().sum() > 1:
        high, low = prof.loc[prof["nps"].idxmax()], prof.loc[prof["nps"].idxmin()]
        overlap = high["nps_ci_low"] <= low["nps_ci_high"]
        lines.append(
            f"NPS (% promoters minus % detractors, on each respondent's latest answer) is highest among "
            f"**{md_text(high['name'])}** ({high['nps']:+.0f}, 95% CI {high['nps_ci_low']:+.0f} to "
            f"{high['nps_ci_high']:+.0f}) and lowest among **{md_text(low['name'])}** ({low['nps']:+.0f}, "
            f"{low['nps_ci_low']:+.0f} to {low['nps_ci_high']:+.0f})"
            + (
                "; the intervals overlap, so satisfaction may not be what separates the segments."
                if overlap
                else "."
            )
        )
    no_purchase = int((segmenter.labels_ == NO_PURCHASE_LABEL).sum())
    if no_purchase:
        lines.append(
            f"{no_purchase:,} customers have no purchase in the data (no orders, or only refunds, cancellations "
            "or excluded lines) and are reported as 'No purchase'."
        )
    return " ".join(lines)


def describe_stability(segmenter: Segmenter) -> str:
    """Bootstrap stability in one or two sentences (Markdown)."""
    if not len(segmenter.stability_ari_):
        return "Stability was not measured (bootstrap_runs is 0)."
    ari = segmenter.stability_ari_
    stab = segmenter.stability_["jaccard_mean"]
    weakest = stab.idxmin()
    return (
        f"Refitting the segments on {len(ari)} bootstrap samples reproduces them with an adjusted Rand index of "
        f"{ari.mean():.2f} on average (lowest {ari.min():.2f}; 1 = identical). The least stable segment, "
        f"**{md_text(segmenter.names_[weakest])}**, keeps a Jaccard similarity of {stab[weakest]:.2f} "
        f"({'stable' if stab[weakest] >= 0.75 else 'not stable'}: 0.75 or more is stable)."
    )


def headline(segmenter: Segmenter) -> str:
    """One sentence for the report index: how many segments, how stable, who carries the revenue (Markdown)."""
    prof = segmenter.profiles_.dropna(subset=["share_of_revenue"])
    stable = len(segmenter.stability_ari_) and segmenter.stability_["jaccard_mean"].min() >= 0.75
    top = prof["share_of_revenue"].idxmax()
    return (
        f"{segmenter.n_segments_} {'stable ' if stable else ''}behavioural segments; "
        f"{md_text(segmenter.names_[top])} are {prof.loc[top, 'share_of_customers']:.0%} of customers "
        f"and {prof.loc[top, 'share_of_revenue']:.0%} of net revenue."
    )

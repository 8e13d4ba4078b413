"""Presentation of the segmentation for reports: display tables, findings as sentences, the run summary.

Every reader-facing sentence of the capability is built here from results (a fitted
:class:`~cxlib.segment._segmenter.Segmenter`, an RFM summary), so the computing modules build no
text and a message catalogue can later replace this module's wording. Text from the data or
the config (company, segment names, currency, excluded values) is escaped with
:func:`cxlib.report._safe_text.md_text`.
"""

from __future__ import annotations

from typing import Any

import pandas as pd

from cxlib.report._html import money_format
from cxlib.report._messages import render
from cxlib.report._safe_text import md_text
from cxlib.report._sentences import describe_pooling
from cxlib.segment._segmenter import NO_PURCHASE_LABEL, STABLE_JACCARD, Segmenter
from cxlib.segment._tables import segment_summary

#: Columns of the RFM segment summary shown in reports, with their display formats.
RFM_REPORT_COLUMNS = {
    "customers": "{:,.0f}",
    "share_of_customers": "{:.1%}",
    "share_of_revenue": "{:.1%}",
    "median_recency_days": "{:,.0f}",
    "mean_frequency": "{:,.1f}",
    "mean_monetary": "{:,.0f}",
}

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


def report_table(segmenter: Segmenter, currency: str | None = None) -> tuple[pd.DataFrame, dict]:
    """Segment summary columns for a report, and their formats (aggregates only).

    Parameters
    ----------
    segmenter : Segmenter
        Fitted.
    currency : str, optional
        Shown after the average order value (:func:`cxlib.report.money_format`).

    Returns
    -------
    (DataFrame, dict)
        The table (segment number as a column) and column -> format string (or callable).
    """
    summary = segmenter.summary_
    columns = [c for c in REPORT_COLUMNS if c in summary]
    table = summary[["segment", *columns]].copy()
    table["distinguishing"] = table["distinguishing"].str.replace("_", " ")
    formats = {c: f for c, f in REPORT_COLUMNS.items() if c in columns and f}
    if currency is not None and "avg_order_value" in formats:
        formats["avg_order_value"] = money_format(currency)
    return table, formats


def _segment_sentences(segmenter: Segmenter, currency: str) -> dict[str, str]:
    """The findings on the segments by topic (revenue, churn, nps, no_purchase), each one sentence."""
    prof = segmenter.profiles_.dropna(subset=["customers"])
    currency = md_text(currency)
    found = {}
    if "share_of_revenue" in prof and len(prof):
        top = prof["share_of_revenue"].idxmax()
        row = prof.loc[top]
        found["revenue"] = (
            f"**{md_text(row['name'])}** (segment {top}) are {row['share_of_customers']:.0%} of customers but bring "
            f"{row['share_of_revenue']:.0%} of net revenue, with an average order of "
            f"{row['avg_order_value']:,.0f} {currency} and {row['orders_per_active_month']:.1f} orders a month."
        )
    if "churn_rate" in prof and prof["churn_rate"].notna().any():
        worst, best = prof["churn_rate"].idxmax(), prof["churn_rate"].idxmin()
        found["churn"] = (
            f"Churn is highest among **{md_text(prof.loc[worst, 'name'])}** ({prof.loc[worst, 'churn_rate']:.0%}) and "
            f"lowest among **{md_text(prof.loc[best, 'name'])}** ({prof.loc[best, 'churn_rate']:.0%})."
        )
    if "nps" in prof and prof["nps"].notna().sum() > 1:
        high, low = prof.loc[prof["nps"].idxmax()], prof.loc[prof["nps"].idxmin()]
        overlap = high["nps_ci_low"] <= low["nps_ci_high"]
        found["nps"] = (
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
        found["no_purchase"] = (
            f"{no_purchase:,} customers have no purchase in the data (no orders, or only refunds, cancellations "
            "or excluded lines) and are reported as 'No purchase'."
        )
    return found


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
    return " ".join(_segment_sentences(segmenter, currency).values())


def describe_findings(segmenter: Segmenter, currency: str = "EUR") -> str:
    """The report's findings, shown at its top: segments and who carries the revenue, churn, NPS (Markdown list).

    Parameters
    ----------
    segmenter : Segmenter
        Fitted.
    currency : str

    Returns
    -------
    str
        One list item per finding: :func:`headline` (how many segments, how stable, who brings
        the revenue), then which segments churn most and least and where NPS is highest and
        lowest, when the data have churn and survey answers.
    """
    sentences = _segment_sentences(segmenter, currency)
    items = [headline(segmenter), *(sentences[k] for k in ("churn", "nps") if k in sentences)]
    return "\n".join(f"- {item}" for item in items)


def describe_stability(segmenter: Segmenter) -> str:
    """Bootstrap stability in one or two sentences, then the fit's caveats as a list (Markdown).

    Parameters
    ----------
    segmenter : Segmenter
        Fitted.

    Returns
    -------
    str
        The caveats alone when stability was not measured (``bootstrap_runs`` 0; a caveat
        says so).
    """
    caveats = describe_caveats(segmenter)
    ari = segmenter.stability_ari_
    if not len(ari):
        return caveats
    stab = segmenter.stability_["jaccard_mean"]
    weakest = stab.idxmin()
    return (
        f"Refitting the segments on {len(ari)} bootstrap samples reproduces them with an adjusted Rand index of "
        f"{ari.mean():.2f} on average (lowest {ari.min():.2f}; 1 = identical). The least stable segment, "
        f"**{md_text(segmenter.names_[weakest])}**, keeps a Jaccard similarity of {stab[weakest]:.2f} "
        f"({'stable' if stab[weakest] >= STABLE_JACCARD else 'not stable'}: {STABLE_JACCARD} or more is stable)."
    ) + (f"\n\n{caveats}" if caveats else "")


def headline(segmenter: Segmenter) -> str:
    """One sentence for the report index: how many segments, how stable, who carries the revenue (Markdown)."""
    prof = segmenter.profiles_.dropna(subset=["share_of_revenue"])
    stable = len(segmenter.stability_ari_) and segmenter.stability_["jaccard_mean"].min() >= STABLE_JACCARD
    top = prof["share_of_revenue"].idxmax()
    return (
        f"{segmenter.n_segments_} {'stable ' if stable else ''}behavioural segments; "
        f"{md_text(segmenter.names_[top])} are {prof.loc[top, 'share_of_customers']:.0%} of customers "
        f"and {prof.loc[top, 'share_of_revenue']:.0%} of net revenue."
    )


def describe_data(config, data, features: pd.DataFrame) -> str:
    """Which data and which customers: company, data date, customers and buyers, lines left out (Markdown).

    Parameters
    ----------
    config : Config
        The run's config (company name, ``segmentation.exclude_transactions``).
    data : CustomerData
        The validated data (its analysis date).
    features : DataFrame
        Customer features, one row per customer (``frequency`` = purchases).

    Returns
    -------
    str
    """
    buyers = int((features["frequency"] > 0).sum())
    excluded = config.values["segmentation"]["exclude_transactions"] or {}
    left_out = "; ".join(
        f"{md_text(column)} in {', '.join(map(md_text, values))}" for column, values in excluded.items()
    )
    return (
        f"**{md_text(config.company)}**, data as of **{data.as_of:%d %B %Y}**: {len(features):,} customers, "
        f"{buyers:,} of them with at least one purchase. "
        + (f"Lines left out of RFM by the config: {left_out}." if excluded else "")
    )


def rfm_report_table(summary: pd.DataFrame, currency: str | None = None) -> tuple[pd.DataFrame, dict]:
    """The RFM segment summary for a report (segment as a column), and its column formats.

    Parameters
    ----------
    summary : DataFrame
        Output of :func:`cxlib.segment.rfm_segment_summary`.
    currency : str, optional
        Shown after the mean net spend (:func:`cxlib.report.money_format`).

    Returns
    -------
    (DataFrame, dict)
    """
    table = summary.reset_index().rename(columns={"rfm_segment": "RFM segment"})
    formats = dict(RFM_REPORT_COLUMNS)
    if currency is not None:
        formats["mean_monetary"] = money_format(currency)
    return table, formats


def describe_rfm(summary: pd.DataFrame) -> str:
    """One or two sentences on the RFM segments, and which small segments were pooled (Markdown).

    Parameters
    ----------
    summary : DataFrame
        Output of :func:`cxlib.segment.rfm_segment_summary`.

    Returns
    -------
    str
    """
    known = summary.dropna(subset=["customers"])
    parts = []
    if "Champions" in known.index:
        champ = known.loc["Champions"]
        parts.append(
            f"Champions (recent, frequent, high spend) are {champ['share_of_customers']:.0%} of customers "
            f"and bring {champ['share_of_revenue']:.0%} of net revenue."
        )
    risk = known.loc[[s for s in ("At risk", "Can't lose them") if s in known.index]]
    if len(risk):
        parts.append(
            f"{risk['share_of_customers'].sum():.0%} of customers, holding {risk['share_of_revenue'].sum():.0%} "
            "of revenue, used to buy often or spend well but have not bought recently (At risk, Can't lose them)."
        )
    gone = known.loc[[s for s in ("Hibernating", "Lost") if s in known.index]]
    if len(gone):
        parts.append(f"{gone['share_of_customers'].sum():.0%} are hibernating or lost.")
    pooled = describe_pooling(summary)
    return " ".join(parts) + (f"\n\n{pooled}" if pooled else "")


def describe_k_choice(segmenter: Segmenter) -> str:
    """What was clustered, on whom, and the silhouette of the chosen k against the best (Markdown).

    Parameters
    ----------
    segmenter : Segmenter
        Fitted.

    Returns
    -------
    str
    """
    best = segmenter.k_scores_.loc[segmenter.n_segments_]
    low, high = segmenter.k_range
    features = ", ".join(md_text(f.replace("_", " ")) for f in segmenter.features_)
    shaping = getattr(segmenter, "shaping_min_orders_", segmenter.min_orders)
    who = (
        "customers with a purchase (too few repeat buyers to shape them alone)"
        if shaping <= 1
        else f"customers with at least {shaping} purchases; every other buyer is then assigned to the nearest segment"
    )
    return (
        f"Clustered on {len(segmenter.features_)} features ({features}) of the {segmenter.n_fit_:,} "
        f"{who}. With {segmenter.n_segments_} segments the silhouette is {best['silhouette']:.2f} "
        f"(the highest over k = {low}-{high} is at k = {segmenter.best_k_})."
    )


def describe_caveats(segmenter: Segmenter) -> str:
    """The fitted segmenter's caveats as a Markdown list ("" when there are none).

    The caveats are notes (:class:`cxlib.stats.Note`) worded by :func:`cxlib.report.render`; the
    sentences are escaped, since they name segments.

    Parameters
    ----------
    segmenter : Segmenter
        Fitted.

    Returns
    -------
    str
    """
    if not segmenter.caveats_:
        return ""
    return "**Caveats.**\n\n" + "".join(f"- {md_text(render(caveat))}\n" for caveat in segmenter.caveats_)


def run_summary(segmenter: Segmenter, rfm_summary: pd.DataFrame) -> dict[str, Any]:
    """Key figures of the segmentation for the run's machine-readable summary (the report index).

    Parameters
    ----------
    segmenter : Segmenter
        Fitted.
    rfm_summary : DataFrame
        Output of :func:`cxlib.segment.rfm_segment_summary`.

    Returns
    -------
    dict
        ``n_segments``, ``features``, ``k_scores``, ``stability_ari_mean`` (None when not
        measured), ``segments`` (the :func:`cxlib.segment.segment_summary` rows) and ``rfm_segments``.
    """
    ari = segmenter.stability_ari_
    return {
        "n_segments": segmenter.n_segments_,
        "features": segmenter.features_,
        "k_scores": segmenter.k_scores_.reset_index().to_dict(orient="records"),
        "stability_ari_mean": float(ari.mean()) if len(ari) else None,
        "segments": segment_summary(segmenter).to_dict(orient="records"),
        "rfm_segments": rfm_summary.reset_index().to_dict(orient="records"),
    }


def describe_saved(headline: str) -> str:
    """What this notebook handed on, with its headline (Markdown; the headline is already escaped)."""
    return f"Saved the per-customer segment table and the segment summary for later notebooks. *{headline}*"

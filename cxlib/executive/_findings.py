"""The executive summary's key findings, its headline for the report index and its saved figures.

Findings are compared word for word by nbval, so money is quoted to three significant figures,
shares to whole percent and ratios to two decimals. Every group is named with its variable
("Segment: ...", "Plan: premium"); names from the data are escaped with :func:`cxlib.report.md_text`.
"""

from __future__ import annotations

from cxlib.executive._inputs import CHURN_FIGURES, ExecutiveInputs, headline_figures
from cxlib.executive._selection import segment_rows, strongest_churn_driver, top_satisfaction_drivers
from cxlib.impact._economics import decision
from cxlib.impact._evidence import EVIDENCE_LABELS
from cxlib.report import md_plain, md_text


def _money(inputs: ExecutiveInputs, markdown: bool = True):
    from cxlib.executive._report import money

    return money(inputs, markdown)


def _article(label: str) -> str:
    return ("an " if label[0] in "aeiou" else "a ") + label


def _figures(inputs: ExecutiveInputs):
    return headline_figures(inputs).set_index("figure")


def money_finding(inputs: ExecutiveInputs) -> str | None:
    """The money in one sentence (Markdown), or None without the revenue case."""
    from cxlib.executive._report import investment, net_words, share_of_simulations

    figures = _figures(inputs)
    fmt = _money(inputs)
    horizon = inputs.settings.get("horizon_months")
    if "npv" in figures.index:
        npv, p = figures.loc["npv"], figures.loc["p_roi_positive"]
        return (
            f"Net of its costs the {investment(inputs)} is expected to {net_words(npv['value'], fmt)} on margin over "
            f"the next {horizon} months (95% interval {fmt(npv['low'])} to {fmt(npv['high'])}; rests on "
            f"{_article(EVIDENCE_LABELS[npv['evidence']])}); it returns more than it costs "
            f"{share_of_simulations(p['value'])}."
        )
    if "margin_total" in figures.index:
        total = figures.loc["margin_total"]
        return (
            f"The {investment(inputs)} is expected to add **{fmt(total['value'])}** of margin over the next {horizon} "
            f"months (95% interval {fmt(total['low'])} to {fmt(total['high'])}; rests on "
            f"{_article(EVIDENCE_LABELS[total['evidence']])}); no costs were given."
        )
    return None


def segment_finding(inputs: ExecutiveInputs) -> str | None:
    """The segment carrying the largest share of revenue (Markdown), or None without segments."""
    segments = segment_rows(inputs)
    if not len(segments) or not segments["share_of_revenue"].notna().any():
        return None
    top = segments.loc[segments["share_of_revenue"].idxmax()]
    return (
        f"**Segment: {md_text(top['segment'])}** holds {top['share_of_customers']:.0%} of customers and brings "
        f"{top['share_of_revenue']:.0%} of net revenue (all purchases to date)."
    )


def churn_finding(inputs: ExecutiveInputs) -> str | None:
    """The strongest clear churn driver with its odds ratio and interval (Markdown), or None."""
    row = strongest_churn_driver(inputs.table("churn_drivers"))
    if row is None:
        return None
    return (
        f"The largest clear effect on churn: **{md_text(row['label'])}** ({md_text(row['unit'])}) goes with "
        f"{row['odds_ratio']:.2f} times the odds of churning (95% CI {row['or_ci_low']:.2f} to "
        f"{row['or_ci_high']:.2f}); an observed association, not a measured cause."
    )


def satisfaction_finding(inputs: ExecutiveInputs) -> str | None:
    """The top satisfaction driver with its share of the explained variation (Markdown), or None."""
    top = top_satisfaction_drivers(inputs.table("driver_importance"), top=1)
    if not len(top):
        return None
    row = top.iloc[0]
    return (
        f"**{md_text(row['label'])}** matters most to {target_name(row.get('target'))}: "
        f"{row['share']:.0f}% of the explained variation (95% interval {row['share_low']:.0f}% to "
        f"{row['share_high']:.0f}%)."
    )


def target_name(target) -> str:
    """What the satisfaction drivers explain, in words."""
    return {"nps": "the likelihood to recommend (0-10)", "csat": "the satisfaction score"}.get(
        str(target), "the survey answer"
    )


def value_finding(inputs: ExecutiveInputs) -> str | None:
    """Customer value over the horizon with its interval (Markdown), or None."""
    figures = _figures(inputs)
    if "clv_total" not in figures.index:
        return None
    fmt = _money(inputs)
    total, mean = figures.loc["clv_total"], figures.loc["clv_mean"]
    return (
        f"Today's customers are worth **{fmt(total['value'])}** in margin over the {total['period']} (95% interval "
        f"{fmt(total['low'])} to {fmt(total['high'])}; a model estimate), {fmt(mean['value'])} per customer on average."
    )


def churn_rate_finding(inputs: ExecutiveInputs) -> str | None:
    """The churn rate of notebook 00, under the data's churn definition, with its interval (Markdown), or None."""
    figures = _figures(inputs)
    churn = next((f for f in CHURN_FIGURES if f in figures.index), None)
    if churn is None:
        return None
    row = figures.loc[churn]
    who = {
        "churn_rate_12m": f"of customers left in the {row['period']}",
        "churn_rate_snapshot": f"of customers had churned {row['period']}",
        "lapse_rate": f"of earlier buyers made no purchase in the {row['period']}",
    }[churn]
    return f"Churn: **{row['value']:.1%}** {who} (95% CI {row['low']:.1%} to {row['high']:.1%})."


def subscription_value_finding(inputs: ExecutiveInputs) -> str | None:
    """The customer-value report's own headline when it values customers in months, not money (Markdown)."""
    if "clv_total" in _figures(inputs).index:
        return None
    headline = inputs.summaries.get("04_customer_value", {}).get("headline")
    return headline or None


def describe_findings(inputs: ExecutiveInputs) -> str:
    """Section 3: three to five plain sentences with their numbers and intervals (Markdown).

    The money, the segment that brings most revenue, the largest clear churn driver, the top
    satisfaction driver and customer value; where the data give fewer than three of those, the
    churn rate and the customer-value report's headline (e.g. months of a subscription) follow.
    """
    findings = [
        finding(inputs)
        for finding in (money_finding, segment_finding, churn_finding, satisfaction_finding, value_finding)
    ]
    if sum(bool(text) for text in findings) < 3:
        findings += [churn_rate_finding(inputs), subscription_value_finding(inputs)]
    lines = [f"- {text}" for text in findings if text]
    if not lines:
        return "## Key findings\n\nThe analyses of this run produced no findings to summarise."
    return "## Key findings\n\n" + "\n".join(lines[:5])


def executive_headline(inputs: ExecutiveInputs) -> str:
    """One line for the report index (plain text): the verdict and the money, or the base's size."""
    figures = _figures(inputs)
    fmt = _money(inputs, markdown=False)
    if "npv" in figures.index:
        from cxlib.impact._report import verdict_text

        npv = figures.loc["npv"]
        code = decision(float(figures.loc["p_roi_positive", "value"]), True)
        return (
            f"{md_plain(verdict_text(code, _noun(inputs)))} Net value {fmt(npv['value'])} on margin (95% interval "
            f"{fmt(npv['low'])} to {fmt(npv['high'])})."
        )
    if "margin_total" in figures.index:
        total = figures.loc["margin_total"]
        return (
            f"The {_noun(inputs)} would add {fmt(total['value'])} of margin (95% interval {fmt(total['low'])} to "
            f"{fmt(total['high'])}); no costs were given."
        )
    if "customers" in figures.index:
        return f"{figures.loc['customers', 'value']:,.0f} customers; the revenue case could not be built from these data."
    return "The revenue case could not be built from these data."


def _noun(inputs: ExecutiveInputs) -> str:
    from cxlib.executive._report import investment

    return investment(inputs)


def summary_metrics(inputs: ExecutiveInputs) -> dict:
    """The figures the summary shows, for the run's machine-readable summary.

    Returns
    -------
    dict
        ``decision`` (:func:`cxlib.impact.decision`, None without the case) and ``figures``: one
        record per row of :func:`cxlib.executive.headline_figures` (figure, value, low, high,
        unit, evidence, period, source).
    """
    figures = headline_figures(inputs)
    indexed = figures.set_index("figure")
    code = None
    if "npv" in indexed.index:
        code = decision(float(indexed.loc["p_roi_positive", "value"]), True)
    elif "margin_total" in indexed.index:
        code = decision(float("nan"), False)
    records = figures.astype(object).where(figures.notna(), None).to_dict(orient="records")
    return {"decision": code, "figures": records}

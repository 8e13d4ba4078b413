"""The revenue-impact report's findings, headline and key figures (for the report index and the summary).

Findings are compared word for word by nbval on every machine, so money is quoted to three
significant figures and shares to whole percent.
"""

from __future__ import annotations

import numpy as np

from cxlib.impact._evidence import EVIDENCE_LABELS
from cxlib.impact._study import ImpactStudy
from cxlib.report import md_text


def _noun(study: ImpactStudy) -> str:
    from cxlib.impact._report import noun

    return noun(study)


def _article(label: str) -> str:
    """'a randomised pilot', 'an observed association', 'an assumption'."""
    return ("an " if label[0] in "aeiou" else "a ") + label


def _fmt(study: ImpactStudy):
    from cxlib.impact._report import safe_money

    return safe_money(md_text(study.settings["currency"]))


def _figure(study: ImpactStudy, name: str):
    table = study.case.summary.set_index("figure")
    return table.loc[name] if name in table.index else None


def describe_findings(study: ImpactStudy) -> str:
    """Three to five plain sentences with their numbers, intervals and evidence (Markdown bullets)."""
    if study.case is None:
        return "- The revenue case could not be built from these data (see the top of the report)."
    fmt = _fmt(study)
    case = study.case
    lines = []
    total = _figure(study, "margin_total")
    lines.append(
        f"- The {_noun(study)} is expected to add **{fmt(total['value'])}** of margin over "
        f"{study.settings['horizon_months']} months (95% interval {fmt(total['low'])} to {fmt(total['high'])}; rests on "
        f"{_article(EVIDENCE_LABELS[total['evidence']])})."
    )
    levers = [
        (lever, _figure(study, f"margin_{lever}"))
        for lever in ("loyalty", "retention", "word_of_mouth")
        if _figure(study, f"margin_{lever}") is not None
    ]
    biggest, row = max(levers, key=lambda item: item[1]["value"])
    from cxlib.impact._report import LEVER_NAMES

    lines.append(
        f"- The largest lever is **{LEVER_NAMES[biggest].lower()}**: {fmt(row['value'])} "
        f"({fmt(row['low'])} to {fmt(row['high'])}; rests on {_article(EVIDENCE_LABELS[row['evidence']])})."
    )
    if case.has_costs:
        npv, roi = _figure(study, "npv"), _figure(study, "roi")
        lines.append(
            f"- Net of costs the {_noun(study)} is worth **{fmt(npv['value'])}** ({fmt(npv['low'])} to {fmt(npv['high'])}), "
            f"a return of {roi['value']:.0%} on its cost; it returns more than it costs in {case.p_roi_positive:.0%} of "
            "the simulations."
        )
    if study.programme is not None and study.sources.get("hazard_ratio") == "pilot":
        h = study.inputs["hazard_ratio"]
        lines.append(
            f"- In the {'randomised pilot' if h.evidence == 'randomised' else 'pilot (a quasi-experiment)'}, enrolled "
            f"customers' churn hazard was {h.value:.2f} times the "
            f"control group's ({h.low:.2f} to {h.high:.2f})."
        )
    if study.targeting_groups is not None and len(study.targeting_groups) > 1:
        from cxlib.report import variable_label

        groups = study.targeting_groups
        lines.append(
            f"- Per unit of cost the {_noun(study)} returns most in {variable_label(groups.index.name).lower()} "
            f"**{md_text(groups.index[0])}**."
        )
    return "\n".join(lines[:5])


def impact_headline(study: ImpactStudy) -> str:
    """One line for the report index."""
    if study.case is None:
        return "The revenue case could not be built from these data."
    from cxlib.impact._report import safe_money

    fmt = safe_money(study.settings["currency"])
    if study.case.has_costs:
        npv = _figure(study, "npv")
        return (
            f"CX {_noun(study)}: net value {fmt(npv['value'])} on margin (95% interval {fmt(npv['low'])} to "
            f"{fmt(npv['high'])}); returns more than it costs in {study.case.p_roi_positive:.0%} of simulations."
        )
    total = _figure(study, "margin_total")
    return f"CX {_noun(study)}: {fmt(total['value'])} of extra margin (95% interval {fmt(total['low'])} to {fmt(total['high'])})."


def summary_metrics(study: ImpactStudy) -> dict:
    """Key figures for the run's summary (rounded, so reruns on any machine give the same file)."""
    if study.case is None:
        return {}
    out = {}
    for row in study.case.summary.itertuples():
        if row.figure in (
            "margin_total",
            "npv",
            "roi",
            "margin_loyalty",
            "margin_retention",
            "margin_word_of_mouth",
        ):
            digits = 3 if row.unit == "ratio" else 0
            for suffix, value in (("", row.value), ("_low", row.low), ("_high", row.high)):
                out[f"{row.figure}{suffix}"] = round(float(value), digits) if np.isfinite(value) else None
            out[f"{row.figure}_evidence"] = row.evidence
    if study.case.has_costs:
        out["p_roi_positive"] = round(study.case.p_roi_positive, 3)
    return out


def describe_saved(tables: dict) -> str:
    """What the notebook handed on (for analysts; the executive summary reads ``impact_summary``)."""
    if not tables:
        return "Nothing was saved: the revenue case could not be built."
    return (
        "Saved for the executive summary: "
        + ", ".join(f"`{name}` ({len(t):,} rows)" for name, t in tables.items())
        + "."
    )

"""The customer-experience report's findings, headline and summary figures (notebook 03's top lines).

Sentences built from an :class:`~cxlib.experience.ExperienceStudy`'s results, with their numbers and
intervals; data strings are escaped with :func:`cxlib.report.md_text`.
"""

from __future__ import annotations

import pandas as pd

from cxlib.experience._report import TARGET_NAMES, _ci, _signed, _target_name
from cxlib.experience._report_journey import stage_names
from cxlib.experience._study import ExperienceStudy
from cxlib.report import md_text


def describe_findings(study: ExperienceStudy) -> str:
    """Three to five plain sentences with their numbers, for the top of the summary and the index."""
    lines = []
    if study.scores is not None and pd.notna(study.scores.overall.iloc[0].get("nps")):
        o = study.scores.overall.iloc[0]
        lines.append(
            f"- NPS is {_ci(o['nps'], o['nps_low'], o['nps_high'])} ({int(o['answers']):,} customers)."
        )
    if study.drivers is not None:
        top = study.drivers.summary_.iloc[0]
        fix = study.drivers.importance_performance()
        fix = fix.loc[(fix["quadrant"] == "fix") & ~fix["against"].astype(bool), "label"].astype(str)
        lines.append(
            f"- {md_text(top['label'])} drives {_target_name(study)} most ({top['share']:.0f}% of the explained "
            f"variation, 95% CI {top['share_low']:.0f}% to {top['share_high']:.0f}%)"
            + (f"; invest first in {', '.join(md_text(x) for x in fix)}." if len(fix) else ".")
        )
    if study.effects is not None and "nps_p_holm" in study.effects:
        clear = study.effects.loc[study.effects["nps_p_holm"] < 0.05]
        if len(clear):
            # a yes/no measure first (comparable units), then the clearest
            flags = clear.loc[clear["nps_unit"] == "yes vs no"]
            worst = (flags if len(flags) else clear).sort_values("nps_p_value").iloc[0]
            lines.append(
                f"- {md_text(worst['label'])} goes with {_signed(worst['nps_effect'], 2)} points on the answer "
                f"(95% CI {worst['nps_ci_low']:.2f} to {worst['nps_ci_high']:.2f}, {md_text(worst['nps_unit'])})."
            )
    if study.funnel is not None and study.funnel.largest_drop:
        drop = study.funnel.largest_drop
        labels = stage_names(study)
        surveyed = study.funnel.rule.get("surveyed_before_advocacy", float("nan"))
        if drop["stage"] == "advocacy" and pd.notna(surveyed) and surveyed < 0.5:
            # advocacy is seen for few customers: name the largest loss among fully observed stages
            observed = study.funnel.stages.loc[
                (study.funnel.stages["stage"] != "advocacy") & (study.funnel.stages["lost"] > 0)
            ]
            if len(observed):
                worst = observed.loc[observed["lost"].idxmax()]
                order = study.funnel.stages["stage"].tolist()
                before = order[order.index(worst["stage"]) - 1]
                lines.append(
                    f"- Before advocacy (seen only for the {surveyed:.0%} who answered NPS"
                    + (", or who referred" if study.has_referrals else "")
                    + "), the "
                    f"journey loses most customers between {labels[before].lower()} and "
                    f"{labels[worst['stage']].lower()} ({1 - worst['conversion']:.0%}, 95% CI "
                    f"{1 - worst['ci_high']:.0%} to {1 - worst['ci_low']:.0%})."
                )
        else:
            lines.append(
                f"- The journey loses most customers between {labels[drop['from_stage']].lower()} and "
                f"{labels[drop['stage']].lower()} ({drop['loss_share']:.0%}, 95% CI {drop['ci_low']:.0%} to "
                f"{drop['ci_high']:.0%})."
            )
    if study.referrals is not None:
        s = study.referrals.summary_.set_index("nps_class")
        if "promoter" in s.index and pd.notna(s.loc["promoter", "rate_ratio"]):
            p = s.loc["promoter"]
            lines.append(
                f"- Promoters refer {p['rate_ratio']:.1f} times as often as detractors "
                f"(95% CI {p['ratio_ci_low']:.1f} to {p['ratio_ci_high']:.1f})."
            )
    if not lines:
        return "These data support none of this report's analyses (see the list at the top)."
    return "\n".join(lines)


def experience_headline(study: ExperienceStudy) -> str:
    """One plain sentence for the report index: the top driver, else NPS, else what is missing."""
    if study.drivers is not None:
        top = study.drivers.summary_.iloc[0]
        return (
            f"{md_text(top['label'])} drives {TARGET_NAMES.get(study.target, md_text(study.target))} most "
            f"({top['share']:.0f}% of the explained variation)."
        )
    if study.scores is not None and pd.notna(study.scores.overall.iloc[0].get("nps")):
        o = study.scores.overall.iloc[0]
        return f"NPS is {o['nps']:.1f} (95% CI {o['nps_low']:.1f} to {o['nps_high']:.1f})."
    if study.funnel is not None and study.funnel.largest_drop:
        drop = study.funnel.largest_drop
        labels = stage_names(study)
        return f"The journey loses most customers between {labels[drop['from_stage']].lower()} and {labels[drop['stage']].lower()}."
    return "No survey, interaction or referral data to analyse."


def summary_metrics(study: ExperienceStudy) -> dict:
    """Headline figures with intervals for the report index and the executive summary."""
    metrics: dict = {}
    if study.scores is not None:
        o = study.scores.overall.iloc[0]
        for key in ("nps", "nps_low", "nps_high", "csat_mean", "csat_low", "csat_high", "answers"):
            if key in o and pd.notna(o[key]):
                metrics[key] = float(o[key])
    if study.drivers is not None:
        top = study.drivers.summary_.iloc[0]
        metrics.update(
            top_driver=str(top["label"]),
            top_driver_share=float(top["share"]),
            top_driver_share_low=float(top["share_low"]),
            top_driver_share_high=float(top["share_high"]),
            drivers_r2=float(study.drivers.r2_),
        )
    if study.referrals is not None:
        for name, row in study.referrals.summary_.set_index("nps_class").iterrows():
            metrics[f"referral_rate_{name}"] = float(row["estimate"])
    return metrics


def describe_saved(tables: dict) -> str:
    """What was handed on to later notebooks, in one sentence."""
    if not tables:
        return "No table was handed on: these data support none of the analyses later notebooks read."
    names = {
        "driver_importance": "driver importances with intervals",
        "friction_effects": "friction effects on the answer and on churn",
        "referral_rates": "referral rates by NPS class",
        "referred_value": "the value of referred customers",
        "scores_by_group": "NPS and CSAT by group",
    }
    return "Handed on to later notebooks: " + ", ".join(names[n] for n in tables) + "."

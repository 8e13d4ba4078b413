"""Reader-facing text, tables and charts of the journey and word-of-mouth sections of the customer-experience report."""

from __future__ import annotations

import pandas as pd
from IPython.display import Markdown

from cxlib.experience._report import (
    CLASS_NAMES,
    STAGE_NAMES,
    _close,
    section_opening,
)
from cxlib.experience._study import ExperienceStudy
from cxlib.report import md_text, render, styled


def journey_report(study: ExperienceStudy) -> list:
    """The funnel chart, where most customers are lost, conversion by acquisition channel, checkout."""
    out, runs = section_opening(study, "journey", study.funnel)
    if not runs:
        return out
    from cxlib.experience._plots_journey import plot_conversion_by, plot_funnel

    funnel = study.funnel
    labels = stage_names(study)
    out.append(Markdown(describe_funnel(study)))
    if len(funnel.stages) >= 2:
        out.append(_close(plot_funnel(funnel.stages, stage_labels=labels)))
    drop = funnel.largest_drop
    if drop and "acquisition_channel" in set(funnel.by_group.get("group_column", [])):
        groups = funnel.by_group.loc[funnel.by_group["group_column"] == "acquisition_channel"]
        ax = plot_conversion_by(
            groups.loc[groups["previous"] >= study.settings["min_group_size"]],
            by="group",
            stage=drop["stage"],
            title=f"Conversion to {labels[drop['stage']].lower()} by acquisition channel",
        )
        out.append(_close(ax))
    if drop and len(funnel.by_cohort):
        cohorts = funnel.by_cohort.loc[funnel.by_cohort["previous"] >= study.settings["min_group_size"]]
        if cohorts["cohort"].nunique() >= 2:
            ax = plot_conversion_by(
                cohorts,
                by="cohort",
                stage=drop["stage"],
                title=f"Conversion to {labels[drop['stage']].lower()} by sign-up cohort",
            )
            out.append(_close(ax))
    if len(funnel.checkout):
        out.append(Markdown(describe_checkout(study)))
    return out


def stage_names(study: ExperienceStudy) -> dict:
    """Stage -> the reader's name: the loyalty stage with its months, advocacy by what shows it."""
    months = study.funnel.rule["loyalty_months"] if study.funnel is not None else 12
    names = {k: v.format(months=months) for k, v in STAGE_NAMES.items()}
    shown_by = [w for w, has in (("promoter", study.has_surveys), ("referrer", study.has_referrals)) if has]
    if shown_by:
        names["advocacy"] = f"Advocate ({' or '.join(shown_by)})"
    return names


def describe_funnel(study: ExperienceStudy) -> str:
    """Who enters the funnel, the stage where most are lost, and the stages the data cannot show."""
    funnel = study.funnel
    rule = funnel.rule
    labels = stage_names(study)
    lines = [
        f"The funnel follows the {rule['entered']:,} customers who signed up by "
        f"{pd.Timestamp(rule['signed_up_by']):%d %B %Y}, so that each had {rule['loyalty_months']:g} months to "
        f"become loyal; {rule['excluded_young']:,} more recent customers are left out. Each stage counts the "
        f"customers who also reached every stage before it, within {rule['loyalty_months']:g} months of signing "
        "up, so every cohort has had the same time.",
        "",
    ]
    drop = funnel.largest_drop
    if drop:
        lines.append(
            f"- **Most customers are lost between {labels[drop['from_stage']].lower()} and "
            f"{labels[drop['stage']].lower()}**: {drop['lost']:,} of {drop['previous']:,} "
            f"({drop['loss_share']:.0%}, 95% CI {drop['ci_low']:.0%} to {drop['ci_high']:.0%})."
        )
    surveyed = rule.get("surveyed_before_advocacy", float("nan"))
    if "advocacy" in set(funnel.stages["stage"]) and pd.notna(surveyed):
        lines.append(
            f"- Advocacy is seen only through a promoter answer or a referral: {surveyed:.0%} of the customers "
            "who reached the stage before it answered the NPS question within the window, so part of the loss "
            "at that step is customers who were never asked."
        )
        observed = funnel.stages.loc[(funnel.stages["stage"] != "advocacy") & (funnel.stages["lost"] > 0)]
        if drop and drop["stage"] == "advocacy" and len(observed):
            worst = observed.loc[observed["lost"].idxmax()]
            before = funnel.stages["stage"].tolist()[
                funnel.stages["stage"].tolist().index(worst["stage"]) - 1
            ]
            lines.append(
                f"- Among the stages seen for every customer, most are lost between {labels[before].lower()} and "
                f"{labels[worst['stage']].lower()}: {int(worst['lost']):,} of {int(worst['previous']):,} "
                f"({1 - worst['conversion']:.0%}, 95% CI {1 - worst['ci_high']:.0%} to {1 - worst['ci_low']:.0%})."
            )
    for row in funnel.unavailable.itertuples():
        lines.append(
            f"- {labels.get(row.stage, row.stage)}: not shown, {md_text(_stage_reason(row.reason))}."
        )
    return "\n".join(lines)


def _stage_reason(reason: str) -> str:
    from cxlib.experience._funnel import UNAVAILABLE_REASONS

    return UNAVAILABLE_REASONS.get(reason, reason)


def describe_checkout(study: ExperienceStudy) -> str:
    """Checkout abandonment overall and by channel, with intervals."""
    checkout = study.funnel.checkout
    overall = checkout.loc[checkout["level"] == "overall"].iloc[0]
    lines = [
        f"**Checkout.** {overall['abandonment']:.1%} of checkouts are abandoned (95% CI {overall['ci_low']:.1%} "
        f"to {overall['ci_high']:.1%}): {int(overall['abandoned']):,} abandoned carts against "
        f"{int(overall['purchases']):,} orders in the channels that record carts."
    ]
    for row in checkout.loc[checkout["level"] != "overall"].itertuples():
        lines.append(
            f"- Channel {md_text(row.level)}: {row.abandonment:.1%} ({row.ci_low:.1%} to {row.ci_high:.1%})."
        )
    return "\n".join(lines)


# ---- word of mouth -------------------------------------------------------------------------------


def referrals_report(study: ExperienceStudy) -> list:
    """Referral rate by NPS class with intervals and the value of referred customers."""
    out, runs = section_opening(study, "referrals", study.referrals)
    if not runs:
        return out
    from cxlib.experience._plots_journey import plot_referral_rates

    out.append(Markdown(describe_referrals(study)))
    if study.has_surveys:
        out.append(_close(plot_referral_rates(study.referrals.summary_)))
    if study.referred_value is not None:
        out.append(styled(value_table(study)))
    notes = [render(note) for note in study.referrals.caveats_]
    if notes:
        out.append(Markdown("\n".join(f"- {md_text(n)}" for n in notes)))
    return out


def describe_referrals(study: ExperienceStudy) -> str:
    """Referrals per 100 customers a month by NPS class, and the promoters' rate ratio."""
    summary = study.referrals.summary_.set_index("nps_class")
    if not study.has_surveys:  # everyone is in the no-answer class: one overall rate
        row = summary.loc["no_answer"]
        return (
            f"Customers make **{100 * row['estimate']:.2f} referrals per 100 customers a month** (95% CI "
            f"{100 * row['ci_low']:.2f} to {100 * row['ci_high']:.2f}; {int(row['referrals']):,} referrals over "
            f"{row['exposure_months']:,.0f} customer-months). Rates by NPS class are not available: the data "
            "have no surveys table."
        )
    lines = [
        "Each customer's class is that of their latest NPS answer, from the month after it; referrals are "
        "counted per customer-month in that class (Poisson model, customers' repeated spells clustered).",
        "",
    ]
    for name, row in summary.iterrows():
        lines.append(
            f"- {CLASS_NAMES.get(name, md_text(name))}: **{100 * row['estimate']:.2f} referrals per 100 customers a "
            f"month** (95% CI {100 * row['ci_low']:.2f} to {100 * row['ci_high']:.2f}; {int(row['referrals']):,} referrals "
            f"over {row['exposure_months']:,.0f} customer-months)."
        )
    if "promoter" in summary.index and pd.notna(summary.loc["promoter", "rate_ratio"]):
        p = summary.loc["promoter"]
        lines.append(
            f"- Promoters refer {p['rate_ratio']:.1f} times as often as detractors "
            f"(95% CI {p['ratio_ci_low']:.1f} to {p['ratio_ci_high']:.1f})."
        )
    return "\n".join(lines)


def value_table(study: ExperienceStudy) -> pd.DataFrame:
    """Spend per active month and 12-month retention of referred vs other customers."""
    v = study.referred_value
    names = {
        "spend_per_month": f"Net spend per active month ({study.settings['currency']})",
        "retained_12m": "Still a customer after 12 months",
    }
    rows = []
    for metric, block in v.groupby("metric", sort=False):
        fmt = "{:.0%}" if metric == "retained_12m" else "{:,.2f}"
        get = block.set_index("group")
        row = {"Measure": names.get(metric, metric)}
        for group, header in (
            ("referred", "Referred customers"),
            ("other", "Other customers"),
            ("difference", "Difference"),
        ):
            if group in get.index:
                g = get.loc[group]
                row[header] = (
                    f"{fmt.format(g['estimate'])} ({fmt.format(g['ci_low'])} to {fmt.format(g['ci_high'])})"
                )
        rows.append(row)
    return pd.DataFrame(rows)

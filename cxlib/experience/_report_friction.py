"""Reader-facing text, tables and charts of the friction section of the customer-experience report."""

from __future__ import annotations

import pandas as pd
from IPython.display import Markdown

from cxlib.experience._report import (
    KPI_NAMES,
    _close,
    _reason_text,
    _signed,
    _target_name,
    section_opening,
)
from cxlib.experience._study import ExperienceStudy
from cxlib.report import md_text, styled, variable_label


def friction_report(study: ExperienceStudy) -> list:
    """Friction KPIs with intervals, by channel, and friction's effect on the answer and on churn."""
    out, runs = section_opening(study, "friction", study.kpis)
    if not runs:
        return out
    from cxlib.experience._plots_friction import plot_friction_effects, plot_kpi_by_channel

    out.append(
        styled(kpi_table(study), caption="Friction over all customers and interactions (95% intervals)")
    )
    if study.absent is not None and len(study.absent):
        missing = sorted(set(study.absent["missing"].astype(str)))
        out.append(Markdown(f"Not measured: the data have no {', '.join(md_text(m) for m in missing)}."))
    by_group = kpi_group_table(study)
    if by_group is not None:
        variable, table = by_group
        out.append(styled(table, caption=f"Friction by {variable_label(variable).lower()} (95% intervals)"))
    by_channel = study.kpis.loc[study.kpis["dimension"] == "channel", "kpi"].unique()
    for kpi in ("complaints_resolved", "wait_median"):
        if kpi in by_channel:
            name = _kpi_name(kpi, study)
            out.append(_close(plot_kpi_by_channel(study.kpis, kpi, title=f"{name} by interaction channel")))
    if "churn_link" in study.unavailable:
        out.append(
            Markdown(f"No churn ratios are shown: {_reason_text(study.unavailable['churn_link'], study)}.")
        )
    effects = study.effects
    if effects is not None and (effects["nps_effect"].notna().any() or effects["hazard_ratio"].notna().any()):
        out.append(Markdown(describe_effects(study)))
        out.append(styled(effects_table(study)))
        answer = {"nps": "NPS answer", "csat": "CSAT answer"}.get(study.target, "Survey answer")
        out.append(_close(plot_friction_effects(effects, answer_name=answer)))
    return out


def _kpi_name(kpi: str, study: ExperienceStudy) -> str:
    name, _ = KPI_NAMES.get(kpi, (kpi, "{:,.2f}"))
    return name.format(
        days=study.settings["repeat_contact_days"], long_wait=study.settings["long_wait_minutes"]
    )


def kpi_table(study: ExperienceStudy) -> pd.DataFrame:
    """The overall friction KPIs: name, value with its interval, and the count it rests on."""
    # checkout abandonment is the journey section's, counted in the channels that record carts
    rows = study.kpis.loc[(study.kpis["dimension"] == "all") & (study.kpis["kpi"] != "checkout_abandonment")]
    values = []
    for row in rows.itertuples():
        _, fmt = KPI_NAMES.get(row.kpi, (row.kpi, "{:,.2f}"))
        values.append(f"{fmt.format(row.estimate)} ({fmt.format(row.ci_low)} to {fmt.format(row.ci_high)})")
    return pd.DataFrame(
        {
            "Friction measure": [_kpi_name(k, study) for k in rows["kpi"]],
            "Value (95% CI)": values,
            "Based on": [f"{b:,.0f}" for b in rows["base"]],
        }
    )


#: Friction KPIs shown per customer group, and the grouping variables in order of preference.
GROUP_KPIS = ("complaint_rate", "complaints_resolved", "repeat_contact_customers", "wait_median")
GROUP_PREFERENCE = ("segment_name", "plan", "acquisition_channel", "region")


def kpi_group_table(study: ExperienceStudy) -> tuple[str, pd.DataFrame] | None:
    """Key friction KPIs per group of one variable (segment when the segmentation ran, else plan ...).

    Groups with fewer customers than ``analysis.min_group_size`` are blanked, with enough others
    that none can be recovered from the overall figures (:func:`cxlib.stats.suppress_small`).

    Returns
    -------
    (str, DataFrame) or None
        The grouping variable and the table; None when no grouping variable is present.
    """
    from cxlib.stats import suppress_small

    kpis = study.kpis
    present = set(kpis["dimension"])
    variable = next((v for v in GROUP_PREFERENCE if v in present), None)
    if variable is None:
        return None
    rows = kpis.loc[(kpis["dimension"] == variable) & kpis["kpi"].isin(GROUP_KPIS)]
    if rows.empty:
        return None
    sizes = rows.groupby("group")["customers"].max()
    kept = suppress_small(sizes.to_frame("customers"), "customers", study.settings["min_group_size"])
    shown = kept.index[kept["customers"].notna()]
    table = pd.DataFrame({variable_label(variable): [str(g) for g in shown]})
    table["Customers"] = [f"{int(sizes[g]):,}" for g in shown]
    for kpi in GROUP_KPIS:
        block = rows.loc[rows["kpi"] == kpi].set_index("group")
        if block.empty:
            continue
        _, fmt = KPI_NAMES[kpi]
        table[_kpi_name(kpi, study)] = [
            "–"
            if g not in block.index or pd.isna(block.loc[g, "estimate"])
            else f"{fmt.format(block.loc[g, 'estimate'])} ({fmt.format(block.loc[g, 'ci_low'])} to "
            f"{fmt.format(block.loc[g, 'ci_high'])})"
            for g in shown
        ]
    hidden = len(sizes) - len(shown)
    if hidden:
        table.loc[len(table)] = [
            f"{hidden} more (fewer than {study.settings['min_group_size']} customers, or hidden with one)"
        ] + ["–"] * (table.shape[1] - 1)
    return variable, table


def describe_effects(study: ExperienceStudy) -> str:
    """How friction goes with the survey answer and with churn, and where the churn numbers come from."""
    effects = study.effects
    source = (
        " from this run's churn report."
        if (effects["churn_source"] == "saved").any()
        else " (the churn model fitted here, as the churn report fits it)."
    )
    if study.friction_on_target is not None:
        intro = (
            "**What friction goes with.** Each friction measure is counted before the first day of the month of "
            f"each answer and related to {_target_name(study)} in one regression (controlling for the other "
            "measures, plan and region; customers' repeated answers clustered). The churn columns are the churn "
            "model's own ratios" + source
        )
    else:
        reason = study.unavailable.get("friction_on_target")
        intro = "**What friction goes with.** The churn columns are the churn model's own ratios" + source
        if reason in ("too_few_answers",):
            intro += " The survey answers are not related to friction here: too few answers carry a friction history."
    lines = [
        intro
        + " These are associations in observational data, not proven causes. The answer's differences are "
        "per unit of each measure; the churn ratios are per standard deviation for counts and rates (the "
        "unit column says which).",
        "",
    ]
    clear = effects.loc[effects["nps_p_holm"] < 0.05] if "nps_p_holm" in effects else effects.iloc[:0]
    for row in clear.itertuples():
        churn = ""
        if pd.notna(row.hazard_ratio):
            churn = (
                f"; in the churn model it goes with {row.hazard_ratio:.2f} times the monthly hazard of leaving "
                f"(95% CI {row.hr_ci_low:.2f} to {row.hr_ci_high:.2f}, {md_text(row.churn_unit)})"
            )
        lines.append(
            f"- **{md_text(row.label)}** ({md_text(row.nps_unit)}): {_signed(row.nps_effect, 2)} points on the answer "
            f"(95% CI {row.nps_ci_low:.2f} to {row.nps_ci_high:.2f}){churn}."
        )
    if clear.empty and study.friction_on_target is not None:
        lines.append(
            "- No friction measure goes clearly with the answer once tested for their number (Holm)."
        )
    return "\n".join(lines)


def effects_table(study: ExperienceStudy) -> pd.DataFrame:
    """Friction measure: effect on the answer and hazard and odds ratios of churn, with intervals."""
    e = study.effects

    def interval(v, lo, hi, digits=2):
        return "–" if pd.isna(v) else f"{v:.{digits}f} ({lo:.{digits}f} to {hi:.{digits}f})"

    return pd.DataFrame(
        {
            "Friction measure": e["label"].astype(str).to_numpy(),
            "Unit (answer)": e["nps_unit"].fillna("–").astype(str).to_numpy(),
            "Difference in answer, points (95% CI; association)": [
                interval(*v) for v in zip(e["nps_effect"], e["nps_ci_low"], e["nps_ci_high"], strict=True)
            ],
            "Unit (churn)": e["churn_unit"].fillna("–").astype(str).to_numpy(),
            "Churn hazard ratio (95% CI)": [
                interval(*v) for v in zip(e["hazard_ratio"], e["hr_ci_low"], e["hr_ci_high"], strict=True)
            ],
            "Churn odds ratio (95% CI)": [
                interval(*v) for v in zip(e["odds_ratio"], e["or_ci_low"], e["or_ci_high"], strict=True)
            ],
        }
    )

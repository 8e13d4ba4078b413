"""Reader-facing text, tables and charts of the customer-experience report (notebook 03).

Every function takes an :class:`~cxlib.experience.ExperienceStudy` and returns what the notebook
displays: Markdown text, styled tables and matplotlib figures (closed, so they show once). A
section the data cannot support returns one sentence saying what it would need, so the report
never speaks of surveys, complaints or referrals the data do not have. Text from the data (group
and driver names) is escaped with :func:`cxlib.report.md_text` wherever it reaches Markdown, and
tables go through :func:`cxlib.report.styled`, which escapes every cell.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from IPython.display import Markdown

from cxlib.experience._study import REASONS, ExperienceStudy
from cxlib.report import md_text, render, styled, variable_label

#: Reader's names of the friction KPIs and how their values read.
KPI_NAMES = {
    "complaint_rate": ("Complaints per 100 customers a year", "{:,.1f}"),
    "customers_with_complaint": ("Customers who complained", "{:.1%}"),
    "complaints_resolved": ("Complaints marked resolved", "{:.1%}"),
    "first_contact_resolution": ("Support contacts with no repeat contact within {days} days", "{:.1%}"),
    "repeat_contact_customers": ("Contacting customers who came back within {days} days", "{:.1%}"),
    "wait_median": ("Median wait (minutes)", "{:,.1f}"),
    "wait_mean": ("Mean wait (minutes)", "{:,.1f}"),
    "wait_p90": ("90th percentile of waits (minutes)", "{:,.1f}"),
    "long_wait_share": ("Waits longer than {long_wait:g} minutes", "{:.1%}"),
    "abandoned_carts_per_100_orders": ("Abandoned carts per 100 orders", "{:,.1f}"),
    "checkout_abandonment": ("Checkouts abandoned (abandoned carts / (carts + orders))", "{:.1%}"),
}
#: Reader's names of the journey stages.
STAGE_NAMES = {
    "first_contact": "Signed up",
    "first_purchase": "First purchase",
    "repeat_purchase": "Repeat purchase",
    "loyalty": "Loyal ({months:g}+ months)",
    "advocacy": "Advocate (promoter or referrer)",
}
#: Reader's names of the NPS classes of the referral model.
CLASS_NAMES = {
    "promoter": "Promoters (9-10)",
    "passive": "Passives (7-8)",
    "detractor": "Detractors (0-6)",
    "no_answer": "Not yet answered",
}
#: Section headings' questions (for the intro); a question about surveys only where there are surveys.
QUESTIONS = {
    "scores": "How satisfied are customers, and does it differ between groups and over time?",
    "drivers": "Which ratings drive satisfaction, and where should we invest?",
    "friction": "Where do customers meet friction, and what does it cost in satisfaction and churn?",
    "journey": "Where does the journey from sign-up to advocacy lose customers?",
    "referrals": "Do promoters bring new customers, and what are those customers worth?",
}
#: The same questions where the data have no survey answers.
QUESTIONS_WITHOUT_SURVEYS = {
    "friction": "Where do customers meet friction, and does it go with leaving?",
    "journey": "Where does the journey from sign-up to referring others lose customers?",
    "referrals": "How often do customers refer others, and what are those they bring worth?",
}
SECTION_TITLES = {
    "scores": "NPS and CSAT",
    "drivers": "Key drivers",
    "friction": "Friction",
    "journey": "The customer journey",
    "referrals": "Word of mouth",
}
#: What each section does, shown under its heading when the data allow it.
METHODS = {
    "scores": (
        'NPS is the share of promoters (9-10 on "how likely are you to recommend us?") minus the share of '
        "detractors (0-6), from -100 to +100; CSAT is the mean satisfaction score. Each customer counts once, "
        "with their latest answer. Each group is compared with all other respondents, and the p-values are "
        "corrected for testing every group of the table (Holm)."
    ),
    "drivers": (
        "Ratings move together (a customer pleased with one part of the service tends to rate the others "
        "well too), so a plain regression's coefficients split their shared influence arbitrarily. Relative "
        "weights (Johnson 2000) divide the explained variation (R²) between correlated ratings so that the "
        "shares add up to it; 95% intervals and the range of ranks come from resampling respondents "
        "(bootstrap). The model effect beside each is the change in the answer per rating point with the "
        'other ratings held fixed. Ratings coded "not applicable" are missing, never a low score.'
    ),
    "friction": (
        "Friction measures over all customers, then by the channel of the interaction, and what each goes "
        "with: {answer}leaving (the churn model's hazard and odds ratios, so the two reports agree)."
    ),
    "journey": "",
    "referrals": "",
}
TARGET_NAMES = {"nps": "the NPS answer (0-10)", "csat": "CSAT (1-5)", "satisfied": "being satisfied (yes/no)"}


def _close(ax_or_axes):
    """The figure of an Axes (or array of Axes), closed so that the notebook shows it once."""
    import matplotlib.pyplot as plt

    ax = np.ravel(ax_or_axes)[0] if isinstance(ax_or_axes, np.ndarray) else ax_or_axes
    figure = ax.figure
    plt.close(figure)
    return figure


def _ci(estimate: float, low: float, high: float, fmt: str = "{:,.1f}") -> str:
    return f"{fmt.format(estimate)} (95% CI {fmt.format(low)} to {fmt.format(high)})"


def _signed(value: float, digits: int = 1) -> str:
    return f"{value:+,.{digits}f}"


def _not_available(section: str, reason: str) -> str:
    return f"**{SECTION_TITLES.get(section, section)}: not available.** The data have no {REASONS[reason]}."


#: Reasons that mean the section's own table is missing: the intro lists the section as not
#: available, and the report shows no heading about data it does not have.
TABLE_ABSENT = ("no_customers", "no_surveys", "no_interactions", "no_referrals")


def _table_absent(study: ExperienceStudy, section: str) -> bool:
    return study.unavailable.get(section) in TABLE_ABSENT


def section_heading(study: ExperienceStudy, section: str) -> Markdown:
    """The section's heading (its question, worded for the data given) and, when it runs, its method."""
    question = _question(study, section)
    method = METHODS.get(section, "")
    if section == "friction":
        method = method.format(
            answer="the survey answer (in points) and " if study.friction_on_target else ""
        )
    available = section not in study.unavailable
    return Markdown(f"## {question}" + (f"\n\n{method}" if method and available else ""))


def _question(study: ExperienceStudy, section: str) -> str:
    if study.has_surveys:
        return QUESTIONS[section].rstrip("?").split(",")[0] + "?"
    return QUESTIONS_WITHOUT_SURVEYS.get(section, SECTION_TITLES[section]).split(",")[0].rstrip("?") + "?"


def _target_name(study: ExperienceStudy) -> str:
    return TARGET_NAMES.get(study.target, md_text(study.target or "the answer"))


def report_intro(study: ExperienceStudy, data) -> str:
    """What this report reads and which of its questions these data can answer.

    Returns
    -------
    str
        Markdown: the tables read with their sizes, then each question with "not available" and
        the missing table where the data cannot answer it.
    """
    parts = []
    for table, noun in (
        ("customers", "customers"),
        ("surveys", "survey answers"),
        ("interactions", "service interactions"),
        ("transactions", "transaction rows"),
        ("referrals", "referrals"),
    ):
        if data.has(table):
            parts.append(f"{len(data[table]):,} {noun}")
    lines = [
        "## What these data can answer",
        "",
        f"This report reads {', '.join(parts)}, as of {pd.Timestamp(data.as_of):%d %B %Y}. Every figure has a "
        "95% interval.",
        "",
    ]
    surveys = data.has("surveys")
    for number, section in enumerate(study_sections(), start=1):
        reason = study.unavailable.get(section)
        suffix = f" *Not available: the data have no {REASONS[reason]}.*" if reason else ""
        question = (
            QUESTIONS[section]
            if surveys or reason
            else QUESTIONS_WITHOUT_SURVEYS.get(section, QUESTIONS[section])
        )
        if not surveys and section in ("scores", "drivers"):
            question = "Satisfaction and its drivers"
        lines.append(f"{number}. **{question}**{suffix}")
    return "\n".join(lines)


def study_sections() -> tuple[str, ...]:
    """The report's sections in order (:data:`cxlib.experience._study.SECTIONS`)."""
    from cxlib.experience._study import SECTIONS

    return SECTIONS


# ---- NPS and CSAT --------------------------------------------------------------------------------


def scores_report(study: ExperienceStudy) -> list:
    """NPS and CSAT overall, by group (with tests) and over time: text, a table and two charts."""
    if _table_absent(study, "scores"):
        return []
    heading = section_heading(study, "scores")
    if study.scores is None:
        return [heading, Markdown(_not_available("scores", study.unavailable["scores"]))]
    from cxlib.experience._plots_scores import plot_nps_by_group, plot_nps_over_time

    out = [heading, Markdown(describe_scores(study))]
    table = score_table(study)
    if len(table):
        out.append(styled(table, caption="NPS and CSAT by group (each customer's latest answer)"))
    variable = _most_different_variable(study)
    if variable is not None:
        ax = plot_nps_by_group(study.scores, variable=variable)
        if ax is not None:
            out.append(_close(ax))
    if study.periods is not None and study.periods.table["shown"].sum() >= 2:
        ax = plot_nps_over_time(study.periods)
        if ax is not None:
            out.append(_close(ax))
        out.append(Markdown(describe_periods(study)))
    return out


def describe_scores(study: ExperienceStudy) -> str:
    """The overall NPS and CSAT with intervals, what counts, and the groups that differ."""
    overall = study.scores.overall.iloc[0]
    minimum = study.scores.min_answers
    lines = []
    if pd.notna(overall.get("nps")):
        lines.append(
            f"- **NPS {_ci(overall['nps'], overall['nps_low'], overall['nps_high'])}** from "
            f"{int(overall['answers']):,} customers' latest answers: {overall['promoter_share']:.0%} promoters "
            f"(9-10) and {overall['detractor_share']:.0%} detractors (0-6). NPS runs from -100 to +100; "
            "the interval is the adjusted Wald interval (Rocks 2016)."
        )
    if pd.notna(overall.get("csat_mean")):
        low, high = study.scores.csat_scale
        lines.append(
            f"- **CSAT averages {_ci(overall['csat_mean'], overall['csat_low'], overall['csat_high'], '{:.2f}')}** "
            f"on its {low}-{high} scale; {overall['top2_share']:.0%} answer {high - 1} or {high}."
        )
    table = study.scores.table
    shown = table.loc[table["shown"]]
    clear = shown.loc[shown["nps_p_adjusted"] < 0.05] if "nps_p_adjusted" in shown else shown.iloc[:0]
    for row in clear.itertuples():
        direction = "above" if row.nps > overall["nps"] else "below"
        lines.append(
            f"- {md_text(variable_label(row.variable))} **{md_text(row.group)}** scores NPS "
            f"{_ci(row.nps, row.nps_low, row.nps_high)}, {direction} the other respondents "
            f"(p = {row.nps_p_adjusted:.3f} after Holm's correction for testing every group)."
        )
    if len(shown) and not len(clear):
        lines.append(
            "- No group's NPS differs clearly from the other respondents' once the tests are corrected "
            "for their number (Holm): differences in the table are within chance."
        )
    hidden = int((~table["shown"]).sum())
    if hidden:
        lines.append(
            f"- {hidden} {'group is' if hidden == 1 else 'groups are'} not shown: fewer than {minimum} answers "
            "(`experience.min_answers`), or hidden with it so that it cannot be worked out from the others."
        )
    return "\n".join(lines)


def score_table(study: ExperienceStudy) -> pd.DataFrame:
    """The shown groups: variable, group, answers, NPS and CSAT with intervals and Holm p-values."""
    table = study.scores.table
    shown = table.loc[table["shown"]]
    out = pd.DataFrame(
        {
            "Grouped by": [variable_label(v) for v in shown["variable"]],
            "Group": shown["group"].astype(str).to_numpy(),
            "Answers": shown["answers"].astype(int).to_numpy(),
        }
    )
    if shown["nps"].notna().any():
        out["NPS (95% CI)"] = [
            f"{n:,.1f} ({lo:,.1f} to {hi:,.1f})"
            for n, lo, hi in zip(shown["nps"], shown["nps_low"], shown["nps_high"], strict=True)
        ]
        out["NPS vs rest: p (Holm)"] = [_p(p) for p in shown["nps_p_adjusted"]]
    if shown["csat_mean"].notna().any():
        out["CSAT (95% CI)"] = [
            f"{m:.2f} ({lo:.2f} to {hi:.2f})"
            for m, lo, hi in zip(shown["csat_mean"], shown["csat_low"], shown["csat_high"], strict=True)
        ]
    return out


def _p(p: float) -> str:
    if pd.isna(p):
        return "–"
    return "< 0.001" if p < 0.001 else f"{p:.3f}"


def _most_different_variable(study: ExperienceStudy) -> str | None:
    """The grouping variable whose groups differ most clearly (smallest Holm p), for the chart."""
    shown = study.scores.table.loc[study.scores.table["shown"]]
    shown = shown.loc[shown["nps"].notna()]
    if shown.empty:
        return None
    best = shown.groupby("variable")["nps_p_adjusted"].min().sort_values(kind="stable")
    return str(best.index[0])


def describe_periods(study: ExperienceStudy) -> str:
    """Changes of NPS between consecutive periods that stand out after Holm's correction."""
    table = study.periods.table
    shown = table.loc[table["shown"]]
    clear = shown.loc[shown["nps_change_p_adjusted"] < 0.05]
    if clear.empty:
        return (
            f"Over time: no change of NPS from one {_period_word(study)} to the next stands out from chance once "
            f"the {max(len(shown) - 1, 0)} comparisons are corrected for their number (Holm)."
        )
    changes = "; ".join(
        f"{row.period}: {_signed(row.nps_change)} points (p = {row.nps_change_p_adjusted:.3f})"
        for row in clear.itertuples()
    )
    return f"Over time, NPS changed clearly (Holm-corrected) in {changes}."


def _period_word(study: ExperienceStudy) -> str:
    periods = study.periods.table["period"].astype(str)
    return "quarter" if periods.str.contains("Q").any() else "month"


# ---- key drivers ---------------------------------------------------------------------------------


def drivers_report(study: ExperienceStudy) -> list:
    """Key drivers: text, the driver table, the importance chart and the importance-performance matrix."""
    if _table_absent(study, "drivers"):
        return []
    heading = section_heading(study, "drivers")
    if study.drivers is None:
        return [heading, Markdown(_not_available("drivers", study.unavailable["drivers"]))]
    kd = study.drivers
    out = [heading, Markdown(describe_drivers(study)), styled(driver_table(study))]
    out.append(_close(kd.plot_importance()))
    out.append(_close(kd.plot_matrix()))
    out.append(Markdown(describe_matrix(study)))
    notes = [render(note) for note in kd.caveats_]
    if notes:
        out.append(
            Markdown("**How the ratings were read.**\n\n" + "\n".join(f"- {md_text(n)}" for n in notes))
        )
    return out


def describe_drivers(study: ExperienceStudy) -> str:
    """The strongest driver with its share of R², its rank's stability and its model effect."""
    kd = study.drivers
    summary = kd.summary_
    top = summary.iloc[0]
    r2_low, r2_high = kd.r2_ci_
    lines = [
        f"The {len(summary)} ratings together explain **{kd.r2_:.0%}** (95% CI {r2_low:.0%} to {r2_high:.0%}) of "
        f"the variation in {_target_name(study)} over {kd.n_:,} answers. Relative weights (Johnson 2000) split "
        "that share between ratings that move together, so the importances add up to it.",
        "",
        f"- **{md_text(top['label'])}** matters most: {top['share']:.0f}% of the explained variation "
        f"(95% CI {top['share_low']:.0f}% to {top['share_high']:.0f}%); it ranks first in "
        f"{top['share_first']:.0%} of {kd.n_boot:,} bootstrap resamples.",
    ]
    if len(summary) > 1:
        second = summary.iloc[1]
        lines.append(
            f"- Next: **{md_text(second['label'])}**, {second['share']:.0f}% "
            f"({second['share_low']:.0f}% to {second['share_high']:.0f}%), ranked "
            f"{_rank_range(second)} across resamples."
        )
    if pd.notna(top.get("effect")):
        lines.append(
            f"- In the {('logistic' if kd.binary_ else 'linear')} model of all ratings at once, one more point on "
            f"{md_text(top['label'])} goes with {_effect_text(top, kd.binary_)}."
        )
    return "\n".join(lines)


def _rank_range(row) -> str:
    low, high = int(row["rank_low"]), int(row["rank_high"])
    return f"{low}" if low == high else f"{low} to {high}"


def _effect_text(row, binary: bool) -> str:
    if binary:
        return (
            f"{row['effect']:.2f} times the odds (95% CI {row['effect_low']:.2f} to {row['effect_high']:.2f})"
        )
    return f"{_signed(row['effect'], 2)} points (95% CI {row['effect_low']:.2f} to {row['effect_high']:.2f})"


def driver_table(study: ExperienceStudy) -> pd.DataFrame:
    """One row per rating: importance with interval, rank range, model effect, current score."""
    kd = study.drivers
    s = kd.summary_
    effect_header = "Odds ratio per point (95% CI)" if kd.binary_ else "Effect per point (95% CI)"
    return pd.DataFrame(
        {
            "Rating": s["label"].astype(str).to_numpy(),
            "Share of explained variation (95% CI)": [
                f"{v:.0f}% ({lo:.0f}% to {hi:.0f}%)"
                for v, lo, hi in zip(s["share"], s["share_low"], s["share_high"], strict=True)
            ],
            "Rank (95% range)": [
                f"{int(r)} ({int(lo)}-{int(hi)})"
                for r, lo, hi in zip(s["rank"], s["rank_low"], s["rank_high"], strict=True)
            ],
            effect_header: [
                "–" if pd.isna(e) else f"{e:.2f} ({lo:.2f} to {hi:.2f})"
                for e, lo, hi in zip(s["effect"], s["effect_low"], s["effect_high"], strict=True)
            ],
            "Mean rating": [f"{m:.2f}" for m in s["mean_rating"]],
            "Top-2 share": [f"{t:.0%}" for t in s["top2_share"]],
            "Rated": [f"{a:,}" for a in s["answers"].astype(int)],
            "Not applicable": [f"{n:.0%}" for n in s["not_applicable_share"]],
        }
    )


def describe_matrix(study: ExperienceStudy) -> str:
    """Where to invest: the quadrants of the importance-performance matrix, named."""
    matrix = study.drivers.importance_performance()
    names = {
        "fix": "**Invest first** (above-average importance, below-average score)",
        "maintain": "**Keep up** (important and already scored well)",
        "secondary": "**Lower priority** (less important, scored below average)",
        "surplus": "**Possible over-investment** (less important, scored well)",
    }
    lines = ["Importance against current score, split at their averages:", ""]
    # a driver whose importance interval straddles the average line could sit on either side of it
    borderline = (matrix["importance_low"] <= matrix["importance_line"]) & (
        matrix["importance_high"] >= matrix["importance_line"]
    )
    for quadrant, name in names.items():
        rows = matrix.loc[matrix["quadrant"] == quadrant]
        if len(rows):
            labels = [
                md_text(label) + (" (importance not clearly different from average)" if edge else "")
                for label, edge in zip(rows["label"].astype(str), borderline[rows.index], strict=True)
            ]
            lines.append(f"- {name}: {', '.join(labels)}.")
    return "\n".join(lines)


# ---- friction ------------------------------------------------------------------------------------


def friction_report(study: ExperienceStudy) -> list:
    """Friction KPIs with intervals, by channel, and friction's effect on the answer and on churn."""
    if _table_absent(study, "friction"):
        return []
    heading = section_heading(study, "friction")
    if study.kpis is None:
        return [heading, Markdown(_not_available("friction", study.unavailable["friction"]))]
    from cxlib.experience._plots_friction import plot_friction_effects, plot_kpi_by_channel

    out = [
        heading,
        styled(kpi_table(study), caption="Friction over all customers and interactions (95% intervals)"),
    ]
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
    if study.effects is not None and len(study.effects):
        out.append(Markdown(describe_effects(study)))
        out.append(styled(effects_table(study)))
        answer = {"nps": "NPS answer", "csat": "CSAT answer"}.get(study.target, "Survey answer")
        out.append(_close(plot_friction_effects(study.effects, answer_name=answer)))
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
    lines = [
        "**What friction goes with.** Each friction measure is counted before the first day of the month of "
        f"each answer and related to {_target_name(study)} in one regression (controlling for the other "
        "measures, plan and region; customers' repeated answers clustered). The churn columns are the churn "
        "model's own ratios"
        + (
            " from the churn notebook of this run."
            if (effects["churn_source"] == "saved").any()
            else " (the churn model fitted here, as the churn notebook fits it)."
        )
        + " These are associations in observational data, not proven causes.",
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
            "Effect on answer, points (95% CI)": [
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


# ---- journey -------------------------------------------------------------------------------------


def journey_report(study: ExperienceStudy) -> list:
    """The funnel chart, where most customers are lost, conversion by acquisition channel, checkout."""
    if _table_absent(study, "journey"):
        return []
    heading = section_heading(study, "journey")
    if study.funnel is None:
        return [heading, Markdown(_not_available("journey", study.unavailable["journey"]))]
    from cxlib.experience._plots_journey import plot_conversion_by, plot_funnel

    funnel = study.funnel
    labels = stage_names(study)
    out = [heading, Markdown(describe_funnel(study))]
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
        "customers who also reached every stage before it.",
        "",
    ]
    drop = funnel.largest_drop
    if drop:
        lines.append(
            f"- **Most customers are lost between {labels[drop['from_stage']].lower()} and "
            f"{labels[drop['stage']].lower()}**: {drop['lost']:,} of {drop['previous']:,} "
            f"({drop['loss_share']:.0%}, 95% CI {drop['ci_low']:.0%} to {drop['ci_high']:.0%})."
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
    if _table_absent(study, "referrals"):
        return []
    heading = section_heading(study, "referrals")
    if study.referrals is None:
        return [heading, Markdown(_not_available("referrals", study.unavailable["referrals"]))]
    from cxlib.experience._plots_journey import plot_referral_rates

    out = [heading, Markdown(describe_referrals(study))]
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
        "spend_per_month": "Net spend per active month",
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


# ---- findings and outputs ------------------------------------------------------------------------


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
        fix = fix.loc[fix["quadrant"] == "fix", "label"].astype(str)
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
            f"{top['label']} drives {TARGET_NAMES.get(study.target, study.target)} most "
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

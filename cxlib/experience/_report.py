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
from cxlib.report import md_text, render, styled, tables_read, variable_label

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


#: Why a part did not run although its table is there.
SHORT_REASON_TEXT = {
    "too_few_ratings": "fewer than two ratings have enough answers ({min_answers} or more, `experience.min_answers`, "
    "not counting 'not applicable')",
    "too_few_answers": "too few answers carry a friction history to relate them to it",
    "churn_fit_failed": "the churn model could not be fitted on these data",
}


def _reason_text(reason: str, study: ExperienceStudy | None = None) -> str:
    if reason in SHORT_REASON_TEXT:
        minimum = study.settings["min_answers"] if study is not None else 30
        return SHORT_REASON_TEXT[reason].format(min_answers=minimum)
    return f"the data have no {REASONS[reason]}"


def _not_available(section: str, reason: str, study: ExperienceStudy | None = None) -> str:
    text = _reason_text(reason, study)
    return f"**{SECTION_TITLES.get(section, section)}: not available.** {text[:1].upper()}{text[1:]}."


#: Reasons that mean the section's own table is missing: the intro lists the section as not
#: available, and the report shows no heading about data it does not have.
TABLE_ABSENT = ("no_customers", "no_surveys", "no_interactions", "no_referrals")


def _table_absent(study: ExperienceStudy, section: str) -> bool:
    return study.unavailable.get(section) in TABLE_ABSENT


def section_opening(study: ExperienceStudy, section: str, result) -> tuple[list, bool]:
    """The start of a section and whether it goes on.

    ``([], False)`` when the section's own table is absent (the intro names it); ``([heading,
    "not available"], False)`` when its part could not run (``result`` is None); else
    ``([heading], True)``.
    """
    if _table_absent(study, section):
        return [], False
    heading = section_heading(study, section)
    if result is None:
        return [heading, Markdown(_not_available(section, study.unavailable[section], study))], False
    return [heading], True


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
    parts = [tables_read(data, ("customers", "surveys", "interactions", "transactions", "referrals"))]
    lines = [
        "## What these data can answer",
        "",
        f"This report on {md_text(study.settings.get('company') or 'the company')} reads {', '.join(parts)}, as of "
        f"{pd.Timestamp(data.as_of):%d %B %Y}. Every estimate has a 95% interval.",
        "",
    ]
    surveys = data.has("surveys")
    for number, section in enumerate(study_sections(), start=1):
        reason = study.unavailable.get(section)
        suffix = f" *Not available: {_reason_text(reason, study)}.*" if reason else ""
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
    out, runs = section_opening(study, "scores", study.scores)
    if not runs:
        return out
    from cxlib.experience._plots_scores import plot_nps_by_group, plot_nps_over_time

    out.append(Markdown(describe_scores(study)))
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
    """The shown groups: variable, group, answers, NPS and CSAT with intervals and Holm p-values.

    A variable with a single group (one plan for everyone) says nothing and is left out; a figure
    hidden for its own count of answers (NPS asked of fewer customers than CSAT) shows as "–".
    """
    table = study.scores.table
    levels = table.groupby("variable")["group"].transform("size")
    shown = table.loc[table["shown"] & (levels > 1)]

    def interval(values, fmt):
        return [
            "–" if pd.isna(v) else f"{fmt.format(v)} ({fmt.format(lo)} to {fmt.format(hi)})"
            for v, lo, hi in values
        ]

    out = pd.DataFrame(
        {
            "Grouped by": [variable_label(v) for v in shown["variable"]],
            "Group": shown["group"].astype(str).to_numpy(),
        }
    )
    if shown["nps"].notna().any():
        out["NPS answers"] = ["–" if pd.isna(a) else f"{int(a):,}" for a in shown["answers"]]
        out["NPS (95% CI)"] = interval(
            zip(shown["nps"], shown["nps_low"], shown["nps_high"], strict=True), "{:,.1f}"
        )
        out["NPS vs rest: p (Holm)"] = [_p(p) for p in shown["nps_p_adjusted"]]
    if "NPS answers" in out and shown["csat_answers"].equals(shown["answers"]):
        out = out.rename(columns={"NPS answers": "Answers"})  # one count serves both scores
    elif shown["csat_mean"].notna().any():
        out["CSAT answers"] = ["–" if pd.isna(a) else f"{int(a):,}" for a in shown["csat_answers"]]
    if shown["csat_mean"].notna().any():
        out["CSAT (95% CI)"] = interval(
            zip(shown["csat_mean"], shown["csat_low"], shown["csat_high"], strict=True), "{:.2f}"
        )
        out["CSAT vs rest: p (Holm)"] = [_p(p) for p in shown["csat_p_adjusted"]]
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
    """Changes of NPS and CSAT between consecutive periods that stand out after Holm's correction."""
    table = study.periods.table
    shown = table.loc[table["shown"]]
    lines = []
    for metric, name, digits in (("nps", "NPS", 1), ("csat", "CSAT", 2)):
        column = f"{metric}_change_p_adjusted"
        if column not in shown or shown[f"{metric}_change"].notna().sum() == 0:
            continue
        clear = shown.loc[shown[column] < 0.05]
        tested = int(shown[f"{metric}_change"].notna().sum())
        if clear.empty:
            lines.append(
                f"Over time: no change of {name} from one {_period_word(study)} to the next stands out from "
                f"chance once the {tested} comparisons are corrected for their number (Holm)."
            )
            continue
        changes = "; ".join(
            f"{row.period}: {_signed(getattr(row, metric + '_change'), digits)} points "
            f"(p = {getattr(row, column):.3f})"
            for row in clear.itertuples()
        )
        lines.append(f"Over time, {name} changed clearly (Holm-corrected) in {changes}.")
    return " ".join(lines)


def _period_word(study: ExperienceStudy) -> str:
    periods = study.periods.table["period"].astype(str)
    return "quarter" if periods.str.contains("Q").any() else "month"


# ---- key drivers ---------------------------------------------------------------------------------


def drivers_report(study: ExperienceStudy) -> list:
    """Key drivers: text, the driver table, the importance chart and the importance-performance matrix."""
    out, runs = section_opening(study, "drivers", study.drivers)
    if not runs:
        return out
    kd = study.drivers
    out += [Markdown(describe_drivers(study)), styled(driver_table(study))]
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
    against = matrix["against"].astype(bool)
    for quadrant, name in names.items():
        rows = matrix.loc[(matrix["quadrant"] == quadrant) & ~against]
        if len(rows):
            labels = [
                md_text(label) + (" (importance not clearly different from average)" if edge else "")
                for label, edge in zip(rows["label"].astype(str), borderline[rows.index], strict=True)
            ]
            lines.append(f"- {name}: {', '.join(labels)}.")
    if against.any():
        names_against = ", ".join(md_text(x) for x in matrix.loc[against, "label"].astype(str))
        lines.append(
            f"- **Check the question**: a higher rating of {names_against} goes with a *lower* "
            f"{'chance of the outcome' if study.drivers.binary_ else 'answer'} once the other ratings are held "
            "fixed; its weight is explained variation, not a reason to invest."
        )
    return "\n".join(lines)

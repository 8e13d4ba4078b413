"""Sentences for the churn report, built from the numbers: definitions, effects, checks and findings.

Every reader-facing sentence of the churn notebook is built here from fitted models and the tables
of :mod:`cxlib.churn._report`, so the notebook holds no string building and a message catalogue
can later replace this module. Sentences are Markdown: text that comes from the data or the
config (company, driver names, category levels, caveats naming groups) is escaped with
:func:`cxlib.report.md_text`. The models' caveats and the held-out split are notes
(:class:`cxlib.stats.Note`), worded by the message catalogue (:func:`cxlib.report.render`).
Chart titles are plain text (charts are images).

Examples
--------
>>> describe_definition(panel.design)  # doctest: +SKIP
'A customer churns if they cancelled within 180 days after the cut-off (04 Jul 2025); ...'
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from cxlib.churn._flexible import curve_shape
from cxlib.churn._models import ChurnDrivers
from cxlib.churn._panel import LABEL, ChurnCutoff, ChurnPanel
from cxlib.churn._report import BOOSTING, LOGISTIC, HeldOutEvaluation, Retention
from cxlib.churn._survival import ChurnHazards, RemainingLifetime
from cxlib.report._dropped import describe_dropped_rows, describe_missing_values
from cxlib.report._messages import render
from cxlib.report._safe_text import md_text
from cxlib.stats._design import CONTRAST_KINDS, feature_label
from cxlib.stats._notes import Note

#: Below this p-value the proportional-hazards assumption of a Cox term is reported as doubtful.
_PH_ALPHA = 0.01


def _bullets(caveats: list[Note]) -> str:
    """Caveats as Markdown list items, each on a new line after the text before them."""
    return "".join(f"\n- {md_text(render(caveat))}" for caveat in caveats)


def describe_definition(design: ChurnCutoff) -> str:
    """One sentence saying how churn is defined and measured (plain text, no data-derived names).

    Examples
    --------
    >>> import pandas as pd
    >>> from cxlib.features import ChurnRule
    >>> design = ChurnCutoff(ChurnRule("contractual"), pd.Timestamp("2025-07-04"), 180, pd.Timestamp("2025-12-31"))
    >>> describe_definition(design)
    'A customer churns if they cancelled within 180 days after the cut-off (04 Jul 2025); features use only data from before it.'
    """
    if design.definition == "snapshot":
        return (
            f"Churn is a label recorded at {design.as_of:%d %b %Y} with no dates, so features are the "
            "snapshot's attributes and the held-out set is a random stratified split."
        )
    what = "cancelled" if design.definition == "contractual" else "made no purchase"
    return (
        f"A customer churns if they {what} within {design.window_days} days after the cut-off "
        f"({design.cutoff:%d %b %Y}); features use only data from before it."
    )


def describe_panel(panel: ChurnPanel, company: str) -> str:
    """The data and the churn definition: company, as-of date, customers at risk and churned (Markdown).

    Then, when there are any, the rows loading dropped compared with those kept
    (:func:`cxlib.report.describe_dropped_rows`) and the drivers' missing values with how the models
    handle them (:func:`cxlib.report.describe_missing_values`).
    """
    frame = panel.frame
    return (
        f"**{md_text(company)}**, data up to {panel.design.as_of:%d %B %Y}. {describe_definition(panel.design)} "
        f"**{len(frame):,}** customers were at risk; **{frame[LABEL].sum():,}** "
        f"({frame[LABEL].mean():.1%}) churned. The models use {len(panel.numeric)} numeric and "
        f"{len(panel.categorical)} categorical drivers."
    ) + _data_handling(panel)


def _data_handling(panel: ChurnPanel) -> str:
    """Rows dropped while loading and the drivers' missing values (empty when there are none)."""
    parts = [describe_dropped_rows(panel.dropped), describe_missing_values(panel.missing)]
    return "".join(f"\n\n{part}" for part in parts if part)


def _is_clear_contrast(row: pd.Series, alpha: float) -> bool:
    return row["unit_kind"] in CONTRAST_KINDS and row["p_adjusted"] < alpha


def is_sound(table: pd.DataFrame) -> pd.Series:
    """Which rows of a ratio summary may be read as a finding: stable, and agreeing with the raw rates.

    A row is sound unless its ``unstable`` column is true (separation, an extreme or very vague
    estimate, collinearity: :func:`cxlib.churn._stability.unstable_terms`) or its
    ``agrees_with_raw`` column is false (the adjusted ratio points the other way from the raw churn
    rates). Tables without these columns (e.g. a Cox model's summary) are sound throughout.

    Examples
    --------
    >>> table = pd.DataFrame({"unstable": [False, True, False], "agrees_with_raw": [True, True, False]})
    >>> is_sound(table).tolist()
    [True, False, False]
    """
    sound = pd.Series(True, index=table.index)
    if "unstable" in table:
        sound &= ~table["unstable"].astype(bool)
    if "agrees_with_raw" in table:
        sound &= table["agrees_with_raw"].astype(bool)
    return sound


def unsound_clear_effects(table: pd.DataFrame, alpha: float = 0.05) -> pd.DataFrame:
    """The clear contrasts (Holm-adjusted p < ``alpha``) left out of the headline as not :func:`is_sound`."""
    clear = table["unit_kind"].isin(CONTRAST_KINDS) & (table["p_adjusted"] < alpha)
    return table[clear & ~is_sound(table)]


def largest_clear_effect(table: pd.DataFrame, alpha: float = 0.05) -> pd.Series | None:
    """The sound contrast with the largest effect among those that are clearly not chance.

    Only yes/no and category contrasts compete (``unit_kind`` in
    :data:`cxlib.stats.CONTRAST_KINDS`: a ratio "per standard deviation" is on another scale and
    cannot be compared with them); "clearly" means a Holm-adjusted p-value below ``alpha``. The
    effect size is ``|log(estimate)|``, so halving and doubling count the same. Only sound rows
    compete (:func:`is_sound`): an unstable estimate (e.g. a level where everyone churns) or one
    whose direction the raw churn rates contradict is never picked, however large. When no
    contrast qualifies, the first sound row of ``table`` (the best-evidenced term) is returned;
    None when no row is sound. The ``unit`` text plays no part in the choice.

    Parameters
    ----------
    table : DataFrame
        A ratio model's summary (odds or hazard ratios), or rows of it: ``estimate``,
        ``p_adjusted`` and ``unit_kind``; ``unstable`` and ``agrees_with_raw`` when it has them.
    alpha : float
    """
    sound = table[is_sound(table)]
    contrasts = sound[sound["unit_kind"].isin(CONTRAST_KINDS) & (sound["p_adjusted"] < alpha)]
    if contrasts.empty:
        return sound.iloc[0] if len(sound) else None
    return contrasts.loc[np.log(contrasts["estimate"].astype(float)).abs().idxmax()]


def effect_sentence(row: pd.Series, estimate: str = "odds_ratio") -> str:
    """E.g. 'Unresolved complaint (yes vs no) goes with 1.96 times the odds of churning (95% CI 1.70–2.26)'.

    ``estimate`` says which ratio ``row["estimate"]`` is ("odds_ratio" or "hazard_ratio"), for
    the wording. Markdown: the label and the unit (which name levels from the data) are escaped
    with :func:`cxlib.report._safe_text.md_text`.
    """
    what = "odds of churning" if estimate == "odds_ratio" else "monthly hazard of leaving"
    return (
        f"{md_text(row['label'])} ({md_text(row['unit'])}) goes with {row['estimate']:.2f} times the {what} "
        f"(95% CI {row['ci_low']:.2f}–{row['ci_high']:.2f})"
    )


def effect_headline(table: pd.DataFrame, estimate: str = "odds_ratio", alpha: float = 0.05) -> str:
    """:func:`effect_sentence` of :func:`largest_clear_effect`, saying which kind of pick it is.

    Clear effects left out because they are not sound (:func:`unsound_clear_effects`: unstable, or
    contradicted by the raw churn rates) and larger than the one picked (all of them when no clear
    contrast is picked) are named after it, so the reader knows why a larger ratio is not the
    headline; when no row is sound the sentence says so instead.
    """
    row = largest_clear_effect(table, alpha)
    left_out = unsound_clear_effects(table, alpha)
    if row is not None and _is_clear_contrast(row, alpha):
        # only those that would have won are worth a word: a smaller left-out effect changes nothing
        size = np.log(left_out["estimate"].astype(float)).abs()
        left_out = left_out[size > abs(np.log(float(row["estimate"])))]
    why = ""
    if len(left_out):
        names = ", ".join(md_text(label) for label in left_out["label"])
        one = len(left_out) == 1
        why = (
            f" ({len(left_out)} clear {'effect' if one else 'effects'} left out of the headline because "
            f"{'its estimate is' if one else 'their estimates are'} unstable or the raw churn rates point "
            f"the other way: {names})"
        )
    if row is None:
        return (
            "No driver effect is reported as the headline: every estimate is unstable or points the other way "
            "from the raw churn rates (see the caveats)" + why
        )
    kind = (
        "the largest clear effect"
        if _is_clear_contrast(row, alpha)
        else "the driver with the strongest evidence"
    )
    return f"{effect_sentence(row, estimate)}, {kind}{why}"


def forest_title(table: pd.DataFrame, estimate: str = "odds_ratio") -> str:
    """Title of a forest plot stating its largest clear effect (plain text: charts are images).

    Parameters
    ----------
    table : DataFrame
        ``ChurnDrivers.driver_table()`` (odds ratios) or ``ChurnHazards.summary_`` (hazard ratios).
    estimate : {"odds_ratio", "hazard_ratio"}
        Which ratio the table's ``estimate`` is, for the wording.
    """
    row = largest_clear_effect(table)
    if row is None:
        what = "Odds of churning" if estimate == "odds_ratio" else "Monthly hazard of leaving"
        return f"{what} by driver: no estimate is stable enough to state"
    if estimate == "odds_ratio":
        return f"{row['label']} ({row['unit']}): {row['estimate']:.2f} times the odds of churning"
    return f"{row['label']} ({row['unit']}) multiplies the monthly hazard of leaving by {row['estimate']:.2f}"


def strongest_sentence(drivers: ChurnDrivers) -> str:
    """One sentence naming the three best-evidenced drivers with their odds ratios (Markdown).

    Each driver is shown by its best-evidenced sound term (:func:`is_sound`); a driver with none
    is named without a number.

    Driver names, category levels and reference levels come from the data and are escaped with
    :func:`cxlib.report._safe_text.md_text`.
    """
    table = drivers.driver_table()
    sound = is_sound(table)
    parts = []
    for driver in drivers.drivers_["driver"].head(3):
        rows = table.loc[table["driver"] == driver]
        # the driver's best-evidenced sound term: an unstable ratio is not quoted as a number
        row = rows[sound[rows.index]].iloc[0] if sound[rows.index].any() else rows.iloc[0]
        shown = (
            f"odds ratio {row['estimate']:.2f}"
            if sound[row.name]
            else "no reliable odds ratio, see the caveats"
        )
        parts.append(f"{md_text(feature_label(row['term']))} ({md_text(row['unit'])}: {shown})")
    if len(parts) == 1:
        return f"The driver most clearly linked to churn is {parts[0]}."
    return (
        "Ranked by the strength of evidence (the joint test of all their terms), the drivers most clearly "
        "linked to churn are " + ", ".join(parts[:-1]) + f" and {parts[-1]}."
    )


def describe_drivers(drivers: ChurnDrivers) -> str:
    """The strongest drivers, the largest variance inflation factor kept, and the model's caveats (Markdown)."""
    return (
        strongest_sentence(drivers)
        + f" The largest variance inflation factor among the kept drivers is {drivers.encoder_.vif_['vif'].max():.1f}."
        + _bullets(drivers.caveats_)
    )


def _value(value: float) -> str:
    return f"{value:,.3g}"


def _percent(value: float) -> str:
    return f"{value:.1%}" if value < 0.1 else f"{value:.0%}"


def effect_curve_sentence(drivers: ChurnDrivers, driver: str) -> str:
    """One plain sentence on a curved driver's effect curve, from the curve's numbers (Markdown).

    A count entered as levels lists the predicted churn of each level; a spline says where churn
    peaks or dips (:func:`cxlib.churn._flexible.curve_shape`) or that it rises or falls across the
    range, with the predicted churn at the ends. The driver's name comes from the data or the config
    and is escaped.

    Examples
    --------
    >>> effect_curve_sentence(drivers, "Age")  # doctest: +SKIP
    'Churn by Age (years) rises from about 33, peaks at 45–52 (13% predicted, 95% CI 10–16%) ...'
    """
    curve = drivers.effect_curve(driver)
    name = md_text(feature_label(driver))
    if drivers.encoder_.form(driver) == "levels":
        parts = [
            f"{md_text(row.value)}: {_percent(row.churn_probability)} "
            f"({_percent(row.ci_low)}–{_percent(row.ci_high)}, {row.n:,} customers)"
            for row in curve.itertuples(index=False)
        ]
        return f"Predicted churn by {name} (95% CI): " + "; ".join(parts) + "."
    shape = curve_shape(curve)
    (low_value, low_p), (high_value, high_p) = shape["low_end"], shape["high_end"]
    ends = f"{_percent(low_p)} at {_value(low_value)} and {_percent(high_p)} at {_value(high_value)}"
    where = f"({_percent(shape['probability'])} predicted, 95% CI {_percent(shape['ci_low'])}–{_percent(shape['ci_high'])})"
    span = shape.get("range", (shape["at"], shape["at"]))
    around = _value(span[0]) if span[0] == span[1] else f"{_value(span[0])}–{_value(span[1])}"
    if shape["kind"] == "peak":
        return (
            f"Churn by {name} rises from about {_value(shape['start'])} and peaks at {around} {where}, "
            f"against {ends}."
        )
    if shape["kind"] == "dip":
        return (
            f"Churn by {name} falls from about {_value(shape['start'])} to its lowest at {around} {where}, "
            f"against {ends}."
        )
    verb = "rises" if shape["kind"] == "rises" else "falls"
    return f"Churn by {name} {verb} across its range, not in a straight line: {ends}."


def describe_effects(drivers: ChurnDrivers, top: int = 4) -> str:
    """The curved drivers' effect curves in plain sentences, strongest first (Markdown).

    Says which numbers needed a flexible form (the likelihood-ratio test against a straight line)
    and how each one's predicted churn changes (:func:`effect_curve_sentence`); when none did, says
    that every number fits a straight line.
    """
    curved = drivers.curved_drivers()[:top]
    if not curved:
        return (
            "Every numeric driver fits a straight line on the log-odds scale: no curve or per-value effect "
            f"fitted better (likelihood-ratio test at the {drivers.form_alpha:g} level)."
        )
    intro = (
        "These numbers fit a curve or one effect per value better than a straight line (likelihood-ratio "
        f"test at the {drivers.form_alpha:g} level); predicted churn gives every customer each value, "
        "their other drivers as they are:"
    )
    return intro + "".join(f"\n- {effect_curve_sentence(drivers, driver)}" for driver in curved)


def describe_split(evaluation: HeldOutEvaluation) -> str:
    """How the held-out evaluation was split, with the numbers of training and test customers."""
    return (
        f"Held-out evaluation ({md_text(render(evaluation.split))}): {len(evaluation.train):,} training and "
        f"{len(evaluation.test):,} test customers."
    )


#: The boosting's notes that only large data bring (a shortcut above a size threshold): the report
#: states them where the boosting's numbers are shown.
SCALE_NOTES = (
    "predictor.selection_sample",
    "predictor.calibrated_holdout",
    "predictor.fit_sample",
    "predictor.recalibrated",
    "predictor.settings_reused",
)


#: The logistic model's note that only large data bring, stated beside its held-out numbers too.
LOGISTIC_SCALE_NOTES = ("drivers.forms_on_sample",)


def _scale_notes(model, codes=SCALE_NOTES, label: str = "") -> str:
    """The large-data notes of a fitted model as sentences; empty without one (or without notes)."""
    caveats = getattr(model, "caveats_", [])
    return "".join(f" Note{label}: {md_text(render(n))}." for n in caveats if n.code in codes)


def describe_ranking(evaluation: HeldOutEvaluation) -> str:
    """How well each model ranks churners on held-out customers, and the boosting's top-decile lift.

    Followed by the boosting's large-data notes (:data:`SCALE_NOTES`) and the logistic model's
    (:data:`LOGISTIC_SCALE_NOTES`), if any.
    """
    boosting, logistic = evaluation.estimate(BOOSTING, "roc_auc"), evaluation.estimate(LOGISTIC, "roc_auc")
    lift = evaluation.estimate(BOOSTING, "top_decile_lift")
    return (
        (
            f"On customers the models did not see, gradient boosting ranks churners above stayers with ROC-AUC "
            f"{boosting:.3f} and logistic regression with {logistic:.3f} "
            f"(0.5 is chance; 1 is perfect). The tenth of customers that gradient boosting rates riskiest churn "
            f"{lift:.1f} times as often as average."
        )
        + _scale_notes(evaluation.models.get(BOOSTING))
        + _scale_notes(evaluation.models.get(LOGISTIC), LOGISTIC_SCALE_NOTES, " (logistic regression)")
    )


def retention_axis(retention: Retention) -> str:
    """The time axis of retention curves: months after the cut-off, or tenure since signup."""
    return "Months after the cut-off" if retention.after_cutoff else "Tenure (months)"


def describe_retention(retention: Retention) -> str:
    """What the retention curves are grouped by when that is not the planned grouping, and their caveats.

    When notebook 01 produced no segments in this run, the report says so and names the customer
    attribute shown instead. Empty when there is nothing to add.

    Returns
    -------
    str
        Markdown.
    """
    text = ""
    if retention.segments_missing:
        shown = (
            f"by {md_text(feature_label(retention.group_col))}, the strongest customer attribute among the drivers"
            if retention.group_col is not None
            else "for all customers together (no customer attribute is among the drivers)"
        )
        text = f"Segments were not produced in this run (the segmentation report did not run), so retention is shown {shown}.\n\n"
    return text + "".join(f"- {md_text(render(caveat))}\n" for caveat in retention.curves.caveats_)


def describe_hazards(hazards: ChurnHazards) -> str:
    """The proportional-hazards check (how many terms have test p < 0.01) and the Cox model's caveats."""
    doubtful = int((hazards.ph_test_["p"] < _PH_ALPHA).sum())
    terms = len(hazards.ph_test_)
    check = f"{doubtful} of {terms} terms have p < 0.01." if doubtful else f"no term of {terms} has p < 0.01."
    return "Proportional-hazards check: " + check + _bullets(hazards.caveats_)


def describe_scores(
    scores: pd.DataFrame, lifetime: RemainingLifetime, horizon_months: int, predictor=None
) -> str:
    """Current customers scored: mean churn probability, share at 25% or more, expected months (Markdown).

    Parameters
    ----------
    scores : DataFrame
        :func:`cxlib.churn.churn_scores`.
    lifetime : RemainingLifetime
        Fitted; its ``lifetime.horizon`` caveat states the horizon and the Weibull assumption.
    horizon_months : int
    predictor : ChurnPredictor, optional
        The boosting that scored them (``CurrentRisk.predictor``): its large-data notes
        (:data:`SCALE_NOTES`, e.g. the evaluation's booster reused) are added.
    """
    probability = scores["churn_probability"]
    horizon = next(note for note in lifetime.caveats_ if note.code == "lifetime.horizon")
    return (
        f"{len(scores):,} current customers scored: mean churn probability {probability.mean():.1%}; "
        f"{(probability >= 0.25).mean():.0%} have a probability of 25% or more. On average a customer is expected to stay "
        f"{scores['expected_remaining_lifetime_months'].mean():.1f} of the next {horizon_months} months. "
        f"Note: {md_text(render(horizon))}."
        + "".join(
            f" Note: {md_text(render(note))}."
            for note in lifetime.caveats_
            if note.code == "lifetime.extrapolated"
        )
        + ("" if predictor is None else _scale_notes(predictor))
    )


def churn_headline(drivers: ChurnDrivers, evaluation: HeldOutEvaluation) -> str:
    """The report's one-line headline: the largest clear driver effect and the best held-out ranking."""
    best = evaluation.best_model
    other = next(name for name in evaluation.probabilities if name != best)
    auc = evaluation.metrics.set_index(["model", "metric"])
    best_low, other_high = auc.loc[(best, "roc_auc"), "ci_low"], auc.loc[(other, "roc_auc"), "ci_high"]
    if best_low > other_high:  # the intervals stand apart: one model is clearly better
        ranking = (
            f"{best.lower()} ranks churners best, held-out ROC-AUC {evaluation.estimate(best, 'roc_auc'):.2f}"
        )
    else:
        ranking = (
            f"{best.lower()} and {other.lower()} rank churners about equally well (held-out ROC-AUC "
            f"{evaluation.estimate(best, 'roc_auc'):.2f} and {evaluation.estimate(other, 'roc_auc'):.2f}; "
            "their 95% intervals overlap)"
        )
    return f"{effect_headline(drivers.driver_table())}; {ranking}."


def describe_findings(drivers: ChurnDrivers, hazards: ChurnHazards, evaluation: HeldOutEvaluation) -> str:
    """The findings: headline, strongest drivers, the Cox model's largest effect, top-decile lift (Markdown list)."""
    best = evaluation.best_model
    return (
        f"- {churn_headline(drivers, evaluation)}\n"
        f"- {strongest_sentence(drivers)}\n"
        f"- Cox model: {effect_headline(hazards.summary_, 'hazard_ratio')}.\n"
        f"- In the riskiest tenth of customers by {best.lower()}, churn runs at "
        f"{evaluation.estimate(best, 'top_decile_lift'):.1f} times the average rate."
    )


def summary_metrics(
    panel: ChurnPanel,
    evaluation: HeldOutEvaluation,
    drivers: ChurnDrivers,
    scores: pd.DataFrame,
    horizon_months: int,
) -> dict[str, Any]:
    """Key figures of the churn report for the run's machine-readable summary (``save_summary``).

    Returns
    -------
    dict
        definition, cutoff, label_window_days, customers_at_risk, churn_rate, split, held_out
        (one record per model and metric), top_drivers (five), customers_scored,
        mean_churn_probability, mean_expected_remaining_lifetime_months, horizon_months.
    """
    return {
        "definition": panel.design.definition,
        "cutoff": panel.design.cutoff,
        "label_window_days": panel.design.window_days,
        "customers_at_risk": len(panel.frame),
        "churn_rate": panel.frame[LABEL].mean(),
        "split": render(evaluation.split),
        "held_out": evaluation.metrics.to_dict(orient="records"),
        "top_drivers": drivers.drivers_["driver"].head(5).tolist(),
        "customers_scored": len(scores),
        "mean_churn_probability": scores["churn_probability"].mean(),
        "mean_expected_remaining_lifetime_months": scores["expected_remaining_lifetime_months"].mean(),
        "horizon_months": horizon_months,
    }


def describe_saved(scores: pd.DataFrame) -> str:
    """What the notebook saved to the run folder for later notebooks."""
    return f"Saved `churn_scores` ({len(scores):,} customers), `churn_drivers` and the summary to the run folder."

"""The churn report: tables and sentences built from the models, and the thin notebook 02 over them."""

from __future__ import annotations

import functools
import json
from pathlib import Path
from types import SimpleNamespace

import nbformat
import numpy as np
import pandas as pd
import pytest

from cxlib.churn import (
    BOOSTING,
    DRIVER_TABLE_COLUMNS,
    LOGISTIC,
    ChurnCutoff,
    ChurnDrivers,
    ChurnHazards,
    ChurnPanel,
    HeldOutEvaluation,
    Retention,
    churn_headline,
    churn_overrides,
    churn_panel,
    describe_definition,
    describe_drivers,
    describe_effects,
    describe_findings,
    describe_hazards,
    describe_panel,
    describe_ranking,
    describe_retention,
    describe_saved,
    describe_scores,
    describe_split,
    driver_table,
    effect_headline,
    effect_sentence,
    forest_title,
    format_hazards,
    format_risk_bands,
    held_out_evaluation,
    key_driver_curves,
    largest_clear_effect,
    retention_axis,
    retention_groups,
    retention_labels,
    risk_bands,
    strongest_sentence,
    summary_metrics,
)
from cxlib.features import ChurnRule
from cxlib.stats import Note, feature_label
from tests.churn_data import MID_CUSTOMERS, demo

NOTEBOOK = Path(__file__).resolve().parents[1] / "notebooks" / "02_churn_drivers.ipynb"
PAYLOAD = "<script>alert(1)</script> *x*"


def _summary(rows):
    """A ratio summary: label, unit text, unit kind, estimate, interval, Holm-adjusted p-value."""
    columns = ["label", "unit", "unit_kind", "estimate", "ci_low", "ci_high", "p_adjusted"]
    return pd.DataFrame(rows, columns=columns)


def test_largest_clear_effect_compares_contrasts_not_per_sd_ratios():
    table = _summary(
        [
            ("Orders per month", "per SD of 1.5", "sd", 0.30, 0.25, 0.35, 1e-9),  # per SD: another scale
            ("Plan: premium", "vs basic", "level", 0.55, 0.45, 0.65, 1e-6),
            ("Unresolved complaint", "yes vs no", "flag", 1.60, 1.30, 1.90, 1e-5),
            ("Region: West", "vs North", "level", 3.00, 0.90, 9.00, 0.20),  # large but not clear after Holm
        ]
    )
    # |log 0.55| = 0.60 > |log 1.60| = 0.47: halving counts as much as doubling
    assert largest_clear_effect(table)["label"] == "Plan: premium"


def test_largest_clear_effect_falls_back_to_the_first_term_when_no_contrast_is_clear():
    table = _summary(
        [
            ("Tenure", "per SD of 8", "sd", 0.80, 0.75, 0.85, 1e-9),
            ("Region: West", "vs North", "level", 1.10, 0.90, 1.30, 0.40),
        ]
    )
    assert largest_clear_effect(table)["label"] == "Tenure"
    assert effect_headline(table).endswith("the driver with the strongest evidence")


def test_headline_says_largest_clear_effect_only_for_a_clear_contrast():
    table = _summary([("Unresolved complaint", "yes vs no", "flag", 1.96, 1.70, 2.26, 1e-9)])
    assert effect_headline(table).endswith("(95% CI 1.70–2.26), the largest clear effect")


def test_effect_sentence_states_ratio_unit_and_interval():
    row = _summary([("Unresolved complaint", "yes vs no", "flag", 1.964, 1.701, 2.262, 1e-9)]).iloc[0]
    assert effect_sentence(row) == (
        "Unresolved complaint (yes vs no) goes with 1.96 times the odds of churning (95% CI 1.70–2.26)"
    )
    assert "monthly hazard of leaving" in effect_sentence(row, "hazard_ratio")


def test_headline_effect_on_the_demo_is_the_largest_planted_contrast():
    """Planted hazard ratios: 5 vs 2 products (3.2) is the largest yes/no, category or count effect.

    Unresolved complaint (2.0) is the largest among the experiences, and the age curve's peak is 2.2.
    """
    config, data, truth = demo(MID_CUSTOMERS)
    planted = truth["churn"]["hazard_ratios"]
    contrasts = {k: v for k, v in planted.items() if not k.endswith("_per_sd")}
    assert max(contrasts, key=lambda k: abs(np.log(contrasts[k]))) == "unresolved_complaint"
    products = truth["churn"]["products_hazard_ratios"]["ratios"]
    contrasts.update({f"Products: {k}": v for k, v in products.items()})
    assert max(contrasts, key=lambda k: abs(np.log(contrasts[k]))) == "Products: 5"
    panel = churn_panel(data, config)
    drivers = ChurnDrivers(reference_levels={"plan": "basic", "acquisition_channel": "organic"})
    drivers.fit(panel.frame, panel.numeric, panel.categorical)
    assert largest_clear_effect(drivers.driver_table())["term"] == "Products: 5"
    without_products = drivers.driver_table().query("driver != 'Products'")
    assert largest_clear_effect(without_products)["term"] in {"unresolved_complaint", "Age"}


def test_risk_bands_hide_averages_of_small_bands_and_shares_add_up():
    scores = pd.DataFrame(
        {
            "customer_id": [str(i) for i in range(25)],
            "churn_probability": [0.05] * 20 + [0.3] * 3 + [0.9] * 2,
            "expected_remaining_lifetime_months": np.linspace(1, 12, 25),
        }
    )
    table = risk_bands(scores, min_group_size=10)
    # 3 and 2 customers are suppressed; together they cover 5 < 10 customers, so the 20-customer band is
    # blanked too (complementary suppression): neither the total count nor the overall mean gives any
    # band's figures back. The empty band has nothing to protect.
    assert table["customers"].isna().tolist() == [True, False, True, True]
    assert table["customers"].iloc[1] == 0
    for column in ("share_of_customers", "mean_churn_probability", "mean_remaining_lifetime_months"):
        assert table[column].drop(table.index[1]).isna().all()
    shown = format_risk_bands(table, 12)
    assert shown["Customers"].tolist() == ["–", "0", "–", "–"]


def test_risk_bands_show_every_band_of_enough_customers():
    scores = pd.DataFrame(
        {
            "customer_id": [str(i) for i in range(60)],
            "churn_probability": [0.05] * 20 + [0.2] * 15 + [0.3] * 12 + [0.9] * 13,
            "expected_remaining_lifetime_months": np.linspace(1, 12, 60),
        }
    )
    table = risk_bands(scores, min_group_size=10)
    assert table["customers"].tolist() == [20, 15, 12, 13]
    assert table["share_of_customers"].sum() == pytest.approx(1.0)
    assert table["mean_churn_probability"].notna().all()


@functools.cache
def _small():
    """The 3,000-customer demo with its panel and fitted driver and Cox models (built once)."""
    config, data, _ = demo(3000)
    panel = churn_panel(data, config)
    drivers = ChurnDrivers.from_config(config).fit(panel.frame, panel.numeric, panel.categorical)
    hazards = ChurnHazards.from_config(config).fit(
        panel.frame, panel.numeric, panel.categorical, entry_col=panel.entry_col
    )
    return config, data, panel, drivers, hazards


def _evaluation(logistic_auc: float, boosting_auc: float, half_width: float = 0.01) -> HeldOutEvaluation:
    """A held-out evaluation with given ROC-AUCs (lifts 1.2 and 1.8; intervals of the given half-width
    around each), without fitting anything."""
    rows = [
        (name, metric, value)
        for name, auc, lift in ((LOGISTIC, logistic_auc, 1.2), (BOOSTING, boosting_auc, 1.8))
        for metric, value in (("roc_auc", auc), ("top_decile_lift", lift))
    ]
    metrics = pd.DataFrame(rows, columns=["model", "metric", "estimate"])
    metrics = metrics.assign(
        ci_low=metrics["estimate"] - half_width, ci_high=metrics["estimate"] + half_width
    )
    frame = pd.DataFrame({"churned": [True, False, False]})
    return HeldOutEvaluation(
        split=Note("split.random", {"train_share": 0.75, "test_share": 0.25}),
        train=pd.concat([frame] * 3, ignore_index=True),
        test=frame,
        models={},
        probabilities={LOGISTIC: np.zeros(3), BOOSTING: np.zeros(3)},
        metrics=metrics,
    )


# --- the churn definition and the data -------------------------------------------------------------


@pytest.mark.parametrize(
    ("definition", "window", "expected"),
    [
        (
            "contractual",
            180,
            "A customer churns if they cancelled within 180 days after the cut-off (04 Jul 2025); "
            "features use only data from before it.",
        ),
        (
            "inactivity",
            90,
            "A customer churns if they made no purchase within 90 days after the cut-off (04 Jul 2025); "
            "features use only data from before it.",
        ),
        (
            "snapshot",
            0,
            "Churn is a label recorded at 31 Dec 2025 with no dates, so features are the snapshot's "
            "attributes and the held-out set is a random stratified split.",
        ),
    ],
)
def test_describe_definition_states_each_design(definition, window, expected):
    rule = ChurnRule(definition, window if definition == "inactivity" else None)
    design = ChurnCutoff(rule, pd.Timestamp("2025-07-04"), window, pd.Timestamp("2025-12-31"))
    assert describe_definition(design) == expected


def test_churn_overrides_keep_only_parameters_that_were_set():
    assert churn_overrides("", 0) == {}
    assert churn_overrides("2025-06-30", 0) == {"churn_model.cutoff": "2025-06-30"}
    assert churn_overrides("2025-06-30", 120) == {
        "churn_model.cutoff": "2025-06-30",
        "churn_model.label_window_days": 120,
    }


def test_describe_panel_counts_customers_and_escapes_the_company():
    _, _, panel, _, _ = _small()
    text = describe_panel(panel, PAYLOAD)
    assert "<script>" not in text and "&lt;script&gt;" in text and "\\*x\\*" in text
    assert describe_definition(panel.design) in text
    at_risk, churned = len(panel.frame), int(panel.frame["churned"].sum())
    assert (
        f"**{at_risk:,}** customers were at risk; **{churned:,}** ({churned / at_risk:.1%}) churned" in text
    )
    assert f"{len(panel.numeric)} numeric and {len(panel.categorical)} categorical drivers" in text


# --- drivers and hazards ----------------------------------------------------------------------------


def test_strongest_sentence_names_the_three_best_evidenced_drivers():
    _, _, _, drivers, _ = _small()
    text = strongest_sentence(drivers)
    assert text.startswith("Ranked by the strength of evidence")
    assert text.count("odds ratio") == 3 and " and " in text and text.endswith(").")


def test_strongest_sentence_reads_well_with_a_single_driver():
    config, _, panel, _, _ = _small()
    one = ChurnDrivers.from_config(config).fit(panel.frame, ["satisfaction_z"], [])
    assert strongest_sentence(one) == (
        "The driver most clearly linked to churn is Survey satisfaction score "
        f"(per SD: odds ratio {one.summary_['odds_ratio'].iloc[0]:.2f})."
    )


def test_describe_drivers_adds_the_largest_vif_and_escaped_caveats():
    _, _, _, drivers, _ = _small()
    fake = SimpleNamespace(
        driver_table=drivers.driver_table,
        drivers_=drivers.drivers_,
        encoder_=SimpleNamespace(vif_=pd.DataFrame({"vif": [1.2, 3.46]})),
        caveats_=[Note("design.reference_not_found", {"column": PAYLOAD, "used": "basic"})],
    )
    text = describe_drivers(fake)
    assert text.startswith(strongest_sentence(drivers))
    assert " The largest variance inflation factor among the kept drivers is 3.5." in text
    assert text.endswith(
        "\n- &lt;script&gt;alert(1)&lt;/script&gt; \\*x\\*: configured reference level not found; "
        "using &#x27;basic&#x27;"
    )


def test_forest_titles_state_the_largest_clear_effect():
    table = _summary([("Unresolved complaint", "yes vs no", "flag", 1.964, 1.70, 2.26, 1e-9)])
    assert forest_title(table) == "Unresolved complaint (yes vs no): 1.96 times the odds of churning"
    assert forest_title(table, "hazard_ratio") == (
        "Unresolved complaint (yes vs no) multiplies the monthly hazard of leaving by 1.96"
    )


def test_format_hazards_adds_the_proportional_hazards_test():
    _, _, _, _, hazards = _small()
    table = format_hazards(hazards, top=4)
    assert len(table) == 4 and table.columns[-1] == "PH test p-value"
    assert table["PH test p-value"].tolist() == [f"{p:.3f}" for p in hazards.summary_["ph_p_value"].head(4)]


@pytest.mark.parametrize(
    ("p_values", "expected"),
    [
        ([0.5, 0.2, 0.03], "Proportional-hazards check: no term of 3 has p < 0.01."),
        ([0.5, 0.002, 0.009], "Proportional-hazards check: 2 of 3 terms have p < 0.01."),
    ],
)
def test_describe_hazards_counts_terms_failing_the_ph_test(p_values, expected):
    hazards = SimpleNamespace(ph_test_=pd.DataFrame({"p": p_values}), caveats_=[])
    assert describe_hazards(hazards) == expected
    hazards.caveats_ = [Note("hazards.not_proportional", {"terms": ["*plan*"]})]
    assert describe_hazards(hazards) == expected + (
        "\n- proportional hazards doubtful (test p &lt; 0.01) for \\*plan\\*: their hazard ratio is an "
        "average over tenure, larger at some tenures and smaller at others"
    )


# --- held-out evaluation ------------------------------------------------------------------------------


def test_best_model_is_the_higher_roc_auc_and_the_first_on_a_tie():
    assert _evaluation(0.60, 0.58).best_model == LOGISTIC
    assert _evaluation(0.60, 0.62).best_model == BOOSTING
    assert _evaluation(0.60, 0.60).best_model == LOGISTIC


def test_describe_split_and_ranking_quote_the_evaluation():
    evaluation = _evaluation(0.592, 0.575)
    assert describe_split(evaluation) == (
        "Held-out evaluation (random stratified split: 75% train, 25% test): 9 training and 3 test customers."
    )
    assert describe_ranking(evaluation) == (
        "On customers the models did not see, gradient boosting ranks churners above stayers with ROC-AUC "
        "0.575 and logistic regression with 0.592 (0.5 is chance; 1 is perfect). The tenth of customers "
        "that gradient boosting rates riskiest churn 1.8 times as often as average."
    )


def test_ranking_states_the_logistic_models_forms_chosen_on_a_sample():
    """Above FORM_TEST_ROWS the held-out logistic model's forms come from a sample: said beside its ROC-AUC."""
    evaluation = _evaluation(0.592, 0.575)
    note = Note("drivers.forms_on_sample", {"sample": 200_000, "customers": 483_000, "threshold": 200_000})
    evaluation.models[LOGISTIC] = SimpleNamespace(caveats_=[Note("drivers.not_converged"), note])
    assert describe_ranking(evaluation).endswith(
        " Note (logistic regression): each number&#x27;s form (straight line, curve or one effect per value) was "
        "chosen by likelihood-ratio tests on a random sample of 200,000 of the 483,000 customers (above "
        "200,000); the model with those forms is fitted on all of them."
    )


def test_held_out_evaluation_scores_both_models_on_the_test_customers():
    config, data, panel, _, _ = _small()
    evaluation = held_out_evaluation(data, config, panel, n_boot=0)
    assert evaluation.split.code == "split.out_of_time"
    assert list(evaluation.models) == [LOGISTIC, BOOSTING] == list(evaluation.probabilities)
    for probability in evaluation.probabilities.values():
        assert probability.shape == (len(evaluation.test),)
        assert ((probability >= 0) & (probability <= 1)).all()
    assert evaluation.y_true.equals(evaluation.test["churned"])
    assert set(evaluation.metrics["model"]) == {LOGISTIC, BOOSTING}
    assert 0.5 < evaluation.estimate(evaluation.best_model, "roc_auc") <= 1


def test_findings_open_with_the_headline_and_quote_the_best_model():
    _, _, _, drivers, hazards = _small()
    evaluation = _evaluation(0.58, 0.61)
    headline = churn_headline(drivers, evaluation)
    assert headline.startswith(effect_headline(drivers.driver_table()))
    assert headline.endswith("; gradient boosting ranks churners best, held-out ROC-AUC 0.61.")
    overlapping = churn_headline(drivers, _evaluation(0.58, 0.61, half_width=0.05))
    assert overlapping.endswith(
        "; gradient boosting and logistic regression rank churners about equally well "
        "(held-out ROC-AUC 0.61 and 0.58; their 95% intervals overlap)."
    )
    lines = describe_findings(drivers, hazards, evaluation).split("\n")
    assert lines == [
        f"- {headline}",
        f"- {strongest_sentence(drivers)}",
        f"- Cox model: {effect_headline(hazards.summary_, 'hazard_ratio')}.",
        "- In the riskiest tenth of customers by gradient boosting, churn runs at 1.8 times the average rate.",
    ]


# --- retention: segments when this run made them, else a driver, and the report says which --------


def test_retention_by_segment_when_the_run_has_segments():
    config, data, panel, drivers, _ = _small()
    ids = data["customers"]["customer_id"]
    segments = pd.DataFrame({"customer_id": ids, "segment_name": np.where(np.arange(len(ids)) % 2, "A", "B")})
    by_group = retention_groups(data, panel, drivers, segments, config)
    assert by_group.group_col == "segment_name" and not by_group.segments_missing
    assert set(by_group.curves.summary_["group"]) == {"A", "B"}
    assert not describe_retention(by_group).startswith("Segments were not produced")
    assert retention_axis(by_group) == "Tenure (months)"


def test_retention_without_segments_uses_the_strongest_attribute_and_says_so():
    config, data, panel, drivers, _ = _small()
    by_group = retention_groups(data, panel, drivers, None, config)
    strongest = [d for d in drivers.drivers_["driver"] if d in panel.categorical][0]
    assert by_group.group_col == strongest and by_group.segments_missing
    text = describe_retention(by_group)
    assert text.startswith(
        "Segments were not produced in this run (the segmentation report did not run), so retention is shown by "
        f"{feature_label(strongest)}, the strongest customer attribute among the drivers."
    )


def test_retention_notes_list_the_curves_caveats_escaped():
    curves = SimpleNamespace(caveats_=[Note("curves.group_too_small", {"group": PAYLOAD, "min_size": 10})])
    shown = Retention(curves, "plan", pd.DataFrame())
    assert describe_retention(shown) == (
        "- &lt;script&gt;alert(1)&lt;/script&gt; \\*x\\*: fewer than 10 customers, not shown\n"
    )
    nothing = Retention(SimpleNamespace(caveats_=[]), None, pd.DataFrame(), segments_missing=True)
    assert "shown for all customers together" in describe_retention(nothing)
    assert describe_retention(Retention(SimpleNamespace(caveats_=[]), "plan", pd.DataFrame())) == ""


def test_key_driver_curves_follow_the_top_flag_after_the_cutoff():
    config, data, panel, drivers, _ = _small()
    by_group = retention_groups(data, panel, drivers, None, config)
    by_driver = key_driver_curves(panel, drivers, by_group, config)
    assert by_driver.after_cutoff and retention_axis(by_driver) == "Months after the cut-off"
    flags = [c for c in panel.numeric if set(panel.frame[c].unique()) <= {0.0, 1.0}]
    assert by_driver.group_col == [d for d in drivers.drivers_["driver"] if d in flags][0]
    assert by_driver.curves.flag_ and list(by_driver.curves.summary_["group"]) == ["1", "0"]
    label = feature_label(by_driver.group_col).lower()
    assert retention_labels(by_driver.curves.summary_) == [f"With {label}", f"Without {label}"]


def test_key_driver_curves_without_flags_take_the_next_attribute():
    config, data, panel, _, _ = _small()
    numbers = [c for c in panel.numeric if panel.frame[c].nunique() > 2]
    no_flags = ChurnPanel(panel.frame, numbers, panel.categorical, panel.design)
    drivers = ChurnDrivers.from_config(config).fit(no_flags.frame, no_flags.numeric, no_flags.categorical)
    by_group = retention_groups(data, no_flags, drivers, None, config)
    by_driver = key_driver_curves(no_flags, drivers, by_group, config)
    ranked = [d for d in drivers.drivers_["driver"] if d in no_flags.categorical]
    assert by_driver.group_col == ranked[1] != by_group.group_col
    assert not by_driver.after_cutoff


# --- scores and the run summary --------------------------------------------------------------------


def test_describe_scores_and_saved():
    scores = pd.DataFrame(
        {
            "customer_id": ["a", "b", "c", "d"],
            "churn_probability": [0.05, 0.10, 0.30, 0.15],
            "expected_remaining_lifetime_months": [30.0, 28.0, 12.0, 20.0],
        }
    )
    horizon = Note("lifetime.horizon", {"horizon_months": 36, "shape": 0.634})
    lifetime = SimpleNamespace(
        caveats_=[horizon, Note("survival.sampled", {"rows": 5, "customers": 9, "seed": 1})]
    )
    assert describe_scores(scores, lifetime, 36) == (
        "4 current customers scored: mean churn probability 15.0%; 25% have a probability of 25% or more. "
        "On average a customer is expected to stay 22.5 of the next 36 months. "
        "Note: remaining lifetime counts at most 36 months ahead and assumes a Weibull hazard in tenure "
        "(fitted shape 0.63)."
    )
    assert describe_saved(scores) == (
        "Saved `churn_scores` (4 customers), `churn_drivers` and the summary to the run folder."
    )


def test_summary_metrics_keep_the_saved_names_and_are_plain_json():
    from cxlib.run._artifacts import _plain

    _, _, panel, drivers, _ = _small()
    scores = pd.DataFrame(
        {"churn_probability": [0.1, 0.3], "expected_remaining_lifetime_months": [20.0, 10.0]}
    )
    metrics = summary_metrics(panel, _evaluation(0.6, 0.58), drivers, scores, 36)
    assert sorted(metrics) == [
        "churn_rate",
        "customers_at_risk",
        "customers_scored",
        "cutoff",
        "definition",
        "held_out",
        "horizon_months",
        "label_window_days",
        "mean_churn_probability",
        "mean_expected_remaining_lifetime_months",
        "split",
        "top_drivers",
    ]
    assert metrics["top_drivers"] == drivers.drivers_["driver"].head(5).tolist()
    assert metrics["customers_at_risk"] == len(panel.frame) and metrics["customers_scored"] == 2
    json.dumps(_plain(metrics))


# --- the notebook is a thin narration over this API --------------------------------------------------


def _code_lines(notebook) -> list[str]:
    return [
        line.strip()
        for cell in notebook.cells
        if cell.cell_type == "code"
        for line in cell.source.splitlines()
        if line.strip() and not line.strip().startswith("#")
    ]


def test_notebook_02_is_thin_and_uses_only_the_public_api():
    notebook = nbformat.read(NOTEBOOK, as_version=4)
    lines = _code_lines(notebook)
    assert len(lines) <= 60, f"{len(lines)} code lines"
    imports = [line for line in lines if line.startswith(("from cxlib", "import cxlib"))]
    assert imports and not [line for line in imports if "._" in line or " _" in line]
    assert not [line for line in lines if line.startswith(("if ", "for ", "def ", "while "))]
    assert not [line for line in lines if '.replace("**"' in line or '.split(". ")' in line]
    tags = {tag for cell in notebook.cells for tag in cell.metadata.get("tags", [])}
    assert {"parameters", "nbval-check-output"} <= tags


def test_driver_table_keeps_the_saved_columns_and_one_row_per_logistic_term():
    _, _, _, drivers, hazards = _small()
    table = driver_table(drivers, hazards)
    assert list(table.columns) == DRIVER_TABLE_COLUMNS
    assert table["term"].tolist() == drivers.driver_table()["term"].tolist()
    cox = hazards.summary_.set_index("term")["hazard_ratio"]
    curve = table["unit_kind"] == "curve"  # a spline's highest vs lowest point: not the Cox per-SD term
    shared = table["term"].isin(cox.index) & ~curve
    assert table.loc[shared, "hazard_ratio"].tolist() == cox[table.loc[shared, "term"]].tolist()
    assert table.loc[curve, "hazard_ratio"].isna().all()


def test_retention_table_names_its_groups_with_their_variable():
    from cxlib.churn import format_retention

    summary = pd.DataFrame(
        {
            "group": ["yes", "no"],
            "group_col": "international_plan",
            "flag": False,
            "customers": [10, 20],
            "churned": [1, 2],
            "median_months": [float("inf")] * 2,
            "median_ci_low": [1.0, 1.0],
            "median_ci_high": [2.0, 2.0],
        }
    )
    table = format_retention(summary)
    assert table.columns.name == "International plan"  # shown in the header's corner
    assert list(table.index) == ["International plan: yes", "International plan: no"]


def test_no_curved_driver_draws_no_empty_figure():
    """Straight lines only: no effect-curve figure (an empty panel would read as a broken chart)."""
    import matplotlib.pyplot as plt

    _, _, panel, _, _ = _small()
    straight = ChurnDrivers(flexible=False).fit(panel.frame, panel.numeric, panel.categorical)
    plt.close("all")
    assert straight.curved_drivers() == [] and len(straight.plot_effects()) == 0
    assert plt.get_fignums() == []
    assert "Every numeric driver fits a straight line" in describe_effects(straight)


def test_scores_state_the_large_data_notes_of_the_boosting_that_made_them():
    """Above REFIT_ROWS the scores come from the evaluation's booster, recalibrated: the report says so."""
    from types import SimpleNamespace

    from cxlib.churn import describe_scores
    from cxlib.stats._notes import Note

    scores = pd.DataFrame(
        {"churn_probability": [0.1, 0.3], "expected_remaining_lifetime_months": [20.0, 10.0]}
    )
    lifetime = SimpleNamespace(caveats_=[Note("lifetime.horizon", {"horizon_months": 36, "shape": 0.9})])
    reused = Note(
        "predictor.recalibrated", {"method": "sigmoid", "calibration": 20_000, "customers": 684_623}
    )
    capped = Note("predictor.fit_sample", {"sample": 200_000, "customers": 482_961, "threshold": 200_000})
    predictor = SimpleNamespace(
        caveats_=[reused, capped, Note("predictor.importance", {"customers": 5, "repeats": 5})]
    )
    text = describe_scores(scores, lifetime, 36, predictor)
    assert "the boosting of the held-out evaluation, not refitted" in text and "684,623" in text
    assert "random sample of 200,000 of its 482,961 training customers" in text
    assert "importance" not in text  # only the large-data notes
    assert describe_scores(scores, lifetime, 36) in text

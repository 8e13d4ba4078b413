"""Pilot programme evaluation recovers the planted effects (generator: HR 0.75, spend x1.08).

Randomised pilot: the small demo. Targeted (non-randomised) pilot: ``generate(pilot="targeted")``
enrols premium and recently frequent customers more often (``TARGETED_PILOT_LOGIT``), so the naive
comparison flatters the programme; propensity weighting on the pre-start covariates must undo it.
Tolerances: the planted value inside the reported 95% interval (a known-answer test; coverage over
many seeds is measured in ``benchmarks/bench_programme_coverage.py``), |SMD| < 0.1 after weighting.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest
import yaml

from cxlib.data import _synth as synth
from cxlib.data import load_config, load_data
from cxlib.data._demo_folder import write_demo
from cxlib.impact import SMD_THRESHOLD, evaluate_programme

from .conftest import SMALL_CONFIG

PLANTED_HR = synth.HAZARD_RATIOS["programme_treatment"]
PLANTED_SPEND = synth.PROGRAMME_SPEND_UPLIFT
#: The targeted variant: 4,000 customers give about 2,000 listed, 540 enrolled and 300 churn events.
TARGETED_CUSTOMERS, TARGETED_SEED = 4000, 7


@pytest.fixture(scope="module")
def randomised(small_data, small_config):
    return evaluate_programme(small_data, small_config)


@pytest.fixture(scope="module")
def targeted(tmp_path_factory):
    folder = tmp_path_factory.mktemp("targeted") / "demo"
    write_demo(folder, n_customers=TARGETED_CUSTOMERS, seed=TARGETED_SEED, pilot="targeted")
    raw = yaml.safe_load(SMALL_CONFIG.read_text())
    raw["data"]["dir"] = str(folder)
    raw["impact"]["programme_design"] = "observational"
    config_path = Path(folder.parent / "config.yaml")
    config_path.write_text(yaml.safe_dump(raw))
    config = load_config(config_path)
    data = load_data(config)
    return data, config, evaluate_programme(data, config)


def _inside(row, planted) -> bool:
    return row["ci_low"] <= planted <= row["ci_high"]


def test_randomised_pilot_intervals_hold_the_planted_effects(randomised):
    assert randomised.design == "randomised"
    assert randomised.assumption.code == "programme.assumption_randomised"
    assert randomised.programme == "Priority care pilot"
    assert _inside(randomised.effect("churn_hr"), PLANTED_HR)
    assert _inside(randomised.effect("spend_ratio"), PLANTED_SPEND)
    assert randomised.notes == []


def test_inputs_carry_the_estimates_with_the_design_as_evidence(randomised, targeted):
    inputs = randomised.inputs()
    assert set(inputs) == {"programme_churn_hr", "programme_spend_ratio"}
    churn = inputs["programme_churn_hr"]
    row = randomised.effect("churn_hr")
    assert (churn.evidence, churn.distribution) == ("randomised", "lognormal")
    assert churn.value == pytest.approx(row["estimate"]) and churn.low == pytest.approx(row["ci_low"])
    assert {i.evidence for i in targeted[2].inputs().values()} == {"quasi_experimental"}


def test_weighted_estimates_of_a_targeted_pilot_hold_the_planted_effects(targeted):
    evaluation = targeted[2]
    assert evaluation.design == "quasi_experimental"
    assert evaluation.assumption.code == "programme.assumption_no_unmeasured_confounding"
    assert _inside(evaluation.effect("churn_hr"), PLANTED_HR)
    assert _inside(evaluation.effect("spend_ratio"), PLANTED_SPEND)


def test_naive_estimates_of_a_targeted_pilot_are_visibly_biased(targeted):
    """Enrolled customers churn less and spend more anyway: the naive intervals exclude the truth."""
    evaluation = targeted[2]
    naive_churn, naive_spend = (
        evaluation.effect("churn_hr", "naive"),
        evaluation.effect("spend_ratio", "naive"),
    )
    assert naive_churn["ci_high"] < PLANTED_HR
    assert naive_spend["ci_low"] > 1.5 * PLANTED_SPEND  # spend per month looks more than doubled
    for outcome, planted in (("churn_hr", PLANTED_HR), ("spend_ratio", PLANTED_SPEND)):
        adjusted, naive = (
            evaluation.effect(outcome)["estimate"],
            evaluation.effect(outcome, "naive")["estimate"],
        )
        assert abs(adjusted / planted - 1) < abs(naive / planted - 1)


def test_weighting_balances_the_pre_start_covariates(targeted):
    evaluation = targeted[2]
    balance = evaluation.balance.set_index("covariate")
    # the targeting shows before weighting, on the covariates it used
    assert balance.loc["plan[premium]", "smd_unweighted"] > 2 * SMD_THRESHOLD
    assert balance.loc["log1p_orders_recent", "smd_unweighted"] > 2 * SMD_THRESHOLD
    assert (balance["smd_weighted"].abs() < SMD_THRESHOLD).all(), balance
    # weights cost precision but leave most of each group
    groups = evaluation.covariates["treated"].value_counts()
    assert evaluation.effective_sample_size["treatment"] > 0.4 * groups[True]
    assert evaluation.effective_sample_size["control"] > 0.6 * groups[False]


def test_missing_programme_or_control_group_gives_reason_codes(small_data, small_config):
    tables = {k: v for k, v in small_data.tables.items() if k != "programme"}
    without = evaluate_programme(dataclasses.replace(small_data, tables=tables), small_config)
    assert [n.code for n in without.notes] == ["programme.no_table"] and without.inputs() == {}
    programme = small_data["programme"]
    treated_only = dict(small_data.tables, programme=programme[programme["group"] == "treatment"])
    no_control = evaluate_programme(dataclasses.replace(small_data, tables=treated_only), small_config)
    assert [n.code for n in no_control.notes] == ["programme.no_control"] and no_control.effects.empty


def test_too_few_customers_gives_a_reason_code(small_data, small_config):
    programme = small_data["programme"]
    few = programme.groupby("group").head(10)
    evaluation = evaluate_programme(
        dataclasses.replace(small_data, tables=dict(small_data.tables, programme=few)), small_config
    )
    assert {n.code for n in evaluation.notes} == {"programme.too_few_customers"}
    assert evaluation.inputs() == {}

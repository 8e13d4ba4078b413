"""Presentation helpers of the churn notebook: headline effect, sentences, risk bands."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from cxlib.churn._models import ChurnDrivers
from cxlib.churn._panel import churn_panel
from cxlib.churn._report import (
    effect_headline,
    effect_sentence,
    format_risk_bands,
    largest_clear_effect,
    risk_bands,
)
from tests.churn_data import MID_CUSTOMERS, demo


def _summary(rows):
    return pd.DataFrame(rows, columns=["label", "unit", "odds_ratio", "ci_low", "ci_high", "p_holm"])


def test_largest_clear_effect_compares_contrasts_not_per_sd_ratios():
    table = _summary(
        [
            ("Orders per month", "per SD of 1.5", 0.30, 0.25, 0.35, 1e-9),  # per SD: another scale
            ("Plan: premium", "vs basic", 0.55, 0.45, 0.65, 1e-6),
            ("Unresolved complaint", "yes vs no", 1.60, 1.30, 1.90, 1e-5),
            ("Region: West", "vs North", 3.00, 0.90, 9.00, 0.20),  # large but not clear after Holm
        ]
    )
    # |log 0.55| = 0.60 > |log 1.60| = 0.47: halving counts as much as doubling
    assert largest_clear_effect(table)["label"] == "Plan: premium"


def test_largest_clear_effect_falls_back_to_the_first_term_when_no_contrast_is_clear():
    table = _summary(
        [
            ("Tenure", "per SD of 8", 0.80, 0.75, 0.85, 1e-9),
            ("Region: West", "vs North", 1.10, 0.90, 1.30, 0.40),
        ]
    )
    assert largest_clear_effect(table)["label"] == "Tenure"
    assert effect_headline(table).endswith("the driver with the strongest evidence")


def test_headline_says_largest_clear_effect_only_for_a_clear_contrast():
    table = _summary([("Unresolved complaint", "yes vs no", 1.96, 1.70, 2.26, 1e-9)])
    assert effect_headline(table).endswith("(95% CI 1.70–2.26), the largest clear effect")


def test_effect_sentence_states_ratio_unit_and_interval():
    row = _summary([("Unresolved complaint", "yes vs no", 1.964, 1.701, 2.262, 1e-9)]).iloc[0]
    assert effect_sentence(row) == (
        "Unresolved complaint (yes vs no) goes with 1.96 times the odds of churning (95% CI 1.70–2.26)"
    )
    hazard = row.rename({"odds_ratio": "hazard_ratio"})
    assert "monthly hazard of leaving" in effect_sentence(hazard, "hazard_ratio")


def test_headline_effect_on_the_demo_is_the_largest_planted_contrast():
    """Planted hazard ratios: unresolved complaint 2.0 is the largest yes/no or category effect."""
    config, data, truth = demo(MID_CUSTOMERS)
    planted = truth["churn"]["hazard_ratios"]
    contrasts = {k: v for k, v in planted.items() if not k.endswith("_per_sd")}
    assert max(contrasts, key=lambda k: abs(np.log(contrasts[k]))) == "unresolved_complaint"
    panel = churn_panel(data, config)
    drivers = ChurnDrivers(reference_levels={"plan": "basic", "acquisition_channel": "organic"})
    drivers.fit(panel.frame, panel.numeric, panel.categorical)
    assert largest_clear_effect(drivers.driver_table())["term"] == "unresolved_complaint"


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

"""Robust churn effects (issue 10, part 4): separation, collinearity and raw-rate direction.

A planted artefact (a small level where everyone churns, or a level whose adjusted odds ratio is
large while its raw churn rate is lower than the reference's) is flagged in ``summary_`` and never
becomes the headline; the report says why it was left out. The demo's headline is unchanged.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from cxlib.churn import (
    ChurnDrivers,
    churn_panel,
    effect_headline,
    forest_title,
    is_sound,
    largest_clear_effect,
    raw_term_rates,
    unstable_terms,
)
from cxlib.churn._panel import LABEL
from cxlib.report import render
from cxlib.stats import DesignEncoder
from tests.churn_data import MID_CUSTOMERS, demo


def _separated(seed: int = 0) -> pd.DataFrame:
    """A clear yes/no effect (odds ratio about 3) and a 15-customer plan level where everyone churns."""
    rng = np.random.default_rng(seed)
    n = 3000
    flag = rng.random(n) < 0.3
    plan = rng.choice(["basic", "premium"], n)
    plan[:15] = "tiny"
    churned = rng.random(n) < 1 / (1 + np.exp(-(-2.0 + 1.1 * flag)))
    churned[:15] = True
    return pd.DataFrame({"flag": flag.astype(float), "plan": plan, LABEL: churned})


def _simpson(seed: int = 0) -> pd.DataFrame:
    """'Others' churn less than the reference in the raw data, but more once loyalty is adjusted for."""
    rng = np.random.default_rng(seed)
    n = 4000
    others = rng.random(n) < 0.2
    loyalty = np.where(others, rng.normal(2.0, 0.5, n), rng.normal(0.0, 1.0, n))
    logit = -1.0 - 2.0 * loyalty + 2.5 * others
    churned = rng.random(n) < 1 / (1 + np.exp(-logit))
    device = np.where(others, "Others", "Laptop")
    return pd.DataFrame({"loyalty": loyalty, "device": device, LABEL: churned})


def test_a_level_where_everyone_churns_is_flagged_and_never_the_headline():
    model = ChurnDrivers().fit(_separated(), ["flag"], ["plan"])
    table = model.driver_table().set_index("term")
    assert table.loc["plan: tiny", "raw_rate"] == 1.0
    assert table.loc["plan: tiny", "unstable"]
    assert "separation" in table.loc["plan: tiny", "unstable_reasons"]
    assert not table.loc["flag", "unstable"] and table.loc["flag", "unstable_reasons"] == ""
    assert largest_clear_effect(model.driver_table())["term"] == "flag"
    headline = effect_headline(model.driver_table())
    assert headline.startswith("flag (yes vs no)") and "the largest clear effect" in headline
    assert "drivers.unstable_separation" in [note.code for note in model.caveats_]
    # the light ridge refit gives the separated level a finite ratio, and no other term one
    assert 10 < table.loc["plan: tiny", "odds_ratio_penalised"] < 1_000
    assert table["odds_ratio_penalised"].drop("plan: tiny").isna().all()


def test_flags_leave_the_estimates_of_unflagged_terms_unchanged():
    frame = _separated()
    model = ChurnDrivers().fit(frame, ["flag"], ["plan"])
    plain = model.result_.params
    again = ChurnDrivers().fit(frame, ["flag"], ["plan"]).summary_.set_index("term")
    assert again.loc["flag", "estimate"] == pytest.approx(np.exp(plain["flag"]), rel=1e-12)


def test_a_large_adjusted_ratio_against_the_raw_rates_is_not_the_headline():
    model = ChurnDrivers().fit(_simpson(), ["loyalty"], ["device"])
    row = model.summary_.set_index("term").loc["device: Others"]
    # planted: odds ratio exp(2.5) ≈ 12 once loyalty is adjusted for, yet "Others" churn less raw
    assert row["estimate"] > 5 and row["p_adjusted"] < 0.05
    assert row["raw_rate"] < row["raw_rate_reference"]
    assert row["raw_direction"] == -1 and not row["agrees_with_raw"]
    headline = effect_headline(model.driver_table())
    assert not headline.startswith("device: Others")
    assert "1 clear effect left out of the headline" in headline and headline.endswith("device: Others)")
    (note,) = [n for n in model.caveats_ if n.code == "drivers.direction_disagrees"]
    assert "directions disagree" in render(note)


def test_no_sound_row_gives_a_headline_that_says_why():
    table = pd.DataFrame(
        {
            "label": ["Device: Others"],
            "unit": ["vs Laptop"],
            "unit_kind": ["level"],
            "estimate": [58.63],
            "ci_low": [20.50],
            "ci_high": [167.72],
            "p_adjusted": [1e-9],
            "unstable": [False],
            "agrees_with_raw": [False],
        }
    )
    assert largest_clear_effect(table) is None
    headline = effect_headline(table)
    assert headline.startswith("No driver effect is reported as the headline")
    assert "58.63" not in headline and "Device: Others" in headline
    assert forest_title(table) == "Odds of churning by driver: no estimate is stable enough to state"


@pytest.mark.parametrize(
    ("estimate", "ci_low", "ci_high", "vif", "reason"),
    [
        (3.0, 0.5, 9.0, 1.0, ""),
        (3.0, 1.0, 19.9, 1.0, ""),
        (3.0, 0.2, 45.0, 1.0, "wide_interval"),
        (400.0, 200.0, 800.0, 1.0, "extreme_estimate"),
        (1 / 400, 1 / 800, 1 / 200, 1.0, "extreme_estimate"),
        (1.5, 1.1, 2.0, 9.3, "high_vif"),
        (np.inf, 0.0, np.inf, 1.0, "extreme_estimate, wide_interval"),
    ],
)
def test_unstable_terms_thresholds(estimate, ci_low, ci_high, vif, reason):
    summary = pd.DataFrame(
        {"term": ["x"], "estimate": [estimate], "ci_low": [ci_low], "ci_high": [ci_high], "vif": [vif]}
    )
    raw = pd.DataFrame({"raw_rate": [0.3], "raw_rate_reference": [0.2]}, index=["x"])
    flags = unstable_terms(summary, raw)
    assert flags["unstable_reasons"].iloc[0] == reason
    assert flags["unstable"].iloc[0] == bool(reason)


def test_a_fit_that_did_not_converge_flags_every_term():
    summary = pd.DataFrame(
        {"term": ["x"], "estimate": [1.2], "ci_low": [1.0], "ci_high": [1.4], "vif": [1.0]}
    )
    raw = pd.DataFrame({"raw_rate": [0.3], "raw_rate_reference": [0.2]}, index=["x"])
    assert unstable_terms(summary, raw, converged=False)["unstable_reasons"].iloc[0] == "not_converged"


def test_raw_rates_compare_a_level_with_its_reference_and_a_flag_with_no():
    frame = pd.DataFrame(
        {"plan": ["basic"] * 4 + ["premium"] * 2, "flag": [0.0, 0.0, 1.0, 1.0, 1.0, 0.0], "x": np.arange(6.0)}
    )
    y = np.array([0, 0, 1, 1, 1, 0])
    encoder = DesignEncoder(["flag", "x"], ["plan"], max_vif=None).fit(frame)
    raw = raw_term_rates(frame, y, encoder, ["plan: premium", "flag", "x"], [2.0, 0.5, 1.1])
    assert raw.loc[
        "plan: premium", ["raw_n", "raw_rate", "raw_n_reference", "raw_rate_reference"]
    ].tolist() == [
        2,
        0.5,
        4,
        0.5,
    ]
    assert raw.loc["plan: premium", "raw_direction"] == 0 and not raw.loc["plan: premium", "agrees_with_raw"]
    assert raw.loc["flag", "raw_rate"] == 1.0 and raw.loc["flag", "raw_rate_reference"] == 0.0
    assert not raw.loc["flag", "agrees_with_raw"]  # raw: more churn with the flag; model: 0.5
    assert np.isnan(raw.loc["x", "raw_rate"]) and raw.loc["x", "raw_direction"] == 1
    assert raw.loc["x", "agrees_with_raw"]


def test_the_demo_has_no_unstable_term_and_keeps_its_headline():
    """On the demo every term is sound enough, so the headline is the one chosen before the flags."""
    config, data, _ = demo(MID_CUSTOMERS)
    panel = churn_panel(data, config)
    drivers = ChurnDrivers.from_config(config).fit(panel.frame, panel.numeric, panel.categorical)
    table = drivers.driver_table()
    assert not table["unstable"].any()
    unflagged = table.drop(columns=["unstable", "agrees_with_raw"])
    assert largest_clear_effect(table)["term"] == largest_clear_effect(unflagged)["term"]
    assert is_sound(table).loc[largest_clear_effect(table).name]


def test_an_unconverged_fit_explained_by_a_separated_term_flags_that_term_only():
    summary = pd.DataFrame(
        {
            "term": ["x", "tiny"],
            "estimate": [1.2, 1e9],
            "ci_low": [1.0, 0.0],
            "ci_high": [1.4, np.inf],
            "vif": [1.0, 1.0],
        }
    )
    raw = pd.DataFrame({"raw_rate": [0.3, 1.0], "raw_rate_reference": [0.2, 0.2]}, index=["x", "tiny"])
    flags = unstable_terms(summary, raw, converged=False)
    assert flags["unstable"].tolist() == [False, True]


def test_smaller_left_out_effects_are_not_mentioned_in_the_headline():
    columns = ["label", "unit", "unit_kind", "estimate", "ci_low", "ci_high", "p_adjusted", "unstable"]
    columns += ["agrees_with_raw"]
    table = pd.DataFrame(
        [
            ("Plan: two year", "vs monthly", "level", 0.26, 0.18, 0.36, 1e-9, False, True),
            ("Streaming: yes", "yes vs no", "flag", 1.30, 1.10, 1.50, 1e-3, False, False),
        ],
        columns=columns,
    )
    assert effect_headline(table).endswith("(95% CI 0.18–0.36), the largest clear effect")

"""Known answers for the revenue case: the lever arithmetic in closed form, the economics, the evidence labels.

A base of N customers with constant monthly retention r and revenue M a month has S(u) = r^u, so
under a hazard ratio h the customers still there in month u are N r^(h u) and every lever is a
finite geometric sum written out by hand here (cxlib.impact._levers gives the formulas).
"""

from __future__ import annotations

import itertools

import numpy as np
import pytest

from cxlib.impact import (
    EVIDENCE,
    ExactBase,
    Input,
    LeverSettings,
    discount_factors,
    programme_economics,
    revenue_case,
    weakest,
)

N, R, M, H = 200, 0.96, 40.0, 24
MARGIN, RATE = 0.3, 0.08
CENTRE = {
    "hazard_ratio": 0.8,
    "spend_ratio": 1.05,
    "promoter_shift": 0.06,
    "referral_rate_gain": 0.02,
    "referred_value": 250.0,
    "cac": 70.0,
    "cost_fixed": 20_000.0,
    "cost_per_customer_year": 24.0,
}
P = 0.7  # non-promoters' share


@pytest.fixture(scope="module")
def base():
    return ExactBase(np.tile(R ** np.arange(H + 1), (N, 1)), np.full(N, M))


def _settings(**kw):
    return LeverSettings(
        margin=MARGIN, annual_discount_rate=RATE, word_of_mouth=True, nonpromoter_share=P, **kw
    )


def _fixed(values=CENTRE, evidence="randomised"):
    return {
        k: Input(k, v, v, v, "assumption" if k.startswith("cost") else evidence) for k, v in values.items()
    }


def _by_hand(c=CENTRE) -> dict:
    u = np.arange(1, H + 1)
    v = (1 + RATE) ** (-u / 12)
    h = c["hazard_ratio"]
    loyalty = MARGIN * (c["spend_ratio"] - 1) * N * M * (v * R**u).sum()
    retention = MARGIN * N * M * (v * (R ** (h * u) - R**u)).sum()
    referrals = c["promoter_shift"] * P * c["referral_rate_gain"] * N * R**u
    word = ((c["referred_value"] + c["cac"]) * referrals * v).sum()
    cost = c["cost_fixed"] + (v * c["cost_per_customer_year"] / 12 * N * R ** (h * u)).sum()
    margin = loyalty + retention + word
    return {
        "margin_loyalty": loyalty,
        "margin_retention": retention,
        "margin_word_of_mouth": word,
        "referrals": referrals.sum(),
        "margin_total": margin,
        "cost": cost,
        "npv": margin - cost,
        "roi": (margin - cost) / cost,
        "customers_retained": N * (R ** (h * H) - R**H),
    }


def test_zero_uncertainty_monte_carlo_reproduces_the_lever_arithmetic_exactly(base):
    case = revenue_case(base, _fixed(), _settings(), n_draws=50, seed=3)
    for name, expected in _by_hand().items():
        assert case.central[name] == pytest.approx(expected, rel=1e-12), name
        assert np.all(case.draws[name] == case.central[name]), name  # every draw is the deterministic case
        row = case.summary.set_index("figure").loc[name]
        assert row["low"] == row["high"] == row["value"]


def test_doubling_the_cost_halves_roi_plus_one(base):
    once = revenue_case(base, _fixed(), _settings(), n_draws=10, seed=1).central
    doubled_values = {
        **CENTRE,
        "cost_fixed": 2 * CENTRE["cost_fixed"],
        "cost_per_customer_year": 2 * CENTRE["cost_per_customer_year"],
    }
    twice = revenue_case(base, _fixed(doubled_values), _settings(), n_draws=10, seed=1).central
    assert twice["roi"] + 1 == pytest.approx((once["roi"] + 1) / 2, rel=1e-12)
    assert twice["margin_total"] == pytest.approx(once["margin_total"], rel=1e-12)


def test_economics_formulas():
    out = programme_economics(np.full(12, 100.0), np.zeros(12), 600.0, 0.0)
    assert (float(out["npv"]), float(out["roi"]), float(out["payback_month"])) == (600.0, 1.0, 6.0)
    never = programme_economics(np.full(12, 10.0), np.full(12, 5.0), 1000.0, 0.05)
    assert np.isnan(never["payback_month"]) and never["npv"] < 0
    v = discount_factors(24, 0.08)
    assert v[11] == pytest.approx(1 / 1.08) and v[23] == pytest.approx(1 / 1.08**2)


def test_the_interval_of_a_lever_is_its_formula_at_the_ends_of_the_estimate(base):
    """Retention margin falls with the hazard ratio, so its 2.5% point is the formula at the HR's 97.5% point."""
    inputs = _fixed()
    inputs["hazard_ratio"] = Input.ratio("hazard_ratio", 0.8, 0.1, "randomised")
    case = revenue_case(base, inputs, _settings(), n_draws=20_000, seed=5)
    row = case.summary.set_index("figure").loc["margin_retention"]
    at_high = _by_hand({**CENTRE, "hazard_ratio": inputs["hazard_ratio"].high})["margin_retention"]
    at_low = _by_hand({**CENTRE, "hazard_ratio": inputs["hazard_ratio"].low})["margin_retention"]
    # the Monte Carlo's 97.5% point of the HR lies within about 0.1% of the exact one with 20,000
    # draws; the margin near HR 1 is small and steep, so that is a few percent of it there
    assert row["low"] == pytest.approx(at_high, rel=0.06)
    assert row["high"] == pytest.approx(at_low, rel=0.02)
    assert case.tornado.iloc[0]["input"] == "hazard_ratio"


@pytest.mark.parametrize("codes", list(itertools.product(EVIDENCE, repeat=4))[::15])
def test_every_figure_carries_the_weakest_evidence_it_rests_on(base, codes):
    """A figure resting on an assumption is never labelled as measured (every figure of the summary)."""
    h, shift, spend, gain = codes
    inputs = _fixed()
    inputs["hazard_ratio"] = Input.ratio("hazard_ratio", 0.8, 0.1, h)
    inputs["promoter_shift"] = Input("promoter_shift", 0.06, 0.03, 0.1, shift, "triangular")
    inputs["promoter_spend_ratio"] = Input.ratio("promoter_spend_ratio", 1.15, 0.05, spend)
    inputs["referral_rate_gain"] = Input.difference("referral_rate_gain", 0.02, 0.004, gain)
    inputs["referred_value"] = Input.ratio("referred_value", 250.0, 0.1, "observational")
    case = revenue_case(base, inputs, _settings(spend_from="promoters"), n_draws=200, seed=1)
    lever = {
        "loyalty": [shift, spend],
        "retention": [h],
        "word_of_mouth": [shift, gain, "observational", "randomised"],  # V estimated, CAC (fixed) given
    }
    levers = sum(lever.values(), [])
    for row in case.summary.itertuples():
        if row.figure in ("cost", "npv", "roi", "payback_month", "cost_per_retained"):
            used = [*levers, "assumption"]  # the costs are the company's plan: assumptions
        elif row.lever == "total":
            used = levers
        else:
            used = lever[row.lever]
        assert row.evidence == weakest(used), row.figure
        if "assumption" in used:
            assert row.evidence == "assumption", row.figure
    assert case.by_evidence["value"].sum() == pytest.approx(case.central["margin_total"], rel=1e-12)


def test_inputs_from_one_model_are_drawn_with_their_correlation():
    """Two ratios estimated together keep the covariance given on the log scale; the others stay independent."""
    from cxlib.impact import draw_inputs

    inputs = {
        "a": Input.ratio("a", 0.8, 0.1, "randomised"),
        "b": Input.ratio("b", 1.1, 0.2, "randomised"),
        "c": Input.assumption("c", 0.5, 0.2, 0.9),
    }
    covariance = np.array([[0.01, -0.012], [-0.012, 0.04]])  # correlation -0.6
    x = draw_inputs(inputs, 40_000, seed=3, correlated={("a", "b"): covariance})
    logs = np.log(np.column_stack([x["a"], x["b"]]))
    assert np.corrcoef(logs.T)[0, 1] == pytest.approx(-0.6, abs=0.02)
    assert logs.std(axis=0) == pytest.approx([0.1, 0.2], rel=0.03)
    assert abs(np.corrcoef(x["a"], x["c"])[0, 1]) < 0.02
    assert x["c"].min() >= 0.2 and x["c"].max() <= 0.9
    again = draw_inputs(inputs, 40_000, seed=3, correlated={("a", "b"): covariance})
    assert all(np.array_equal(x[k], again[k]) for k in x)  # same seed, same draws

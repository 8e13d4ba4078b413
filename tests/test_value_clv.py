"""Known answers for the value arithmetic: discounting, the delta-method interval and group sums.

A purchase model with a constant rate (lambda purchases per unit, no dropout) and a constant spend
make every number closed-form: discounted purchases are lambda x (days per month / unit) x
sum_m (1 + d_m)^-m, and the value's standard error is value x se(lambda) / lambda.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from cxlib.features import DAYS_PER_MONTH
from cxlib.value import discounted_purchases, group_value, monthly_rate, transaction_clv


class ConstantRate:
    """A purchase model: lambda purchases per time unit for ever (each customer's own lambda times a factor)."""

    def __init__(self, rate: float, variance: float):
        self.params_ = pd.Series({"rate": rate})
        self.covariance_ = pd.DataFrame([[variance]], index=["rate"], columns=["rate"])

    def expected_purchases(self, t, summary, params=None):
        rate = float((self.params_ if params is None else params)["rate"])
        return rate * summary["factor"].to_numpy() * np.asarray(t, float)

    def probability_alive(self, summary, params=None):
        return np.ones(len(summary))


class ConstantSpend:
    def __init__(self, spend: float, variance: float):
        self.params_ = pd.Series({"spend": spend})
        self.covariance_ = pd.DataFrame([[variance]], index=["spend"], columns=["spend"])

    def conditional_expected_spend(self, summary, params=None):
        return np.full(len(summary), float((self.params_ if params is None else params)["spend"]))


def _summary(n=5):
    table = pd.DataFrame(
        {"factor": np.arange(1, n + 1, dtype=float)}, index=pd.Index([f"c{i}" for i in range(n)])
    )
    table.attrs["unit_days"] = 7.0
    return table


def test_monthly_rate_compounds_to_the_annual_rate():
    assert (1 + monthly_rate(0.08)) ** 12 == pytest.approx(1.08, rel=1e-12)


def test_discounted_purchases_match_the_closed_form():
    summary = _summary()
    value = discounted_purchases(ConstantRate(0.5, 0.0), summary, horizon_months=24, annual_discount_rate=0.1)
    months = np.arange(1, 25)
    per_month = 0.5 * DAYS_PER_MONTH / 7.0
    expected = summary["factor"].to_numpy() * per_month * np.sum((1 + monthly_rate(0.1)) ** -months)
    np.testing.assert_allclose(value, expected, rtol=1e-12)


def test_value_and_interval_are_the_closed_form_delta_method():
    summary = _summary()
    rate, rate_var, spend, spend_var = 0.5, 0.01, 40.0, 4.0
    result = transaction_clv(
        ConstantRate(rate, rate_var),
        ConstantSpend(spend, spend_var),
        summary,
        margin_rate=0.3,
        annual_discount_rate=0.08,
        horizon_months=12,
    )
    purchases = discounted_purchases(ConstantRate(rate, 0.0), summary, 12, 0.08)
    clv = 0.3 * spend * purchases
    np.testing.assert_allclose(result.table["clv"], clv, rtol=1e-12)
    # value is rate x spend x constants: relative variance adds up
    se = clv * np.sqrt(rate_var / rate**2 + spend_var / spend**2)
    z = 1.959963984540054
    np.testing.assert_allclose(result.table["clv_low"], clv * np.exp(-z * se / clv), rtol=1e-6)
    np.testing.assert_allclose(result.table["clv_high"], clv * np.exp(z * se / clv), rtol=1e-6)
    # a group's total uses the gradient of the sum: its relative error is the same (perfect correlation)
    groups = pd.Series(["a", "a", "b", "b", "b"], index=summary.index)
    by = group_value(result, groups).set_index("group")
    total_a = clv[:2].sum()
    assert by.loc["a", "total"] == pytest.approx(total_a, rel=1e-12)
    assert by.loc["a", "total_high"] == pytest.approx(total_a * np.exp(z * se[0] / clv[0]), rel=1e-6)
    assert by.loc["a", "mean"] == pytest.approx(total_a / 2, rel=1e-12)
    overall = group_value(result).iloc[0]
    assert overall["customers"] == 5 and overall["total"] == pytest.approx(clv.sum(), rel=1e-12)


def test_an_indefinite_covariance_gives_no_interval_rather_than_a_narrow_one():
    # a negative "variance" (as a pseudo-inverse of a singular information can hold) would make the
    # delta-method variance negative; clipped to 0 it would give a zero-width interval
    summary = _summary()
    result = transaction_clv(
        ConstantRate(0.5, -0.01),
        ConstantSpend(40.0, 4.0),
        summary,
        margin_rate=0.3,
        annual_discount_rate=0.08,
        horizon_months=12,
    )
    clv = 0.3 * 40.0 * discounted_purchases(ConstantRate(0.5, 0.0), summary, 12, 0.08)
    np.testing.assert_allclose(result.table["clv"], clv, rtol=1e-12)
    assert result.table[["clv_low", "clv_high"]].isna().all().all()
    overall = group_value(result).iloc[0]
    assert overall["total"] == pytest.approx(clv.sum(), rel=1e-12)
    assert np.isnan(overall["total_low"]) and np.isnan(overall["total_high"])


@pytest.mark.parametrize("name", ["bgnbd", "pareto_nbd"])
def test_the_shortcut_over_horizons_gives_the_same_numbers_bit_for_bit(name):
    from cxlib.value import BetaGeo, ParetoNBD

    rng = np.random.default_rng(5)
    n = 400
    age = rng.integers(1, 60, n).astype(float)
    frequency = rng.integers(0, 6, n).astype(float)
    recency = np.where(frequency > 0, np.floor(rng.uniform(0, 1, n) * age), 0.0)
    summary = pd.DataFrame({"frequency": frequency, "recency": recency, "T": age})
    summary.attrs["unit_days"] = 7.0
    if name == "bgnbd":
        model, params = BetaGeo(), pd.Series({"r": 0.24, "alpha": 4.4, "a": 0.79, "b": 2.4})
    else:
        model, params = ParetoNBD(), pd.Series({"r": 0.55, "alpha": 10.6, "s": 0.61, "beta": 11.7})
    steps = np.arange(1, 13) * DAYS_PER_MONTH / 7
    fast = list(model.expected_purchases_steps(steps, summary, params=params))
    for step, got in zip(steps, fast, strict=True):
        np.testing.assert_array_equal(got, model.expected_purchases(step, summary, params=params))


def _group_value_by_lookup(value, groups):
    """The former group_value: each group's customers looked up by id (the reference)."""
    table = value.table
    labels = groups.reindex(table.index).astype("string").fillna("unknown")
    rows = []
    for name, members in labels.groupby(labels, sort=True).groups.items():
        where = table.index.get_indexer(members)
        total = float(table["clv"].to_numpy()[where].sum())
        g = value.gradient[where].sum(axis=0)
        rows.append({"group": str(name), "customers": len(where), "total": total, "g": tuple(g)})
    return pd.DataFrame(rows)


def test_group_positions_from_codes_equal_the_lookup_by_id():
    """Groups found by codes: the same customers in the same order, so the same sums bit for bit."""
    rng = np.random.default_rng(3)
    n = 2_000
    ids = pd.Index([f"c{i:05d}" for i in rng.permutation(n)], name="customer_id")
    table = pd.DataFrame(
        {"clv": rng.gamma(1.0, 50.0, n), "probability_alive": 0.5, "expected_purchases": 1.0}, index=ids
    )
    from cxlib.value import CustomerValue

    value = CustomerValue(table, rng.normal(size=(n, 3)), np.eye(3) * 1e-4, ["a", "b", "c"], 0.05, {})
    groups = pd.Series(rng.choice(["x", "Y", "z", "é"], n), index=ids).iloc[: n - 37]  # some unknown
    groups = groups.sample(frac=1.0, random_state=1)
    got = group_value(value, groups).sort_values("group").reset_index(drop=True)
    want = _group_value_by_lookup(value, groups).sort_values("group").reset_index(drop=True)
    assert got["group"].tolist() == want["group"].tolist()
    assert got["customers"].tolist() == want["customers"].tolist()
    assert got["total"].tolist() == want["total"].tolist()  # exact


@pytest.mark.parametrize("model_name", ["bgnbd", "pareto_nbd", "pareto_nbd_covariates"])
def test_value_on_distinct_histories_equals_value_on_every_row(model_name, monkeypatch):
    """Each distinct history is valued once: bit for bit the values of valuing every customer."""
    from cxlib.value import BetaGeo, GammaGamma, ParetoNBD, _clv
    from tests.cdnow import cdnow_summary

    summary = cdnow_summary()
    summary = summary.assign(flag=(np.arange(len(summary)) % 3 == 0).astype(float))
    assert summary[["frequency", "recency", "T"]].duplicated().mean() > 0.2  # histories do repeat
    model = {
        "bgnbd": BetaGeo,
        "pareto_nbd": ParetoNBD,
        "pareto_nbd_covariates": lambda: ParetoNBD(dropout_covariates=["flag"]),
    }[model_name]().fit(summary)
    spend = GammaGamma().fit(summary)
    settings = {"margin_rate": 0.3, "annual_discount_rate": 0.08, "horizon_months": 36}
    histories, inverse = _clv.distinct_histories(model, summary)
    assert len(histories) < len(summary)
    fast = transaction_clv(model, spend, summary, **settings)
    monkeypatch.setattr(_clv, "distinct_histories", lambda m, s: (s, np.arange(len(s))))
    every = transaction_clv(model, spend, summary, **settings)
    pd.testing.assert_frame_equal(fast.table, every.table, check_exact=True)
    assert np.array_equal(fast.gradient, every.gradient)

"""The retention lever's engine (cxlib.impact._retention, _retention_levers): closed forms, the grid, the demo.

Arithmetic is checked on hand-made survival curves against sums written out by hand (constant
monthly retention r gives S0(u) = r^u and S0^h = r^(h u), geometric sums); the demo is used once,
for the planted hazard ratio of an unresolved complaint (ground_truth.json: 2.0).
"""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from cxlib.impact import (
    RetentionBase,
    friction_what_if,
    hazard_grid,
    retention_base,
    retention_gain,
    targeting,
    what_if_inputs,
)
from cxlib.value import discounted_survival_value, periodic_discount_rate

H = 24
ANNUAL = 0.08
MARGIN = 0.3
#: Curves are stored in float32: sums agree with float64 hand computations to about 1e-7.
RTOL = 1e-5
#: The grid's promise: interpolated sums within 0.1% of the exact ones (measured: below 1e-6).
GRID_RTOL = 1e-3


def _geometric(a, horizon):
    """sum_{u=1..H} a^u."""
    return a * (1 - a**horizon) / (1 - a)


def _constant_base(rates, revenues, **groups) -> RetentionBase:
    rates = np.asarray(rates, dtype=float)
    curves = rates[:, None] ** np.arange(H + 1)
    frame = pd.DataFrame({"customer_id": [f"C{i}" for i in range(len(rates))], **groups})
    return RetentionBase.from_curves(curves, revenues, frame)


@pytest.fixture(scope="module")
def weibull_base():
    """2,000 customers with Weibull curves of varied scale and shape, given tenures reached."""
    rng = np.random.default_rng(7)
    n = 2_000
    scale = rng.lognormal(np.log(40), 0.8, n)[:, None]
    shape = rng.uniform(0.6, 1.4, n)[:, None]
    tenure = rng.uniform(0, 30, n)[:, None]
    u = np.arange(37)
    curves = np.exp((tenure / scale) ** shape - ((tenure + u) / scale) ** shape)
    revenue = rng.lognormal(np.log(30), 0.7, n)
    segment = np.where(rng.uniform(size=n) < 0.4, "small", "large")
    return RetentionBase.from_curves(curves, revenue, pd.DataFrame({"segment_name": segment}))


def test_constant_retention_gives_the_geometric_sums():
    r, revenue, h = 0.96, 50.0, 0.7
    base = _constant_base([r, r, r], revenue)
    q = 1 / (1 + periodic_discount_rate(ANNUAL))
    expected_months = 3 * (_geometric(r**h, H) - _geometric(r, H))
    expected_revenue = 3 * revenue * (_geometric(q * r**h, H) - _geometric(q * r, H))
    for exact in (False, True):
        alive = base.alive([h, 1.0], exact=exact)
        assert alive[1, 1:].sum() == pytest.approx(3 * _geometric(r, H), rel=RTOL)
        assert (alive[0, 1:] - alive[1, 1:]).sum() == pytest.approx(expected_months, rel=RTOL)
    gain = retention_gain(base, h, 1.0, MARGIN, ANNUAL).iloc[0]
    assert gain["customer_months"] == pytest.approx(expected_months, rel=RTOL)
    assert gain["revenue"] == pytest.approx(expected_revenue, rel=RTOL)
    assert gain["margin"] == pytest.approx(MARGIN * expected_revenue, rel=RTOL)
    # a spend ratio multiplies the treated revenue: s * R(h) - R(1)
    spend = retention_gain(base, h, 1.05, MARGIN, ANNUAL).iloc[0]
    treated = 3 * revenue * _geometric(q * r**h, H)
    assert spend["revenue"] == pytest.approx(1.05 * treated - 3 * revenue * _geometric(q * r, H), rel=RTOL)


def test_baseline_value_is_notebook_04s_discounted_survival_value(weibull_base):
    """At h = 1 the base's discounted revenue is the value module's sum, customer by customer summed."""
    weights = weibull_base.discount_weights(ANNUAL)
    total = (weibull_base.revenue(1.0)[0] * weights).sum()
    per_customer = discounted_survival_value(
        weibull_base.revenue_per_month[:, None],
        weibull_base.survival.astype(float),
        periodic_discount_rate(ANNUAL),
    )
    assert total == pytest.approx(per_customer.sum(), rel=RTOL)


def test_grid_interpolation_is_within_a_tenth_of_a_percent_of_the_exact_sums(weibull_base):
    ratios = np.exp(np.random.default_rng(1).uniform(np.log(0.25), np.log(2.0), 60))
    mask = weibull_base.groups["segment_name"].to_numpy() == "small"
    for rows in (None, mask):
        for method in ("alive", "revenue"):
            fast = getattr(weibull_base, method)(ratios, rows)
            exact = getattr(weibull_base, method)(ratios, rows, exact=True)
            assert np.max(np.abs(fast / exact - 1)) < GRID_RTOL
    # at the grid's own points (1 among them) and off the grid (summed exactly) nothing is interpolated
    assert 1.0 in weibull_base.hazard_grid
    for ratios in (weibull_base.hazard_grid, np.array([0.0, 0.05, 20.0])):
        np.testing.assert_allclose(
            weibull_base.alive(ratios), weibull_base.alive(ratios, exact=True), rtol=1e-12
        )


def test_hazard_grid_is_log_spaced_with_exactly_one():
    grid = hazard_grid(0.25, 2.0, 40)
    assert len(grid) == 40 and grid[0] == 0.25 and grid[-1] == 2.0 and 1.0 in grid
    steps = np.diff(np.log(grid))
    assert steps.max() / steps.min() < 1.05


def test_no_change_gives_no_gain(weibull_base):
    gain = retention_gain(weibull_base, [1.0, 1.0], 1.0, MARGIN, ANNUAL)
    assert (gain[["customer_months", "revenue", "margin"]].to_numpy() == 0).all()
    curve, groups = targeting(weibull_base, 1.0, 1.0, 12.0, MARGIN, ANNUAL)
    assert (curve["incremental_margin"] == 0).all()
    assert (groups["total_margin"] == 0).all()


def test_flag_what_if_is_the_hand_computation():
    rates = np.array([0.90, 0.94, 0.97, 0.98, 0.99])
    revenue = np.array([10.0, 20.0, 30.0, 40.0, 50.0])
    flag = np.array([1, 1, 0, 0, 0])
    base = _constant_base(rates, revenue, unresolved_complaint=flag)
    effects = pd.DataFrame(
        {
            "driver": ["unresolved_complaint"],
            "label": ["Unresolved complaint"],
            "hazard_ratio": [2.0],
            "hr_ci_low": [1.5],
            "hr_ci_high": [8 / 3],
        }
    )
    q = 1 / (1 + periodic_discount_rate(ANNUAL))

    def value(h, rows):  # discounted revenue change of ``rows`` when their hazard is x h
        return sum(
            revenue[i] * (_geometric(q * rates[i] ** h, H) - _geometric(q * rates[i], H)) for i in rows
        )

    table = friction_what_if(base, effects, None, MARGIN, ANNUAL)  # default: the flag 20% less often
    row = table.iloc[0]
    assert row["change"] == -0.2 and row["customers_affected"] == pytest.approx(0.4)
    assert row["hazard_ratio"] == pytest.approx(0.5)
    assert row["revenue"] == pytest.approx(0.2 * value(0.5, [0, 1]), rel=RTOL)
    assert row["margin"] == pytest.approx(MARGIN * 0.2 * value(0.5, [0, 1]), rel=RTOL)
    assert row["margin_low"] == pytest.approx(MARGIN * 0.2 * value(1 / 1.5, [0, 1]), rel=RTOL)
    assert row["margin_high"] == pytest.approx(MARGIN * 0.2 * value(3 / 8, [0, 1]), rel=RTOL)
    months = 0.2 * sum(_geometric(rates[i] ** 0.5, H) - _geometric(rates[i], H) for i in (0, 1))
    assert row["customer_months"] == pytest.approx(months, rel=RTOL)
    assert row["evidence"] == "observational"
    assert row["se_log"] == pytest.approx(np.log(16 / 9) / (2 * 1.959963984540054))
    # more friction: 0.2 x 2 flagged = 0.4 of the 3 others gain the flag, their hazard x 2
    more = friction_what_if(
        base, effects, [{"driver": "unresolved_complaint", "change": 0.2}], MARGIN, ANNUAL
    )
    assert more.iloc[0]["revenue"] == pytest.approx(0.4 / 3 * value(2.0, [2, 3, 4]), rel=RTOL)
    inputs = what_if_inputs(table)["what_if_hazard_ratio.unresolved_complaint"]
    assert (inputs.value, inputs.distribution) == (pytest.approx(0.5), "lognormal")


def test_number_what_if_uses_the_ratio_per_sd_and_notes_what_it_cannot_value():
    rates = np.array([0.95, 0.97])
    base = _constant_base(rates, [10.0, 20.0], complaints=[0.0, 2.0])
    base.driver_scale["complaints"] = 0.8
    effects = pd.DataFrame(
        {"driver": ["complaints"], "hazard_ratio": [1.25], "hr_ci_low": [1.1], "hr_ci_high": [1.4]}
    )
    changes = [{"driver": "complaints", "change": -0.5}, {"driver": "wait_minutes", "change": -2}]
    table = friction_what_if(base, effects, changes, MARGIN, ANNUAL)
    h = np.exp(np.log(1.25) / 0.8 * -0.5)  # beta per unit x delta, everyone
    assert table.iloc[0]["hazard_ratio"] == pytest.approx(h)
    assert table.iloc[0]["customers_affected"] == 2
    expected = retention_gain(base, h, 1.0, MARGIN, ANNUAL).iloc[0]["margin"]
    assert table.iloc[0]["margin"] == pytest.approx(expected, rel=1e-9)
    assert [n.code for n in table.attrs["notes"]] == ["impact.driver_absent"]
    # the table's own SD (the churn driver table's unit_scale) wins over the panel's
    scaled = friction_what_if(base, effects.assign(unit_kind="sd", unit_scale=0.5), changes[:1])
    assert scaled.iloc[0]["hazard_ratio"] == pytest.approx(np.exp(np.log(1.25) / 0.5 * -0.5))


def test_targeting_curve_is_monotone_and_groups_fit_the_budget(weibull_base):
    cost_year = 6.0
    curve, groups = targeting(weibull_base, 0.8, 1.0, cost_year, MARGIN, ANNUAL, budget=5_000.0)
    assert (np.diff(curve["cumulative_margin"]) > 0).all()  # every customer adds margin (h < 1)
    assert (np.diff(curve["incremental_margin"]) <= 0).all()  # best first: marginal return falls
    assert curve["customers"].iloc[-1] == weibull_base.customers
    assert (curve["within_budget"] == (curve["cumulative_cost"] <= 5_000.0)).all()
    assert groups["rank"].tolist() == [1, 2]
    assert (np.diff(groups["return_per_cost"]) <= 0).all()
    fits = groups["within_budget"].to_numpy()
    assert (
        fits == ((groups["cumulative_cost"] <= 5_000.0) & (groups["return_per_cost"] >= 1)).cummin()
    ).all()
    # one customer by hand: margin x sum d(u) M (S^h - S), cost x sum_{u>=1} d(u) S^h (end of month)
    i = 0
    s = weibull_base.survival[i].astype(float)
    d = (1 + periodic_discount_rate(ANNUAL)) ** -np.arange(len(s))
    gain = MARGIN * weibull_base.revenue_per_month[i] * (d[1:] * (s[1:] ** 0.8 - s[1:])).sum()
    cost = cost_year / 12 * (d[1:] * s[1:] ** 0.8).sum()
    row = curve.loc[curve["incremental_margin"].sub(gain).abs().idxmin()]
    assert row["incremental_margin"] == pytest.approx(gain, rel=1e-9)
    assert row["cost"] == pytest.approx(cost, rel=1e-9)


def test_targeting_counts_as_the_revenue_case_does(weibull_base):
    """Summed over customers, targeting's margin and cost equal the case's levers and running cost."""
    from cxlib.impact import ExactBase, Input, LeverSettings, revenue_case

    inputs = {
        "hazard_ratio": Input.assumption("hazard_ratio", 0.8),
        "spend_ratio": Input.assumption("spend_ratio", 1.05),
        "cost_per_customer_year": Input.assumption("cost_per_customer_year", 6.0),
    }
    exact = ExactBase(weibull_base.survival.astype(float), weibull_base.revenue_per_month)
    case = revenue_case(exact, inputs, LeverSettings(MARGIN, ANNUAL), n_draws=10, seed=1).central
    curve, _ = targeting(weibull_base, 0.8, 1.05, 6.0, MARGIN, ANNUAL)
    assert curve["cumulative_margin"].iloc[-1] == pytest.approx(case["margin_total"], rel=1e-6)
    assert curve["cumulative_cost"].iloc[-1] == pytest.approx(case["cost"], rel=1e-6)


def test_targeting_takes_a_ratio_per_group(weibull_base):
    curve, groups = targeting(weibull_base, {"small": 0.7, "large": 1.0}, 1.0, 0.0, MARGIN, ANNUAL)
    assert groups.loc["large", "total_margin"] == 0
    assert groups.loc["small", "total_margin"] > 0
    assert groups.index[0] == "small"  # nothing costs: ranked by margin per customer
    with pytest.raises(KeyError, match="large"):
        targeting(weibull_base, {"small": 0.7}, 1.0)


@pytest.fixture(scope="module")
def demo_base(small_data, small_config):
    return retention_base(small_data, small_config)


def test_demo_base_reads_the_churn_models_curves(demo_base, small_config):
    horizon = small_config.analysis["horizon_months"]
    assert demo_base.survival.shape == (demo_base.customers, horizon + 1)
    assert (demo_base.survival[:, 0] == 1).all()
    assert (np.diff(demo_base.survival, axis=1) <= 0).all()
    assert {"customer_id", "plan", "unresolved_complaint", "long_wait"} <= set(demo_base.groups)
    assert demo_base.customers > 2_000


def test_demo_unresolved_complaint_what_if_covers_the_planted_ratio(demo_base, small_data, small_config):
    """The value with the planted ratio (2.0, ground_truth.json) lies in the what-if's 95% interval."""
    from cxlib.experience import fit_churn_driver_table, friction_effects

    planted = json.loads((small_config.data_dir / "ground_truth.json").read_text())
    ratio = planted["churn"]["hazard_ratios"]["unresolved_complaint"]
    effects = friction_effects(None, fit_churn_driver_table(small_data, small_config))
    table = friction_what_if(demo_base, effects, None, MARGIN, ANNUAL)
    assert set(table["driver"]) == {"unresolved_complaint", "long_wait"}  # the flags, by default
    row = table.set_index("driver").loc["unresolved_complaint"]
    flagged = (demo_base.groups["unresolved_complaint"] == 1).sum()
    assert row["customers_affected"] == pytest.approx(0.2 * flagged)
    at_planted = effects.assign(
        hazard_ratio=np.where(effects["driver"] == "unresolved_complaint", ratio, 1.0)
    )
    planted_row = friction_what_if(
        demo_base, at_planted, [{"driver": "unresolved_complaint", "change": -0.2}], MARGIN, ANNUAL
    ).iloc[0]
    assert row["margin_low"] <= planted_row["margin"] <= row["margin_high"]
    assert 0 < row["margin_low"] < row["margin"] < row["margin_high"]

"""The journey funnel and word of mouth (cxlib.experience._funnel, _referrals), by known answers.

Hand-made customers whose stages, exposure spells and referral counts are worked out by hand in
the comments; a simulation with a planted referral rate (and over-dispersion between customers)
for the coverage of the Poisson intervals; absent tables; and the demo generator's planted referral
rates by the class of the latest NPS answer (``referrals.monthly_rate_by_latest_nps_class`` of its
ground truth) inside the reported 95% intervals.
"""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
import pytest  # noqa: E402

from cxlib.data._load import CustomerData  # noqa: E402
from cxlib.experience import (  # noqa: E402
    ReferralRates,
    checkout_kpis,
    journey_funnel,
    nps_class_spells,
    plot_conversion_by,
    plot_funnel,
    plot_referral_rates,
    referred_customer_value,
    still_customer_at,
)
from cxlib.experience._referrals import _class_spells, _poisson_log_rates  # noqa: E402
from cxlib.features import (  # noqa: E402
    DAYS_PER_MONTH,
    ChurnRule,
    churn_rule_from_config,
    features_from_config,
    id_order,  # noqa: E402
)
from tests.churn_data import demo  # noqa: E402

CONTRACTUAL = ChurnRule("contractual")


def _days(*values):
    return pd.to_datetime(list(values))


def _funnel_data(**drop) -> CustomerData:
    """Eight customers; as of 2025-12-31 a customer enters the funnel when signed up by 2024-12-31.

    ====  =========  ======  =========  ===================  ==========================
    id    signup     orders  churn      answer / referral    reaches
    ====  =========  ======  =========  ===================  ==========================
    A     2024-01-01  2      -          NPS 10               every stage
    B     2024-01-01  1 (+ a refund)  2024-06-01  -          first purchase
    C     2024-01-01  0      -          NPS 9                first contact only
    D     2024-03-01  3      2024-12-15 -                    repeat purchase (churned < 12 months)
    E     2024-06-01  2      -          made a referral      every stage
    F     2025-06-01  1      -          -                    too young: not in the funnel
    G     2024-02-01  2      2025-06-01 NPS 3                loyalty (churned after 12 months)
    H     2024-01-15  2      -          NPS 8                loyalty
    ====  =========  ======  =========  ===================  ==========================
    """
    customers = pd.DataFrame(
        {
            "customer_id": list("ABCDEFGH"),
            "signup_date": _days(
                "2024-01-01",
                "2024-01-01",
                "2024-01-01",
                "2024-03-01",
                "2024-06-01",
                "2025-06-01",
                "2024-02-01",
                "2024-01-15",
            ),
            "churn_date": _days(None, "2024-06-01", None, "2024-12-15", None, None, "2025-06-01", None),
            "plan": ["basic", "basic", "basic", "premium", "premium", "basic", "premium", "premium"],
        }
    )
    orders = {"A": 2, "B": 1, "D": 3, "E": 2, "F": 1, "G": 2, "H": 2}
    ids = [c for c, n in orders.items() for _ in range(n)]
    transactions = pd.DataFrame(
        {
            "order_id": [f"O{i}" for i in range(len(ids))] + ["R1"],
            "customer_id": ids + ["B"],
            "order_date": [pd.Timestamp("2024-07-01")] * len(ids) + [pd.Timestamp("2024-07-02")],
            "amount": [50.0] * len(ids) + [-20.0],
            "is_refund": [False] * len(ids) + [True],
            "channel": ["web"] * len(ids) + ["web"],
        }
    )
    surveys = pd.DataFrame(
        {"customer_id": list("ACGH"), "date": _days(*["2024-09-01"] * 4), "nps": [10, 9, 3, 8]}
    )
    referrals = pd.DataFrame({"referrer_id": ["E"], "referred_id": ["F"], "date": _days("2025-06-01")})
    interactions = pd.DataFrame(
        {
            "customer_id": ["A", "B", "C"],
            "timestamp": _days("2024-05-01", "2024-05-02", "2024-05-03"),
            "kind": ["cart_abandoned", "cart_abandoned", "support_contact"],
            "channel": ["web", "web", "phone"],
        }
    )
    tables = {
        "customers": customers,
        "transactions": transactions,
        "surveys": surveys,
        "referrals": referrals,
        "interactions": interactions,
    }
    return CustomerData({k: v for k, v in tables.items() if k not in drop}, pd.Timestamp("2025-12-31"))


def test_funnel_counts_and_conversions_by_hand():
    funnel = journey_funnel(_funnel_data(), CONTRACTUAL)
    stages = funnel.stages.set_index("stage")
    assert stages["customers"].tolist() == [7, 6, 5, 4, 2]
    assert stages.loc["advocacy", "conversion"] == pytest.approx(2 / 4)
    assert stages.loc["first_purchase", "share_of_start"] == pytest.approx(6 / 7)
    assert (stages["ci_low"] <= stages["conversion"]).all()
    assert (stages["conversion"] <= stages["ci_high"] + 1e-9).all()
    assert funnel.rule["entered"] == 7 and funnel.rule["excluded_young"] == 1
    assert funnel.largest_drop["from_stage"] == "loyalty" and funnel.largest_drop["stage"] == "advocacy"
    assert funnel.largest_drop["lost"] == 2 and funnel.largest_drop["loss_share"] == pytest.approx(0.5)
    assert funnel.largest_drop["ci_low"] < 0.5 < funnel.largest_drop["ci_high"]
    assert funnel.unavailable.empty


def test_funnel_by_group_and_cohort():
    funnel = journey_funnel(_funnel_data(), CONTRACTUAL, cohort="year")
    plan = funnel.by_group.loc[funnel.by_group["group_column"] == "plan"].set_index(["group", "stage"])
    # basic: A, B, C (F too young); premium: D, E, G, H
    assert plan.loc[("basic", "first_contact"), "customers"] == 3
    assert plan.loc[("basic", "advocacy"), "customers"] == 1  # A
    assert plan.loc[("premium", "loyalty"), "customers"] == 3  # E, G, H
    assert set(funnel.by_cohort["cohort"]) == {"2024"}
    segments = pd.DataFrame({"customer_id": list("ABCDEFGH"), "segment_name": list("xxxxyyyy")})
    by_segment = journey_funnel(_funnel_data(), CONTRACTUAL, groups=segments).by_group
    assert set(by_segment["group_column"]) == {"segment_name"}
    assert (
        by_segment.loc[
            (by_segment["group"] == "y") & (by_segment["stage"] == "first_contact"), "customers"
        ].item()
        == 3
    )


def test_still_a_customer_under_the_inactivity_rule():
    """Purchases on 2024-02-01 and 2024-09-01, 180 inactive days churn: churned from 2024-07-30 until
    the purchase of 2024-09-01; a purchase on the day itself counts."""
    data = _funnel_data()
    tx = pd.DataFrame(
        {
            "customer_id": ["A", "A"],
            "order_date": _days("2024-02-01", "2024-09-01"),
            "amount": [10.0, 10.0],
            "is_refund": [False, False],
        }
    )
    data = CustomerData({**data.tables, "transactions": tx}, data.as_of)
    days = pd.Series(_days("2024-07-29", "2024-07-30", "2024-09-01", "2024-12-31"), index=["A"] * 4)
    still = still_customer_at(data, ChurnRule("inactivity", 180), days)
    assert still.tolist() == [True, False, True, True]


def test_checkout_abandonment_by_hand():
    # 2 abandoned web carts against 13 web purchases (the refund is no purchase)
    kpis = checkout_kpis(_funnel_data()).set_index("level")
    assert kpis.loc["overall", ["abandoned", "purchases"]].tolist() == [2, 13]
    assert kpis.loc["web", "abandonment"] == pytest.approx(2 / 15)
    assert kpis.loc["overall", "completion"] == pytest.approx(13 / 15)


def test_funnel_without_transactions_surveys_or_referrals():
    data = _funnel_data(transactions=True, surveys=True, referrals=True, interactions=True)
    funnel = journey_funnel(data, CONTRACTUAL)
    assert funnel.stages["stage"].tolist() == ["first_contact", "loyalty"]
    assert dict(zip(funnel.unavailable["stage"], funnel.unavailable["reason"], strict=True)) == {
        "first_purchase": "no_transactions",
        "repeat_purchase": "no_transactions",
        "advocacy": "no_surveys_or_referrals",
    }
    assert funnel.checkout.empty
    only_referrals = journey_funnel(_funnel_data(surveys=True), None)
    assert only_referrals.stages["stage"].tolist()[-1] == "advocacy"
    assert only_referrals.unavailable["stage"].tolist() == ["loyalty"]


def _referral_data(**drop) -> CustomerData:
    """Four customers as of 2024-12-31; spells (start inclusive, end exclusive) and referrals:

    - P (signup 2024-01-10): answers NPS 10 on 2024-03-15 and 5 on 2024-07-20. no_answer
      [01-10, 04-01) 82 days with 2 referrals (02-01, before any answer; 03-20, the promoter
      class starts only on the first of the next month); promoter [04-01, 08-01) 122 days, 1
      referral (05-05); detractor [08-01, 2025-01-01) 153 days, 1 referral (09-01).
    - Q (signup 2024-01-01, churned 2024-06-15): NPS 8 on 2024-02-10. no_answer [01-01, 03-01)
      60 days; passive [03-01, 06-15) 106 days, 1 referral (05-01); the referral of 07-01 comes
      after the churn: not counted.
    - R (signup 2024-06-01): never answers. no_answer 214 days.
    - S (signup 2024-01-01): NPS 3 on 02-03 and 9 on 02-20, one month: the later answer takes
      over on 03-01. no_answer 60 days; promoter [03-01, 2025-01-01) 306 days.
    - A referral by Z, who is not a customer: not counted.
    """
    customers = pd.DataFrame(
        {
            "customer_id": list("PQRS"),
            "signup_date": _days("2024-01-10", "2024-01-01", "2024-06-01", "2024-01-01"),
            "churn_date": _days(None, "2024-06-15", None, None),
        }
    )
    surveys = pd.DataFrame(
        {
            "customer_id": list("PPQSS"),
            "date": _days("2024-03-15", "2024-07-20", "2024-02-10", "2024-02-03", "2024-02-20"),
            "nps": [10, 5, 8, 3, 9],
        }
    )
    referrals = pd.DataFrame(
        {
            "referrer_id": list("PPPPQQZ"),
            "referred_id": [f"X{i}" for i in range(7)],
            "date": _days(
                "2024-02-01",
                "2024-03-20",
                "2024-05-05",
                "2024-09-01",
                "2024-05-01",
                "2024-07-01",
                "2024-05-01",
            ),
        }
    )
    tables = {"customers": customers, "surveys": surveys, "referrals": referrals}
    return CustomerData({k: v for k, v in tables.items() if k not in drop}, pd.Timestamp("2024-12-31"))


#: Class -> (referrals, exposure days) of :func:`_referral_data`, worked out in its docstring.
EXPECTED = {
    "promoter": (1, 122 + 306),
    "passive": (1, 106),
    "detractor": (1, 153),
    "no_answer": (2, 82 + 60 + 214 + 60),
}


def test_exposure_spells_switch_class_and_stop_at_churn():
    spells, counts = nps_class_spells(_referral_data(), CONTRACTUAL)
    p = spells.loc[spells["customer_id"] == "P"]
    assert p["nps_class"].tolist() == ["no_answer", "promoter", "detractor"]
    assert p["start"].tolist() == list(_days("2024-01-10", "2024-04-01", "2024-08-01"))
    assert p["referrals"].tolist() == [2, 1, 1]
    assert spells.loc[spells["customer_id"] == "Q", "end"].max() == pd.Timestamp("2024-06-15")
    assert spells.loc[spells["customer_id"] == "S", "nps_class"].tolist() == ["no_answer", "promoter"]
    assert counts == {"counted": 5, "outside_exposure": 1, "undated": 0, "unknown_referrer": 1}


def test_referral_rates_by_hand():
    model = ReferralRates().fit(_referral_data(), CONTRACTUAL)
    summary = model.summary_.set_index("nps_class")
    for name, (referrals, days) in EXPECTED.items():
        assert summary.loc[name, "referrals"] == referrals
        assert summary.loc[name, "exposure_months"] == pytest.approx(days / DAYS_PER_MONTH)
        # the Poisson MLE of a class's rate is its referrals over its exposure
        assert summary.loc[name, "estimate"] == pytest.approx(referrals / (days / DAYS_PER_MONTH), rel=1e-6)
    ratio = (1 / 428) / (1 / 153)
    assert summary.loc["promoter", "rate_ratio"] == pytest.approx(ratio, rel=1e-6)
    assert [c.code for c in model.caveats_] == ["referrals.outside_exposure"]


def test_closed_form_rates_equal_the_statsmodels_cluster_robust_poisson_glm(demo_inputs):
    """The log-rates and their CRV1 covariance are those of statsmodels' GLM on the same rows."""
    import statsmodels.api as sm

    _, data, _, rule = demo_inputs
    spells = ReferralRates().fit(data, rule).spells_
    classes = ["promoter", "passive", "detractor", "no_answer"]
    log_rate, cov = _poisson_log_rates(spells, classes)
    rows = (
        spells.groupby(["customer_id", "nps_class"], sort=True)
        .agg(referrals=("referrals", "sum"), exposure=("exposure_months", "sum"))
        .reset_index()
    )
    design = pd.DataFrame({c: (rows["nps_class"] == c).astype(float) for c in classes})
    fit = sm.GLM(rows["referrals"], design, family=sm.families.Poisson(), offset=np.log(rows["exposure"]))
    result = fit.fit(cov_type="cluster", cov_kwds={"groups": pd.factorize(rows["customer_id"])[0]})
    np.testing.assert_allclose(log_rate[classes], result.params[classes], rtol=1e-7)
    np.testing.assert_allclose(
        cov.loc[classes, classes], result.cov_params().loc[classes, classes], rtol=1e-6
    )


def test_poisson_intervals_cover_a_planted_rate():
    """200 simulated bases of 300 customers, rate 0.02 per month with gamma frailty (shape 2).

    Tolerance: 95% nominal; with 200 replicates a binomial SD of 1.5 points, so 0.90-0.99 allows
    about three SDs either way.
    """
    rng = np.random.default_rng(11)
    rate, covered = 0.02, 0
    for _ in range(200):
        months = rng.uniform(1, 36, 300)
        frailty = rng.gamma(2.0, 0.5, 300)
        spells = pd.DataFrame(
            {
                "customer_id": np.arange(300),
                "nps_class": "promoter",
                "exposure_months": months,
                "referrals": rng.poisson(rate * frailty * months),
            }
        )
        log_rate, cov = _poisson_log_rates(spells, ["promoter"])
        half = 1.959964 * np.sqrt(cov.iloc[0, 0])
        covered += abs(log_rate.iloc[0] - np.log(rate)) <= half
    assert 0.90 <= covered / 200 <= 0.99


def test_referrals_without_surveys_or_referrals_table():
    no_surveys = ReferralRates().fit(_referral_data(surveys=True), CONTRACTUAL)
    assert no_surveys.summary_["nps_class"].tolist() == ["no_answer"]
    assert "referrals.no_surveys" in [c.code for c in no_surveys.caveats_]
    no_referrals = ReferralRates().fit(_referral_data(referrals=True), None)
    summary = no_referrals.summary_
    assert (summary["estimate"] == 0).all() and (summary["ci_high"] > 0).all()
    codes = {c.code for c in no_referrals.caveats_}
    assert {"referrals.no_referrals_table", "referrals.no_churn_dates", "referrals.no_events"} <= codes
    assert referred_customer_value(_referral_data(referrals=True), CONTRACTUAL).empty


def test_referred_customer_value_by_hand():
    # Funnel data: F was referred (by E). Retention at 12 months among A-E, G, H: B and D churned.
    value = referred_customer_value(_funnel_data(), CONTRACTUAL).set_index(["metric", "group"])
    assert value.loc[("retained_12m", "other"), "estimate"] == pytest.approx(5 / 7)
    assert ("retained_12m", "referred") in value.index  # F signed up too recently: 0 customers
    assert value.loc[("retained_12m", "referred"), "customers"] == 0


@pytest.fixture(scope="module")
def demo_inputs():
    config, data, truth = demo(3000)
    return config, data, truth, churn_rule_from_config(data, config)


def test_planted_referral_rates_inside_the_intervals(demo_inputs):
    """The generator plants referrals per active month by the class of the latest answer (data/README.md)."""
    config, data, truth, rule = demo_inputs
    planted = truth["referrals"]["monthly_rate_by_latest_nps_class"]
    summary = ReferralRates().fit(data, rule).summary_.set_index("nps_class")
    assert set(summary.index) == set(planted)
    for name, rate in planted.items():
        assert summary.loc[name, "ci_low"] <= rate <= summary.loc[name, "ci_high"], name
    assert summary.loc["promoter", "rate_ratio"] > 1


def test_demo_funnel_value_and_charts(demo_inputs):
    config, data, truth, rule = demo_inputs
    funnel = journey_funnel(data, rule)
    assert funnel.stages["customers"].is_monotonic_decreasing
    assert set(funnel.by_group["group_column"]) == {"plan", "region", "acquisition_channel"}
    value = referred_customer_value(data, rule, features_from_config(data, config))
    assert set(value["metric"]) == {"spend_per_month", "retained_12m"}
    difference = value.loc[value["group"] == "difference"]
    assert (difference["ci_low"] <= difference["estimate"]).all()
    assert (difference["estimate"] <= difference["ci_high"]).all()
    for ax in (
        plot_funnel(funnel.stages),
        plot_conversion_by(funnel.by_cohort, "cohort", "repeat_purchase"),
        plot_referral_rates(ReferralRates().fit(data, rule).summary_),
    ):
        assert ax.get_title()
    plt.close("all")


def test_id_order_is_numpys_stable_argsort():
    ids = np.array(["b", "a", "B", "é", "a1", "", "Z9", "a", "ß", "10", "9"], dtype=object)
    assert id_order(ids).tolist() == np.argsort(ids, kind="stable").tolist()
    numbers = np.array([3, 1, 2, 1])
    assert id_order(numbers).tolist() == np.argsort(numbers, kind="stable").tolist()


def test_rates_grouped_by_id_rank_equal_those_grouped_by_id(demo_inputs):
    """The fit groups customers by the rank of their id: bit for bit the numbers of grouping by the id."""
    _, data, _, rule = demo_inputs
    spells, _ = _class_spells(data, rule)
    classes = ["promoter", "passive", "detractor", "no_answer"]
    by_rank = _poisson_log_rates(spells, classes)
    by_id = _poisson_log_rates(spells.drop(columns=["who", "rank"]), classes)
    pd.testing.assert_series_equal(by_rank[0], by_id[0], check_exact=True)
    pd.testing.assert_frame_equal(by_rank[1], by_id[1], check_exact=True)
    assert (
        spells.groupby("nps_class")["who"].nunique() == spells.groupby("nps_class")["customer_id"].nunique()
    ).all()


def test_referral_rates_take_spells_built_beforehand(demo_inputs):
    """Spells handed in (as the impact study shares them), with or without the customers'
    positions, give the same fit as spells built by the fit itself."""
    _, data, _, rule = demo_inputs
    own = ReferralRates().fit(data, rule)
    for shared in (nps_class_spells(data, rule), _class_spells(data, rule)):
        given = ReferralRates().fit(data, rule, spells=shared)
        pd.testing.assert_frame_equal(given.summary_, own.summary_)
        pd.testing.assert_frame_equal(given.spells_, own.spells_)
        pd.testing.assert_series_equal(given.log_rates_, own.log_rates_)

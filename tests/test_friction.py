"""Friction: shared features, KPIs with intervals, the effect on NPS and the link to the churn model.

Known answers: KPIs of a three-customer table counted by hand; an unresolved-complaint effect on
NPS planted in a small simulated survey and in the 20,000-customer demo that the churn tests share
(``ground_truth.json``: ``satisfaction.nps_effect_unresolved_complaint``); the churn rows are the
churn table's own numbers.
"""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
import pytest  # noqa: E402
from statsmodels.stats.proportion import proportion_confint  # noqa: E402

from cxlib import churn  # noqa: E402
from cxlib.churn import DRIVER_TABLE_COLUMNS  # noqa: E402
from cxlib.data._load import CustomerData  # noqa: E402
from cxlib.experience import (  # noqa: E402
    EFFECT_COLUMNS,
    FRICTION_DRIVERS,
    FrictionOnNPS,
    absent_kpis,
    churn_friction_rows,
    friction_effects,
    friction_kpis,
    friction_survey_frame,
    plot_friction_effects,
    plot_kpi_by_channel,
    quantile_interval,
)
from cxlib.experience._friction import _customer_rate, _rate  # noqa: E402
from cxlib.features import driver_features, friction_features  # noqa: E402
from cxlib.features._churn_rule import resolve_churn_rule
from cxlib.stats import wilson_interval  # noqa: E402
from tests.churn_data import MID_CUSTOMERS, demo  # noqa: E402

T = pd.Timestamp


# ---- the shared definition ---------------------------------------------------------------------


def test_driver_features_keep_their_columns_and_read_friction_from_the_shared_definition():
    config, data, _ = demo(3000)
    at = T("2025-06-15")
    features = driver_features(data, at, ["Age"], ["Products"], 20)
    assert list(features.columns) == [
        "customer_id",
        "tenure_months",
        "plan",
        "region",
        "acquisition_channel",
        "orders_per_month_12m",
        "mean_order_value",
        "days_since_last_order",
        "refunded_order_share",
        *FRICTION_DRIVERS[:-1],  # support_contacts, complaints, unresolved_complaint, long_wait
        "cart_abandonments",
        "satisfaction_z",
        "no_survey",
        "programme_treatment",
        "Age",
        "Products",
    ]
    friction = friction_features(data, at, 20)
    pd.testing.assert_frame_equal(features[list(friction.columns)], friction, check_exact=True)
    # a few customers counted by hand from the raw interactions
    events = data["interactions"]
    events = events.loc[events["timestamp"] < at]
    complainers = events.loc[events["kind"] == "complaint", "customer_id"].value_counts()
    by_id = features.set_index("customer_id")
    for customer in complainers.index[:5]:
        mine = events.loc[events["customer_id"] == customer]
        complaints = mine.loc[mine["kind"] == "complaint"]
        assert by_id.loc[customer, "complaints"] == len(complaints)
        assert by_id.loc[customer, "unresolved_complaint"] == float((complaints["resolved"] == False).any())  # noqa: E712
        assert by_id.loc[customer, "long_wait"] == float((mine["wait_minutes"] > 20).any())


# ---- KPIs on a table counted by hand ----------------------------------------------------------------


def _tiny(resolved: bool = True, waits: bool = True, interactions: bool = True) -> CustomerData:
    customers = pd.DataFrame(
        {
            "customer_id": ["A", "B", "C"],
            "signup_date": [T("2024-01-01"), T("2024-07-01"), T("2023-01-01")],
            "churn_date": [pd.NaT, pd.NaT, T("2024-07-01")],
            "plan": ["basic", "basic", "premium"],
        }
    )
    rows = [  # customer, time, channel, kind, resolved, wait
        ("A", "2024-02-01 10:00", "phone", "support_contact", None, 5.0),
        ("A", "2024-02-03 10:00", "phone", "support_contact", None, 30.0),  # a repeat of the first
        ("B", "2024-08-01 09:00", "phone", "support_contact", None, 25.0),  # next contact 19 days on
        ("B", "2024-08-20 09:00", "email", "complaint", False, None),
        ("C", "2024-03-01 12:00", "phone", "complaint", False, None),
        ("C", "2024-04-01 12:00", "email", "complaint", True, None),
        ("C", "2024-03-05 12:00", "web", "cart_abandoned", None, None),
        ("A", "2024-12-30 10:00", "chat", "support_contact", None, 10.0),  # follow-up not seen
    ]
    events = pd.DataFrame(
        rows, columns=["customer_id", "timestamp", "channel", "kind", "resolved", "wait_minutes"]
    )
    events["timestamp"] = pd.to_datetime(events["timestamp"])
    events["resolved"] = events["resolved"].astype("boolean")
    if not resolved:
        events = events.drop(columns="resolved")
    if not waits:
        events = events.drop(columns="wait_minutes")
    transactions = pd.DataFrame(
        {
            "order_id": ["o1", "o2", "o3", "o4"],
            "customer_id": ["A", "A", "A", "B"],
            "order_date": pd.to_datetime(["2024-02-10", "2024-05-10", "2024-09-10", "2024-10-01"]),
            "amount": [10.0, 20.0, 30.0, 40.0],
            "channel": "web",
            "is_refund": False,
        }
    )
    tables = {"customers": customers, "transactions": transactions}
    if interactions:
        tables["interactions"] = events
    return CustomerData(tables=tables, as_of=T("2024-12-31"))


def _kpi(kpis, kpi, dimension="all", group="all"):
    row = kpis.loc[(kpis["dimension"] == dimension) & (kpis["group"] == group) & (kpis["kpi"] == kpi)]
    assert len(row) == 1, (dimension, group, kpi)
    return row.iloc[0]


def test_kpis_match_hand_counts():
    data = _tiny()
    rule = resolve_churn_rule(data, "contractual")  # C's exposure ends when C churns
    kpis = friction_kpis(
        data, groups=data["customers"][["customer_id", "plan"]], start="2024-01-01", rule=rule
    )
    years = (366 + 184 + 182) / 365  # A all 2024 (+ the as-of day), B from July, C until July
    assert _kpi(kpis, "complaint_rate")["estimate"] == pytest.approx(100 * 3 / years)
    assert _kpi(kpis, "customers_with_complaint")["estimate"] == pytest.approx(2 / 3)
    assert _kpi(kpis, "complaints_resolved")["estimate"] == pytest.approx(1 / 3)
    # seen support contacts: A 02-01 (repeated two days later), A 02-03, B 08-01; A 12-30 too late
    assert _kpi(kpis, "first_contact_resolution")["estimate"] == pytest.approx(2 / 3)
    assert _kpi(kpis, "repeat_contact_customers")["estimate"] == pytest.approx(1 / 2)
    assert _kpi(kpis, "wait_median")["estimate"] == pytest.approx(17.5)
    assert _kpi(kpis, "wait_mean")["estimate"] == pytest.approx(17.5)
    assert _kpi(kpis, "wait_p90")["estimate"] == pytest.approx(np.quantile([5, 10, 25, 30], 0.9))
    assert _kpi(kpis, "long_wait_share")["estimate"] == pytest.approx(2 / 4)
    assert _kpi(kpis, "abandoned_carts_per_100_orders")["estimate"] == pytest.approx(25.0)
    assert _kpi(kpis, "checkout_abandonment")["estimate"] == pytest.approx(1 / 5)
    # by channel and by group
    assert _kpi(kpis, "first_contact_resolution", "channel", "phone")["estimate"] == pytest.approx(2 / 3)
    assert _kpi(kpis, "complaint_rate", "channel", "email")["count"] == 2
    assert _kpi(kpis, "complaints_resolved", "plan", "premium")["estimate"] == pytest.approx(1 / 2)
    assert _kpi(kpis, "complaint_rate", "plan", "premium")["base"] == pytest.approx(182 / 365)
    assert not (
        (kpis["dimension"] == "channel") & (kpis["group"] == "web") & (kpis["kpi"] == "complaint_rate")
    ).any()
    # the intervals are the named methods'
    share = _kpi(kpis, "complaints_resolved")
    assert (share["ci_low"], share["ci_high"]) == pytest.approx(proportion_confint(1, 3, method="wilson"))
    rate = _kpi(kpis, "complaint_rate")
    assert rate["ci_low"] < rate["estimate"] < rate["ci_high"]
    assert absent_kpis(data).empty


def test_intervals_cover_about_95_percent():
    """Wilson (shares) and order-statistic (median wait) intervals, 400 simulated samples each.

    With 400 draws, the observed coverage of a true 95% lies within 0.92-0.98 with about 99%
    probability; the order-statistic interval is conservative (at least 95% by construction).
    """
    rng = np.random.default_rng(11)
    p, n = 0.12, 60
    hits = [wilson_interval(k, n)[1] <= p <= wilson_interval(k, n)[2] for k in rng.binomial(n, p, 400)]
    assert 0.92 <= np.mean(hits) <= 0.98
    true_median = np.exp(1.5)  # lognormal(1.5, 0.75) waits
    waits = rng.lognormal(1.5, 0.75, size=(400, 40))
    covered = [lo <= true_median <= hi for _, lo, hi in (quantile_interval(w, 0.5) for w in waits)]
    assert 0.93 <= np.mean(covered) <= 0.995


def test_complaint_rate_interval_is_the_robust_poisson_one_and_covers_overdispersed_counts():
    """Sandwich variance of the log rate, sum (y - r t)^2 / (sum y)^2, in closed form; coverage of
    gamma-Poisson (overdispersed, shape 0.3) counts over 300 samples of 150 customers within 0.91-0.98, where
    the exact Poisson interval covers far less."""
    rng = np.random.default_rng(5)
    true_rate = 0.4  # complaints per customer-year
    hits, exact_hits = [], []
    for _ in range(300):
        years = rng.uniform(0.2, 2.0, 150)
        counts = rng.poisson(rng.gamma(0.3, true_rate / 0.3, 150) * years).astype(float)
        row = _customer_rate("complaint_rate", counts, years, 150, per=1.0)
        hits.append(row["ci_low"] <= true_rate <= row["ci_high"])
        exact = _rate("complaint_rate", counts.sum(), years.sum(), 150, per=1.0)
        exact_hits.append(exact["ci_low"] <= true_rate <= exact["ci_high"])
    assert 0.91 <= np.mean(hits) <= 0.98
    assert np.mean(exact_hits) < 0.88  # 0.82 with this seed
    rate = counts.sum() / years.sum()
    se = np.sqrt(((counts - rate * years) ** 2).sum()) / counts.sum()
    assert row["ci_high"] == pytest.approx(rate * np.exp(1.959964 * se), rel=1e-6)


@pytest.mark.parametrize(
    ("options", "absent", "missing"),
    [
        ({"resolved": False}, {"complaints_resolved"}, "interactions.resolved"),
        (
            {"waits": False},
            {"wait_median", "wait_mean", "wait_p90", "long_wait_share"},
            "interactions.wait_minutes",
        ),
    ],
)
def test_absent_columns_drop_only_their_kpis_and_features(options, absent, missing):
    data = _tiny(**options)
    kpis = friction_kpis(data, start="2024-01-01")
    assert absent.isdisjoint(kpis["kpi"])
    assert {"complaint_rate", "first_contact_resolution", "checkout_abandonment"} <= set(kpis["kpi"])
    listed = absent_kpis(data)
    assert set(listed["kpi"]) == absent and set(listed["missing"]) == {missing}
    friction = friction_features(data, T("2025-01-01"))
    dropped = "unresolved_complaint" if missing.endswith("resolved") else "long_wait"
    assert dropped not in friction and "complaints" in friction


def test_no_interactions_table_degrades_gracefully():
    data = _tiny(interactions=False)
    assert friction_kpis(data).empty
    assert set(absent_kpis(data)["missing"]) == {"interactions"}
    assert list(friction_features(data, T("2025-01-01")).columns) == ["customer_id"]
    table = friction_effects(None, _churn_table())
    assert list(table.columns) == EFFECT_COLUMNS and table["nps_effect"].isna().all()


# ---- effect on NPS ------------------------------------------------------------------------------------


def _planted_survey(effect: float, n: int = 1500, seed: int = 3) -> CustomerData:
    """Less satisfied customers complain more; each complaint is left unresolved at random (40%).

    NPS answers in June 2024 are ``7 + 1.2 * satisfaction + effect * unresolved + N(0, 1.5)``:
    after controlling for the complaint count, the unresolved flag's coefficient is ``effect``.
    """
    rng = np.random.default_rng(seed)
    ids = [f"C{i:05d}" for i in range(n)]
    satisfaction = rng.normal(size=n)
    customers = pd.DataFrame(
        {
            "customer_id": ids,
            "signup_date": T("2022-01-01"),
            "plan": rng.choice(["basic", "premium"], n),
            "region": rng.choice(["North", "South", "East"], n),
        }
    )
    complaints = rng.poisson(0.6 * np.exp(-0.7 * satisfaction))
    who = np.repeat(np.arange(n), complaints)
    resolved = rng.random(who.size) >= 0.4
    events = pd.DataFrame(
        {
            "customer_id": np.asarray(ids)[who],
            "timestamp": T("2023-01-01") + pd.to_timedelta(rng.integers(0, 500, who.size), unit="D"),
            "channel": "phone",
            "kind": "complaint",
            "resolved": pd.array(resolved, dtype="boolean"),
            "wait_minutes": np.nan,
        }
    )
    unresolved = np.zeros(n)
    np.add.at(unresolved, who[~resolved], 1)
    nps = 7 + 1.2 * satisfaction + effect * (unresolved > 0) + rng.normal(0, 1.5, n)
    surveys = pd.DataFrame(
        {
            "customer_id": ids,
            "date": T("2024-06-01") + pd.to_timedelta(rng.integers(0, 28, n), unit="D"),
            "nps": nps,
        }
    )
    return CustomerData(
        tables={"customers": customers, "interactions": events, "surveys": surveys}, as_of=T("2024-12-31")
    )


def _unresolved_row(model):
    return model.summary_.set_index("term").loc["unresolved_complaint"]


def test_nps_effect_recovers_a_planted_effect_apart_from_having_complained():
    """Planted -1.5 points; SE about 0.1 with 1,500 answers: the estimate within 4 SE, the truth in the CI."""
    frame = friction_survey_frame(_planted_survey(-1.5))
    model = FrictionOnNPS().fit(frame)
    row = _unresolved_row(model)
    assert abs(row["estimate"] + 1.5) < 4 * row["std_error"]
    assert row["ci_low"] <= -1.5 <= row["ci_high"]
    assert model.summary_.set_index("term").loc["complaints", "estimate"] < 0  # complainers are less happy
    assert set(model.summary_["term"]) == {"complaints", "unresolved_complaint"}  # constant ones left out
    assert {n.values["term"] for n in model.caveats_} == {
        "support_contacts",
        "long_wait",
        "cart_abandonments",
    }


def test_nps_effect_recovers_the_demo_s_planted_effect():
    """The 20,000-customer demo (seed 42, about 4,200 answers, SE about 0.16).

    Tolerance: the planted value inside the 95% interval and the estimate within 3 SE of it (the
    generator rounds and clips answers to 0-10, which shrinks the effect a little).
    """
    _, data, truth = demo(MID_CUSTOMERS)
    planted = truth["satisfaction"]["nps_effect_unresolved_complaint"]
    row = _unresolved_row(FrictionOnNPS().fit(friction_survey_frame(data)))
    assert row["ci_low"] <= planted <= row["ci_high"]
    assert abs(row["estimate"] - planted) < 3 * row["std_error"]
    assert row["p_adjusted"] < 0.05


def test_a_complaint_in_the_answer_s_own_month_does_not_count():
    data = _planted_survey(-1.5, n=50)
    frame = friction_survey_frame(data)
    month = frame["month_start"].iloc[0]
    assert (frame["month_start"] == T("2024-06-01")).all()
    assert frame.set_index("customer_id")["complaints"].equals(
        friction_features(data, month).set_index("customer_id")["complaints"].reindex(frame["customer_id"])
    )


def test_friction_of_every_answer_at_once_equals_friction_features_month_by_month(small_data):
    """The vectorised join equals merging each month's answers with friction_features at that month."""
    from cxlib.experience._friction_effects import answers_with_friction

    answers = small_data["surveys"].loc[small_data["surveys"]["nps"].notna(), ["customer_id", "date", "nps"]]
    answers = answers.assign(month_start=answers["date"].dt.to_period("M").dt.start_time)
    parts = [
        part.merge(friction_features(small_data, month, 20), on="customer_id", how="inner")
        for month, part in answers.groupby("month_start", sort=True)
    ]
    expected = pd.concat(parts, ignore_index=True)
    got = answers_with_friction(small_data, answers, 20)
    assert len(got) > 500 and got["complaints"].sum() > 0 and got["support_contacts"].gt(0).any()
    pd.testing.assert_frame_equal(got, expected, check_exact=True)


# ---- the link to the churn model -------------------------------------------------------------------


def _churn_table() -> pd.DataFrame:
    """A churn driver table as notebook 02 saves it, with made-up numbers."""
    drivers = ["plan", "unresolved_complaint", "support_contacts", "tenure_months", "long_wait"]
    table = pd.DataFrame({c: np.nan for c in DRIVER_TABLE_COLUMNS}, index=range(len(drivers)))
    table["driver"] = drivers
    table["term"] = ["plan: premium", *drivers[1:]]
    table["label"] = ["Plan: premium", "Unresolved complaint", "Support contacts", "Tenure", "Long wait"]
    table["unit"] = ["vs basic", "yes vs no", "per SD of 0.15", "per SD of 8", "yes vs no"]
    for i, column in enumerate(
        ["odds_ratio", "or_ci_low", "or_ci_high", "hazard_ratio", "hr_ci_low", "hr_ci_high"]
    ):
        table[column] = 1 + 0.1 * i + 0.01 * np.arange(len(drivers))
    table["p_holm"] = 0.5
    return table


def test_churn_rows_are_the_churn_table_s_own_numbers():
    table = _churn_table()
    rows = churn_friction_rows(table)
    assert list(rows["driver"]) == ["unresolved_complaint", "support_contacts", "long_wait"]
    pd.testing.assert_frame_equal(rows, table.iloc[[1, 2, 4]].reset_index(drop=True), check_exact=True)
    nps = pd.DataFrame(
        {"term": ["unresolved_complaint"], "label": ["Unresolved complaint"], "estimate": [-1.4]}
        | {c: [v] for c, v in [("ci_low", -2.0), ("ci_high", -0.8), ("p_value", 0.01), ("p_adjusted", 0.02)]}
        | {"unit": ["yes vs no"]}
    )
    effects = friction_effects(nps, table).set_index("driver")
    assert effects.loc["unresolved_complaint", "nps_effect"] == -1.4
    for column in ("odds_ratio", "or_ci_low", "hazard_ratio", "hr_ci_high"):
        assert effects.loc["support_contacts", column] == table.loc[2, column]
    assert set(effects["churn_source"]) == {"saved"}


def test_without_a_saved_table_the_churn_models_are_fitted_as_notebook_02_does():
    config, data, _ = demo(3000)
    panel = churn.churn_panel(data, config)
    drivers = churn.ChurnDrivers.from_config(config).fit(panel.frame, panel.numeric, panel.categorical)
    hazards = churn.ChurnHazards.from_config(config).fit(
        panel.frame, panel.numeric, panel.categorical, entry_col=panel.entry_col
    )
    expected = churn_friction_rows(churn.driver_table(drivers, hazards)).set_index("term")
    effects = friction_effects(None, None, data, config).set_index("term")
    assert set(effects["churn_source"]) == {"refitted"}
    for ours, theirs in [
        ("odds_ratio", "odds_ratio"),
        ("hazard_ratio", "hazard_ratio"),
        ("churn_p_holm", "p_holm"),
    ]:
        np.testing.assert_array_equal(effects.loc[expected.index, ours], expected[theirs])


def test_plots_draw_kpis_and_both_effects():
    data = _tiny()
    ax = plot_kpi_by_channel(friction_kpis(data, start="2024-01-01"), "first_contact_resolution")
    assert len(ax.patches) == 1  # phone only: the one channel with seen support contacts
    model = FrictionOnNPS().fit(friction_survey_frame(_planted_survey(-1.5, n=300)))
    assert model.plot_forest() is not None
    axes = plot_friction_effects(friction_effects(model.summary_, _churn_table()), title="Friction")
    assert len(axes) == 2
    assert len(plot_friction_effects(friction_effects(model.summary_, None))) == 1  # no churn table
    plt.close("all")

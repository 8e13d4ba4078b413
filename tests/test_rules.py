"""One rule, one place: churn, days per month, refund signs and feature names each have one home.

The churn KPI, the ``churned`` feature, the survival lifetimes and the churn panel's labels must
agree on who churned, under every definition, on the small demo; the rule is also checked against
a direct computation from the raw tables.
"""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from cxlib.churn._panel import churn_cutoff, churn_panel
from cxlib.data._config import config_from_dict
from cxlib.data._load import CustomerData, sign_refunds
from cxlib.exceptions import ConfigError
from cxlib.features import (
    DAYS_PER_MONTH,
    ChurnRule,
    customer_features,
    driver_features,
    features_from_config,
    lifetime_table,
    resolve_churn_rule,
    window_transactions,
)
from cxlib.overview._kpis import headline_kpis
from cxlib.stats._design import FEATURE_LABELS

CXLIB = Path(__file__).resolve().parents[1] / "cxlib"
#: The synthetic generator shares no code with what it tests: it keeps its own constants.
GENERATOR = CXLIB / "data" / "_synth.py"
ONE_DAY = pd.Timedelta(days=1)


def _sources():
    return [p for p in CXLIB.rglob("*.py") if p != GENERATOR]


def _with_churn(config, definition: str, inactivity_days: int = 180):
    values = {
        **config.values,
        "analysis": {
            **config.analysis,
            "churn": {"definition": definition, "inactivity_days": inactivity_days},
        },
    }
    return config_from_dict(values, base_dir=config.base_dir)


def _snapshot(data: CustomerData) -> CustomerData:
    """The small demo as a snapshot: the churn label kept, the churn dates dropped."""
    customers = data["customers"].drop(columns="churn_date")
    return CustomerData(tables={**data.tables, "customers": customers}, as_of=data.as_of)


@pytest.fixture(scope="module", params=["contractual", "inactivity", "snapshot"])
def case(request, small_config, small_data):
    """(definition, data, config) for each churn definition on the small demo."""
    if request.param == "contractual":
        return "contractual", small_data, small_config
    if request.param == "inactivity":
        return "inactivity", small_data, _with_churn(small_config, "inactivity", 180)
    return "snapshot", _snapshot(small_data), _with_churn(small_config, "auto")


def _by_hand(definition: str, data: CustomerData, day: pd.Timestamp, days: int = 180) -> pd.Series:
    """Who has churned by ``day``, computed straight from the tables (not through ChurnRule)."""
    customers = data["customers"].set_index("customer_id")
    if definition == "snapshot":
        return customers["churned"].astype(bool)
    if definition == "contractual":
        return customers["churn_date"].dt.normalize() <= day
    tx = data["transactions"]
    sales = tx[~tx["is_refund"] & (tx["order_date"].dt.normalize() <= day)]
    last = sales.groupby("customer_id")["order_date"].max().dt.normalize().reindex(customers.index)
    since = last.fillna(customers["signup_date"].dt.normalize())
    return (day - since).dt.days >= days


# ---------------------------------------------------------------- churn: one rule


def test_the_rule_resolves_each_definition(case):
    definition, data, config = case
    rule = churn_cutoff(data, config).rule
    assert rule.definition == definition
    assert rule == resolve_churn_rule(
        data, config.analysis["churn"]["definition"], config.analysis["churn"]["inactivity_days"]
    )


def test_the_rule_matches_a_direct_computation(case):
    definition, data, config = case
    rule = churn_cutoff(data, config).rule
    expected = _by_hand(definition, data, data.as_of)
    got = rule.churned_by(data, data.as_of)
    pd.testing.assert_series_equal(got, expected.reindex(got.index), check_names=False)
    assert 0 < got.sum() < len(got)


def test_feature_and_survival_table_flag_the_same_churners(case):
    _, data, config = case
    rule = churn_cutoff(data, config).rule
    flags = rule.churned_by(data, data.as_of)
    features = features_from_config(data, config)
    pd.testing.assert_series_equal(features["churned"], flags.reindex(features.index), check_names=False)
    lifetimes = lifetime_table(data, churn_cutoff(data, config).rule).set_index("customer_id")
    pd.testing.assert_series_equal(lifetimes["churned"], flags.reindex(lifetimes.index), check_names=False)


def test_kpi_counts_the_churners_the_feature_flags(case):
    definition, data, config = case
    churn = config.analysis["churn"]
    kpis = headline_kpis(data, churn_definition=churn["definition"], inactivity_days=churn["inactivity_days"])
    row = kpis.loc[kpis["kpi"].isin(["churn_rate_12m", "churn_rate_snapshot", "lapse_rate"])].iloc[0]
    flags = features_from_config(data, config)["churned"]
    customers = data["customers"].set_index("customer_id")
    year_ago = data.as_of - pd.Timedelta(days=365)
    if definition == "contractual":
        gone = customers["churn_date"].dt.normalize() <= year_ago
        cohort = (customers["signup_date"] <= year_ago) & ~gone
    elif definition == "inactivity":
        tx = data["transactions"]
        bought = tx.loc[~tx["is_refund"] & (tx["order_date"] <= year_ago), "customer_id"]
        cohort = customers.index.to_series().isin(bought)
    else:
        cohort = pd.Series(True, index=customers.index)
    assert row["value"] == pytest.approx(flags[cohort.reindex(flags.index)].mean(), rel=1e-12)


def test_panel_labels_are_the_rule_at_the_window(case):
    """At risk = not churned the day before the cut-off; churned = churned by the window's last day."""
    definition, data, config = case
    panel = churn_panel(data, config)
    frame = panel.frame.set_index("customer_id")
    if definition == "snapshot":
        expected = _by_hand(definition, data, data.as_of)
        pd.testing.assert_series_equal(frame["churned"], expected.reindex(frame.index), check_names=False)
        return
    cut = panel.design.cutoff
    last_day = cut + pd.Timedelta(days=panel.design.window_days) - ONE_DAY
    customers = data["customers"].set_index("customer_id")
    signed = customers.index[customers["signup_date"] < cut]
    at_risk = ~_by_hand(definition, data, cut - ONE_DAY, panel.design.window_days)
    assert set(frame.index) == set(signed[at_risk.reindex(signed).to_numpy()])
    expected = _by_hand(definition, data, last_day, panel.design.window_days)
    pd.testing.assert_series_equal(frame["churned"], expected.reindex(frame.index), check_names=False)
    # survival and panel share the churn date: lifetimes read at the window's last day end where the panel exits
    lifetimes = (
        lifetime_table(data, panel.design.rule, last_day).set_index("customer_id").reindex(frame.index)
    )
    churners = frame.index[frame["churned"]]
    np.testing.assert_allclose(
        lifetimes.loc[churners, "duration_months"], frame.loc[churners, "exit_months"], rtol=0, atol=1e-12
    )


def test_inactivity_counts_whole_days_from_the_last_purchase_or_signup():
    """Churned after ``inactivity_days`` whole days without a purchase; never-buyers count from signup."""
    customers = pd.DataFrame(
        {
            "customer_id": ["old", "new", "lapsed", "active", "refund only"],
            "signup_date": pd.to_datetime(
                ["2025-01-01", "2025-12-01", "2024-06-01", "2024-06-01", "2024-06-01"]
            ),
        }
    )
    tx = sign_refunds(
        pd.DataFrame(
            {
                "customer_id": ["lapsed", "active", "refund only", "refund only"],
                "order_id": ["1", "2", "3", "3"],
                # 180 and 179 days before the as-of date; a refund is not a purchase
                "order_date": pd.to_datetime(["2025-07-04", "2025-07-05", "2025-06-01", "2025-12-30"]),
                "amount": [10.0, 10.0, 10.0, 10.0],
                "is_refund": [False, False, False, True],
            }
        )
    )
    data = CustomerData(tables={"customers": customers, "transactions": tx}, as_of=pd.Timestamp("2025-12-31"))
    rule = resolve_churn_rule(data, "inactivity", 180)
    assert rule == ChurnRule("inactivity", 180)
    flags = rule.churned_by(data, data.as_of)
    assert flags.to_dict() == {
        "old": True,
        "new": False,
        "lapsed": True,
        "active": False,
        "refund only": True,
    }
    dates = rule.churn_dates(data, data.as_of)
    assert dates["lapsed"] == pd.Timestamp("2025-12-31") and dates["new"] == pd.Timestamp("2026-05-30")
    assert customer_features(data, churn_definition="inactivity")["churned"].to_dict() == flags.to_dict()


def test_contractual_without_churn_data_is_a_config_error(small_data):
    data = CustomerData(
        tables={
            "customers": small_data["customers"].drop(columns=["churn_date", "churned"]),
            "transactions": small_data["transactions"],
        },
        as_of=small_data.as_of,
    )
    with pytest.raises(ConfigError, match="analysis.churn.definition: 'contractual' needs churn dates"):
        resolve_churn_rule(data, "contractual")
    assert resolve_churn_rule(data, "auto").definition == "inactivity"


def test_no_module_resolves_churn_on_its_own():
    """Outside loading, only the rule module looks for churn columns or resolves ``auto``."""
    home = CXLIB / "features" / "_churn_rule.py"
    pattern = re.compile(
        r"""["']churn_date["'] in |\[["']churn_date["']\]\.(notna|isna)\(\)|\[["']churned["']\]\.fillna"""
        r"""|\.churn_flags\b|==\s*["']auto["']|\(["']auto["'],"""
    )
    others = [
        str(p.relative_to(CXLIB))
        for p in _sources()
        if p != home and p.parent.name != "data" and pattern.search(p.read_text())
    ]
    assert others == []


# ---------------------------------------------------------------- days per month, refund signs


def test_one_days_per_month_constant():
    home = CXLIB / "features" / "_time.py"
    literal = re.compile(r"30\.4\d*|365\.25\s*/\s*12")
    assert [
        str(p.relative_to(CXLIB)) for p in _sources() if p != home and literal.search(p.read_text())
    ] == []
    assert DAYS_PER_MONTH == 365.25 / 12
    from cxlib.churn import _panel, _report, _survival
    from cxlib.features import _customer, _drivers, _lifetimes

    for module in (_panel, _report, _survival, _customer, _drivers, _lifetimes):
        assert module.DAYS_PER_MONTH is DAYS_PER_MONTH


def test_refunds_are_signed_once_at_loading():
    # loading signs them: pandas loading, and the engine's canonical tables (its loading, in SQL;
    # tests/test_engine.py checks it gives the same tables)
    homes = (CXLIB / "data" / "_load.py", CXLIB / "engine" / "_tables.py")
    signing = re.compile(r"-\s*[\w\[\]\"'.]*amount[\w\[\]\"'.]*\.abs\(\)")
    assert [
        str(p.relative_to(CXLIB)) for p in _sources() if p not in homes and signing.search(p.read_text())
    ] == []
    raw = pd.DataFrame(
        {
            "customer_id": ["a", "a", "a"],
            "order_date": pd.to_datetime(["2024-01-01", "2024-01-02", "2024-01-03"]),
            "amount": [100.0, 30.0, -20.0],
            "is_refund": [False, True, None],
        }
    )
    signed = sign_refunds(raw)
    assert signed["amount"].tolist() == [100.0, -30.0, -20.0]
    assert signed["is_refund"].tolist() == [False, True, False]
    assert raw["amount"].tolist() == [100.0, 30.0, -20.0]  # input untouched
    # downstream trusts the canonical signs
    window = window_transactions(signed.assign(is_refund=[False, True, True]), "2024-01-31")
    assert window["amount"].tolist() == [100.0, -30.0, -20.0]


def test_loaded_refunds_are_negative(small_data):
    tx = small_data["transactions"]
    assert (tx.loc[tx["is_refund"], "amount"] <= 0).all()


# ---------------------------------------------------------------- names that say what they measure


def test_feature_names_say_what_they_measure(small_config, small_data):
    features = features_from_config(small_data, small_config)
    assert {"orders_per_active_month", "refunded_amount_share"} <= set(features.columns)
    panel = churn_panel(small_data, small_config)
    assert {"orders_per_month_12m", "refunded_order_share"} <= set(panel.frame.columns)
    for old in ("orders_per_month", "refund_share"):
        assert old not in features.columns and old not in panel.frame.columns
    settings = small_config.values["churn_model"]
    extra = set(settings["numeric_features"]) | set(settings["categorical_features"])
    assert [c for c in panel.features if c not in extra and c not in FEATURE_LABELS] == []


def test_churn_panel_counts_orders_not_order_lines():
    customers = pd.DataFrame(
        {"customer_id": ["a"], "signup_date": pd.to_datetime(["2023-01-01"])},
    )
    tx = sign_refunds(
        pd.DataFrame(
            {
                "customer_id": ["a"] * 5,
                "order_id": ["1", "1", "1", "2", "2"],  # two orders of three and two lines; order 2 refunded
                "order_date": pd.to_datetime(["2024-06-01"] * 3 + ["2024-09-01"] * 2),
                "amount": [5.0, 5.0, 5.0, 8.0, 8.0],
                "is_refund": [False, False, False, False, True],
            }
        )
    )
    data = CustomerData(tables={"customers": customers, "transactions": tx}, as_of=pd.Timestamp("2024-12-31"))
    row = driver_features(data, pd.Timestamp("2024-12-01")).iloc[0]
    assert row["orders_per_month_12m"] == pytest.approx(2 / 12)
    assert row["refunded_order_share"] == pytest.approx(1 / 2)

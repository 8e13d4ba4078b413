"""Dropped rows and missing values are stated with their outcome, never passed in silence (issue 10, part 3).

Planted exports: customers whose tenure is missing (dropped by ``drop_missing``) churn at a known
higher rate; a numeric driver whose missing values raise churn by a known odds ratio. The rates
and ratios the suite reports must cover the planted ones within their 95% intervals (a planted
value outside a 95% interval happens 1 time in 20 for a random seed; the seeds here are fixed, so
each check is deterministic), and the reports must say how many rows or values, the method and
both rates. Data with nothing dropped or missing must get no such statement.

Churners are planted as exact shares of each group (:func:`_exact_churn`), so the observed rates
equal the planted ones up to rounding and a planted value outside the reported interval is a bug,
not 1 draw in 20.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml

from cxlib import churn
from cxlib.data import dropped_outcomes
from cxlib.data._config import load_config
from cxlib.data._load import load_data
from cxlib.overview import data_overview, health_report
from cxlib.report import render_all
from cxlib.run._artifacts import load_validated, save_validated

#: Planted churn probabilities of customers with and without a tenure, and the share without one.
RATE_NO_TENURE, RATE_WITH_TENURE, SHARE_NO_TENURE = 0.30, 0.12, 0.15
#: Planted driver: a balance missing for this share of customers, whose missingness multiplies the
#: odds of churning by this ratio (the balance itself has no effect).
SHARE_NO_BALANCE, ODDS_RATIO_MISSING, BASE_RATE = 0.20, 3.0, 0.10


def _export(tmp_path: Path, frame: pd.DataFrame, customers: dict, **sections) -> Path:
    """A customers-only snapshot export and its config; returns the config path."""
    frame.to_csv(tmp_path / "customers.csv", index=False)
    values = {
        "company": "Planted Co",
        "data": {"dir": str(tmp_path), "tables": {"customers": {"path": "customers.csv", **customers}}},
        "analysis": {"as_of": "2025-12-31", "churn": {"definition": "contractual"}},
        **sections,
    }
    path = tmp_path / "config.yaml"
    path.write_text(yaml.safe_dump(values), encoding="utf-8")
    return path


def _exact_churn(rng, groups: np.ndarray, rates: dict) -> np.ndarray:
    """Churned flags: in each group, exactly ``round(rate * size)`` customers, picked at random."""
    churned = np.zeros(len(groups), bool)
    for group, rate in rates.items():
        members = rng.permutation(np.flatnonzero(groups == group))
        churned[members[: round(rate * len(members))]] = True
    return churned


def _text(parts) -> str:
    """The Markdown of a report's parts (tables left out)."""
    return "\n".join(part.data for part in parts if isinstance(getattr(part, "data", None), str))


@pytest.fixture(scope="module")
def no_tenure(tmp_path_factory):
    """4,000 customers; those without a tenure (planted share) churn at the planted higher rate."""
    rng = np.random.default_rng(10)
    n = 4000
    missing = rng.random(n) < SHARE_NO_TENURE
    churned = _exact_churn(rng, missing, {True: RATE_NO_TENURE, False: RATE_WITH_TENURE})
    tenure = rng.integers(1, 72, n).astype(float)
    frame = pd.DataFrame(
        {
            "CustomerID": [f"C{i}" for i in range(n)],
            "Tenure": np.where(missing, np.nan, tenure),
            "Exited": np.where(churned, "yes", "no"),
        }
    )
    entry = {
        "columns": {"customer_id": "CustomerID", "churned": "Exited"},
        "tenure": {"column": "Tenure", "unit": "months"},
        "drop_missing": ["signup_date"],
    }
    config = load_config(_export(tmp_path_factory.mktemp("no_tenure"), frame, entry))
    return config, load_data(config), frame


def test_rows_dropped_for_a_missing_value_are_recorded_with_their_outcome(no_tenure):
    _, data, frame = no_tenure
    gone = frame[frame["Tenure"].isna()]
    [record] = data.dropped
    assert (record.table, record.reason, record.columns) == ("customers", "missing", ("signup_date",))
    assert record.sources == ("Tenure",)  # the signup date is counted back from the tenure
    assert record.rows == len(gone) and record.churn_known == len(gone)
    assert record.churned == int((gone["Exited"] == "yes").sum())
    assert len(data["customers"]) == len(frame) - len(gone)


def test_dropped_and_kept_churn_rates_cover_the_planted_ones(no_tenure):
    _, data, _ = no_tenure
    row = dropped_outcomes(data).iloc[0]
    assert row["ci_low"] <= RATE_NO_TENURE <= row["ci_high"]
    assert row["kept_ci_low"] <= RATE_WITH_TENURE <= row["kept_ci_high"]
    assert row["ci_low"] > row["kept_ci_high"]  # 0.30 vs 0.12: the intervals do not overlap
    assert row["p_value"] < 0.001


def test_reports_state_the_count_method_and_both_rates(no_tenure):
    config, data, _ = no_tenure
    row = dropped_outcomes(data).iloc[0]
    rates = [f"{row['churn_rate']:.1%} (95% CI {row['ci_low']:.1%}–{row['ci_high']:.1%})"]
    rates += [f"{row['kept_churn_rate']:.1%} (95% CI {row['kept_ci_low']:.1%}–{row['kept_ci_high']:.1%})"]
    count = f"{int(row['rows']):,} rows with no signup date (`drop_missing`, read from Tenure) dropped"
    panel_text = churn.describe_panel(churn.churn_panel(data, config), config.company)
    overview_text = _text(health_report(data_overview(data, config)))
    for text in (panel_text, overview_text):
        assert count in text
        assert all(rate in text for rate in rates)
        assert "a clear difference (Fisher's exact test, p < 0.001): the dropped customers churn more" in text


def test_the_record_survives_the_run_folder(no_tenure, tmp_path):
    config, data, _ = no_tenure
    assert load_validated(save_validated(data, tmp_path, config)).dropped == data.dropped


def test_churn_by_inactivity_is_not_read_from_dropped_rows(tmp_path):
    """A dropped customer's churn date says nothing when churn means no purchase for N days."""
    rng = np.random.default_rng(13)
    n = 300
    customers = pd.DataFrame(
        {
            "CustomerID": [f"C{i}" for i in range(n)],
            "SignupDate": "2023-01-15",
            "ChurnDate": np.where(rng.random(n) < 0.3, "2025-03-01", ""),
            "Plan": np.where(np.arange(n) < 30, "", "basic"),
        }
    )
    kept = np.repeat(customers["CustomerID"][30:].to_numpy(), 6)  # the dropped bought nothing
    days = rng.integers(0, (pd.Timestamp("2025-12-30") - pd.Timestamp("2023-02-01")).days, len(kept))
    pd.DataFrame(
        {
            "CustomerID": kept,
            "OrderDate": (pd.Timestamp("2023-02-01") + pd.to_timedelta(days, unit="D")).strftime("%Y-%m-%d"),
            "Amount": rng.integers(5, 50, len(kept)),
        }
    ).to_csv(tmp_path / "transactions.csv", index=False)
    entry = {
        "columns": {"customer_id": "CustomerID", "signup_date": "SignupDate", "churn_date": "ChurnDate"},
        "drop_missing": ["plan"],
    }
    transactions = {"path": "transactions.csv"}
    path = _export(tmp_path, customers, entry)
    values = yaml.safe_load(path.read_text())
    values["data"]["tables"]["transactions"] = transactions
    values["analysis"]["churn"] = {"definition": "inactivity", "inactivity_days": 180}
    path.write_text(yaml.safe_dump(values), encoding="utf-8")
    config = load_config(path)
    data = load_data(config)
    assert data.dropped[0].rows == 30 and data.dropped[0].churn_known is None
    text = _text(health_report(data_overview(data, config)))
    assert "**customers**: 30 rows with no plan (`drop_missing`) dropped" in text
    assert "Whether they churned cannot be read from the dropped rows" in text
    assert "churned at" not in text


@pytest.fixture(scope="module")
def no_balance(tmp_path_factory):
    """4,000 customers with a balance missing for a planted share; missingness raises the odds of churn."""
    rng = np.random.default_rng(11)
    n = 4000
    missing = rng.random(n) < SHARE_NO_BALANCE
    churned = _exact_churn(rng, missing, {True: _rate_missing(), False: BASE_RATE})
    frame = pd.DataFrame(
        {
            "CustomerID": [f"C{i}" for i in range(n)],
            "Tenure": rng.integers(1, 72, n),
            "Balance": np.where(missing, np.nan, np.round(rng.normal(50, 10, n), 2)),
            "Exited": np.where(churned, "yes", "no"),
        }
    )
    entry = {
        "columns": {"customer_id": "CustomerID", "churned": "Exited"},
        "tenure": {"column": "Tenure", "unit": "months"},
    }
    path = _export(
        tmp_path_factory.mktemp("no_balance"), frame, entry, churn_model={"numeric_features": ["Balance"]}
    )
    config = load_config(path)
    return config, churn.churn_panel(load_data(config), config), frame


def _rate_missing() -> float:
    """Churn rate with a missing balance: the base odds times the planted odds ratio."""
    odds = BASE_RATE / (1 - BASE_RATE) * ODDS_RATIO_MISSING
    return odds / (1 + odds)


def test_a_missing_indicator_recovers_the_planted_odds_ratio(no_balance):
    config, panel, _ = no_balance
    model = churn.ChurnDrivers.from_config(config).fit(panel.frame, panel.numeric, panel.categorical)
    term = model.summary_.set_index("term").loc["Balance: missing"]
    assert term["ci_low"] > 1.0
    assert term["ci_low"] <= ODDS_RATIO_MISSING <= term["ci_high"]
    assert model.encoder_.missing_.loc["Balance", "indicator"]


def test_the_caveat_states_the_count_and_the_method(no_balance):
    config, panel, frame = no_balance
    model = churn.ChurnDrivers.from_config(config).fit(panel.frame, panel.numeric, panel.categorical)
    missing = int(frame["Balance"].isna().sum())
    median = frame["Balance"].median()
    expected = (
        f"Balance: {missing:,} of {len(frame):,} values missing; filled with the median ({median:,.3g}) "
        "and given a yes/no term of their own ('Balance: missing')"
    )
    assert any(text.startswith(expected) for text in render_all(model.caveats_))


def test_the_fill_is_the_same_at_fit_and_at_predict(no_balance):
    config, panel, _ = no_balance
    model = churn.ChurnDrivers.from_config(config).fit(panel.frame, panel.numeric, panel.categorical)
    assert np.allclose(model.predict_proba(panel.frame), model.result_.predict())
    one = panel.frame[panel.frame["Balance"].isna()].head(1)
    filled = one.assign(Balance=model.encoder_.missing_.loc["Balance", "fill"])
    without_flag = model.predict_proba(filled)[0]
    odds = model.summary_.set_index("term").loc["Balance: missing", "estimate"]
    logit = np.log(without_flag / (1 - without_flag)) + np.log(odds)  # a missing value adds its term
    assert model.predict_proba(one)[0] == pytest.approx(1 / (1 + np.exp(-logit)))


def test_the_churn_report_tables_missing_values_with_rates(no_balance):
    config, panel, frame = no_balance
    row = panel.missing.set_index("feature").loc["Balance"]
    absent = frame["Balance"].isna()
    assert row["missing"] == absent.sum() and row["method"] == "indicator"
    assert row["churn_rate_missing"] == pytest.approx((frame.loc[absent, "Exited"] == "yes").mean())
    assert row["ci_low_missing"] <= _rate_missing() <= row["ci_high_missing"]
    assert row["ci_low_present"] <= BASE_RATE <= row["ci_high_present"]
    text = churn.describe_panel(panel, config.company)
    rate = (
        f"{row['churn_rate_missing']:.1%} (95% CI {row['ci_low_missing']:.1%}–{row['ci_high_missing']:.1%})"
    )
    assert f"| Balance | {int(row['missing']):,} of {len(frame):,}" in text
    assert "filled with the median" in text and "'Balance: missing'" in text and rate in text


def test_rows_dropped_for_other_reasons_are_counted(demo_copy):
    """Exact duplicate customers, and transactions without a customer id (``drop_missing``)."""
    customers = demo_copy.read("customers")
    demo_copy.write("customers", pd.concat([customers, customers.iloc[[3, 8, 13]]], ignore_index=True))
    transactions = demo_copy.read("transactions")
    no_id = transactions.index[::500]
    transactions.loc[no_id, "CustomerID"] = np.nan
    demo_copy.write("transactions", transactions)
    values = demo_copy.values
    values["data"]["tables"]["transactions"]["drop_missing"] = ["customer_id"]
    config = load_config(demo_copy.save_config(values))
    data = load_data(config)
    table = dropped_outcomes(data).set_index(["table", "reason"])
    assert table.loc[("customers", "duplicate"), "rows"] == 3
    assert np.isnan(table.loc[("customers", "duplicate"), "churn_rate"])  # copies of kept rows
    gone = table.loc[("transactions", "missing")]
    assert gone["rows"] == len(no_id)
    amounts = pd.to_numeric(transactions.loc[no_id, "Amount"])
    sales = amounts[transactions.loc[no_id, "Type"].str.lower() != "refund"].clip(lower=0).sum()
    assert gone["amount"] == pytest.approx(sales)
    assert 0 < gone["sales_share"] < 0.01
    text = _text(health_report(data_overview(data, config)))
    expected = (
        f"**transactions**: {len(no_id):,} rows with no customer id (`drop_missing`, read from CustomerID)"
    )
    assert expected in text
    assert "**customers**: 3 exact duplicate rows" in text


def test_nothing_is_said_when_nothing_was_dropped_or_missing(tmp_path):
    rng = np.random.default_rng(12)
    n = 500
    frame = pd.DataFrame(
        {
            "CustomerID": [f"C{i}" for i in range(n)],
            "Tenure": rng.integers(1, 72, n),
            "Exited": rng.choice(["yes", "no"], n),
        }
    )
    entry = {"columns": {"customer_id": "CustomerID", "churned": "Exited"}, "tenure": {"column": "Tenure"}}
    config = load_config(_export(tmp_path, frame, entry))
    data = load_data(config)
    panel = churn.churn_panel(data, config)
    assert data.dropped == [] and panel.dropped.empty and panel.missing.empty
    text = churn.describe_panel(panel, config.company) + _text(health_report(data_overview(data, config)))
    assert "dropped" not in text.lower() and "missing" not in text.lower()
    model = churn.ChurnDrivers.from_config(config).fit(panel.frame, panel.numeric, panel.categorical)
    assert not [note for note in model.caveats_ if note.code.startswith("design.missing")]


@pytest.mark.parametrize("model_class", [churn.ChurnHazards, churn.RemainingLifetime])
def test_survival_models_model_missingness_the_same_way(no_balance, model_class):
    config, panel, _ = no_balance
    model = model_class.from_config(config).fit(
        panel.frame, panel.numeric, panel.categorical, entry_col=panel.entry_col
    )
    assert "Balance: missing" in set(model.summary_["term"])
    assert any(note.code == "design.missing_indicator" for note in model.caveats_)

"""The customer-value study and its report on the demo, with tables missing, on Telco, and on tiny data.

The models' known answers are in test_value_cdnow, test_pareto_nbd, test_value_subscription and
test_value_clv; here the whole study runs on a slice of the small demo (900 customers, so the test stays
fast) and every sentence of its report is scanned by :func:`tests.absent_data.absent_data_sentences`.
"""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")

import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
import pytest  # noqa: E402

from cxlib import value  # noqa: E402
from cxlib.data import load_config, load_data  # noqa: E402
from cxlib.run import catalog_entry, save_table  # noqa: E402

from .absent_data import absent_data_sentences, parts_text  # noqa: E402
from .conftest import ROOT  # noqa: E402
from .test_cx_report import _restricted  # noqa: E402
from .test_report_adapts import present_columns, variant  # noqa: E402

SECTION_REPORTS = (value.value_report, value.check_report, value.experience_report, value.subscription_report)
#: Customers of the demo slice the study runs on (enough repeat buyers for every model).
SLICE = 900


def report_text(study, data) -> str:
    """Every sentence and table cell of the report (figures by their titles and axis labels)."""
    return parts_text(
        value.report_intro(study, data),
        SECTION_REPORTS,
        study,
        value.describe_findings(study),
        value.value_headline(study),
    )


@pytest.fixture(scope="module")
def slice_data(small_data):
    return _restricted(small_data, small_data["customers"]["customer_id"].head(SLICE))


#: Experience measures are opt-in covariates (biased as fixed traits); the full study asks for them
#: so that every part of the report, the what-if included, is exercised.
WITH_EXPERIENCE = ["unresolved_complaint", "long_wait", "nps_class", "plan", "acquisition_channel"]


@pytest.fixture(scope="module")
def study(slice_data, small_config):
    return value.value_study(slice_data, small_config, covariates=WITH_EXPERIENCE)


def test_every_part_runs_on_the_demo_and_says_nothing_of_absent_data(study, slice_data):
    assert study.unavailable == {}, study.unavailable
    assert study.chosen in ("bgnbd", "pareto_nbd") and study.covariates is not None
    assert study.what_if is not None and (study.what_if["change_low"] <= study.what_if["change_high"]).all()
    text = report_text(study, slice_data)
    assert absent_data_sentences(text, set(slice_data.tables), present_columns(slice_data)) == []
    for heading in ("What are customers worth", "Can the model be trusted", "What are subscribers worth"):
        assert heading in text
    assert "nan" not in text.lower().replace("nano", "")


def test_totals_are_the_sum_of_customers_and_intervals_hold_them(study):
    total = study.by_group["all"].iloc[0]
    assert total["total"] == pytest.approx(study.value.table["clv"].sum(), rel=1e-12)
    assert total["total_low"] < total["total"] < total["total_high"]
    for variable, table in study.by_group.items():
        assert table["customers"].sum() == len(study.value.table), variable
        assert table["total"].sum() == pytest.approx(total["total"], rel=1e-9)
        assert (table["mean_low"] <= table["mean"]).all() and (table["mean"] <= table["mean_high"]).all()
    clv = study.value.table
    assert ((clv["clv_low"] <= clv["clv"]) & (clv["clv"] <= clv["clv_high"])).all()
    assert clv["probability_alive"].between(0, 1).all()


def test_catalog_tables_carry_their_declared_columns(study, tmp_path):
    tables = value.catalog_tables(study)
    assert set(tables) == {spec.name for spec in catalog_entry("04_customer_value").writes}
    for name, table in tables.items():
        save_table(tmp_path, name, table, notebook="04_customer_value")  # refuses a missing declared column
    params = tables["value_parameters"]
    cov = tables["value_covariance"]
    diagonal = cov.loc[cov["parameter"] == cov["other"]].merge(params, on=["model", "parameter"])
    np.testing.assert_allclose(np.sqrt(diagonal["covariance"]), diagonal["se"], rtol=1e-12)
    metrics = value.summary_metrics(study)
    assert metrics["clv_total_low"] <= metrics["clv_total"] <= metrics["clv_total_high"]


@pytest.mark.parametrize(
    "drop", [("interactions",), ("surveys",), ("transactions",)], ids=lambda d: "without " + "+".join(d)
)
def test_report_without_a_table_says_what_is_missing(slice_data, small_config, drop):
    data = variant(slice_data, drop=drop)
    asked = WITH_EXPERIENCE if "surveys" in drop else None  # the defaults once, the opt-in list once
    study = value.value_study(data, small_config, holdout_months=0, covariates=asked)
    text = report_text(study, data)
    assert absent_data_sentences(text, set(data.tables), present_columns(data)) == []
    if "transactions" in drop:  # no spend to value and no revenue per month: subscriptions valued in months
        assert study.value is None and study.subscription_value.settings["revenue_source"] is None
        assert "Not available: the data have no transactions" in text and "discounted months" in text
        assert (study.subscription["clv"] <= study.settings["horizon_months"]).all()
    elif "surveys" in drop:
        assert set(study.covariates_absent) == {"nps_class"}
        assert "Covariates not available: nps\\_class (the data have no surveys)" in text
    else:  # the default covariates are attributes fixed from the start
        assert study.covariates_absent == {}
        drivers = set(study.encoder.term_driver_.values())
        assert drivers <= {"plan", "acquisition_channel"} and drivers
        assert study.what_if is None and "Which customers stop buying sooner?" in text


def test_a_tiny_company_gets_a_report_not_a_crash(small_data, small_config):
    data = _restricted(small_data, small_data["customers"]["customer_id"].head(12))
    study = value.value_study(data, small_config)
    text = report_text(study, data)
    assert study.value is None and "Not available" in text
    assert absent_data_sentences(text, set(data.tables), present_columns(data)) == []


def test_telco_subscription_value_by_contract_follows_the_churn_rates():
    """Month-to-month churns most (42.7%), then one year (11.3%), then two year (2.8%): value per customer the other way."""
    config = load_config(ROOT / "configs" / "telco.yaml")
    data = load_data(config)
    study = value.value_study(data, config)
    assert study.unavailable["transactional"] == "no_transactions" and study.value is None
    by_plan = study.subscription_by_group["plan"].set_index("group")
    assert (by_plan["mean_low"] < by_plan["mean"]).all() and (by_plan["mean"] <= by_plan["mean_high"]).all()
    # value per unit of monthly margin (discounted months still a customer) follows the churn rates; in money,
    # month-to-month customers' higher charges offset part of it
    customers = data["customers"].set_index("customer_id")
    per_customer = study.subscription.set_index("customer_id")
    margin = pd.to_numeric(customers.loc[per_customer.index, "MonthlyCharges"]) * config.analysis["margin"]
    months = (per_customer["clv"] / margin).groupby(customers.loc[per_customer.index, "plan"]).mean()
    assert months["Month-to-month"] < months["One year"] < months["Two year"]
    assert by_plan.loc["Two year", "mean"] > by_plan.loc["Month-to-month", "mean"]
    text = report_text(study, data)
    assert "MonthlyCharges" in text and "Not available: the data have no transactions" in text
    assert absent_data_sentences(text, set(data.tables), present_columns(data)) == []
    assert pd.notna(value.summary_metrics(study)["subscription_clv_total"])

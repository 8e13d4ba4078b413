"""The overview's report and charts: sentences and tables built from the KPI results, absent tables said plainly."""

from __future__ import annotations

import dataclasses

import matplotlib
import pandas as pd
import pytest
from IPython.display import Markdown

from cxlib.data import load_config
from cxlib.data._load import CustomerData
from cxlib.overview import (
    KPI_BASIS,
    KPI_LABELS,
    channel_report,
    customer_mix_report,
    data_overview,
    describe_findings,
    describe_kpis,
    format_kpis,
    headline_kpis,
    headline_sentence,
    health_report,
    kpi_report,
    plot_churn_by_group,
    plot_new_customers,
    plot_revenue_by_channel,
    plot_revenue_trend,
    plot_scores,
    plot_touchpoints,
    revenue_report,
    score_report,
    touchpoint_report,
)
from cxlib.overview._data_overview import TENURE_BANDS, tenure_bands

from .conftest import SMALL_CONFIG

TENURE_ORDER = [label for _, label in TENURE_BANDS] + ["4 years or more"]

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

PLOTS = (
    plot_new_customers,
    plot_churn_by_group,
    plot_revenue_trend,
    plot_revenue_by_channel,
    plot_touchpoints,
    plot_scores,
)
REPORTS = (customer_mix_report, revenue_report, channel_report, touchpoint_report, score_report)


def text(parts: list) -> str:
    """What a list of report parts shows: Markdown source and table HTML."""
    return "\n".join(p.data if isinstance(p, Markdown) else p.to_html() for p in parts)


def without(data: CustomerData, *tables: str) -> CustomerData:
    return CustomerData(
        {k: v for k, v in data.tables.items() if k not in tables}, data.as_of, notes=list(data.notes)
    )


@pytest.fixture(scope="module")
def overview(small_data, small_config):
    return data_overview(small_data, small_config)


def test_findings_name_the_active_window_given_in_the_config(small_data):
    config = load_config(SMALL_CONFIG, {"analysis.active_days": 30})
    kpis = data_overview(small_data, config).kpis
    assert kpis.set_index("kpi").loc["active_customers", "window_days"] == 30
    findings = describe_kpis(kpis, "EUR")
    assert "(bought in the last 30 days)" in findings and "90 days" not in findings
    assert (
        format_kpis(kpis).set_index("KPI").loc["Active customers", "Basis"]
        == "bought in the last 30 days (census)"
    )
    assert headline_sentence(kpis, "EUR").endswith("after refunds.")


def test_kpi_table_labels_and_bases_come_from_the_numbers(small_data):
    kpis = headline_kpis(small_data)
    table = format_kpis(kpis, "EUR").set_index("KPI")
    assert list(table.index) == [KPI_LABELS[k] for k in kpis["kpi"]]
    assert set(kpis["kpi"]) <= set(KPI_BASIS)
    n = int(kpis.set_index("kpi").loc["revenue_per_buyer", "n"])
    assert (
        table.loc["Revenue per buying customer", "Basis"]
        == f"mean over {n:,} customers who bought in 12 months; 95% CI"
    )
    respondents = int(kpis.set_index("kpi").loc["nps", "respondents"])
    assert table.loc["NPS", "Basis"].startswith(f"latest answer of {respondents:,} respondents (")
    assert table.loc["Customers (all time)", "95% interval"] == "–"


def test_headline_sentence_is_the_first_finding_without_bold(small_data):
    kpis = headline_kpis(small_data)
    first = describe_kpis(kpis, "EUR").split("after refunds.")[0] + "after refunds."
    assert headline_sentence(kpis, "EUR") == first.replace("**", "")
    assert "**" not in headline_sentence(kpis, "EUR")


def test_without_transactions_the_headline_is_the_churn_rate(small_data):
    kpis = headline_kpis(without(small_data, "transactions"))
    assert "active_customers" not in set(kpis["kpi"])
    assert headline_sentence(kpis, "EUR").startswith("Churn rate, last 12 months: ")
    assert describe_kpis(kpis, "EUR").startswith("Churn rate, last 12 months: **")


def test_every_section_shows_its_tables_on_the_full_demo(overview):
    assert "Check before relying" not in text(health_report(overview))
    assert "All 6 tables passed validation." in text(health_report(overview))
    assert "Churn rate" in text(kpi_report(overview))
    for report in (customer_mix_report, channel_report, touchpoint_report):
        assert "<table" in text(report(overview)) and "Not available" not in text(report(overview))
    assert revenue_report(overview) == [] and score_report(overview) == []


def test_every_chart_draws_on_the_full_demo(overview):
    for plot in PLOTS:
        assert plot(overview) is not None, plot.__name__
    plt.close("all")


@pytest.mark.parametrize(
    ("absent", "sentence"),
    [
        ("transactions", "*Not available: the config supplies no transactions table.*"),
        ("interactions", "*Not available: the config supplies no interactions table.*"),
        ("surveys", "*Not available: the config supplies no surveys with NPS or CSAT.*"),
    ],
)
def test_an_absent_table_is_said_plainly_and_its_charts_are_not_drawn(
    small_data, small_config, absent, sentence
):
    overview = data_overview(without(small_data, absent), small_config)
    shown = "\n".join(text(report(overview)) for report in REPORTS)
    assert sentence in shown
    drawn = {plot.__name__ for plot in PLOTS if plot(overview) is not None}
    plt.close("all")
    missing = {
        "transactions": {"plot_revenue_trend", "plot_revenue_by_channel"},
        "interactions": {"plot_touchpoints"},
        "surveys": {"plot_scores"},
    }[absent]
    assert drawn == {p.__name__ for p in PLOTS} - missing


def test_without_a_group_column_the_customer_mix_says_why(small_data, small_config):
    customers = small_data["customers"].drop(columns=["plan", "acquisition_channel", "region"])
    data = CustomerData({**small_data.tables, "customers": customers}, small_data.as_of)
    overview = data_overview(data, small_config)
    # a bare customers table still shows who leaves: churn by tenure band, bands in their own order
    mix = overview.customer_mix
    assert overview.mix_column == "tenure" and mix["customers"].sum() == len(customers)
    assert list(mix["tenure"]) == [b for b in TENURE_ORDER if b in set(mix["tenure"])]
    bands = tenure_bands(customers, data.as_of, customers["churn_date"])  # contractual demo
    for _, row in mix.dropna(subset=["churn_rate"]).iterrows():
        assert row["churn_rate"] == pytest.approx(customers.loc[bands == row["tenure"], "churned"].mean())
    assert "Tenure" in plot_churn_by_group(overview).get_ylabel()
    plt.close("all")


def test_tenure_bands_follow_the_months_from_signup_to_churn_or_as_of():
    frame = pd.DataFrame(
        {
            "signup_date": pd.to_datetime(["2025-03-01", "2024-01-01", "2020-01-01", "2024-06-01"]),
            "churn_date": pd.to_datetime([None, "2024-04-01", None, "2025-11-01"]),
        }
    )
    bands = tenure_bands(frame, pd.Timestamp("2025-12-31"), frame["churn_date"]).tolist()
    assert bands == ["6-12 months", "under 6 months", "4 years or more", "1-2 years"]


def test_csat_stands_in_for_nps(small_data, small_config):
    surveys = small_data["surveys"].drop(columns=["nps"])
    overview = data_overview(
        CustomerData({**small_data.tables, "surveys": surveys}, small_data.as_of), small_config
    )
    assert score_report(overview) == []
    ax = plot_scores(overview)
    assert "of respondents are satisfied (CSAT 4-5" in ax.get_title()
    plt.close("all")


def test_the_overview_holds_no_customer_ids(overview, small_data):
    ids = set(small_data["customers"]["customer_id"])
    for name, value in vars(overview).items():
        if isinstance(value, pd.DataFrame):
            assert "customer_id" not in value.columns, name
            assert not ids & set(value.astype(str).to_numpy().ravel()), name


def test_a_tenure_of_whole_years_falls_in_its_own_band():
    """Tenures of exactly 1 and 2 years (signup dates counted back from a tenure in years) are "1-2
    years" and "2-4 years", not "6-12 months" and "1-2 years" by a day's rounding."""
    as_of = pd.Timestamp("2025-12-31")
    frame = pd.DataFrame({"signup_date": [as_of - pd.DateOffset(years=y) for y in (1, 2, 4)]})
    assert tenure_bands(frame, as_of).tolist() == ["1-2 years", "2-4 years", "4 years or more"]


@pytest.mark.parametrize("gold_churn, names_gold", [(0.9, True), (0.1, False)])
def test_the_churn_chart_names_a_group_only_when_its_interval_stands_apart(
    small_data, small_config, gold_churn, names_gold
):
    """Planted: 200 'gold' customers churn at 90% (or, like the rest, 10%); the rest at 10%."""
    n = len(small_data["customers"])
    plan = ["gold"] * 200 + ["basic"] * (n - 200)
    churned = [i < gold_churn * 200 for i in range(200)] + [i % 10 == 0 for i in range(n - 200)]
    customers = small_data["customers"].assign(plan=plan, churned=churned)
    data = CustomerData({**small_data.tables, "customers": customers}, small_data.as_of)
    title = plot_churn_by_group(data_overview(data, small_config)).get_title()
    plt.close("all")
    assert ("'gold' loses the most customers" in title) == names_gold, title
    assert ("no group stands out" in title) != names_gold, title


def test_findings_list_the_kpi_sentences_then_count_the_validation_warnings(overview):
    items = describe_findings(overview).splitlines()
    assert all(item.startswith("- ") for item in items)
    assert " ".join(item[2:] for item in items) == describe_kpis(overview.kpis, overview.currency)
    flagged = describe_findings(dataclasses.replace(overview, warnings=("a", "b"))).splitlines()
    assert flagged[:-1] == items
    assert flagged[-1].startswith("- Validation flagged 2 things in the data worth a look")


def test_touchpoint_kinds_read_as_in_the_chart(overview):
    shown = text(touchpoint_report(overview))
    assert "cart abandoned" in shown and "cart_abandoned" not in shown

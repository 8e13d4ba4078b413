"""Reports speak only of the data given (issue 10, part 2).

The overview and churn report functions run on the small demo with tables removed, with derived
signup dates, and on a churn snapshot; every sentence, heading and chart text is scanned by
:func:`tests.absent_data.absent_data_sentences`. Known answers are planted in the test: the first
month of data made the largest, 51 groups with one retention, a signup date dated at the first
order, a tenure column in years.
"""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
import pytest  # noqa: E402
import yaml  # noqa: E402
from IPython.display import Markdown  # noqa: E402

from cxlib import churn  # noqa: E402
from cxlib.churn._findings_scope import tenure_cap_sentence  # noqa: E402
from cxlib.data._config import load_config  # noqa: E402
from cxlib.data._load import FIRST_ORDER, CustomerData, load_data  # noqa: E402
from cxlib.features._time import DAYS_PER_MONTH  # noqa: E402
from cxlib.overview import (  # noqa: E402
    channel_report,
    customer_mix_report,
    data_overview,
    health_report,
    kpi_report,
    plot_churn_by_group,
    plot_new_customers,
    plot_revenue_by_channel,
    plot_revenue_trend,
    plot_scores,
    plot_touchpoints,
    report_intro,
    revenue_report,
    score_report,
    section_heading,
    touchpoint_report,
)
from cxlib.report._charts import plot_monthly_revenue, plot_signups  # noqa: E402
from cxlib.run._artifacts import load_validated, save_validated  # noqa: E402

from .absent_data import absent_data_sentences, report_text  # noqa: E402
from .conftest import ROOT  # noqa: E402

OPTIONAL = ("transactions", "interactions", "surveys", "programme", "referrals")
SECTIONS = ("kpis", "customers", "revenue", "channels", "touchpoints", "scores")
PLOTS = (
    plot_new_customers,
    plot_churn_by_group,
    plot_revenue_trend,
    plot_revenue_by_channel,
    plot_touchpoints,
    plot_scores,
)
REPORTS = (health_report, kpi_report, customer_mix_report, revenue_report, channel_report)
REPORTS += (touchpoint_report, score_report)


def variant(data: CustomerData, drop=(), derived=None) -> CustomerData:
    """The demo without some tables and, optionally, with a derived signup date."""
    # loading's notes name their table: only those of the tables kept were "said" by this data
    notes = [n for n in data.notes if n.split(".")[0].split(":")[0] not in drop]
    return CustomerData(
        {k: v for k, v in data.tables.items() if k not in drop},
        data.as_of,
        notes=notes,
        derived_columns={} if derived is None else {"customers.signup_date": derived},
    )


def present_columns(data: CustomerData) -> set[str]:
    columns = {f"{name}.{c}" for name, frame in data.tables.items() for c in frame.columns}
    return columns - set(data.derived_columns)


def parts_text(parts: list) -> str:
    return "\n".join(
        p.data if isinstance(p, Markdown) else p.to_html() if hasattr(p, "to_html") else str(p) for p in parts
    )


def chart_text(ax) -> str:
    """Title, axis labels, tick labels and legend of a chart: what a reader sees in words."""
    if ax is None:
        return ""
    words = [ax.get_title(), ax.get_xlabel(), ax.get_ylabel()]
    words += [t.get_text() for t in ax.get_yticklabels()]
    legend = ax.get_legend()
    if legend is not None:
        words += [legend.get_title().get_text()] + [t.get_text() for t in legend.get_texts()]
    plt.close(ax.figure)
    return "\n".join(words)


def overview_text(data: CustomerData, config) -> str:
    overview = data_overview(data, config)
    text = [report_intro(overview)] + [section_heading(overview, s) for s in SECTIONS]
    text += [parts_text(report(overview)) for report in REPORTS]
    text += [chart_text(plot(overview)) for plot in PLOTS]
    return "\n".join(text)


# ---------------------------------------------------------------- the checker itself


def test_checker_flags_absent_data_and_lets_absence_be_said():
    text = (
        "Unresolved complaints double churn. Not available: the config supplies no interactions table.\n"
        "NPS stands at +12. New customers peaked at 1,048 in January 2018. Churn rate: 26.5%."
    )
    found = absent_data_sentences(text, {"customers"}, {"customers.customer_id"})
    assert found == [
        "Unresolved complaints double churn.",
        "NPS stands at +12.",
        "New customers peaked at 1,048 in January 2018.",
    ]
    assert (
        absent_data_sentences(text, {"customers", "interactions", "surveys"}, {"customers.signup_date"}) == []
    )


def test_checker_lets_only_statements_of_absence_pass():
    text = "Customers without complaints stay longer. Touchpoints are not shown: the data has no interactions table."
    assert absent_data_sentences(text, {"customers"}, set()) == ["Customers without complaints stay longer."]


def test_checker_flags_waits_when_interactions_lack_the_wait_column():
    found = absent_data_sentences(
        "Long waits go with churn.",
        {"customers", "interactions"},
        {"interactions.kind", "interactions.timestamp"},
    )
    assert found == ["Long waits go with churn."]


# ---------------------------------------------------------------- overview


@pytest.mark.parametrize(
    "drop",
    [(), ("interactions",), ("surveys",), ("transactions",), ("interactions", "surveys"), OPTIONAL],
    ids=lambda d: "+".join(d) or "all",
)
def test_overview_speaks_only_of_the_tables_given(small_data, small_config, drop):
    data = variant(small_data, drop)
    text = overview_text(data, small_config)
    assert absent_data_sentences(text, set(data.tables), present_columns(data)) == []


def test_derived_signup_dates_draw_no_acquisition_trend(small_data, small_config):
    data = variant(small_data, derived="Tenure (years)")
    overview = data_overview(data, small_config)
    assert overview.signups is None and plot_new_customers(overview) is None
    text = overview_text(data, small_config)
    assert "Sign-up dates are derived from Tenure (years)" in text and "no acquisition trend" in text
    assert "signup\\_date: derived from Tenure (years), not recorded" in text
    assert absent_data_sentences(text, set(data.tables), present_columns(data)) == []


def test_recorded_signup_dates_do_draw_the_trend(small_data, small_config):
    overview = data_overview(small_data, small_config)
    assert "New customers peaked" in chart_text(plot_new_customers(overview))


def test_overview_headings_ask_only_what_the_data_can_answer(small_data, small_config):
    overview = data_overview(variant(small_data, OPTIONAL), small_config)
    assert section_heading(overview, "touchpoints") == "## Touchpoints: not available"
    assert section_heading(overview, "kpis") == "## How big is the business, and how loyal are its customers?"
    assert "friction" not in report_intro(overview) and "rate us" not in report_intro(overview)
    full = data_overview(small_data, small_config)
    assert section_heading(full, "touchpoints") == "## Where do customers meet friction?"
    assert "satisfied" in section_heading(full, "kpis")


def test_the_first_month_of_data_is_never_the_peak():
    months = pd.date_range("2024-01-01", periods=6, freq="MS")
    monthly = pd.DataFrame(
        {
            "month": months,
            "net_revenue": [9_000.0, 100.0, 300.0, 200.0, 250.0, 150.0],  # the first month is the largest
            "partial": False,
            "first_month": [True] + [False] * 5,
        }
    )
    title = plot_monthly_revenue(monthly).get_title()
    assert "March 2024" in title and "January" not in title
    signups = pd.DataFrame(
        {"month": months, "new_customers": [900, 10, 30, 20, 25, 15], "first_month": [True] + [False] * 5}
    )
    title = plot_signups(signups).get_title()
    assert "30 in March 2024" in title and "January" not in title
    plt.close("all")


def test_the_overview_marks_the_first_month_of_data(small_data, small_config):
    overview = data_overview(small_data, small_config)
    for table in (overview.monthly, overview.signups):
        assert table["first_month"].tolist() == [True] + [False] * (len(table) - 1)


def test_touchpoints_without_transactions_are_per_customer_and_say_so(small_data, small_config):
    overview = data_overview(variant(small_data, ("transactions",)), small_config)
    assert overview.touchpoint_base == "all"
    assert "per_1000_customers" in overview.touchpoints and "per_1000_active" not in overview.touchpoints
    assert overview.active_customers == len(small_data["customers"])
    text = parts_text(touchpoint_report(overview)) + chart_text(plot_touchpoints(overview))
    assert "per 1,000 customers" in text and "no customer can be called active" in text
    assert "active customers" not in text
    with_tx = data_overview(small_data, small_config)
    assert "per 1,000 active customers" in chart_text(plot_touchpoints(with_tx))


def test_churn_by_group_chart_names_its_variable(small_data, small_config):
    overview = data_overview(small_data, small_config)
    assert chart_text(plot_churn_by_group(overview)).splitlines()[2] == "Plan"


def _customers_by_state(n_states: int, rates) -> pd.DataFrame:
    rng = np.random.default_rng(0)
    rows = []
    for i in range(n_states):
        size = 40 + 5 * (i % 7)
        churned = rng.random(size) < rates[i]
        rows.append(pd.DataFrame({"region": f"S{i:02d}", "churned": churned}))
    customers = pd.concat(rows, ignore_index=True)
    customers["customer_id"] = [f"c{i}" for i in range(len(customers))]
    customers["signup_date"] = pd.Timestamp("2024-01-01")
    return customers


def test_a_long_group_table_keeps_the_groups_that_matter(small_config):
    rates = [0.1] * 50 + [0.9]  # one state stands out
    data = CustomerData({"customers": _customers_by_state(51, rates)}, pd.Timestamp("2025-01-01"))
    parts = customer_mix_report(data_overview(data, small_config))
    table = next(p for p in parts if not isinstance(p, Markdown)).data
    assert len(table) <= 12 and "S50" in set(table.iloc[:, 0])
    assert "39 of 51 Region groups are not shown" in parts_text(parts)


def test_a_table_where_every_group_is_alike_is_one_sentence(small_config):
    data = CustomerData({"customers": _customers_by_state(51, [0.0] * 51)}, pd.Timestamp("2025-01-01"))
    parts = customer_mix_report(data_overview(data, small_config))
    assert all(isinstance(p, Markdown) for p in parts)
    assert "All 51 Region groups have the same churn rate (0.0%)" in parts_text(parts)


def _state_retention(stay_all: bool) -> churn.Retention:
    rng = np.random.default_rng(1)
    n = 51 * 30
    lifetimes = pd.DataFrame(
        {
            "state": np.repeat([f"S{i:02d}" for i in range(51)], 30),
            "duration_months": rng.uniform(1, 36, n),
            "churned": np.zeros(n, bool)
            if stay_all
            else rng.random(n) < np.repeat(np.linspace(0.05, 0.9, 51), 30),
        }
    )
    curves = churn.RetentionCurves(min_group_size=10).fit(lifetimes, group_col="state")
    return churn.Retention(curves, "state", lifetimes)


def test_a_long_retention_table_is_trimmed_and_says_how_many_are_left_out():
    parts = churn.retention_report(_state_retention(stay_all=False))
    table = parts[0]
    assert len(table) <= 12 and table.columns.name == "State"
    assert "of 51 State groups are not shown" in parts_text(parts[1:])


def test_a_retention_table_of_100_percent_everywhere_is_one_sentence():
    parts = churn.retention_report(_state_retention(stay_all=True))
    assert isinstance(parts[0], Markdown)
    assert "All 51 State groups retain customers alike (100% still customers after 12 months" in parts[0].data


def test_retention_legends_name_the_variable():
    rng = np.random.default_rng(2)
    frame = pd.DataFrame(
        {
            "duration_months": rng.uniform(1, 30, 400),
            "churned": rng.random(400) < 0.3,
            "international_plan": rng.choice(["yes", "no"], 400),
            "unresolved_complaint": rng.integers(0, 2, 400).astype(float),
        }
    )
    plan = churn.RetentionCurves().fit(frame, group_col="international_plan")
    text = chart_text(plan.plot_curves())
    assert "International plan: yes" in text and "International plan: no" in text
    flag = churn.RetentionCurves().fit(frame, group_col="unresolved_complaint")
    text = chart_text(flag.plot_curves())
    assert "With unresolved complaint" in text and "Without unresolved complaint" in text
    assert not {"0", "1", "yes", "no"} & {line.split(" (n=")[0] for line in text.splitlines()}


# ---------------------------------------------------------------- derived dates recorded by loading


@pytest.fixture
def tenure_in_years(tmp_path):
    customers = pd.DataFrame(
        {"customer_id": [f"c{i}" for i in range(120)], "Tenure": [0.5 + i % 5 for i in range(120)]}
    ).assign(churned=[int(i % 4 == 0) for i in range(120)])
    customers.to_csv(tmp_path / "customers.csv", index=False)

    def config(entry: dict):
        values = {
            "company": "Snapshot",
            "data": {"dir": str(tmp_path), "tables": {"customers": {"path": "customers.csv", **entry}}},
            "analysis": {"as_of": "2024-12-31", "churn": {"definition": "contractual"}, "min_group_size": 1},
        }
        path = tmp_path / "config.yaml"
        path.write_text(yaml.safe_dump(values))
        return load_config(path)

    return config


def test_loading_records_a_signup_date_derived_from_a_tenure(tenure_in_years, tmp_path):
    data = load_data(tenure_in_years({"tenure": {"column": "Tenure", "unit": "years"}}))
    assert data.derived_columns == {"customers.signup_date": "Tenure (years)"}
    assert data.derived("customers.signup_date") == "Tenure (years)"
    save_validated(data, tmp_path / "run")
    assert load_validated(tmp_path / "run").derived_columns == data.derived_columns


def test_loading_records_a_signup_date_mapped_by_a_derivation(tenure_in_years):
    entry = {"columns": {"signup_date": {"months_before_as_of": {"multiply": ["Tenure", 12]}}}}
    assert load_data(tenure_in_years(entry)).derived_columns == {"customers.signup_date": "Tenure (months)"}


def test_recorded_signup_dates_are_not_derived(small_data):
    assert small_data.derived_columns == {}


# ---------------------------------------------------------------- churn report


@pytest.mark.parametrize(
    "drop", [(), ("interactions", "surveys"), OPTIONAL], ids=["all", "no-cx", "customers"]
)
def test_churn_intro_names_only_the_drivers_given(small_data, small_config, drop):
    data = variant(small_data, drop)
    panel = churn.churn_panel(data, small_config)
    text = churn.report_intro(panel, data)
    assert absent_data_sentences(text, set(data.tables), present_columns(data)) == []
    if "interactions" in data.tables:
        assert "complaints" in text
    else:
        assert "service experience" not in text


def _first_order_signups(data: CustomerData) -> CustomerData:
    """The demo as a retailer's export would give it: signup date = first order in the data."""
    tx = data["transactions"]
    first = tx.groupby("customer_id")["order_date"].min()
    customers = data["customers"].copy()
    customers["signup_date"] = customers["customer_id"].map(first)
    customers = customers.dropna(subset=["signup_date"])
    tables = {"customers": customers, "transactions": tx[tx["customer_id"].isin(customers["customer_id"])]}
    return CustomerData(tables, data.as_of, derived_columns={"customers.signup_date": FIRST_ORDER})


def test_tenure_capped_by_the_data_window_is_detected_and_flagged(small_data, small_config):
    data = _first_order_signups(small_data)
    panel = churn.churn_panel(data, small_config)
    window = (
        panel.design.cutoff - data["transactions"]["order_date"].min().normalize()
    ).days / DAYS_PER_MONTH
    assert panel.tenure_cap_months == pytest.approx(window, abs=0.05)
    assert panel.frame["tenure_months"].max() <= panel.tenure_cap_months + 1e-9
    sentence = tenure_cap_sentence(panel)
    assert f"capped by the data window at {window:.0f} months" in sentence
    assert sentence in churn.report_intro(panel, data)
    assert "the first order in transactions, not recorded sign-ups" in churn.report_intro(panel, data)


def test_the_findings_flag_a_capped_tenure_named_among_the_top_drivers(small_data, small_config):
    data = _first_order_signups(small_data)
    panel = churn.churn_panel(data, small_config)
    drivers = churn.ChurnDrivers.from_config(small_config).fit(panel.frame, panel.numeric, panel.categorical)
    flag = churn.tenure_flag(panel, drivers, top=len(drivers.drivers_))
    assert "capped by the data window" in flag
    assert churn.tenure_flag(panel, drivers, top=0) == ""


def test_a_demo_whose_signups_predate_no_pile_up_is_not_capped(small_data, small_config):
    """The demo company starts with its data (no customers before it): tenure is not truncated."""
    panel = churn.churn_panel(small_data, small_config)
    assert panel.tenure_cap_months is None and tenure_cap_sentence(panel) == ""


def test_key_driver_text_says_what_the_driver_is(small_data, small_config):
    data = variant(small_data, OPTIONAL[1:])
    panel = churn.churn_panel(data, small_config)
    drivers = churn.ChurnDrivers.from_config(small_config).fit(panel.frame, panel.numeric, panel.categorical)
    by_group = churn.retention_groups(data, panel, drivers, None, small_config)
    by_driver = churn.key_driver_curves(panel, drivers, by_group, small_config)
    text = churn.describe_key_driver(by_driver) + parts_text(churn.retention_report(by_driver))
    assert absent_data_sentences(text, set(data.tables), present_columns(data)) == []
    assert "complaint" not in text.lower()


def test_current_risk_scores_every_current_customer(small_data, small_config):
    panel = churn.churn_panel(small_data, small_config)
    risk = churn.current_risk(small_data, panel, small_config)
    current = churn.scoring_features(small_data, small_config)
    assert len(risk.scores) == len(current) and risk.horizon_months == small_config.analysis["horizon_months"]
    assert risk.scores["churn_probability"].between(0, 1).all()
    assert risk.bands["customers"].sum() <= len(current)


# ---------------------------------------------------------------- end to end on a real snapshot


@pytest.mark.slow
def test_telco_reports_speak_only_of_the_snapshot(tmp_path):
    """IBM Telco (customers only, signup dates derived from tenure) through the runner: notebooks 00 and 02."""
    from cxlib.run._runner import run_suite

    notebooks = [ROOT / "notebooks" / "00_data_overview.ipynb", ROOT / "notebooks" / "02_churn_drivers.ipynb"]
    out = tmp_path / "reports"
    run_suite(ROOT / "configs" / "telco.yaml", out, notebooks=notebooks)
    data = load_data(load_config(ROOT / "configs" / "telco.yaml"))
    assert data.derived_columns == {"customers.signup_date": "tenure (months)"}
    for page in ("00_data_overview.html", "02_churn_drivers.html"):
        text = report_text(out / page)
        assert absent_data_sentences(text, set(data.tables), present_columns(data)) == [], page
    overview = report_text(out / "00_data_overview.html")
    assert "no acquisition trend" in overview and "New customers peaked" not in overview
    assert "Internetservice" not in report_text(out / "02_churn_drivers.html")


def test_the_checker_does_not_excuse_a_claim_that_merely_says_have_no():
    """Only statements that data are absent pass: "who have no complaints" is still a claim about them."""
    claim = "Customers who have no complaints stay longer."
    assert absent_data_sentences(claim, {"customers"}, set()) == [claim]

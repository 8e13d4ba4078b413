"""The executive summary (notebook 06) on hand-made run folders: figures, verdict, absent data, escaping.

Each run folder is written the way notebooks 00-05 write theirs (``save_summary``, ``save_table``
after ``start_run``), from tiny tables whose numbers are chosen here, so every expected value is
known without running a model.
"""

from __future__ import annotations

import json

import matplotlib

matplotlib.use("Agg")

import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
import pytest  # noqa: E402
from IPython.display import HTML, Markdown  # noqa: E402

from cxlib import executive, impact  # noqa: E402
from cxlib.run import save_summary, save_table, start_run  # noqa: E402

from .absent_data import absent_data_sentences, html_text  # noqa: E402

AS_OF = pd.Timestamp("2025-12-31")
ALL_TABLES = ("customers", "transactions", "surveys", "interactions", "programme", "referrals")
SEGMENTS = ("Big spenders", "Occasional")
NPV = (120_000.0, -40_000.0, 300_000.0)
CHURN_OR = (2.5, 1.6, 3.9)


def _kpis(present) -> list[dict]:
    kpis = [
        {
            "kpi": "customers",
            "value": 1000.0,
            "low": None,
            "high": None,
            "unit": "customers",
            "window_days": None,
        }
    ]
    if "transactions" in present:
        kpis += [
            {"kpi": "active_customers", "value": 700.0, "unit": "customers", "window_days": 90.0},
            {"kpi": "net_revenue_12m", "value": 2_500_000.0, "unit": "currency", "window_days": 365.0},
        ]
    kpis.append(
        {
            "kpi": "churn_rate_12m",
            "value": 0.2,
            "low": 0.17,
            "high": 0.23,
            "unit": "share",
            "window_days": 365.0,
        }
    )
    if "surveys" in present:
        kpis.append(
            {"kpi": "nps", "value": 12.0, "low": 4.0, "high": 20.0, "unit": "points", "window_days": 365.0}
        )
    return kpis


def _impact_summary(present, p_roi_positive: float) -> pd.DataFrame:
    evidence = "randomised" if "programme" in present else "assumption"
    rows = [
        ("margin_loyalty", "loyalty", "money", 90_000.0, 10_000.0, 170_000.0, evidence),
        ("margin_retention", "retention", "money", 150_000.0, 50_000.0, 250_000.0, evidence),
        ("margin_total", "total", "money", 260_000.0, 80_000.0, 450_000.0, "assumption"),
        ("cost", "total", "money", 140_000.0, 120_000.0, 160_000.0, "assumption"),
        ("npv", "total", "money", *NPV, "assumption"),
        ("roi", "total", "ratio", 0.857, -0.3, 2.1, "assumption"),
        ("payback_month", "total", "months", 14.0, 6.0, np.inf, "assumption"),
        ("p_roi_positive", "total", "share", p_roi_positive, np.nan, np.nan, "assumption"),
        ("input_cost_fixed", "input", "money", 40_000.0, 40_000.0, 40_000.0, "assumption"),
    ]
    if "referrals" in present and "surveys" in present:
        rows.insert(
            2, ("margin_word_of_mouth", "word_of_mouth", "money", 20_000.0, 2_000.0, 50_000.0, "assumption")
        )
    table = pd.DataFrame(rows, columns=["figure", "lever", "unit", "value", "low", "high", "evidence"])
    return table.assign(description=table["figure"])


def make_run(
    run_dir, present=ALL_TABLES, case=True, p_roi_positive=0.95, segment=SEGMENTS[0], driver="Plan: premium"
):
    """A run folder as notebooks 00-05 leave it for these input tables (and their notebooks' skips)."""
    present = set(present)
    start_run(run_dir)
    save_summary(run_dir, "00_data_overview", "1,000 customers.", {"kpis": _kpis(present)})
    if "transactions" in present:
        save_summary(run_dir, "01_segmentation", "2 segments.", {"n_segments": 2})
        save_table(
            run_dir,
            "segment_summary",
            pd.DataFrame(
                {
                    "segment": [0, 1],
                    "name": [segment, SEGMENTS[1]],
                    "customers": [200, 800],
                    "share_of_customers": [0.2, 0.8],
                    "share_of_revenue": [0.6, 0.4],
                    "churn_rate": [0.1, 0.25],
                    # notebook 01's NPS per segment; the first too small for its small-group rule
                    **(
                        {"nps": [np.nan, 15.0], "nps_ci_low": [np.nan, 3.0], "nps_ci_high": [np.nan, 27.0]}
                        if "surveys" in present
                        else {}
                    ),
                }
            ),
        )
    save_summary(run_dir, "02_churn_drivers", "Plan drives churn.", {"churn_rate": 0.2})
    save_table(
        run_dir,
        "churn_drivers",
        pd.DataFrame(
            {
                "driver": ["plan", "tenure_months", "region"],
                "term": ["plan: premium", "tenure_months", "region: North"],
                "label": [driver, "Tenure (months)", "Region: North"],
                "unit": ["vs basic", "per SD of 8", "vs West"],
                "unit_kind": ["level", "sd", "level"],
                "odds_ratio": [CHURN_OR[0], 0.8, 1.3],
                "or_ci_low": [CHURN_OR[1], 0.7, 0.9],
                "or_ci_high": [CHURN_OR[2], 0.95, 1.9],
                "p_holm": [0.001, 0.02, 0.4],
                "driver_rank": [1, 2, 3],
                "hazard_ratio": [2.0, 0.85, 1.2],
                "unstable": [False, False, False],
                "agrees_with_raw": [True, True, True],
            }
        ),
    )
    if present & {"surveys", "interactions", "referrals"}:
        metrics = {"nps": 12.0, "nps_low": 4.0, "nps_high": 20.0} if "surveys" in present else {}
        save_summary(run_dir, "03_cx_drivers", "Drivers of the answer.", metrics)
    if "surveys" in present:
        save_table(
            run_dir,
            "driver_importance",
            pd.DataFrame(
                {
                    "term": ["rating_delivery", "rating_price"],
                    "label": ["Delivery", "Price"],
                    "share": [45.0, 30.0],
                    "share_low": [38.0, 22.0],
                    "share_high": [52.0, 37.0],
                    "rank": [1, 2],
                    "mean_rating": [3.4, 3.9],
                    "target": ["nps", "nps"],
                }
            ),
        )
        save_table(
            run_dir,
            "scores_by_group",
            pd.DataFrame(
                {
                    "variable": ["segment_name"],
                    "group": [SEGMENTS[1]],  # the other segment had too few answers: suppressed
                    "answers": [120],
                    "nps": [15.0],
                    "nps_low": [3.0],
                    "nps_high": [27.0],
                }
            ),
        )
    save_summary(
        run_dir,
        "04_customer_value",
        "Customers are worth 1.5 million EUR.",
        {
            "clv_total": 1_500_000.0,
            "clv_total_low": 1_400_000.0,
            "clv_total_high": 1_600_000.0,
            "clv_mean": 1500.0,
        }
        | {"clv_mean_low": 1400.0, "clv_mean_high": 1600.0, "horizon_months": 36},
    )
    value = pd.DataFrame(
        {
            "variable": ["all", "segment_name", "segment_name"],
            "group": ["all customers", segment, SEGMENTS[1]],
            "customers": [1000, 200, 800],
            "total": [1_500_000.0, 900_000.0, 600_000.0],
            "total_low": [1_400_000.0, 850_000.0, 550_000.0],
            "total_high": [1_600_000.0, 950_000.0, 650_000.0],
            "mean": [1500.0, 4500.0, 750.0],
            "mean_low": [1400.0, 4250.0, 690.0],
            "mean_high": [1600.0, 4750.0, 810.0],
            "method": "repeat buying",
        }
    )
    save_table(run_dir, "value_by_group", value if "transactions" in present else value.iloc[:1])
    if case and "transactions" in present:
        noun = "programme" if "programme" in present else "initiative"
        save_summary(run_dir, "05_revenue_impact", f"CX {noun}: net value 120,000 EUR.", {"npv": NPV[0]})
        summary = _impact_summary(present, p_roi_positive)
        if p_roi_positive is None:  # no costs given: no economics
            summary = summary[
                ~summary["figure"].isin(["cost", "npv", "roi", "payback_month", "p_roi_positive"])
            ]
        save_table(run_dir, "impact_summary", summary)
        save_table(
            run_dir,
            "impact_inputs",
            pd.DataFrame(
                {
                    "name": ["hazard_ratio", "cost_fixed", "cost_per_customer_year"],
                    "value": [0.8, 40_000.0, 30.0],
                    "low": [0.6, 40_000.0, 20.0],
                    "high": [1.0, 40_000.0, 40.0],
                    "unit": ["ratio", "money", "money"],
                    "evidence": ["randomised", "assumption", "assumption"],
                    "source": ["programme evaluation", "impact.cost_fixed", "impact.cost_per_customer_year"],
                }
            ),
        )
    return run_dir


def inputs_for(tmp_path, config, present=ALL_TABLES, **kwargs):
    run_dir = make_run(tmp_path / "run", present=present, **kwargs)
    return executive.executive_inputs(run_dir, config, {name: None for name in present}, AS_OF)


def page_parts(inputs) -> list:
    """Everything the notebook displays, in page order."""
    return [
        *executive.money_section(inputs),
        executive.kpi_tiles(inputs),
        Markdown(executive.describe_findings(inputs)),
        *executive.segment_section(inputs),
        *executive.driver_section(inputs),
        *executive.assumption_section(inputs),
        executive.links_section(inputs, titles={}),
        Markdown(executive.methods_section(inputs)),
    ]


def page_markup(inputs) -> list[str]:
    """Each part as the markup that reaches the page (figures: their titles and labels)."""
    out = []
    for part in page_parts(inputs):
        if isinstance(part, Markdown | HTML):
            out.append(part.data)
        elif hasattr(part, "to_html"):
            out.append(part.to_html())
        else:
            out += [text for ax in part.axes for text in (ax.get_title(), ax.get_xlabel(), ax.get_ylabel())]
            out += [t.get_text() for ax in part.axes for t in ax.texts + ax.get_xticklabels()]
    out.append(executive.executive_headline(inputs))
    return out


def page_text(inputs) -> str:
    return "\n".join(html_text(markup) for markup in page_markup(inputs))


@pytest.fixture(scope="module")
def full(tmp_path_factory, small_config):
    return inputs_for(tmp_path_factory.mktemp("full"), small_config)


def test_headline_figures_equal_their_sources(full):
    figures = executive.headline_figures(full).set_index("figure")
    assert figures.loc["npv", ["value", "low", "high"]].tolist() == list(NPV)
    assert figures.loc["npv", "evidence"] == "assumption"
    assert figures.loc["npv", "source"] == "05_revenue_impact/impact_summary:npv"
    assert figures.loc["customers", "value"] == 1000 and np.isnan(figures.loc["customers", "low"])
    assert figures.loc["customers", "period"] == "as of 31 Dec 2025"
    assert (
        figures.loc["net_revenue_12m", "value"] == 2_500_000
        and figures.loc["net_revenue_12m", "unit"] == "money"
    )
    assert figures.loc["nps", ["value", "low", "high"]].tolist() == [12, 4, 20]
    assert figures.loc["clv_total", ["value", "low", "high", "period"]].tolist() == [
        1_500_000,
        1_400_000,
        1_600_000,
        "next 36 months",
    ]
    assert figures.loc["margin_retention", "evidence"] == "randomised"
    assert figures.loc["top_churn_driver_odds_ratio", ["value", "low", "high"]].tolist() == list(CHURN_OR)
    assert figures.loc["top_satisfaction_driver_share", "value"] == 45.0
    assert (
        figures.loc["top_segment_revenue_share", "source"] == f"01_segmentation/segment_summary:{SEGMENTS[0]}"
    )
    saved = executive.summary_metrics(full)["figures"]
    assert [f["figure"] for f in saved] == list(figures.index)


def test_the_page_shows_the_figures_formatted(full):
    text = page_text(full)
    for shown in (
        "120,000 EUR",
        "-40,000 EUR to 300,000 EUR",
        "86%",
        "month 14",
        "1,000",
        "1.50 million EUR",
    ):
        assert shown in text, shown
    assert (
        "Plan: premium" in text and "2.50 (1.60 to 3.90)" in text
    )  # top churn driver, named with its variable
    assert "45% (38% to 52%)" in text  # top satisfaction driver
    assert "4,500 (4,250 to 4,750)" in text and "Value per customer (EUR)" in text  # a segment's value
    assert "Region: North" not in text  # not clear (Holm p 0.4): not among the top drivers


@pytest.mark.parametrize("p", [0.95, 0.6, 0.2])
def test_the_verdict_is_the_revenue_reports(tmp_path, small_config, p):
    inputs = inputs_for(tmp_path, small_config, p_roi_positive=p)
    code = impact.decision(p, True)
    assert code == {0.95: "fund", 0.6: "fund_where_it_pays", 0.2: "do_not_fund"}[p]
    assert executive.summary_metrics(inputs)["decision"] == code
    assert impact.verdict_text(code, "programme") in executive.recommendation(inputs)


def test_without_costs_the_margin_is_shown_and_the_return_not_judged(tmp_path, small_config):
    inputs = inputs_for(tmp_path, small_config, p_roi_positive=None)
    assert executive.summary_metrics(inputs)["decision"] == "no_costs"
    assert list(executive.waterfall_table(inputs)["step"]) == [
        "loyalty",
        "retention",
        "word_of_mouth",
        "margin_total",
    ]
    text = page_text(inputs)
    assert "260,000 EUR" in text and "No costs were given" in text
    assert "Net present value" not in text


def test_the_segment_a_source_suppressed_shows_no_nps(full):
    table = executive.segment_table(full).set_index("Segment")
    assert table.loc[SEGMENTS[0], "NPS"] == "–"
    assert table.loc[SEGMENTS[1], "NPS"] == "15 (3 to 27)"


#: Each absent input and the plain sentence the page must carry instead.
ABSENT = {
    "surveys": "No survey data was supplied: NPS and the satisfaction drivers are not available.",
    "interactions": "No interaction data was supplied",
    "programme": "No programme data was supplied",
    "referrals": "No referral data was supplied, so the word-of-mouth lever is left out.",
    "transactions": "No transaction data was supplied",
}


@pytest.mark.parametrize("absent", list(ABSENT))
def test_an_absent_table_is_named_plainly_and_never_spoken_of(tmp_path, small_config, absent):
    present = [t for t in ALL_TABLES if t != absent]
    inputs = inputs_for(tmp_path, small_config, present=present)
    text = page_text(inputs)
    assert ABSENT[absent] in text
    assert absent_data_sentences(text, set(present), {"customers.signup_date"}) == []
    if absent == "transactions":
        assert "no revenue data was supplied" in text  # 05 could not run: the reason, not a blank
        assert "Segments by share" not in text


def test_without_the_revenue_case_the_page_says_why(tmp_path, small_config):
    inputs = inputs_for(tmp_path, small_config, case=False)
    text = page_text(inputs)
    assert "The revenue case could not be built" in text and "was not part of this run" in text
    assert executive.summary_metrics(inputs)["decision"] is None
    assert absent_data_sentences(text, set(ALL_TABLES), {"customers.signup_date"}) == []


def test_text_from_the_data_is_escaped(tmp_path, small_config):
    attack = "<img src=x onerror=alert(1)>"
    inputs = inputs_for(tmp_path, small_config, segment=attack, driver=f"Plan: {attack}")
    markup = "\n".join(page_markup(inputs))
    assert attack in page_text(inputs)  # shown, as text
    assert "<img src=x" not in markup


def test_a_case_resting_on_the_pilot_lists_its_extrapolation_as_an_assumption(tmp_path, small_config):
    with_pilot = page_text(inputs_for(tmp_path / "pilot", small_config))
    assert "last the whole horizon and hold for every enrolled customer" in with_pilot
    present = [t for t in ALL_TABLES if t != "programme"]
    without = page_text(inputs_for(tmp_path / "none", small_config, present=present))
    assert "last the whole horizon" not in without


@pytest.mark.parametrize(
    ("kpi", "wording"),
    [
        ("churn_rate_snapshot", "of customers churned, as of"),
        ("lapse_rate", "of earlier buyers lapsed: no purchase in the last 180 days"),
    ],
)
def test_the_churn_tile_shows_the_churn_rate_of_any_definition(tmp_path, small_config, kpi, wording):
    run_dir = make_run(tmp_path / "run")
    path = run_dir / "summaries" / "00_data_overview.json"
    summary = json.loads(path.read_text())
    for row in summary["metrics"]["kpis"]:
        if row["kpi"] == "churn_rate_12m":
            row.update(kpi=kpi, window_days=180.0 if kpi == "lapse_rate" else None)
    path.write_text(json.dumps(summary))
    inputs = executive.executive_inputs(run_dir, small_config, {name: None for name in ALL_TABLES}, AS_OF)
    tiles = html_text(executive.kpi_tiles(inputs).data)
    assert "20%" in tiles and wording in tiles and "95% CI 17.0% to 23.0%" in tiles


def test_sparse_data_still_get_three_findings(tmp_path, small_config):
    # customers only: no segments, satisfaction, money or revenue, so the churn rate and the
    # customer-value report's own headline fill the findings
    run_dir = make_run(tmp_path / "run", present=["customers"], case=False)
    save_summary(run_dir, "04_customer_value", "An active subscriber stays 30.9 discounted months.", {})
    inputs = executive.executive_inputs(run_dir, small_config, {"customers": None}, AS_OF)
    text = executive.describe_findings(inputs)
    assert "Churn: **20.0%** of customers left in the last 12 months (95% CI 17.0% to 23.0%)." in text
    assert "An active subscriber stays 30.9 discounted months." in text
    assert text.count("\n- ") >= 3

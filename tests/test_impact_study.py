"""The revenue case on the demo: the pilot, promoters and referrals feed the levers; labels say what each figure rests on.

The estimators' own known answers are in test_programme (the pilot, randomised and targeted),
test_loyalty (promoters' spend, referral rates), test_retention (the survival arithmetic) and
test_impact_case (the lever arithmetic in closed form). Here the study assembles them on the small
demo, every figure of the machine-readable summary is checked against the evidence of the inputs it
rests on, and the report is scanned for sentences about data it was not given.
"""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")

import json  # noqa: E402

import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
import pytest  # noqa: E402

from cxlib import impact  # noqa: E402
from cxlib.run import catalog_entry, save_table  # noqa: E402

from .absent_data import absent_data_sentences, parts_text  # noqa: E402
from .conftest import SMALL_DEMO  # noqa: E402
from .test_cx_report import _restricted  # noqa: E402
from .test_report_adapts import present_columns, variant  # noqa: E402

SECTIONS = (
    impact.lever_report,
    impact.pilot_report,
    impact.economics_report,
    impact.targeting_report,
    impact.what_if_report,
    impact.kpi_report,
    impact.assumptions_report,
)
COSTS = ("cost", "npv", "roi", "payback_month", "cost_per_retained", "p_roi_positive")


def report_text(study, data) -> str:
    return parts_text(
        impact.recommendation(study) + "\n" + impact.report_intro(study, data),
        SECTIONS,
        study,
        impact.describe_findings(study),
        impact.impact_headline(study),
    )


@pytest.fixture(scope="module")
def study(small_data, small_config):
    return impact.impact_study(small_data, small_config, n_draws=2000)


@pytest.fixture(scope="module")
def truth():
    return json.loads((SMALL_DEMO / "ground_truth.json").read_text())


def test_the_pilot_replaces_the_assumptions_and_holds_the_planted_effects(study, truth):
    planted = truth["programme"]
    h, r = study.inputs["hazard_ratio"], study.inputs["spend_ratio"]
    assert study.sources["hazard_ratio"] == study.sources["spend"] == "pilot"
    assert h.evidence == r.evidence == "randomised"
    assert h.low <= planted["churn_hazard_ratio"] <= h.high
    assert r.low <= planted["spend_multiplier"] <= r.high
    gain = study.inputs["referral_rate_gain"]
    rates = truth["referrals"]["monthly_rate_by_latest_nps_class"]
    assert gain.evidence == "observational" and gain.low <= rates["promoter"] - rates["passive"] <= gain.high
    assert study.inputs["promoter_shift"].evidence == "assumption"


#: What each lever rests on, written out here (not read from the code under test): the spend lever
#: on a spend ratio (the pilot's, or assumed) when there is one, else on the promoters' ratio x the
#: assumed shift; retention on the hazard ratio; word of mouth on the shift, the referral gain, a
#: referred customer's value and the CAC.
LEVER_INPUTS = {
    "loyalty": ("promoter_shift", "promoter_spend_ratio"),
    "retention": ("hazard_ratio",),
    "word_of_mouth": ("promoter_shift", "referral_rate_gain", "referred_value", "cac"),
}


def _expected_evidence(study, row) -> str:
    """The weakest evidence among the inputs a summary row rests on."""

    def used(names):
        return [study.inputs[n].evidence for n in names if n in study.inputs]

    levers = dict(LEVER_INPUTS)
    if "spend_ratio" in study.inputs:
        levers["loyalty"] = ("spend_ratio",)
    every = sorted({n for names in levers.values() for n in names})
    if row.figure.startswith("input_"):
        return study.inputs[row.figure.removeprefix("input_")].evidence
    if row.figure.startswith("what_if_"):
        return "observational"  # the churn model's friction ratios, read as what-ifs
    if row.figure == "kpi_acquisition_cost":
        return "assumption"  # the config's CAC
    if row.figure == "kpi_checkout_abandonment":
        return "observational"
    if row.figure in COSTS or row.figure == "kpi_retention_cost_per_retained":
        return impact.weakest(used([*every, "cost_fixed", "cost_per_customer_year"]))
    if row.lever == "total":
        return impact.weakest(used(every))
    return impact.weakest(used(levers[row.lever]))


def test_every_figure_of_the_summary_carries_the_evidence_it_rests_on(study):
    """A figure resting on an assumption is never labelled as measured: every row of the summary."""
    summary = impact.summary_table(study)
    assert {"margin_total", "npv", "roi", "payback_month", "p_roi_positive", "input_hazard_ratio"} <= set(
        summary["figure"]
    )
    for row in summary.itertuples():
        assert row.evidence == _expected_evidence(study, row), row.figure
    by_lever = summary.set_index("figure")["evidence"]
    assert by_lever["margin_retention"] == "randomised"  # the pilot's hazard ratio alone
    assert by_lever["margin_word_of_mouth"] == "assumption"  # the assumed shift to promoter
    assert by_lever["npv"] == "assumption"  # the costs are the company's plan
    finite = summary.dropna(subset=["low", "high"])
    finite = finite[np.isfinite(finite["high"])]
    assert (finite["low"] <= finite["value"] + 1e-9).all() and (
        finite["value"] <= finite["high"] + 1e-9
    ).all()


def test_the_catalog_accepts_the_handed_on_tables(study, tmp_path):
    spec = catalog_entry("05_revenue_impact")
    tables = impact.catalog_tables(study)
    assert set(tables) == {s.name for s in spec.writes}
    for name, table in tables.items():
        save_table(tmp_path, name, table, notebook="05_revenue_impact")


def test_the_report_speaks_only_of_the_data_given(study, small_data):
    text = report_text(study, small_data)
    assert absent_data_sentences(text, set(small_data.tables), present_columns(small_data)) == []
    for word in ("randomised pilot", "assumption", "Net present value", "Where to start?"):
        assert word in text


@pytest.fixture(scope="module")
def slice_data(small_data):
    return _restricted(small_data, small_data["customers"]["customer_id"].head(1200))


@pytest.mark.parametrize(
    "drop",
    [("programme",), ("surveys",), ("programme", "surveys", "referrals", "interactions")],
    ids=lambda d: "without " + "+".join(d),
)
def test_without_a_table_the_case_falls_back_to_labelled_assumptions(slice_data, small_config, drop):
    data = variant(slice_data, drop=drop)
    study = impact.impact_study(data, small_config, n_draws=500)
    text = report_text(study, data)
    assert absent_data_sentences(text, set(data.tables), present_columns(data)) == []
    summary = impact.summary_table(study).set_index("figure")
    if "programme" in drop:
        assert (
            study.sources["hazard_ratio"] == "config"
            and study.inputs["hazard_ratio"].evidence == "assumption"
        )
        assert summary.loc["margin_retention", "evidence"] == "assumption"
        assert "Not available" in text
    if "surveys" in drop:
        assert "referral_rate_gain" not in study.inputs and "margin_word_of_mouth" not in summary.index
    if "programme" in drop and "surveys" in drop:
        assert study.sources["spend"] == "config"
        assert set(summary["evidence"]) == {"assumption"} | ({"observational"} & set(summary["evidence"]))
        assert summary.loc["margin_total", "evidence"] == "assumption"


def test_the_notebook_takes_the_programme_cost_as_a_papermill_parameter(tmp_path):
    """Notebook 05 alone under the runner (papermill): a cost of a billion makes every simulation lose money."""
    import pandas as pd

    from cxlib.run._runner import NOTEBOOKS, run_suite

    from .conftest import SMALL_CONFIG

    out = tmp_path / "reports"
    run_suite(
        SMALL_CONFIG, out, notebooks=[NOTEBOOKS / "05_revenue_impact.ipynb"], params={"programme_cost": 1e9}
    )
    data = out.with_name("reports-data")
    summary = pd.read_parquet(data / "impact_summary.parquet").set_index("figure")
    assert summary.loc["cost", "value"] >= 1e9 and summary.loc["p_roi_positive", "value"] == 0
    saved = json.loads((data / "summaries" / "05_revenue_impact.json").read_text())
    assert saved["metrics"]["p_roi_positive"] == 0 and saved["metrics"]["npv"] < -0.9e9
    assert (out / "05_revenue_impact.html").is_file()


def test_referred_profiles_come_from_the_bases_scoring_features(study, small_data, small_config):
    """The retention base keeps the current customers' churn features (the lifetime fit's), equal to
    :func:`cxlib.churn.scoring_features`: the referred customers' values read their profiles there
    instead of computing the features again, and come out the same."""
    import dataclasses

    from cxlib.churn import scoring_features
    from cxlib.impact._study import _new_customer_values

    features = scoring_features(small_data, small_config)
    pd.testing.assert_frame_equal(study.base.scoring, features, check_exact=True)
    values = _new_customer_values(study, small_data, small_config)
    assert values is not None and len(values) > 0
    study_without = dataclasses.replace(study, base=dataclasses.replace(study.base, scoring=None))
    pd.testing.assert_series_equal(values, _new_customer_values(study_without, small_data, small_config))

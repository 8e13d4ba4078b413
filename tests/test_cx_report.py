"""The customer-experience report (notebook 03): it speaks only of the data given, escapes what the
data say, hands its tables on as the run catalog declares, and runs on a survey-only dataset.

Known answers for the analyses themselves live beside each module (test_nps_scores, test_key_drivers,
test_friction, test_journey); here the whole study runs on the small demo with tables removed, and
every sentence of its report is scanned by :func:`tests.absent_data.absent_data_sentences`.
"""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")

import pandas as pd  # noqa: E402
import pytest  # noqa: E402

from cxlib import experience  # noqa: E402
from cxlib.data._config import load_config  # noqa: E402
from cxlib.data._load import load_data  # noqa: E402
from cxlib.experience._friction_effects import fit_churn_driver_table  # noqa: E402
from cxlib.run import save_table  # noqa: E402
from cxlib.run._catalog import catalog_entry  # noqa: E402

from .absent_data import absent_data_sentences, parts_text  # noqa: E402
from .conftest import ROOT  # noqa: E402
from .test_report_adapts import present_columns, variant  # noqa: E402

SECTION_REPORTS = (
    experience.scores_report,
    experience.drivers_report,
    experience.friction_report,
    experience.journey_report,
    experience.referrals_report,
)
N_BOOT = 50  # enough for the report's shape; the bootstrap itself is tested in test_key_drivers


def report_text(study, data) -> str:
    """Every sentence and table cell of the report (figures by their titles and axis labels)."""
    return parts_text(
        experience.report_intro(study, data),
        SECTION_REPORTS,
        study,
        experience.describe_findings(study),
        experience.experience_headline(study),
    )


@pytest.fixture(scope="module")
def churn_table(small_data, small_config):
    return fit_churn_driver_table(small_data, small_config)


@pytest.fixture(scope="module")
def full_study(small_data, small_config, churn_table):
    return experience.experience_study(small_data, small_config, churn_drivers=churn_table, n_boot=N_BOOT)


def test_every_section_runs_on_the_demo_and_says_nothing_of_absent_data(full_study, small_data):
    assert full_study.unavailable == {}
    text = report_text(full_study, small_data)
    assert absent_data_sentences(text, set(small_data.tables), present_columns(small_data)) == []
    for heading in ("NPS", "Delivery", "Complaints", "Most customers are lost", "Promoters refer"):
        assert heading in text


@pytest.mark.parametrize(
    "drop",
    [
        ("surveys",),
        ("interactions",),
        ("referrals",),
        ("transactions",),
        ("surveys", "interactions", "referrals"),
    ],
    ids=lambda d: "without " + "+".join(d),
)
def test_report_without_optional_tables_says_what_is_missing(small_data, small_config, churn_table, drop):
    data = variant(small_data, drop=drop)
    study = experience.experience_study(
        data, small_config, churn_drivers=churn_table if "interactions" not in drop else None, n_boot=N_BOOT
    )
    text = report_text(study, data)
    assert absent_data_sentences(text, set(data.tables), present_columns(data)) == []
    if "surveys" in drop:
        assert study.scores is None and study.drivers is None
        assert "Not available: the data have no surveys" in text  # said once, in the intro
    if "interactions" in drop:
        assert study.kpis is None and "Not available: the data have no interactions" in text
    if "referrals" in drop:
        assert study.referrals is None and "Not available: the data have no referrals" in text
    if "transactions" in drop:
        assert "first_purchase" not in set(study.funnel.stages["stage"])


def test_group_names_from_the_data_are_escaped(small_data, small_config, churn_table):
    data = variant(small_data)
    customers = data["customers"].copy()
    customers["plan"] = customers["plan"].replace({"basic": "<b>basic</b> *plan*"})
    data.tables["customers"] = customers
    study = experience.experience_study(data, small_config, churn_drivers=churn_table, n_boot=N_BOOT)
    text = report_text(study, data)
    assert "<b>basic</b>" not in text
    assert "&lt;b&gt;basic&lt;/b&gt;" in text


def test_catalog_tables_carry_their_declared_columns_and_no_hidden_group(full_study, tmp_path):
    tables = experience.catalog_tables(full_study)
    assert set(tables) == {spec.name for spec in catalog_entry("03_cx_drivers").writes}
    for name, table in tables.items():
        save_table(tmp_path, name, table, notebook="03_cx_drivers")  # refuses a missing declared column
    scores = tables["scores_by_group"]
    assert scores["nps"].notna().all() or scores["csat_mean"].notna().all()
    hidden = full_study.scores.table.loc[~full_study.scores.table["shown"], ["variable", "group"]]
    assert hidden.merge(scores, on=["variable", "group"]).empty
    metrics = experience.summary_metrics(full_study)
    assert metrics["nps_low"] <= metrics["nps"] <= metrics["nps_high"]
    assert metrics["top_driver"] == full_study.drivers.summary_["label"].iloc[0]


def test_survey_only_airline_data_runs_the_driver_analysis_alone():
    config = load_config(ROOT / "configs" / "airline.yaml")
    data = load_data(config)
    study = experience.experience_study(data, config, n_boot=N_BOOT)
    assert study.target == "satisfied"
    assert len(study.drivers.summary_) == 14
    assert {"scores", "friction", "journey", "referrals"} <= set(study.unavailable)
    text = report_text(study, data)
    assert "Not available" in text and "Online boarding" in text
    weights = study.drivers.summary_["estimate"]
    assert weights.sum() == pytest.approx(study.drivers.r2_, abs=1e-9)
    assert pd.notna(study.drivers.summary_["effect"]).all()
    # a rating that goes with a lower chance of being satisfied is flagged, not listed for investment
    against = study.drivers.summary_.loc[study.drivers.summary_["effect_high"] < 1, "label"]
    matrix_text = experience.describe_matrix(study)
    if len(against):
        check = [line for line in matrix_text.splitlines() if "Check the question" in line][0]
        assert all(label in check for label in against)


def test_notebook_03_shows_the_airline_importance_performance_matrix_by_config_alone(tmp_path):
    """The survey-only airline file through notebook 03 under papermill, with its parameters."""
    import nbformat
    import papermill

    out = tmp_path / "03.ipynb"
    papermill.execute_notebook(
        str(ROOT / "notebooks" / "03_cx_drivers.ipynb"),
        str(out),
        parameters={
            "config_path": str(ROOT / "configs" / "airline.yaml"),
            "run_dir": str(tmp_path / "run"),
            "n_boot": 100,
        },
        cwd=str(ROOT / "notebooks"),
        progress_bar=False,
    )
    outputs = [o for cell in nbformat.read(out, as_version=4).cells for o in cell.get("outputs", [])]
    text = "\n".join(str(o.get("data", {}).get("text/markdown", "")) for o in outputs)
    images = sum("image/png" in o.get("data", {}) for o in outputs)
    assert images == 2  # importance bars and the importance-performance matrix
    assert "Invest first" in text and "Online boarding" in text
    assert not [o for o in outputs if o.get("output_type") == "error" or o.get("name") == "stderr"]


def _restricted(data, customers):
    """The demo restricted to some customers (every table), as a small company would export it."""
    ids = set(customers)
    tables = {}
    for name, frame in data.tables.items():
        column = "referrer_id" if name == "referrals" else "customer_id"
        kept = frame.loc[frame[column].isin(ids)]
        if name == "referrals":
            kept = kept.loc[kept["referred_id"].isin(ids)]
        tables[name] = kept.reset_index(drop=True)
    return variant(data).__class__(tables, data.as_of, notes=list(data.notes))


def test_every_rating_not_applicable_leaves_the_drivers_out_with_a_reason(
    small_data, small_config, churn_table
):
    data = variant(small_data)
    surveys = data["surveys"].copy()
    for column in [c for c in surveys if c.startswith("rating_")]:
        surveys[column] = 0.0  # the survey's "not applicable" code everywhere
    data.tables["surveys"] = surveys
    study = experience.experience_study(data, small_config, churn_drivers=churn_table, n_boot=N_BOOT)
    assert study.drivers is None and study.unavailable["drivers"] == "too_few_ratings"
    text = report_text(study, data)
    assert "fewer than two ratings have enough answers" in text.replace("Fewer", "fewer")


def test_nps_asked_of_few_and_csat_of_all_still_makes_the_score_table(small_data, small_config, churn_table):
    data = variant(small_data)
    surveys = data["surveys"].copy()
    surveys.loc[surveys.index % 3 != 0, "nps"] = float("nan")  # NPS asked of one answer in three
    data.tables["surveys"] = surveys
    study = experience.experience_study(data, small_config, churn_drivers=churn_table, n_boot=N_BOOT)
    table = experience.score_table(study)
    # the case that broke the table: a group too small for NPS but shown for CSAT
    assert ((table["NPS answers"] == "–") & (table["CSAT answers"] != "–")).any()
    assert "nan" not in report_text(study, data)


def test_a_tiny_company_gets_a_report_not_a_crash(small_data, small_config):
    """Eight customers: the churn model cannot be refitted, the drivers have too few answers."""
    data = _restricted(small_data, small_data["customers"]["customer_id"].head(8))
    study = experience.experience_study(data, small_config, n_boot=N_BOOT)
    text = report_text(study, data)
    assert "Not available" in text
    assert absent_data_sentences(text, set(data.tables), present_columns(data)) == []

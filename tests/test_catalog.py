"""The run catalog: the declared hand-over of tables between notebooks through the run folder."""

import json
import re

import nbformat
import pandas as pd
import pytest

from cxlib.exceptions import MissingInputError, NotebookRunError
from cxlib.run import CATALOG, describe_catalog, load_table, save_table, start_run
from cxlib.run._catalog import catalog_entry, check_inputs
from cxlib.run._runner import NOTEBOOKS, discover_notebooks, run_suite

from .conftest import SMALL_CONFIG
from .test_runner import PLOT, write_notebook

SEGMENTS = pd.DataFrame({"customer_id": ["C1", "C2"], "segment": [1, 2], "segment_name": ["A", "B"]})


def test_a_table_the_catalog_does_not_list_is_refused(tmp_path):
    with pytest.raises(ValueError, match=r"table 'segmnts' is not in the run catalog.*segments"):
        save_table(tmp_path, "segmnts", SEGMENTS)
    assert not (tmp_path / "segmnts.parquet").exists()


def test_a_table_written_by_another_notebook_or_without_its_columns_is_refused(tmp_path):
    with pytest.raises(ValueError, match=r"declared as written by 01_segmentation, not 02_churn_drivers"):
        save_table(tmp_path, "segments", SEGMENTS, notebook="02_churn_drivers")
    with pytest.raises(ValueError, match=r"lacks the column\(s\) segment_name"):
        save_table(tmp_path, "segments", SEGMENTS.drop(columns="segment_name"))


def test_a_saved_table_is_recorded_and_read_back(tmp_path):
    save_table(tmp_path, "segments", SEGMENTS, notebook="01_segmentation")
    pd.testing.assert_frame_equal(load_table(tmp_path, "segments"), SEGMENTS)
    record = json.loads((tmp_path / "produced.json").read_text())
    assert record["tables"]["segments"]["notebook"] == "01_segmentation"
    assert record["tables"]["segments"]["rows"] == 2


def test_a_missing_required_input_names_the_table_its_producer_and_the_fix(tmp_path):
    with pytest.raises(MissingInputError) as err:
        load_table(tmp_path, "segments")
    message = str(err.value)
    assert "table 'segments' was not produced in this run" in message
    assert "written by 01_segmentation" in message
    assert "cx run --only 01,02" in message
    assert load_table(tmp_path, "segments", required=False) is None


def test_a_table_from_an_earlier_run_is_not_used(tmp_path):
    save_table(tmp_path, "segments", SEGMENTS)
    start_run(tmp_path)  # a new run in the same folder
    assert (tmp_path / "segments.parquet").is_file()
    assert load_table(tmp_path, "segments", required=False) is None
    with pytest.raises(MissingInputError, match="is from an earlier run, so it is not used"):
        load_table(tmp_path, "segments")


def test_loading_a_table_the_catalog_does_not_list_is_an_error_even_when_optional(tmp_path):
    with pytest.raises(MissingInputError, match="not in the run catalog"):
        load_table(tmp_path, "segment", required=False)


def test_check_inputs_states_an_optional_input_and_refuses_a_missing_required_one():
    problems, notes = check_inputs(["02_churn_drivers"])
    assert problems == []
    assert notes == [
        "02_churn_drivers ran without the table 'segments' (01_segmentation is not part of this run); "
        "instead, retention curves group customers by the strongest categorical driver."
    ]
    assert check_inputs(["01_segmentation", "02_churn_drivers"]) == ([], [])
    _, notes = check_inputs(["01_segmentation", "02_churn_drivers"], skipped=["01_segmentation"])
    assert "01_segmentation is skipped in this run" in notes[0]


def test_runner_fails_before_running_when_a_required_input_is_not_produced(tmp_path, monkeypatch):
    """A required read (none of the suite's is today) stops the run before any notebook runs."""
    import cxlib.run._catalog as catalog

    reader = catalog.NotebookIO("05_reader", reads=(catalog.Read("segments"),))
    monkeypatch.setattr(catalog, "CATALOG", (*catalog.CATALOG, reader))
    notebook = write_notebook(tmp_path / "nb", "05_reader", PLOT)
    with pytest.raises(MissingInputError) as err:
        run_suite(SMALL_CONFIG, tmp_path / "reports", notebooks=[notebook])
    message = str(err.value)
    assert "nothing was run" in message
    assert "05_reader needs the table 'segments', written by 01_segmentation" in message
    assert "cx run --only 01,05" in message
    assert not (tmp_path / "reports").exists()


def _saved_tables(source: str) -> set[str]:
    saved = set(re.findall(r"save_table\(\s*run_dir,\s*\"(\w+)\"", source))
    if "experience.catalog_tables(" in source:  # notebook 03 saves the tables its data allow
        from cxlib.experience import CATALOG_TABLES

        saved |= set(CATALOG_TABLES)
    if "value.catalog_tables(" in source:  # notebook 04 likewise
        from cxlib.value import CATALOG_TABLES as VALUE_TABLES

        saved |= set(VALUE_TABLES)
    if "impact.catalog_tables(" in source:  # notebook 05 likewise
        from cxlib.impact import CATALOG_TABLES as IMPACT_TABLES

        saved |= set(IMPACT_TABLES)
    return saved


def test_the_catalog_lists_every_table_the_notebooks_write_and_read():
    notebooks = discover_notebooks()
    assert [entry.notebook for entry in CATALOG] == [nb.stem for nb in notebooks]
    for path in notebooks:
        source = "\n".join(c.source for c in nbformat.read(path, as_version=4).cells if c.cell_type == "code")
        entry = catalog_entry(path.stem)
        assert _saved_tables(source) == {spec.name for spec in entry.writes}, path.name
        loaded = set(re.findall(r"load_table\(\s*run_dir,\s*\"(\w+)\"", source))
        assert loaded <= {read.table for read in entry.reads}, path.name
    assert "segments: One row per customer" in describe_catalog()


@pytest.mark.slow
def test_only_02_without_01_fails_clearly_or_states_the_substitute(tmp_path):
    """``cx run --only 02``: the segments of an earlier run are not in the fresh run folder.

    Notebook 02 either stops naming the missing table and how to produce it, or (once it reads
    segments with ``required=False``) runs and the report index states what it used instead.
    """
    try:
        record = run_suite(
            SMALL_CONFIG, tmp_path / "reports", notebooks=[NOTEBOOKS / "02_churn_drivers.ipynb"]
        )
    except NotebookRunError as err:
        message = str(err)
        assert "MissingInputError" in message and "table 'segments'" in message
        assert "written by 01_segmentation" in message and "cx run --only 01,02" in message
    else:
        assert "ran without the table 'segments'" in record["reports"][0]["headline"]
        index = (tmp_path / "reports" / "index.html").read_text()
        assert (
            "ran without the table &#39;segments&#39;" in index or "ran without the table 'segments'" in index
        )

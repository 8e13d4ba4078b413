"""The runner: publishes reports atomically, names failures precisely, and guards silent failures."""

import json
import re

import nbformat
import pytest
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook

from cxlib.cli import main
from cxlib.exceptions import NotebookRunError, ParameterError, ReportFolderError
from cxlib.overview import _kpis as kpis
from cxlib.run._runner import NOTEBOOKS, run_suite

from .conftest import SMALL_CONFIG

PARAMETERS = (
    'config_path: str = "x.yaml"  # config\nrun_dir: str = "run"  # run folder\nsize: int = 3  # bars'
)
PLOT = "%matplotlib inline\nimport matplotlib.pyplot as plt\nplt.bar(range(size), range(size))\nplt.title('Bars')"
SUMMARY = "from cxlib.run._artifacts import save_summary\nsave_summary(run_dir, NAME, 'Three bars drawn.', {'bars': size})"


def write_notebook(folder, name, *sources, title="Test report"):
    cells = [new_markdown_cell(f"# {title}"), new_code_cell(PARAMETERS, metadata={"tags": ["parameters"]})]
    cells += [new_code_cell(s.replace("NAME", repr(name))) for s in sources]
    notebook = new_notebook(cells=cells)
    notebook.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    folder.mkdir(exist_ok=True)
    nbformat.write(notebook, folder / f"{name}.ipynb")
    return folder / f"{name}.ipynb"


@pytest.fixture
def good(tmp_path):
    return [write_notebook(tmp_path / "nb", "00_good", PLOT, SUMMARY)]


def test_successful_run_writes_offline_reports_and_index(tmp_path, good):
    out = tmp_path / "reports"
    manifest = run_suite(SMALL_CONFIG, out, notebooks=good, params={"size": 4})
    html = (out / "00_good.html").read_text()
    assert "<img" in html and "data:image/png;base64" in html
    assert "plt.bar" not in html  # code hidden
    assert "<script src" not in html and "cdn" not in html.lower()
    index = (out / "index.html").read_text()
    assert "Three bars drawn." in index and "00_good.html" in index
    record = json.loads((out / "run.json").read_text())
    assert record["parameters"] == {"size": 4}
    assert set(record["fingerprints"]) >= {"customers:customers.csv", "transactions:transactions.csv"}
    assert record["versions"]["pandas"] and record["reports"][0]["seconds"] > 0
    run_data = (
        tmp_path / "reports-data"
    )  # per-customer tables and executed notebooks: not in the report folder
    assert json.loads((run_data / "summaries" / "00_good.json").read_text())["metrics"] == {"bars": 4}
    assert (run_data / "notebooks" / "00_good.ipynb").is_file()
    assert sorted(p.name for p in out.iterdir()) == ["00_good.html", "index.html", "run.json"]
    assert manifest["reports"][0]["title"] == "Test report"
    assert sorted(p.name for p in (tmp_path / ".reports.cx-versions").iterdir() if "staging" in p.name) == []


def test_failing_notebook_names_the_cell_and_keeps_the_last_good_reports(tmp_path, good):
    out = tmp_path / "reports"
    run_suite(SMALL_CONFIG, out, notebooks=good)
    before = (out / "index.html").read_text()
    bad = write_notebook(tmp_path / "nb", "01_bad", PLOT, "raise ValueError('boom in the model')")
    with pytest.raises(
        NotebookRunError,
        match=r"01_bad.ipynb failed in cell 4 \(counting from 1, starting `raise ValueError.*`\): ValueError: boom in the model",
    ):
        run_suite(SMALL_CONFIG, out, notebooks=[*good, bad])
    assert (out / "index.html").read_text() == before
    assert not (out / "01_bad.html").exists()
    failed = tmp_path / ".reports.cx-versions" / "failed-run" / "run-data" / "notebooks"
    assert (failed / "01_bad.ipynb").is_file()


def test_a_report_folder_holding_the_users_files_is_refused_and_left_untouched(tmp_path, good):
    out = tmp_path / "mixed"
    out.mkdir()
    (out / "customers.csv").write_text("customer_id\n1\n")
    (out / "notes").mkdir()
    with pytest.raises(ReportFolderError, match=r"did not write \(customers.csv, notes\)"):
        run_suite(SMALL_CONFIG, out, notebooks=good)
    assert sorted(p.name for p in out.iterdir()) == ["customers.csv", "notes"]
    assert (out / "customers.csv").read_text() == "customer_id\n1\n"
    assert not (tmp_path / ".mixed.cx-versions").exists()


def test_a_rerun_replaces_the_previous_runs_outputs_and_keeps_one_version(tmp_path, good):
    out = tmp_path / "reports"
    second = write_notebook(tmp_path / "nb", "01_second", PLOT, SUMMARY)
    run_suite(SMALL_CONFIG, out, notebooks=[*good, second])
    run_suite(SMALL_CONFIG, out, notebooks=good)
    assert sorted(p.name for p in out.iterdir()) == ["00_good.html", "index.html", "run.json"]
    assert not (tmp_path / "reports-data" / "notebooks" / "01_second.ipynb").exists()  # went with its run
    store = sorted(p.name for p in (tmp_path / ".reports.cx-versions").iterdir())
    assert len([name for name in store if name.startswith("v-")]) == 1, store


def test_unknown_parameter_is_an_error_before_anything_runs(tmp_path, good):
    with pytest.raises(
        ParameterError, match="parameter 'sise' is not declared by any notebook \\(did you mean 'size'"
    ):
        run_suite(SMALL_CONFIG, tmp_path / "reports", notebooks=good, params={"sise": 4})
    assert not (tmp_path / "reports").exists()


def test_charts_that_do_not_render_fail_the_run(tmp_path):
    agg = "import matplotlib\nmatplotlib.use('Agg')\nimport matplotlib.pyplot as plt\nplt.bar([1], [1])"
    notebook = write_notebook(tmp_path / "nb", "00_agg", agg)
    with pytest.raises(NotebookRunError, match="chart did not render|produced no charts"):
        run_suite(SMALL_CONFIG, tmp_path / "reports", notebooks=[notebook])


def test_a_warning_in_a_report_fails_the_run(tmp_path):
    notebook = write_notebook(
        tmp_path / "nb", "00_warn", PLOT, "import warnings\nwarnings.warn('careful now')"
    )
    with pytest.raises(NotebookRunError, match="00_warn.ipynb, cell 4: wrote to stderr.*careful now"):
        run_suite(SMALL_CONFIG, tmp_path / "reports", notebooks=[notebook])


def test_cli_reports_every_data_problem_and_exits_1(demo_copy, capsys):
    tx = demo_copy.read("transactions")
    tx.loc[0, "Amount"] = "lots"
    tx.loc[1, "OrderDate"] = "yesterday"
    demo_copy.write("transactions", tx)
    assert main(["validate", "--config", str(demo_copy.config)]) == 1
    err = capsys.readouterr().err
    assert "transactions.amount: 1 row: values are not numbers" in err
    assert "transactions.order_date: 1 row: values are not dates" in err
    assert "Traceback" not in err


def test_data_overview_report_numbers_match_the_library(tmp_path, small_data):
    out = tmp_path / "reports"
    run_suite(SMALL_CONFIG, out, notebooks=[NOTEBOOKS / "00_data_overview.ipynb"])
    summary = json.loads((tmp_path / "reports-data" / "summaries" / "00_data_overview.json").read_text())
    reported = {row["kpi"]: row["value"] for row in summary["metrics"]["kpis"]}
    expected = kpis.headline_kpis(small_data, churn_definition="contractual").set_index("kpi")["value"]
    for name, value in expected.items():
        assert reported[name] == pytest.approx(value), name
    html = (out / "00_data_overview.html").read_text()
    text = re.sub(r"data:image/png;base64,[A-Za-z0-9+/=]+", "", html)
    ids = set(small_data["customers"]["customer_id"])
    assert not ids & set(re.findall(r"C\d{6}", text))  # no customer identifiers in the executive report
    assert html.count("data:image/png;base64") >= 4


def test_notebooks_needing_absent_tables_are_skipped_and_listed(tmp_path, demo_copy):
    """A contractual snapshot without transactions: the overview runs, segmentation is skipped, not failed."""
    values = demo_copy.values
    del values["data"]["tables"]["transactions"]
    demo_copy.save_config(values)
    notebooks = [NOTEBOOKS / "00_data_overview.ipynb", NOTEBOOKS / "01_segmentation.ipynb"]
    manifest = run_suite(demo_copy.config, tmp_path / "reports", notebooks=notebooks)
    skipped = manifest["reports"][1]
    assert skipped["html"] is None and "needs the transactions table" in skipped["skipped"]
    assert "needs the transactions table" in (tmp_path / "reports" / "index.html").read_text()
    overview = (tmp_path / "reports" / "00_data_overview.html").read_text()
    assert "Not available: the config supplies no transactions table." in overview

"""Run the numbered notebooks with papermill and publish the reports atomically.

The runner guards the toolchain's silent failures: an unknown parameter is an error (papermill
alone ignores it), a notebook whose charts did not render or that printed warnings fails the run,
and a failed or interrupted run leaves the previous report set untouched: everything is built in
a staging folder and published in one atomic step (see :mod:`cxlib.run._publish`) only when every
notebook succeeded. Kernels write nothing to the terminal and are stopped on SIGINT/SIGTERM (see
:mod:`cxlib.run._kernels`). Before anything runs, the selected notebooks are checked against the
run catalog (:mod:`cxlib.run._catalog`): a notebook whose required input no earlier selected
notebook produces stops the run with one message; a missing optional input is stated in the index.
The reports named in :data:`PRINTED_REPORTS` are also printed to an A4 PDF by headless Chromium
(:func:`print_reports`) in the same staging folder, so the PDF is published with its HTML or not
at all; without Chromium the run goes on and the index says the PDF is not available.
"""

from __future__ import annotations

import datetime as dt
import difflib
import json
import os
import shutil
import time
from collections.abc import Callable
from contextlib import nullcontext
from importlib import resources
from pathlib import Path

import nbformat
import papermill
import yaml
from papermill.exceptions import PapermillExecutionError

from cxlib.data._config import TABLES, load_config
from cxlib.data._load import load_data
from cxlib.exceptions import MissingInputError, NotebookRunError, ParameterError, RunInterrupted
from cxlib.report._browser import chromium_path, inspect_page
from cxlib.report._html import notebook_title, package_versions, render_html, report_header, write_index
from cxlib.report._pdf import pdf_pages
from cxlib.run import _publish as publish
from cxlib.run._artifacts import load_summaries, load_validated, save_validated
from cxlib.run._catalog import catalog_entry, check_inputs, start_run
from cxlib.run._kernels import kernel_manager_class, run_interruptibly, signals_raise, stop_kernels
from cxlib.run._memory import GIB, MemoryWatch, check_memory, estimate_memory, megabytes, release_memory
from cxlib.run._publish import Destination, Store

#: Parameters the runner itself passes to every notebook.
RUNNER_PARAMETERS = ("config_path", "run_dir")
#: Reports printed to ``<name>.pdf`` (A4) in the report folder, with a full-page screenshot
#: ``<name>.png`` in the run-data folder, when Chromium is installed.
PRINTED_REPORTS = ("06_executive_summary",)
#: Most pages each printed report may fill on A4 (on the demo data). The executive summary: page 1
#: is the story (verdict, money by lever, key figures, key findings); the supporting detail starts
#: page 2 (money and lever figures, segments, drivers, assumptions, links to the reports), and the
#: methods appendix starts a page of its own.
PRINTED_PAGES = {"06_executive_summary": 5}
#: How to get the PDFs when Chromium is missing (said in the log and in run.json).
BROWSER_HINT = "install Chromium with `make browser` (or `apt-get install chromium`) and run again"


def default_notebooks_folder() -> Path:
    """The suite's own notebooks: the copy an installed package carries, else the clone's ``notebooks/``.

    A wheel (``pip install .``) ships the top-level ``notebooks/`` as ``cxlib/notebooks/`` (copied
    at build time by ``setup.py``); in a clone, and in an editable install, the runner reads the
    top-level folder itself, the one people open in JupyterLab: one source of truth either way.
    """
    packaged = resources.files("cxlib") / "notebooks"
    if packaged.is_dir():
        return Path(str(packaged))
    return Path(__file__).resolve().parents[2] / "notebooks"


NOTEBOOKS = default_notebooks_folder()


def discover_notebooks(folder: Path = NOTEBOOKS) -> list[Path]:
    """The numbered notebooks (``00_*.ipynb``, ``01_*.ipynb``, ...) in run order."""
    return sorted(p for p in Path(folder).glob("[0-9][0-9]_*.ipynb"))


def notebook_parameters(path: Path) -> dict:
    """Parameters declared in a notebook's ``parameters`` cell (name -> papermill's description)."""
    return papermill.inspect_notebook(str(path))


def check_parameters(notebooks: list[Path], params: dict) -> dict[Path, dict]:
    """Route each parameter to the notebooks that declare it; unknown names are an error.

    Returns
    -------
    dict
        Notebook path -> the parameters it accepts.

    Raises
    ------
    ParameterError
        When a notebook lacks ``config_path``/``run_dir``, or a parameter matches no notebook.
    """
    declared = {nb: notebook_parameters(nb) for nb in notebooks}
    problems = []
    for nb, names in declared.items():
        if not names:
            problems.append(f"{nb.name}: no cell tagged 'parameters'")
        for required in RUNNER_PARAMETERS:
            if names and required not in names:
                problems.append(f"{nb.name}: parameters cell does not declare '{required}'")
    known = set().union(*declared.values()) if declared else set()
    for name in params:
        if name not in known:
            close = difflib.get_close_matches(name, sorted(known), n=1)
            hint = f" (did you mean '{close[0]}'?)" if close else f" (known: {', '.join(sorted(known))})"
            problems.append(f"parameter '{name}' is not declared by any notebook{hint}")
    if problems:
        raise ParameterError("notebook parameters:\n" + "\n".join(f"  - {p}" for p in problems))
    return {nb: {k: v for k, v in params.items() if k in names} for nb, names in declared.items()}


def missing_tables(notebook: Path, tables, config=None) -> list[str]:
    """Data tables a notebook needs that the data lacks.

    A notebook declares them in the run catalog (:attr:`NotebookIO.data
    <cxlib.run._catalog.NotebookIO>`, and ``data_any``: at least one of those, listed as one entry
    "a or b" when none is supplied; ``revenue``: transactions, or a customers column of revenue per
    month named by ``value.monthly_revenue`` in ``config``) or in its metadata (``cx.requires``, for
    notebooks the catalog does not list).
    """
    required = nbformat.read(notebook, as_version=4).metadata.get("cx", {}).get("requires", [])
    entry = catalog_entry(notebook.stem)
    required = list(dict.fromkeys([*(entry.data if entry else ()), *required]))
    missing = [name for name in required if name not in tables]
    any_of = entry.data_any if entry else ()
    if any_of and not any(name in tables for name in any_of):
        missing.append(" or ".join(any_of))
    revenue_column = config.values.get("value", {}).get("monthly_revenue") if config is not None else None
    if entry is not None and entry.revenue and "transactions" not in tables and not revenue_column:
        missing.append("transactions (or a revenue column named by value.monthly_revenue)")
    return missing


def check_hand_over(notebooks: list[Path], tables, config=None) -> list[str]:
    """Before a run: fail if a selected notebook cannot get a required input from the run catalog.

    Parameters
    ----------
    notebooks : list of Path
        The selected notebooks, in run order.
    tables : collection of str
        The data tables the config supplies (a notebook needing an absent one is skipped, so
        it produces nothing).

    Returns
    -------
    list of str
        One line per optional input that will be missing, saying what the notebook uses instead.

    Raises
    ------
    MissingInputError
        Naming each notebook, the table it needs, the notebook producing it and the command to run.
    """
    skipped = [nb.stem for nb in notebooks if missing_tables(nb, tables, config)]
    problems, notes = check_inputs([nb.stem for nb in notebooks], skipped)
    if problems:
        raise MissingInputError(
            "this run cannot hand on what its notebooks need (nothing was run):\n"
            + "\n".join(f"  - {p}" for p in problems)
        )
    return notes


def check_outputs(executed: Path) -> None:
    """Fail a notebook that wrote to stderr or whose figures did not render as images.

    Raises
    ------
    NotebookRunError
        Naming the notebook, the cell and what went wrong.
    """
    notebook = nbformat.read(executed, as_version=4)
    images = 0
    for index, cell in enumerate(notebook.cells):
        for output in cell.get("outputs", []):
            if output.get("output_type") == "stream" and output.get("name") == "stderr":
                text = output.get("text", "").strip().splitlines()
                raise NotebookRunError(
                    f"{executed.name}, cell {_source_number(notebook.cells, index)}: wrote to stderr (a warning would show in the report): "
                    f"{text[0] if text else ''}"
                )
            data = output.get("data", {})
            if "image/png" in data or "image/svg+xml" in data:
                images += 1
            elif "<Figure size" in str(data.get("text/plain", "")):
                raise NotebookRunError(
                    f"{executed.name}, cell {_source_number(notebook.cells, index)}: a chart did not render (non-inline matplotlib backend? "
                    "unset MPLBACKEND or keep '%matplotlib inline' in the first cell)"
                )
    expects_figures = notebook.metadata.get("cx", {}).get("expects_figures", True)
    if expects_figures and images == 0:
        raise NotebookRunError(
            f"{executed.name}: produced no charts; check the matplotlib backend (MPLBACKEND) and the data"
        )


def _source_number(cells: list, index: int) -> int:
    """1-based number of executed cell ``index`` in the source notebook (papermill's own cells removed)."""
    added = ("injected-parameters", "papermill-error-cell-tag")
    return index + 1 - sum(1 for c in cells[:index] if set(c.metadata.get("tags", [])) & set(added))


def _failed_cell(executed: Path) -> tuple[int, str]:
    """Number (1-based, in the source notebook) and first line of the cell that raised."""
    cells = nbformat.read(executed, as_version=4).cells
    for index, cell in enumerate(cells):
        if any(o.get("output_type") == "error" for o in cell.get("outputs", [])):
            lines = cell.source.strip().splitlines()
            return _source_number(cells, index), (lines[0][:80] if lines else "")
    return 0, ""


def execute_notebook(
    source: Path, executed: Path, params: dict, kernel_log: Path | None = None, progress: bool = False
) -> float:
    """Execute one notebook with papermill; return its run time in seconds.

    The kernel's own stdout/stderr (log lines, shutdown noise; not what cells print) go to
    ``kernel_log`` (default: discarded), never to the terminal. With ``progress``, a bar of the
    cells executed is drawn on stderr (for a terminal; the command line turns it on when stderr
    is one).

    Raises
    ------
    NotebookRunError
        Naming the notebook, the failing cell and the error.
    """
    started = time.perf_counter()
    try:
        papermill.execute_notebook(
            str(source),
            str(executed),
            parameters=params,
            kernel_name="python3",
            cwd=str(source.parent),
            progress_bar=progress,
            log_output=False,
            extra_arguments=["--IPKernelApp.log_level=ERROR"],
            kernel_manager_class=kernel_manager_class(kernel_log or os.devnull),
        )
    except PapermillExecutionError as err:
        cell_number, first_line = _failed_cell(executed)
        raise NotebookRunError(
            f"{source.name} failed in cell {cell_number} (counting from 1, starting `{first_line}`): "
            f"{err.ename}: {err.evalue}"
        ) from None
    except Exception as err:  # kernel died, notebook unreadable, ...
        raise NotebookRunError(f"{source.name} could not run: {type(err).__name__}: {err}") from None
    check_outputs(executed)
    return time.perf_counter() - started


def run_suite(
    config_path: str | Path,
    out_dir: str | Path = "reports",
    notebooks: list[Path] | None = None,
    params: dict | None = None,
    log: Callable[[str], None] = lambda message: None,
    run_data: str | Path | None = None,
    memory_check: bool = True,
    progress: bool = False,
) -> dict:
    """Validate the data, run every notebook, render reports, and publish them atomically.

    Parameters
    ----------
    config_path : str or Path
        The YAML config passed to every notebook.
    out_dir : str or Path
        Report folder (HTML and aggregates only): a link to the published version, switched only
        when the whole run succeeds. It must be new, empty, or written by an earlier run.
    notebooks : list of Path, optional
        Defaults to the numbered notebooks in ``notebooks/``.
    params : dict, optional
        Extra notebook parameters; each must be declared by at least one notebook.
    log : callable
        Receives progress lines.
    run_data : str or Path, optional
        Folder for per-customer tables, summaries and executed notebooks (for analysts, never sent
        with the reports); notebooks receive it as ``run_dir``. Default: ``<out_dir>-data``.
    memory_check : bool
        Stop before reading anything when the input files are estimated to need more memory than
        the machine has available (:func:`cxlib.run._memory.check_memory`). Either way the run
        record states the estimate and the measured peak memory of the run and of each step.
    progress : bool
        Draw a bar of executed cells per notebook on stderr (for a terminal).

    Returns
    -------
    dict
        The run record (also written to ``run.json``).

    Raises
    ------
    ConfigError, DataValidationError, ParameterError, NotebookRunError, ReportFolderError
    InsufficientMemoryError
        Before reading, when the input is estimated not to fit in the available memory.
    MissingInputError
        Before anything runs, when a selected notebook needs a table (run catalog) that no
        notebook selected before it produces.
    RunInterrupted
        On SIGINT or SIGTERM; kernels are stopped, the previous reports stay.
    """
    with signals_raise():  # from the start: a SIGTERM while validating also ends with one line
        with MemoryWatch() as watch:
            return _run_suite(
                Path(config_path).resolve(),
                out_dir,
                notebooks,
                params,
                log,
                run_data,
                memory_check,
                watch,
                progress,
            )


def _run_suite(
    config_path: Path, out_dir, notebooks, params, log, run_data, memory_check, watch, progress=False
) -> dict:
    dest = Destination.for_out(out_dir, run_data)
    if notebooks is None:
        notebooks = discover_notebooks()
        if not notebooks:
            raise NotebookRunError(
                f"no numbered notebooks (00_*.ipynb ...) found in {NOTEBOOKS}, the suite's own folder; "
                "reinstall cx-suite (`pip install .` from a clone) or pass --notebooks FOLDER"
            )
    notebooks = list(notebooks)
    if not notebooks:
        raise NotebookRunError("no numbered notebooks (00_*.ipynb ...) found")
    config = load_config(config_path)
    publish.check_destination(dest)
    configured = [name for name in TABLES if config.table_spec(name) is not None]
    hand_over_notes = check_hand_over(notebooks, configured, config)
    for note in hand_over_notes:
        log(f"note: {note}")
    estimate = check_memory(config) if memory_check else estimate_memory(config)
    log(
        f"input {estimate.input_bytes / GIB:.2f} GB: a run needs an estimated "
        f"{estimate.needed_bytes / GIB:.1f} GB of memory; {estimate.available_bytes / GIB:.1f} GB available"
    )
    log(f"validating data for {config.company} ...")
    validation_started = time.perf_counter()
    with watch.step() as validation:
        data = load_data(config)
    validation_seconds = time.perf_counter() - validation_started
    log(f"validated in {validation_seconds:.1f} s (peak memory {validation.peak / GIB:.1f} GB)")
    for warning in data.warnings:  # the overview shows them too
        log(f"warning: {warning}")
    routed = check_parameters(notebooks, params or {})
    with Store(dest, log) as store:
        store.clean_leftovers()
        staging = store.new_staging()
        started = time.perf_counter()
        try:
            reports = _run_notebooks(notebooks, config, data, routed, staging, log, watch, progress)
        except KeyboardInterrupt:
            stop_kernels()
            shutil.rmtree(staging, ignore_errors=True)
            raise
        except BaseException:
            failed = store.keep_failed(staging) / publish.RUN_DATA / "notebooks"
            log(f"run failed; previous reports left untouched; failed notebooks kept in {failed}")
            raise
        run_dir = staging / publish.RUN_DATA
        summaries = load_summaries(run_dir)
        for report in reports:
            report["headline"] = report.get("skipped") or summaries.get(report["notebook"], {}).get(
                "headline", ""
            )
            for note in hand_over_notes:  # stated in the index whatever the notebook says
                if note.startswith(f"{report['notebook']} ") and not report.get("skipped"):
                    report["headline"] = f"{report['headline']} Note: {note}".strip()
        try:
            printed = print_reports(reports, staging / publish.REPORT, run_dir, log)
        except KeyboardInterrupt:
            shutil.rmtree(staging, ignore_errors=True)
            raise
        record = {
            "company": config.company,
            "as_of": str(data.as_of.date()) if data.as_of is not None else "",
            "generated": f"{dt.datetime.now():%d %b %Y %H:%M}",
            "config_path": str(config_path),
            "config_text": yaml.safe_dump(_plain_config(config.values), sort_keys=False),
            "seed": config.seed,
            "fingerprints": data.fingerprints,
            "notes": data.notes,
            "versions": package_versions(),
            "reports": reports,
            "hand_over_notes": hand_over_notes,
            "parameters": params or {},
            "run_data": str(dest.run_data),
            "printed": printed,
            "total_seconds": round(time.perf_counter() - started, 2),
            "validation_seconds": round(validation_seconds, 2),
            "memory": {
                "input_mb": megabytes(estimate.input_bytes),
                "estimated_mb": megabytes(estimate.needed_bytes),
                "available_mb": megabytes(estimate.available_bytes),
                "validation_peak_mb": megabytes(validation.peak),
                "peak_mb": megabytes(watch.peak),
            },
        }
        report_dir = staging / publish.REPORT
        (report_dir / "run.json").write_text(
            json.dumps(record, indent=2, default=str) + "\n", encoding="utf-8"
        )
        write_index(report_dir / "index.html", record)
        try:
            store.publish(staging)
        except KeyboardInterrupt as err:
            raise RunInterrupted(getattr(err, "signum", 2), published=store.published) from None
    log(f"reports written to {dest.out / 'index.html'} (per-customer run data in {dest.run_data})")
    return record


def print_reports(
    reports: list[dict],
    report_dir: Path,
    run_dir: Path,
    log: Callable[[str], None] = lambda message: None,
) -> dict:
    """Print each rendered report of :data:`PRINTED_REPORTS` to an A4 PDF, with a screenshot.

    For a report ``NAME`` rendered to ``report_dir/NAME.html``, headless Chromium
    (:func:`cxlib.report._browser.inspect_page`) writes ``report_dir/NAME.pdf`` (A4, backgrounds
    printed, the template's ``@page`` margins) and ``run_dir/NAME.png`` (the whole page at 1280
    CSS pixels), each under a temporary name renamed when complete. The run never fails here:
    without Chromium, or when it fails, one log line says the PDF was not made and why, the entry
    says so for the index, and no partial file is left.

    Parameters
    ----------
    reports : list of dict
        The run's report entries (``notebook``, ``html``); each printed one gains ``pdf`` (the
        file name, or None) and, when there is no PDF, ``pdf_note`` (a sentence for the index).
    report_dir, run_dir : Path
        The staging folder's report and run-data parts.
    log : callable
        Receives progress lines.

    Returns
    -------
    dict
        For ``run.json``: ``chromium`` (its path, or None), ``seconds`` (time spent printing),
        ``note`` (why PDFs are missing, or None) and ``reports``: per printed report the
        ``pdf``, ``screenshot`` (relative to the run-data folder), ``pages`` (width and height
        in points), and what the browser saw (``console_errors``, ``failed_images``,
        ``network_requests``, ``cut_off``), or ``error``.
    """
    started = time.perf_counter()
    due = [r for r in reports if r["notebook"] in PRINTED_REPORTS and r.get("html")]
    chromium = chromium_path() if due else None
    printed = {"chromium": chromium, "seconds": 0.0, "note": None, "reports": {}}
    if due and chromium is None:
        names = ", ".join(f"{r['notebook']}.pdf" for r in due)
        printed["note"] = f"no Chromium found, so {names} was not made; {BROWSER_HINT}"
        log(f"note: {printed['note']}")
    for report in due:
        name = report["notebook"]
        report["pdf"] = None
        if chromium is None:
            report["pdf_note"] = (
                "The PDF of this report is not available: no Chromium browser was installed on the "
                "machine that ran the suite (make browser installs it)."
            )
            continue
        pdf, screenshot = report_dir / f"{name}.pdf", run_dir / f"{name}.png"
        entry = printed["reports"][name] = {"pdf": None, "screenshot": None}
        try:
            check = inspect_page(
                report_dir / report["html"], chromium=chromium, pdf=pdf, screenshot=screenshot
            )
        except Exception as err:  # a browser that fails must not fail the run
            entry["error"] = f"{type(err).__name__}: {err}"
            log(f"note: {name}.pdf was not made: Chromium failed ({entry['error']})")
            report["pdf_note"] = "The PDF of this report is not available: the browser that prints it failed."
            check = None
        if pdf.is_file():  # written whole or not at all
            report["pdf"] = entry["pdf"] = pdf.name
            try:
                entry["pages"] = pdf_pages(pdf)
            except ValueError as err:  # still a PDF, just not one this reader can count
                entry["pages"] = f"not read: {err}"
            report.pop("pdf_note", None)
        if screenshot.is_file():
            entry["screenshot"] = screenshot.name
        if check is not None:
            seen = ("console_errors", "failed_images", "network_requests", "cut_off")
            entry.update({key: getattr(check, key) for key in seen})
            problems = [f"{len(entry[key])} {key.replace('_', ' ')}" for key in seen if entry[key]]
            if problems:
                log(f"note: {name} in the browser: {', '.join(problems)} (see run.json)")
    printed["seconds"] = round(time.perf_counter() - started, 2)
    made = [name for name, entry in printed["reports"].items() if entry["pdf"]]
    if made:
        log(f"printed {', '.join(made)} in {printed['seconds']:.1f} s")
    return printed


def _run_notebooks(
    notebooks: list[Path],
    config,
    data,
    routed: dict,
    staging: Path,
    log: Callable[[str], None],
    watch: MemoryWatch | None = None,
    progress: bool = False,
) -> list[dict]:
    """Execute and render every notebook into ``staging``; the report entries for the index.

    The validated data is saved once into the run folder first; each notebook's
    :func:`cxlib.run._artifacts.load_run_data` reads it instead of reading and validating the files again.
    Every report gets the same header (:func:`cxlib.report.report_header`: company, run date,
    data period, config name).
    """
    header = report_header(config, data, dt.date.today())
    run_dir = staging / publish.RUN_DATA
    save_validated(data, run_dir, config)
    # the runner needs no rows while notebooks run: the saved copy, read only if asked, replaces
    # the tables in memory (on millions of rows they would double the run's peak memory)
    data.tables = load_validated(run_dir).tables
    release_memory()
    start_run(run_dir)
    config_path = config.path
    executed_dir = run_dir / "notebooks"
    executed_dir.mkdir(parents=True)
    reports = []
    for number, source in enumerate(notebooks, start=1):
        publish._checkpoint(f"notebook-{number}")
        missing = missing_tables(source, data.tables, config)
        title = notebook_title(nbformat.read(source, as_version=4), source.stem)
        if missing:
            reason = f"skipped: needs the {' and '.join(missing)} table(s), which the config does not supply"
            log(f"[{number}/{len(notebooks)}] {source.name} {reason}")
            reports.append(
                {"notebook": source.stem, "html": None, "seconds": 0.0, "title": title, "skipped": reason}
            )
            continue
        log(f"[{number}/{len(notebooks)}] {source.name} ...")
        executed = executed_dir / source.name
        kernel_log = executed_dir / f"{source.stem}.kernel.log"
        parameters = {"config_path": str(config_path), "run_dir": str(run_dir), **routed[source]}
        with watch.step() if watch is not None else nullcontext(_NoStep()) as step:
            seconds = run_interruptibly(execute_notebook, source, executed, parameters, kernel_log, progress)
        if kernel_log.is_file() and kernel_log.stat().st_size == 0:
            kernel_log.unlink()
        html_path = render_html(executed, staging / publish.REPORT / f"{source.stem}.html", header)
        reports.append(
            {
                "notebook": source.stem,
                "html": html_path.name,
                "seconds": round(seconds, 2),
                "peak_mb": megabytes(step.peak),
                "title": notebook_title(nbformat.read(executed, as_version=4), source.stem),
            }
        )
        log(
            f"[{number}/{len(notebooks)}] {source.name} done in {seconds:.1f} s "
            f"(peak memory {step.peak / GIB:.1f} GB)"
        )
    return reports


class _NoStep:
    peak = 0


def _plain_config(values):
    if isinstance(values, dict):
        return {k: _plain_config(v) for k, v in values.items()}
    if isinstance(values, list):
        return [_plain_config(v) for v in values]
    if isinstance(values, dt.date):
        return values.isoformat()
    return values

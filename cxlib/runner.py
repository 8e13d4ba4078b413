"""Run the numbered notebooks with papermill and publish the reports atomically.

The runner guards the toolchain's silent failures: an unknown parameter is an error (papermill
alone ignores it), a notebook whose charts did not render or that printed warnings fails the run,
and a failed run leaves the previous report set untouched (everything is built in a staging
folder and swapped in only when every notebook succeeded).
"""

from __future__ import annotations

import datetime as dt
import difflib
import json
import re
import shutil
import time
from collections.abc import Callable
from pathlib import Path

import nbformat
import papermill
import yaml
from papermill.exceptions import PapermillExecutionError

from cxlib.artifacts import load_summaries
from cxlib.config import load_config
from cxlib.exceptions import NotebookRunError, ParameterError, ReportFolderError
from cxlib.io import load_data
from cxlib.report import notebook_title, package_versions, render_html, write_index

NOTEBOOKS = Path(__file__).resolve().parents[1] / "notebooks"
#: Parameters the runner itself passes to every notebook.
RUNNER_PARAMETERS = ("config_path", "run_dir")
#: What a run writes at the top of its report folder, besides one ``NN_name.html`` per notebook.
RUN_OUTPUTS = ("index.html", "run.json", "notebooks", "run")
_REPORT_HTML = re.compile(r"\d\d_[\w.-]+\.html")


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


def missing_tables(notebook: Path, tables) -> list[str]:
    """Tables a notebook declares it needs (metadata ``cx.requires``) that the data lacks."""
    required = nbformat.read(notebook, as_version=4).metadata.get("cx", {}).get("requires", [])
    return [name for name in required if name not in tables]


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


def execute_notebook(source: Path, executed: Path, params: dict) -> float:
    """Execute one notebook with papermill; return its run time in seconds.

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
            progress_bar=False,
            log_output=False,
            extra_arguments=["--IPKernelApp.log_level=ERROR"],  # no kernel chatter on the terminal
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


def _written_by_a_run(path: Path) -> bool:
    return path.name in RUN_OUTPUTS or (path.is_file() and _REPORT_HTML.fullmatch(path.name) is not None)


def check_report_folder(out_dir: Path) -> None:
    """Refuse a report folder that holds anything a run did not write.

    Publishing replaces the previous report set, so a folder holding the user's own files (data,
    configs, notes) is refused before anything runs, naming those files. Hidden entries and
    README.md are left alone.

    Raises
    ------
    ReportFolderError
    """
    if not out_dir.exists():
        return
    if not out_dir.is_dir():
        raise ReportFolderError(f"the report folder {out_dir} is a file; give a folder for --out")
    foreign = sorted(
        p.name
        for p in out_dir.iterdir()
        if not p.name.startswith(".") and p.name != "README.md" and not _written_by_a_run(p)
    )
    if foreign:
        shown = ", ".join(foreign[:10]) + (f" and {len(foreign) - 10} more" if len(foreign) > 10 else "")
        raise ReportFolderError(
            f"the report folder {out_dir} holds files cx-suite did not write ({shown}); a run replaces "
            "the folder's reports, so choose an empty or new folder for --out, or move those files"
        )


def _swap_in(staging: Path, out_dir: Path) -> None:
    """Replace the previous run's outputs in ``out_dir`` with ``staging``'s content; nothing else moves."""
    previous = out_dir / f".previous-{staging.name}"
    previous.mkdir()
    old = [p for p in out_dir.iterdir() if not p.name.startswith(".") and _written_by_a_run(p)]
    for path in old:
        path.rename(previous / path.name)
    try:
        for path in staging.iterdir():
            path.rename(out_dir / path.name)
    except OSError:
        for path in previous.iterdir():  # put the last good set back
            target = out_dir / path.name
            if target.exists():
                shutil.rmtree(target) if target.is_dir() else target.unlink()
            path.rename(target)
        raise
    shutil.rmtree(previous)
    staging.rmdir()


def run_suite(
    config_path: str | Path,
    out_dir: str | Path = "reports",
    notebooks: list[Path] | None = None,
    params: dict | None = None,
    log: Callable[[str], None] = lambda message: None,
) -> dict:
    """Validate the data, run every notebook, render reports, and publish them atomically.

    Parameters
    ----------
    config_path : str or Path
        The YAML config passed to every notebook.
    out_dir : str or Path
        Report folder; replaced only when the whole run succeeds.
    notebooks : list of Path, optional
        Defaults to the numbered notebooks in ``notebooks/``.
    params : dict, optional
        Extra notebook parameters; each must be declared by at least one notebook.
    log : callable
        Receives progress lines.

    Returns
    -------
    dict
        The run manifest (also written to ``run.json``).

    Raises
    ------
    ConfigError, DataValidationError, ParameterError, NotebookRunError, ReportFolderError
    """
    config_path = Path(config_path).resolve()
    out_dir = Path(out_dir).resolve()
    notebooks = list(notebooks) if notebooks is not None else discover_notebooks()
    if not notebooks:
        raise NotebookRunError("no numbered notebooks (00_*.ipynb ...) found")
    config = load_config(config_path)
    check_report_folder(out_dir)
    log(f"validating data for {config.company} ...")
    data = load_data(config)
    for warning in data.warnings:  # the overview shows them too
        log(f"warning: {warning}")
    routed = check_parameters(notebooks, params or {})
    out_dir.mkdir(parents=True, exist_ok=True)
    staging = out_dir / f".staging-{dt.datetime.now():%Y%m%d-%H%M%S-%f}"
    run_dir = staging / "run"
    (staging / "notebooks").mkdir(parents=True)
    reports, started = [], time.perf_counter()
    try:
        for number, source in enumerate(notebooks, start=1):
            missing = missing_tables(source, data.tables)
            if missing:
                reason = (
                    f"skipped: needs the {' and '.join(missing)} table(s), which the config does not supply"
                )
                log(f"[{number}/{len(notebooks)}] {source.name} {reason}")
                title = notebook_title(nbformat.read(source, as_version=4), source.stem)
                reports.append(
                    {"notebook": source.stem, "html": None, "seconds": 0.0, "title": title, "skipped": reason}
                )
                continue
            log(f"[{number}/{len(notebooks)}] {source.name} ...")
            executed = staging / "notebooks" / source.name
            seconds = execute_notebook(
                source, executed, {"config_path": str(config_path), "run_dir": str(run_dir), **routed[source]}
            )
            html_path = render_html(executed, staging / f"{source.stem}.html")
            reports.append(
                {
                    "notebook": source.stem,
                    "html": html_path.name,
                    "seconds": round(seconds, 2),
                    "title": notebook_title(nbformat.read(executed, as_version=4), source.stem),
                }
            )
            log(f"[{number}/{len(notebooks)}] {source.name} done in {seconds:.1f} s")
    except BaseException:
        failed = out_dir / ".last-failed-run"
        shutil.rmtree(failed, ignore_errors=True)
        staging.rename(failed)
        log(f"run failed; previous reports left untouched; failed notebooks kept in {failed}")
        raise
    summaries = load_summaries(run_dir)
    for report in reports:
        report["headline"] = report.get("skipped") or summaries.get(report["notebook"], {}).get(
            "headline", ""
        )
    manifest = {
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
        "parameters": params or {},
        "total_seconds": round(time.perf_counter() - started, 2),
    }
    (staging / "run.json").write_text(json.dumps(manifest, indent=2, default=str) + "\n", encoding="utf-8")
    write_index(staging / "index.html", manifest)
    _swap_in(staging, out_dir)
    shutil.rmtree(out_dir / ".last-failed-run", ignore_errors=True)
    log(f"reports written to {out_dir / 'index.html'}")
    return manifest


def _plain_config(values):
    if isinstance(values, dict):
        return {k: _plain_config(v) for k, v in values.items()}
    if isinstance(values, list):
        return [_plain_config(v) for v in values]
    if isinstance(values, dt.date):
        return values.isoformat()
    return values

"""Publishing: the user's files are never replaced, a kill at any moment leaves a complete report
set, leftovers of killed runs are cleaned, and signals end a run with one line."""

import hashlib
import json
import re
import shutil
import signal
import subprocess
import sys
import time
import zipfile
from pathlib import Path

import nbformat
import psutil
import pytest
from nbformat.v4 import new_markdown_cell, new_notebook

from cxlib.cli import main
from cxlib.exceptions import NotebookRunError, ReportFolderError
from cxlib.run import _runner as runner
from cxlib.run._artifacts import save_summary
from cxlib.run._publish import foreign_files

from .conftest import SMALL_CONFIG
from .test_runner import PLOT, SUMMARY, write_notebook

CX = str(Path(sys.executable).parent / "cx")
STORE = ".reports.cx-versions"


def fake_execute(source, executed, params, kernel_log=None, progress=False):
    """Stand-in for a notebook run (no kernel): what a run writes, labelled by the ``label`` parameter."""
    nbformat.write(new_notebook(cells=[new_markdown_cell(f"# Run {params['label']}")]), executed)
    save_summary(params["run_dir"], source.stem, f"run {params['label']}", {"label": params["label"]})
    return 0.01


LABELLED = 'config_path: str = "x.yaml"\nrun_dir: str = "run"\nlabel: str = "none"'

#: A child process that runs the suite with fake notebooks and SIGKILLs itself at one stage.
CHILD = """
import json, os, signal, sys
from pathlib import Path
from cxlib.run import _publish as publish
from cxlib.run import _runner as runner
from tests.test_publish import fake_execute
args = json.loads(sys.argv[1])
def checkpoint(stage):
    if stage == args["kill_at"]:
        os.kill(os.getpid(), signal.SIGKILL)
runner.execute_notebook = fake_execute
publish._checkpoint = checkpoint
runner.run_suite(args["config"], args["out"], notebooks=[Path(p) for p in args["notebooks"]],
                 params={"label": args["label"]})
"""


@pytest.fixture
def labelled(tmp_path):
    """Two notebooks whose (fake) runs record a label, so a report set shows which run wrote it."""
    folder = tmp_path / "nb"
    notebooks = []
    for name in ("00_first", "01_second"):
        path = write_notebook(folder, name)
        notebook = nbformat.read(path, as_version=4)
        notebook.cells[1].source = LABELLED
        nbformat.write(notebook, path)
        notebooks.append(path)
    return notebooks


def run_fake(out, notebooks, label, monkeypatch):
    monkeypatch.setattr(runner, "execute_notebook", fake_execute)
    return runner.run_suite(SMALL_CONFIG, out, notebooks=notebooks, params={"label": label})


def visible_label(out: Path) -> str | None:
    """The label of the report set visible through ``out``, after checking it is complete and consistent."""
    if not out.exists():
        return None
    version = out.resolve().parent
    listed = json.loads((version / "cx-manifest.json").read_text())["files"]
    for rel, digest in listed.items():
        assert hashlib.sha256((version / rel).read_bytes()).hexdigest() == digest, rel
    assert foreign_files(version) == []
    record = json.loads((out / "run.json").read_text())
    headlines = {r["headline"] for r in record["reports"]}
    assert len(headlines) == 1 and len(record["reports"]) == 2, headlines
    for report in record["reports"]:
        assert (out / report["html"]).is_file()
    data = out.with_name(f"{out.name}-data")
    labels = {json.loads(p.read_text())["metrics"]["label"] for p in (data / "summaries").glob("*.json")}
    assert labels == {headlines.pop().removeprefix("run ")}  # run data and reports are from one run
    return labels.pop()


def store_entries(tmp_path):
    return sorted(p.name for p in (tmp_path / STORE).iterdir() if not p.name.startswith("v-")) + [
        "v-*" for p in (tmp_path / STORE).glob("v-*")
    ]


@pytest.mark.parametrize(
    ("stage", "visible_after_kill"),
    [
        ("notebook-2", "old"),  # while notebooks run
        ("staged", "old"),  # staging complete, renamed to a version
        ("before-switch", "old"),  # new link made, not yet switched
        ("after-switch", "new"),  # switched, previous version not yet removed
        ("cleanup", "new"),  # half of the previous version removed
    ],
)
def test_a_kill_at_any_stage_leaves_a_complete_set_and_the_next_run_cleans_up(
    tmp_path, labelled, monkeypatch, stage, visible_after_kill
):
    out = tmp_path / "reports"
    run_fake(out, labelled, "old", monkeypatch)
    args = {"config": str(SMALL_CONFIG), "out": str(out), "notebooks": list(map(str, labelled))}
    killed = subprocess.run(
        [sys.executable, "-c", CHILD, json.dumps({**args, "kill_at": stage, "label": "new"})],
        cwd=Path(__file__).resolve().parents[1],
        capture_output=True,
        text=True,
    )
    assert killed.returncode == -signal.SIGKILL, killed.stderr
    assert visible_label(out) == visible_after_kill
    run_fake(out, labelled, "next", monkeypatch)
    assert visible_label(out) == "next"
    assert store_entries(tmp_path) == [".lock", "current", "cx-suite-store.txt", "v-*"]


def _run_into_folder_holding(out, files: dict, notebooks_folder) -> int:
    """Write ``files`` (relative path -> bytes) into ``out``, then ``cx run --out out``; the exit code."""
    for rel, content in files.items():
        (out / rel).parent.mkdir(parents=True, exist_ok=True)
        (out / rel).write_bytes(content)
    return main(
        ["run", "--config", str(SMALL_CONFIG), "--out", str(out), "--notebooks", str(notebooks_folder)]
    )


def test_a_first_run_killed_after_the_switch_is_completed_by_the_next_run(tmp_path, labelled, monkeypatch):
    out = tmp_path / "reports"
    args = {"config": str(SMALL_CONFIG), "out": str(out), "notebooks": list(map(str, labelled))}
    subprocess.run(
        [sys.executable, "-c", CHILD, json.dumps({**args, "kill_at": "after-switch", "label": "first"})],
        cwd=Path(__file__).resolve().parents[1],
        check=False,
    )
    assert visible_label(out) is None  # the links were not made yet: nothing half-visible
    run_fake(out, labelled, "second", monkeypatch)
    assert visible_label(out) == "second"
    assert store_entries(tmp_path) == [".lock", "current", "cx-suite-store.txt", "v-*"]


def test_the_users_own_files_in_the_report_folder_are_refused_before_anything_runs(
    tmp_path, labelled, capsys
):
    """The issue's case: index.html, run.json, a report-like name, a notebook and a run note of the user's."""
    out = tmp_path / "board"
    own = {
        "index.html": b"<h1>my index</h1>",
        "run.json": b'{"mine": true}',
        "05_board_pack.html": b"<p>board pack</p>",
        "notebooks/my_analysis.ipynb": b"{}",
        "run/notes.txt": b"notes",
    }
    code = _run_into_folder_holding(out, own, labelled[0].parent)
    captured = capsys.readouterr()
    assert code == 1
    assert captured.out == ""  # refused before validating or running anything
    message = captured.err.strip()
    assert len(message.splitlines()) == 1 and "Traceback" not in message
    for rel in own:
        assert rel in message
    assert "nothing was run or changed" in message and "earlier cx-suite version" not in message
    assert {rel: (out / rel).read_bytes() for rel in own} == own
    assert sorted(p.name for p in tmp_path.iterdir()) == ["board", "nb"]  # no store, no run-data folder


def test_a_published_file_the_user_edited_or_added_blocks_the_next_run(tmp_path, labelled, monkeypatch):
    out = tmp_path / "reports"
    run_fake(out, labelled, "one", monkeypatch)
    (out / "index.html").write_text("my edits")
    (out / "my_notes.txt").write_text("mine")
    (tmp_path / "reports-data" / "mine.parquet").write_bytes(b"PAR1")
    with pytest.raises(ReportFolderError) as refused:
        run_fake(out, labelled, "two", monkeypatch)
    for name in ("reports/index.html", "reports/my_notes.txt", "reports-data/mine.parquet"):
        assert name in str(refused.value)
    assert (out / "index.html").read_text() == "my edits" and (out / "my_notes.txt").read_text() == "mine"


@pytest.mark.parametrize("which", ["out", "run_data"])
def test_a_link_or_folder_the_suite_did_not_make_is_refused(tmp_path, labelled, monkeypatch, which):
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    (elsewhere / "keep.txt").write_text("keep")
    link = tmp_path / ("reports" if which == "out" else "reports-data")
    link.symlink_to(elsewhere)
    with pytest.raises(ReportFolderError, match="which cx-suite did not make"):
        run_fake(tmp_path / "reports", labelled, "one", monkeypatch)
    assert (elsewhere / "keep.txt").read_text() == "keep" and link.is_symlink()


def test_cx_clean_removes_only_what_the_suite_wrote(tmp_path, labelled, monkeypatch):
    out = tmp_path / "reports"
    run_fake(out, labelled, "one", monkeypatch)
    (tmp_path / "mine.txt").write_text("mine")
    assert main(["clean", "--out", str(out)]) == 0
    assert sorted(p.name for p in tmp_path.iterdir()) == ["mine.txt", "nb"]
    run_fake(out, labelled, "two", monkeypatch)
    (out / "added.txt").write_text("mine")
    assert main(["clean", "--out", str(out)]) == 1  # refused: it would delete the user's file
    assert (out / "added.txt").read_text() == "mine"


SLOW_CELL = "from pathlib import Path\nPath({marker!r}).touch()\nimport time\ntime.sleep(120)"


@pytest.fixture
def slow_notebooks(tmp_path):
    """A quick notebook, then a slow one: the signal arrives in the second, once a first kernel has gone.

    The slow cell first touches ``slow-cell-started``, so a test signals only once the kernel is
    executing it, however loaded the machine.
    """
    quick = write_notebook(tmp_path / "slow", "00_quick", PLOT)
    marker = str(tmp_path / "slow-cell-started")
    return [quick, write_notebook(tmp_path / "slow", "01_slow", PLOT, SLOW_CELL.format(marker=marker))]


def _is_kernel(process: psutil.Process) -> bool:
    try:
        return "ipykernel" in " ".join(process.cmdline())
    except psutil.Error:  # exited (a zombie until reaped): the first notebook's kernel
        return False


def second_kernel(process: subprocess.Popen, marker: Path, timeout: float = 300) -> list[psutil.Process]:
    """Wait until the second notebook's slow cell is running (it touches ``marker``); the run's kernels."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if marker.exists():
            kernels = [
                child for child in psutil.Process(process.pid).children(recursive=True) if _is_kernel(child)
            ]
            assert kernels, "the slow cell ran but no kernel process was found"
            return kernels
        assert process.poll() is None, f"the run ended before the slow cell started: {process.communicate()}"
        time.sleep(0.2)
    raise AssertionError(f"the slow cell did not start within {timeout} s")


@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM])
def test_a_signal_ends_the_run_with_one_line_and_stops_the_kernel(
    tmp_path, labelled, slow_notebooks, monkeypatch, signum
):
    out = tmp_path / "reports"
    run_fake(out, labelled, "old", monkeypatch)
    before = {p: p.read_bytes() for p in sorted(out.iterdir())}
    process = subprocess.Popen(
        [CX, "run", "--config", str(SMALL_CONFIG), "--out", str(out), "--notebooks", str(tmp_path / "slow")],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    kernels = second_kernel(process, tmp_path / "slow-cell-started")
    process.send_signal(signum)
    stdout, stderr = process.communicate(timeout=120)
    assert process.returncode == 128 + signum, stderr
    name = signal.Signals(signum).name
    assert stderr.splitlines() == [f"cx run: interrupted by {name}; previous reports left untouched"]
    assert "Traceback" not in stdout
    for kernel in kernels:
        assert not kernel.is_running() or kernel.status() == psutil.STATUS_ZOMBIE, "kernel left running"
    assert {p: p.read_bytes() for p in sorted(out.iterdir())} == before
    assert visible_label(out) == "old"
    assert not list((tmp_path / STORE).glob("staging-*"))


def test_a_normal_run_prints_only_the_runners_progress_lines(tmp_path):
    """Kernel-level output (its log, atexit handlers) never reaches the terminal; it goes to a log."""
    noise = (
        "from ipykernel.kernelapp import IPKernelApp\n"
        "IPKernelApp.instance().log.error('KeyboardInterrupt caught in kernel.')\n"
        "import atexit, os\n"
        "_ = atexit.register(os.write, 2, b'kernel noise at exit\\n')"
    )
    write_notebook(tmp_path / "nb", "00_noisy", PLOT, noise, SUMMARY)
    out = tmp_path / "reports"
    done = subprocess.run(
        [CX, "run", "--config", str(SMALL_CONFIG), "--out", str(out), "--notebooks", str(tmp_path / "nb")],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr
    assert done.stderr == ""
    lines = done.stdout.splitlines()
    assert re.fullmatch(
        r"input \d+\.\d\d GB: a run needs an estimated [\d.]+ GB of memory; [\d.]+ GB available", lines[0]
    )
    assert lines[1].startswith("validating data for ")
    assert re.fullmatch(r"validated in [\d.]+ s \(peak memory [\d.]+ GB\)", lines[2])
    assert lines[3] == "[1/1] 00_noisy.ipynb ..."
    assert re.fullmatch(r"\[1/1\] 00_noisy.ipynb done in [\d.]+ s \(peak memory [\d.]+ GB\)", lines[4])
    assert lines[5].startswith(f"reports written to {out / 'index.html'}")
    assert len(lines) == 6, lines
    kernel_log = (tmp_path / "reports-data" / "notebooks" / "00_noisy.kernel.log").read_text()
    assert "KeyboardInterrupt caught in kernel." in kernel_log


def test_a_kill_inside_a_running_notebook_keeps_the_old_set_and_the_kernel_exits(
    tmp_path, labelled, slow_notebooks, monkeypatch
):
    out = tmp_path / "reports"
    run_fake(out, labelled, "old", monkeypatch)
    process = subprocess.Popen(
        [CX, "run", "--config", str(SMALL_CONFIG), "--out", str(out), "--notebooks", str(tmp_path / "slow")],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    kernels = second_kernel(process, tmp_path / "slow-cell-started")
    process.kill()
    process.wait()
    assert visible_label(out) == "old"
    assert list((tmp_path / STORE).glob("staging-*"))  # what the killed run left
    _, alive = psutil.wait_procs(kernels, timeout=60)  # ipykernel exits when its parent is gone
    assert not alive
    run_fake(out, labelled, "next", monkeypatch)
    assert visible_label(out) == "next"
    assert store_entries(tmp_path) == [".lock", "current", "cx-suite-store.txt", "v-*"]


@pytest.mark.parametrize(
    ("out", "run_data", "first_run"),
    [
        ("reports", "reports/data", False),  # run data inside the report folder
        ("data/reports", "data", False),  # the report folder inside the run data
        ("reports", "reports", False),
        ("reports", "./other/../reports/data", False),  # relative, with '..'
        ("reports", "alias/reports", False),  # alias -> the working folder: the same folder
        ("reports", "reports/data", True),  # through the link an earlier run made
        ("reports", ".reports.cx-versions/data", False),  # inside the version store
    ],
)
def test_overlapping_report_and_run_data_folders_are_refused_before_anything_runs(
    tmp_path, labelled, monkeypatch, capsys, out, run_data, first_run
):
    work = tmp_path / "work"
    work.mkdir()
    (work / "alias").symlink_to(work)
    monkeypatch.chdir(work)
    if first_run:
        run_fake(work / out, labelled, "old", monkeypatch)
    monkeypatch.setattr(runner, "execute_notebook", fake_execute)
    before = sorted(str(p.relative_to(work)) for p in work.rglob("*"))
    code = main(
        ["run", "--config", str(SMALL_CONFIG), "--out", out, "--run-data", run_data]
        + ["--notebooks", str(labelled[0].parent), "-p", "label=new"]
    )
    captured = capsys.readouterr()
    assert code == 1
    assert captured.out == ""  # refused before validating or running anything
    message = captured.err.strip()
    assert len(message.splitlines()) == 1 and "Traceback" not in message
    assert "overlap" in message and "neither inside the other" in message
    assert sorted(str(p.relative_to(work)) for p in work.rglob("*")) == before


def test_a_symlink_the_user_put_in_a_published_folder_blocks_the_next_run(tmp_path, labelled, monkeypatch):
    out = tmp_path / "reports"
    run_fake(out, labelled, "one", monkeypatch)
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    (elsewhere / "keep.txt").write_text("keep")
    (out / "my_folder").symlink_to(elsewhere)  # a link to a folder has no content to hash
    (out / "dangling").symlink_to(tmp_path / "nowhere")
    (tmp_path / "reports-data" / "notebooks" / "mine").symlink_to(elsewhere)
    links = ["report/dangling", "report/my_folder", "run-data/notebooks/mine"]
    assert foreign_files(out.resolve().parent) == links
    with pytest.raises(ReportFolderError) as refused:
        run_fake(out, labelled, "two", monkeypatch)
    for name in ("reports/dangling", "reports/my_folder", "reports-data/notebooks/mine"):
        assert name in str(refused.value)
    assert main(["clean", "--out", str(out)]) == 1  # refused too
    assert (out / "my_folder" / "keep.txt").read_text() == "keep" and (out / "dangling").is_symlink()
    assert json.loads((out / "run.json").read_text())["reports"][0]["headline"] == "run one"


def failing_execute(source, executed, params, kernel_log=None, progress=False):
    """Stand-in for a run whose second notebook fails (after writing its executed notebook)."""
    fake_execute(source, executed, params, kernel_log)
    if source.stem.startswith("01"):
        raise NotebookRunError(f"{source.name} failed in cell 3: ValueError: boom")
    return 0.01


def test_files_the_user_edited_or_saved_in_a_failed_run_are_kept(tmp_path, labelled, monkeypatch, capsys):
    """The README sends users to failed-run/ to debug: what they change there survives every later run."""
    out, store = tmp_path / "reports", tmp_path / STORE
    run_fake(out, labelled, "one", monkeypatch)
    lines = []

    def run(execute, label):
        monkeypatch.setattr(runner, "execute_notebook", execute)
        lines.clear()
        return runner.run_suite(
            SMALL_CONFIG, out, notebooks=labelled, params={"label": label}, log=lines.append
        )

    with pytest.raises(NotebookRunError):
        run(failing_execute, "bad")
    debugged = store / "failed-run" / "run-data" / "notebooks"
    first_failure = debugged.resolve().parents[1]
    (debugged / "00_first.ipynb").write_text("my edits")
    (debugged / "scratch.py").write_text("mine")
    with pytest.raises(NotebookRunError):
        run(failing_execute, "worse")
    kept = ["run-data/notebooks/00_first.ipynb", "run-data/notebooks/scratch.py"]
    left = sorted(p.relative_to(first_failure).as_posix() for p in first_failure.rglob("*") if p.is_file())
    assert left == ["cx-manifest.json", *kept]  # the manifest stays while files it does not vouch for do
    assert [line for line in lines if line.startswith("kept ")] == [
        f"kept 2 file(s) in {first_failure} that cx-suite did not write or that changed since it wrote them: "
        + ", ".join(kept)
    ]
    assert (debugged / "01_second.ipynb").is_file() and debugged.resolve().parents[1] != first_failure
    run(fake_execute, "two")
    assert visible_label(out) == "two"
    assert not (store / "failed-run").exists()  # the second failure was unchanged: removed whole
    assert (first_failure / kept[0]).read_text() == "my edits" and (
        first_failure / kept[1]
    ).read_text() == "mine"
    assert main(["clean", "--out", str(out)]) == 0
    assert (first_failure / kept[0]).read_text() == "my edits" and (
        first_failure / kept[1]
    ).read_text() == "mine"
    assert f"kept {store}" in capsys.readouterr().out


def test_reports_of_an_earlier_suite_version_are_refused_with_a_hint(tmp_path, labelled, capsys):
    """The layout the suite wrote before manifests: refused (not provably ours), but recognised."""
    out = tmp_path / "reports"
    earlier = {
        "index.html": b"<h1>Reports</h1>",
        "run.json": json.dumps({"company": "Demo", "fingerprints": {}, "reports": []}).encode(),
        "00_data_overview.html": b"<p>overview</p>",
        "run/segments.parquet": b"PAR1",
        "notebooks/00_data_overview.ipynb": b"{}",
    }
    code = _run_into_folder_holding(out, earlier, labelled[0].parent)
    captured = capsys.readouterr()
    assert code == 1 and captured.out == ""
    message = captured.err.strip()
    assert len(message.splitlines()) == 1 and "Traceback" not in message
    assert f"{out} looks like reports from an earlier cx-suite version" in message
    assert f"mv {out} {out}-old" in message and f"rm -r {out}" in message
    assert {rel: (out / rel).read_bytes() for rel in earlier} == earlier
    assert sorted(p.name for p in tmp_path.iterdir()) == ["nb", "reports"]


def test_the_readme_commands_for_sending_reports_copy_files_not_the_link(tmp_path, labelled, monkeypatch):
    readme = (Path(__file__).resolve().parents[1] / "README.md").read_text()
    commands = ["cp -rL reports /some/where/reports", "zip -r reports.zip reports"]
    assert all(f"`{command}`" in readme for command in commands)
    run_fake(tmp_path / "reports", labelled, "one", monkeypatch)
    monkeypatch.chdir(tmp_path)
    (tmp_path / "some" / "where").mkdir(parents=True)
    subprocess.run(["cp", "-rL", "reports", "some/where/reports"], check=True)
    copied = tmp_path / "some" / "where" / "reports"
    assert not copied.is_symlink() and (copied / "index.html").is_file()
    if shutil.which("zip"):
        subprocess.run(["zip", "-qr", "reports.zip", "reports"], check=True)
        with zipfile.ZipFile(tmp_path / "reports.zip") as archive:
            assert "reports/index.html" in archive.namelist()

"""Memory: a too-large input stops before anything is read; the run record states measured peaks.

Known answers: a block that holds 300 MB raises its step's peak by at least that much, also when
the memory is held by a child process (the notebook kernels are children of the runner); the
estimate is the documented linear rule of the input files' sizes.
"""

import json
import subprocess
import sys
import time
import types

import numpy as np
import pandas as pd
import pytest

from cxlib.cli import main
from cxlib.data import load_config
from cxlib.exceptions import InsufficientMemoryError
from cxlib.run import _memory
from cxlib.run._memory import (
    BASE_BYTES,
    BYTES_PER_INPUT_BYTE,
    CSV_BYTES_PER_FIELD,
    MemoryWatch,
    check_memory,
    estimate_memory,
    input_bytes,
)
from cxlib.run._runner import run_suite

from .conftest import SMALL_CONFIG
from .test_runner import PLOT, SUMMARY, write_notebook

MB = 2**20


def test_estimate_is_the_documented_rule_of_the_input_sizes():
    config = load_config(SMALL_CONFIG)
    files = [config.table_path(t) for t in ("customers", "transactions", "interactions", "surveys")]
    estimate = estimate_memory(config, available=10**12)
    assert estimate.input_bytes >= sum(p.stat().st_size for p in files)
    assert estimate.needed_bytes == BASE_BYTES + int(BYTES_PER_INPUT_BYTE * estimate.input_bytes)
    assert estimate.fits and check_memory(config, available=10**12) == estimate


def test_parquet_counts_as_the_csv_it_would_be(tmp_path):
    path = tmp_path / "t.parquet"
    pd.DataFrame({"x": np.zeros(200_000), "y": 1}).to_parquet(path)  # encodes to almost nothing
    assert path.stat().st_size < 10_000
    assert input_bytes([path]) == 200_000 * 2 * CSV_BYTES_PER_FIELD
    assert input_bytes([tmp_path / "missing.csv"]) == 0


def test_too_large_input_fails_before_reading_with_both_figures(tmp_path, monkeypatch):
    config = load_config(SMALL_CONFIG)
    with pytest.raises(InsufficientMemoryError) as err:
        check_memory(config, available=MB)
    message = str(err.value)
    assert "GB of memory for a run, but only 0.0 GB is available" in message
    assert "--no-memory-check" in message
    # the same through the command line: one clear line, exit code 1, no report folder made
    monkeypatch.setattr(_memory.psutil, "virtual_memory", lambda: types.SimpleNamespace(available=MB))
    out = tmp_path / "reports"
    assert main(["run", "--config", str(SMALL_CONFIG), "--out", str(out)]) == 1
    assert not out.exists()


def test_watch_sees_memory_held_in_this_process_and_in_children():
    with MemoryWatch(interval=0.05) as watch:
        with watch.step() as idle:
            pass
        with watch.step() as held:
            block = np.ones(300 * MB // 8)  # 300 MB, touched
            time.sleep(0.3)  # several samples while it is held
            del block
        with watch.step() as child:
            code = "import numpy, time; b = numpy.ones(300 * 2**20 // 8); time.sleep(1.0)"
            subprocess.run([sys.executable, "-c", code], check=True)
    assert held.peak - idle.peak >= 280 * MB
    assert child.peak - idle.peak >= 250 * MB  # the child's 300 MB (sampled while it sleeps)
    assert watch.peak >= max(held.peak, child.peak)


def test_run_record_states_estimate_and_peaks(tmp_path):
    hold = "import numpy, time\nblock = numpy.ones(300 * 2**20 // 8)\ntime.sleep(1.0)\ndel block"
    notebooks = [write_notebook(tmp_path / "nb", "00_mem", hold, PLOT, SUMMARY)]
    run_suite(SMALL_CONFIG, tmp_path / "reports", notebooks=notebooks)
    record = json.loads((tmp_path / "reports" / "run.json").read_text())
    memory = record["memory"]
    assert memory["estimated_mb"] > memory["input_mb"] > 0 and memory["available_mb"] > 0
    assert record["reports"][0]["peak_mb"] >= 300  # the kernel held 300 MB
    assert memory["peak_mb"] >= max(record["reports"][0]["peak_mb"], memory["validation_peak_mb"])
    assert record["validation_seconds"] > 0


def test_release_memory_gives_freed_pages_back(tmp_path):
    """A freed table leaves the process as large as it was; the runner calls this before its notebooks."""
    import gc

    import psutil

    n = 2_000_000
    path = tmp_path / "table.parquet"
    pd.DataFrame({"id": [f"C{i:07d}" for i in range(n)], "x": np.arange(n, dtype=float)}).to_parquet(path)
    table = pd.read_parquet(path)
    del table
    gc.collect()
    process = psutil.Process()
    freed = process.memory_info().rss
    _memory.release_memory()
    assert freed - process.memory_info().rss > 30 * 2**20  # measured: about 100 MB given back

"""Loading and validating: the pandas loader vs the DuckDB loader (``data.engine: duckdb``).

Times :func:`cxlib.data._load.load_data_pandas` and :func:`cxlib.engine.load_data_engine` on the
same config, each in a fresh process (so each peak memory is its own: the process's max RSS;
imports included), checks that both give the same CustomerData (a digest of every table with its
dtypes, notes, warnings, as-of date, dropped rows and fingerprints) and that the engine did not hand
the data to pandas, then prints both and the ratio.

The data: the seeded demo at N customers (default 200,000; generated once into
``benchmarks/results/demo_<N>`` by ``bench_engine.prepare``), all six tables from CSV, with the
demo's config; or any config file given instead of N.

Run: ``PYTHONPATH=. .venv/bin/python benchmarks/bench_load.py [n_customers | config.yaml] [--parquet]``
(``--parquet``: the demo's customers, transactions and interactions from their Parquet copies).
"""

from __future__ import annotations

import json
import logging
import os
import platform
import resource
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def step(kind: str, config_path: Path) -> None:
    """Load in this (fresh) process; print timings, peak memory and a digest of the result as JSON."""
    start = time.perf_counter()
    handed_over = []
    logging.getLogger("cxlib.engine._load").addHandler(_Collect(handed_over))
    logging.getLogger("cxlib.engine._load").setLevel(logging.INFO)
    from cxlib.data._config import load_config

    config = load_config(config_path)
    if kind == "pandas":
        from cxlib.data._load import load_data_pandas as loader
    else:
        from cxlib.engine._load import load_data_engine as loader
    data = loader(config)
    wall = time.perf_counter() - start
    usage = resource.getrusage(resource.RUSAGE_SELF)
    print(
        json.dumps(
            {
                "wall": wall,
                "cpu": usage.ru_utime + usage.ru_stime,
                "peak_mb": usage.ru_maxrss / 1e3,  # kB on Linux
                "rows": {name: len(frame) for name, frame in data.tables.items()},
                "digest": _digest(data),
                "handed_over": handed_over,
            }
        )
    )


class _Collect(logging.Handler):
    def __init__(self, into: list):
        super().__init__(logging.INFO)
        self.into = into

    def emit(self, record):
        self.into.append(record.getMessage())


def _digest(data) -> dict:
    import pandas as pd

    tables = {
        name: [str(frame.dtypes.to_dict()), str(frame.index), int(pd.util.hash_pandas_object(frame).sum())]
        for name, frame in data.tables.items()
    }
    return {
        "tables": tables,
        "as_of": str(data.as_of),
        "notes": data.notes,
        "warnings": data.warnings,
        "fingerprints": data.fingerprints,
        "dropped": [repr(d) for d in data.dropped],
        "derived": data.derived_columns,
    }


def run_step(kind: str, config_path: Path) -> dict:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    done = subprocess.run(
        [sys.executable, __file__, "--step", kind, str(config_path)],
        env=env,
        check=True,
        capture_output=True,
        text=True,
    )
    return json.loads(done.stdout.strip().splitlines()[-1])


def demo_config(n: int, parquet: bool = False) -> Path:
    """The demo config (all six tables) pointing at the seeded demo at ``n`` customers.

    With ``parquet``, customers, transactions and interactions are read from their Parquet copies.
    """
    import yaml

    from benchmarks.bench_engine import TABLES, prepare

    folder = prepare(n)
    raw = yaml.safe_load((ROOT / "configs" / "demo_small.yaml").read_text())
    raw["data"]["dir"] = str(folder)
    if parquet:
        for name in TABLES:
            raw["data"]["tables"][name]["path"] = f"{name}.parquet"
    path = ROOT / "benchmarks" / "results" / f"load-config-{n}{'-parquet' if parquet else ''}.yaml"
    path.write_text(yaml.safe_dump(raw))
    return path


def main() -> None:
    import duckdb
    import pandas as pd

    given = sys.argv[1] if len(sys.argv) > 1 else "200000"
    parquet = "--parquet" in sys.argv
    config_path = Path(given) if given.endswith((".yaml", ".yml")) else demo_config(int(given), parquet)
    print(f"# Load benchmark, {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}")
    print(
        f"machine: {platform.machine()}, {os.cpu_count()} cores, load average {os.getloadavg()[0]:.2f}, "
        f"Python {platform.python_version()}, pandas {pd.__version__}, duckdb {duckdb.__version__}"
    )
    from cxlib.data._config import load_config

    config = load_config(config_path)
    paths = [config.table_path(t) for t in config.values["data"]["tables"]]
    size = sum(p.stat().st_size for p in paths if p is not None and p.is_file())
    print(f"data: {config_path} ({size / 1e6:,.0f} MB of input files)")
    results = {kind: run_step(kind, config_path) for kind in ("pandas", "duckdb")}
    pandas, engine = results["pandas"], results["duckdb"]
    print(f"rows: {', '.join(f'{t} {n:,}' for t, n in pandas['rows'].items())}")
    same = pandas["digest"] == engine["digest"]
    print(f"equal: {'yes' if same else 'NO'} (every table with dtypes and index, notes, warnings, drops)")
    if engine["handed_over"]:
        print(f"the engine handed the data to pandas: {engine['handed_over'][0]}")
    for kind, result in results.items():
        print(
            f"{kind}: {result['wall']:.1f} s wall, {result['cpu']:.1f} s CPU, peak {result['peak_mb']:,.0f} MB"
        )
    print(
        f"pandas / duckdb: {pandas['wall'] / engine['wall']:.1f}x wall, "
        f"{pandas['peak_mb'] / engine['peak_mb']:.1f}x peak memory"
    )


if __name__ == "__main__":
    if len(sys.argv) > 1 and sys.argv[1] == "--step":
        step(sys.argv[2], Path(sys.argv[3]))
    else:
        main()

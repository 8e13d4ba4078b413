"""Per-customer features: the pandas path vs the DuckDB engine (cxlib.engine) reading CSV and Parquet.

Generates the seeded demo at N customers (``cx synth --customers N --seed 42``, default 200,000;
kept in ``benchmarks/results/demo_<N>`` and reused), writes Parquet copies of its customers,
transactions and interactions, then times each path in a fresh process (so each peak memory is its
own: the process's max RSS):

pandas
    :func:`cxlib.data.load_data` (read, map, validate) of those three tables, then
    :func:`cxlib.features.customer_features` and :func:`cxlib.features.friction_features` at the
    analysis date (the pandas features also include tenure, active months and churn columns).
duckdb-csv / duckdb-parquet
    :func:`cxlib.engine.transaction_features` and :func:`cxlib.engine.friction_table` at the same
    date, streaming from the files (no validation: that stays on the pandas path in this slice).

Each engine's table is checked equal to the pandas one (to 1e-9) before times are printed.

Run: ``PYTHONPATH=. .venv/bin/python benchmarks/bench_engine.py [n_customers]``
"""

from __future__ import annotations

import json
import os
import platform
import resource
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
TABLES = ("customers", "transactions", "interactions")


def config_for(folder: Path, suffix: str):
    """The demo config restricted to the three tables the features read, pointing at ``folder``."""
    import yaml

    from cxlib.data._config import config_from_dict

    raw = yaml.safe_load((ROOT / "configs" / "demo_small.yaml").read_text())
    raw["data"]["dir"] = str(folder)
    raw["data"]["tables"] = {name: raw["data"]["tables"][name] for name in TABLES}
    for name in TABLES:
        raw["data"]["tables"][name]["path"] = f"{name}.{suffix}"
    return config_from_dict(raw, base_dir=folder)


def step(kind: str, folder: Path, out: Path) -> None:
    """Run one path in this (fresh) process; write its table to ``out`` and print timings as JSON."""
    from cxlib.features import end_of_day

    start = time.perf_counter()
    timings = {}
    if kind == "pandas":
        from cxlib.data._load import load_data
        from cxlib.features import customer_features, friction_features

        config = config_for(folder, "csv")
        data = load_data(config)
        timings["load"] = time.perf_counter() - start
        profile = customer_features(data, churn_definition="contractual")
        friction = friction_features(data, end_of_day(data.as_of)).set_index("customer_id")
        rows = len(data["transactions"])
    else:
        from cxlib.engine import connect, friction_table, transaction_features

        config = config_for(folder, "parquet" if kind == "duckdb-parquet" else "csv")
        con = connect()
        profile = transaction_features(config, con=con)
        friction = friction_table(config, end_of_day(config.analysis["as_of"]), con=con).set_index(
            "customer_id"
        )
        rows = None
    timings["total"] = time.perf_counter() - start
    timings["features"] = timings["total"] - timings.get("load", 0.0)
    table = profile.join(friction, rsuffix="_friction")
    table.to_parquet(out)
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1e3  # kB on Linux
    print(json.dumps({"timings": timings, "peak_mb": peak, "customers": len(table), "rows": rows}))


def run_step(kind: str, folder: Path, out: Path) -> dict:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    done = subprocess.run(
        [sys.executable, __file__, "--step", kind, str(folder), str(out)],
        env=env,
        check=True,
        capture_output=True,
        text=True,
    )
    return json.loads(done.stdout.strip().splitlines()[-1])


def synth_command(n: int, folder: Path) -> list[str]:
    """``cx synth`` of the seeded demo (seed 42) at ``n`` customers into ``folder``."""
    return [
        sys.executable,
        "-m",
        "cxlib.cli",
        "synth",
        "--customers",
        str(n),
        "--seed",
        "42",
        "--out",
        str(folder),
    ]


def prepare(n: int) -> Path:
    """The seeded demo at ``n`` customers (generated once) with Parquet copies of the three tables."""
    import pyarrow.csv as pacsv
    import pyarrow.parquet as pq

    folder = ROOT / "benchmarks" / "results" / f"demo_{n}"
    if not (folder / "transactions.csv").is_file():
        env = {**os.environ, "PYTHONPATH": str(ROOT)}
        subprocess.run(synth_command(n, folder), env=env, check=True, capture_output=True)
    for name in TABLES:
        if not (folder / f"{name}.parquet").is_file():
            table = pacsv.read_csv(
                folder / f"{name}.csv", convert_options=pacsv.ConvertOptions(strings_can_be_null=True)
            )
            pq.write_table(table, folder / f"{name}.parquet")
    return folder


def main() -> None:
    import numpy as np
    import pandas as pd

    n = int(sys.argv[1]) if len(sys.argv) > 1 else 200_000
    print(f"# Engine benchmark, {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}")
    import duckdb
    import ibis

    print(
        f"machine: {platform.machine()}, {os.cpu_count()} cores, load average {os.getloadavg()[0]:.2f}, "
        f"Python {platform.python_version()}, pandas {pd.__version__}, duckdb {duckdb.__version__}, "
        f"ibis {ibis.__version__}"
    )
    folder = prepare(n)
    sizes = {name: (folder / f"{name}.csv").stat().st_size / 1e6 for name in TABLES}
    print(
        f"data: demo at {n:,} customers (seed 42): CSV {sum(sizes.values()):,.0f} MB "
        f"(transactions {sizes['transactions']:,.0f} MB), Parquet "
        f"{sum((folder / f'{t}.parquet').stat().st_size for t in TABLES) / 1e6:,.0f} MB"
    )
    results, tables = {}, {}
    for kind in ("pandas", "duckdb-csv", "duckdb-parquet"):
        out = folder / f"table-{kind}.parquet"
        results[kind] = run_step(kind, folder, out)
        tables[kind] = pd.read_parquet(out)
    base = results["pandas"]
    print(f"customers: {base['customers']:,}; transaction rows: {base['rows']:,}")
    reference = tables["pandas"]
    for kind in ("duckdb-csv", "duckdb-parquet"):
        got = tables[kind]
        for column in got.columns:
            want = reference[column]
            if want.dtype.kind == "f":
                np.testing.assert_allclose(got[column], want, rtol=0, atol=1e-9, err_msg=f"{kind} {column}")
            else:
                pd.testing.assert_series_equal(got[column], want, obj=f"{kind} {column}")
    print(
        f"equal: both engine tables equal the pandas one column by column ({tables['duckdb-csv'].shape[1]} columns)"
    )
    total = base["timings"]["total"]
    features = base["timings"]["features"]
    print(
        f"pandas: {total:.1f} s wall (load and validate {base['timings']['load']:.1f} s + features {features:.1f} s), "
        f"peak {base['peak_mb']:,.0f} MB"
    )
    for kind in ("duckdb-csv", "duckdb-parquet"):
        wall = results[kind]["timings"]["total"]
        print(
            f"{kind}: {wall:.1f} s wall, peak {results[kind]['peak_mb']:,.0f} MB; "
            f"pandas total / this = {total / wall:.1f}x, pandas features alone / this = {features / wall:.1f}x"
        )


if __name__ == "__main__":
    if len(sys.argv) > 1 and sys.argv[1] == "--step":
        step(sys.argv[2], Path(sys.argv[3]), Path(sys.argv[4]))
    else:
        main()

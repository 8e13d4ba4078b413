"""The whole suite at scale: the seeded demo at 1,000,000 customers, step by step, against the budgets.

Generates the demo at N customers (``cx synth --customers N --seed 42``; default 1,000,000, about
20M transaction rows; kept in ``benchmarks/results/demo_<N>`` and reused) with Parquet copies of
its customers, transactions and interactions, then measures each step in its own process, with
wall time and the peak resident memory of that process and all its children (notebook kernels
included; sampled every 0.2 s by :class:`cxlib.run._memory.MemoryWatch`):

synth
    ``cx synth`` itself (only when the data are generated in this run).
validate
    ``cx validate`` on the CSV files: read, type, check every rule (budget: 30 s at 1M).
features-parquet / features-csv
    The per-customer feature tables through the engine (``cxlib.engine``: RFM, intervals, basket,
    refunds, channel mix, support contacts, complaints, waits, abandoned carts) from the Parquet
    copies and from the CSV files (budgets: 6 s and 1.5 GB from Parquet, 25 s from CSV).
features-pandas
    The same tables computed naively in pandas in the same run: ``pandas.read_parquet`` of the
    three tables, then :func:`cxlib.features.customer_features` and
    :func:`cxlib.features.friction_features` (what a data scientist would write; no validation).
    The engine must be at least 2x faster from Parquet.
suite
    ``cx run`` of every notebook on the CSV files (budget: 5 minutes and 8 GB at 1M), with each
    notebook's wall time and peak memory from the run record.

``--huge`` adds the 100M-transaction check: the 1M demo's Parquet copies replicated five times
with distinct customer and order ids (5M customers, about 100M transaction rows), and the engine's
feature tables computed from them (completes on a 24 GB machine; its peak is printed).

Results are printed and saved to ``benchmarks/results/scale-<N>.json``; ``benchmarks/README.md``
records a run.

Run: ``PYTHONPATH=. .venv/bin/python benchmarks/bench_scale.py [--customers N] [--huge] [--skip-suite]``
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "benchmarks" / "results"
TABLES = ("customers", "transactions", "interactions")
#: The issue's budgets at 1,000,000 customers (seconds, MB).
BUDGETS = {
    "validate": {"seconds": 30},
    "features-parquet": {"seconds": 6, "peak_mb": 1536},
    "features-csv": {"seconds": 25},
    "suite": {"seconds": 300, "peak_mb": 8192},
}


def measure(cmd: list[str], env: dict | None = None) -> dict:
    """Run ``cmd`` to completion; its wall time and the peak memory of its process tree."""
    from cxlib.run._memory import MemoryWatch, megabytes

    started = time.perf_counter()
    with MemoryWatch(include_self=False) as watch:
        done = subprocess.run(
            cmd, env={**os.environ, "PYTHONPATH": str(ROOT), **(env or {})}, capture_output=True, text=True
        )
    seconds = time.perf_counter() - started
    if done.returncode != 0:
        raise SystemExit(f"{' '.join(cmd)} failed ({done.returncode}):\n{done.stdout}\n{done.stderr}")
    return {"seconds": round(seconds, 2), "peak_mb": megabytes(watch.peak), "stdout": done.stdout}


def write_config(folder: Path, suffix: str = "csv", tables=None) -> Path:
    """``configs/demo.yaml`` pointed at ``folder`` (optionally only some tables, as ``suffix`` files)."""
    import yaml

    raw = yaml.safe_load((ROOT / "configs" / "demo.yaml").read_text())
    raw["data"]["dir"] = str(folder)
    if tables is not None:
        raw["data"]["tables"] = {name: raw["data"]["tables"][name] for name in tables}
    for name in raw["data"]["tables"]:
        if suffix != "csv" and name in TABLES:
            raw["data"]["tables"][name]["path"] = f"{name}.{suffix}"
    path = folder / f"config-{suffix}{'' if tables is None else '-' + '-'.join(tables)}.yaml"
    path.write_text(yaml.safe_dump(raw, sort_keys=False))
    return path


def prepare(n: int) -> tuple[Path, dict | None]:
    """The seeded demo at ``n`` customers (generated once) with Parquet copies of three tables."""
    folder = RESULTS / f"demo_{n}"
    synth = None
    if not (folder / "transactions.csv").is_file():
        from bench_engine import synth_command  # the same seeded demo as the engine benchmark

        synth = measure(synth_command(n, folder))
    import duckdb

    for name in TABLES:
        if not (folder / f"{name}.parquet").is_file():
            con = duckdb.connect()
            # typed columns (dates, numbers), as a data lake holds them; ids stay text
            source = folder / f"{name}.csv"
            header = source.open(encoding="utf-8").readline().strip().split(",")
            ids = ", ".join(f"'{c}': 'VARCHAR'" for c in header if c.endswith("ID"))
            con.execute(
                f"COPY (SELECT * FROM read_csv('{source}', types={{{ids}}})) "
                f"TO '{folder / (name + '.parquet')}' (FORMAT parquet)"
            )
    return folder, synth


def features_step(kind: str, config: str, out: str) -> None:
    """One feature path in this (fresh) process; prints its own timings as JSON."""
    started = time.perf_counter()
    from cxlib.data import load_config
    from cxlib.features import end_of_day

    config = load_config(config)
    if kind == "pandas":
        import pandas as pd

        from cxlib.data._load import CustomerData
        from cxlib.features import customer_features, friction_features

        tables = {}
        for name in TABLES:
            frame = pd.read_parquet(config.table_path(name))
            frame = frame.rename(columns={v: k for k, v in config.table_spec(name)["columns"].items()})
            tables[name] = frame
        tx = tables["transactions"].drop_duplicates()
        tx["order_date"] = pd.to_datetime(tx["order_date"])
        tx["amount"] = pd.to_numeric(tx["amount"])
        tx["is_refund"] = tx["is_refund"].eq("refund")
        tx.loc[tx["is_refund"], "amount"] = -tx.loc[tx["is_refund"], "amount"].abs()
        tables["transactions"] = tx
        events = tables["interactions"].drop_duplicates()
        events["timestamp"] = pd.to_datetime(events["timestamp"])
        events["wait_minutes"] = pd.to_numeric(events["wait_minutes"])
        events["resolved"] = events["resolved"].map({"yes": True, "no": False})
        tables["interactions"] = events
        customers = tables["customers"]
        for column in ("signup_date", "churn_date"):
            customers[column] = pd.to_datetime(customers[column])
        as_of = pd.Timestamp(config.analysis["as_of"])
        loaded = time.perf_counter() - started
        data = CustomerData(tables=tables, as_of=as_of)
        profile = customer_features(data, churn_definition="contractual")
        friction = friction_features(data, end_of_day(as_of))
        rows = len(profile) + len(friction)
        timings = {"read": loaded}
    else:
        from cxlib.engine import connect, friction_table, transaction_features

        con = connect()
        profile = transaction_features(config, con=con)
        friction = friction_table(config, end_of_day(config.analysis["as_of"]), con=con)
        rows = len(profile) + len(friction)
        timings = {}
    timings["total"] = time.perf_counter() - started
    print(json.dumps({"timings": timings, "rows": rows, "customers": len(profile)}))


def replicate(folder: Path, copies: int = 5) -> Path:
    """``copies`` copies of the demo's Parquet tables with distinct ids (the 100M-row check)."""
    import duckdb

    out = folder.with_name(f"{folder.name}_x{copies}")
    out.mkdir(exist_ok=True)
    con = duckdb.connect()
    con.execute("SET preserve_insertion_order = false")
    ids = {
        "customers": ["CustomerID"],
        "transactions": ["CustomerID", "OrderID"],
        "interactions": ["CustomerID"],
    }
    for name in TABLES:
        target = out / f"{name}.parquet"
        if target.is_file():
            continue
        columns = con.execute(f"SELECT * FROM '{folder / (name + '.parquet')}' LIMIT 0").description
        parts = []
        for k in range(copies):
            select = ", ".join(f"{c[0]} || '-{k}' AS {c[0]}" if c[0] in ids[name] else c[0] for c in columns)
            parts.append(f"SELECT {select} FROM '{folder / (name + '.parquet')}'")
        con.execute(f"COPY ({' UNION ALL '.join(parts)}) TO '{target}' (FORMAT parquet)")
    return out


def fmt(entry: dict, budget: dict | None = None) -> str:
    text = f"{entry['seconds']:8.1f} s  {entry['peak_mb']:7,} MB"
    if budget:
        ok = entry["seconds"] <= budget["seconds"] and entry["peak_mb"] <= budget.get("peak_mb", 10**9)
        limits = f"{budget['seconds']} s" + (f", {budget['peak_mb']:,} MB" if "peak_mb" in budget else "")
        text += f"   budget {limits}: {'within' if ok else 'OVER'}"
    return text


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--customers", type=int, default=1_000_000)
    parser.add_argument("--huge", action="store_true", help="also the 5x replicated data (100M rows)")
    parser.add_argument("--skip-suite", action="store_true", help="leave out the whole-suite run")
    parser.add_argument("--skip-validate", action="store_true", help="leave out cx validate")
    args = parser.parse_args()
    import duckdb
    import pandas as pd

    print(f"# Scale benchmark, {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}")
    mem = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30
    print(
        f"machine: {platform.machine()}, {os.cpu_count()} cores, {mem:.0f} GiB, load average "
        f"{os.getloadavg()[0]:.2f}; Python {platform.python_version()}, pandas {pd.__version__}, "
        f"duckdb {duckdb.__version__}"
    )
    folder, synth = prepare(args.customers)
    csv_mb = sum((folder / f"{t}.csv").stat().st_size for t in TABLES) / 1e6
    print(f"data: demo at {args.customers:,} customers (seed 42), {csv_mb:,.0f} MB of CSV in three tables")
    results: dict = {"customers": args.customers}
    if synth:
        results["synth"] = synth
        print(f"synth              {fmt(synth)}")
    full = write_config(folder)
    three_parquet = write_config(folder, "parquet", TABLES)
    three_csv = write_config(folder, "csv", TABLES)
    if not args.skip_validate:
        results["validate"] = measure([sys.executable, "-m", "cxlib.cli", "validate", "--config", str(full)])
        print(f"validate           {fmt(results['validate'], BUDGETS['validate'])}")
    for kind, config in (("parquet", three_parquet), ("csv", three_csv), ("pandas", three_parquet)):
        name = f"features-{kind}"
        engine = "pandas" if kind == "pandas" else "engine"
        results[name] = measure([sys.executable, __file__, "--step", engine, str(config), "-"])
        results[name]["detail"] = json.loads(results[name].pop("stdout").strip().splitlines()[-1])
        print(f"{name:18} {fmt(results[name], BUDGETS.get(name))}")
    ratio = results["features-pandas"]["seconds"] / results["features-parquet"]["seconds"]
    results["ratio_pandas_over_parquet"] = round(ratio, 2)
    print(f"naive pandas / engine from Parquet: {ratio:.1f}x (budget: at least 2x)")
    if not args.skip_suite:
        with tempfile.TemporaryDirectory() as tmp:
            out = Path(tmp) / "reports"
            suite = measure(
                [sys.executable, "-m", "cxlib.cli", "run", "--config", str(full), "--out", str(out)]
            )
            record = json.loads((out / "run.json").read_text())
        suite.pop("stdout")
        suite["validation_seconds"] = record.get("validation_seconds")
        suite["memory"] = record.get("memory")
        suite["notebooks"] = {
            r["notebook"]: {"seconds": r["seconds"], "peak_mb": r.get("peak_mb")} for r in record["reports"]
        }
        results["suite"] = suite
        print(f"suite              {fmt(suite, BUDGETS['suite'])}")
        print(f"  validation        {suite['validation_seconds']:8.1f} s")
        for name, entry in suite["notebooks"].items():
            print(f"  {name:24} {entry['seconds']:8.1f} s  {entry['peak_mb'] or 0:7,} MB")
    if args.huge:
        big = replicate(folder)
        config = write_config(big, "parquet", TABLES)
        huge = measure([sys.executable, __file__, "--step", "engine", str(config), "-"])
        huge["detail"] = json.loads(huge.pop("stdout").strip().splitlines()[-1])
        results["features-parquet-x5"] = huge
        print(f"features-parquet x5 (5M customers, ~100M rows) {fmt(huge)}")
    out = RESULTS / f"scale-{args.customers}.json"
    out.write_text(json.dumps(results, indent=2) + "\n")
    print(f"saved {out.relative_to(ROOT)}")


if __name__ == "__main__":
    if len(sys.argv) > 1 and sys.argv[1] == "--step":
        features_step(sys.argv[2], sys.argv[3], sys.argv[4])
    else:
        main()

"""Benchmark: do the programme evaluation's 95% intervals cover the planted effects over repeated seeds?

For each generator seed and pilot design (``generate(pilot="randomised")`` analysed as randomised,
``generate(pilot="targeted")`` analysed as observational, i.e. propensity-weighted), run
:func:`cxlib.impact.evaluate_programme` and check whether the planted churn hazard ratio (0.75) and
spend multiplier (1.08) lie inside the reported 95% intervals, for the adjusted (weighted) and the
naive estimator. Coverage is given with its Monte Carlo SE sqrt(p (1 - p) / S); the mean of z =
(log estimate - log planted) / se_log shows bias (mean far from 0) and its SD whether the intervals
are too narrow (SD > 1). The planted hazard ratio is conditional on everything the generator draws
(segment, satisfaction, age, ...); the Cox model adjusts for the observed pre-start covariates only,
so a small attenuation towards 1 (non-collapsibility of the hazard ratio) is expected.

Run: .venv/bin/python benchmarks/bench_programme_coverage.py [--seeds 100] [--n 4000] [--first-seed 1000]
"""

from __future__ import annotations

import argparse
import platform
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd
import yaml

from cxlib.data import HAZARD_RATIOS, PROGRAMME_SPEND_UPLIFT, load_config, load_data
from cxlib.data._demo_folder import write_demo
from cxlib.impact import evaluate_programme

ROOT = Path(__file__).resolve().parents[1]
PLANTED = {"churn_hr": HAZARD_RATIOS["programme_treatment"], "spend_ratio": PROGRAMME_SPEND_UPLIFT}
DESIGNS = {"randomised": "randomised", "targeted": "observational"}


def one_run(seed: int, n: int, pilot: str, workdir: Path) -> list[dict]:
    """Evaluate one generated company; one row per outcome and estimator."""
    folder = workdir / f"{pilot}_{seed}"
    write_demo(folder, n_customers=n, seed=seed, pilot=pilot)
    raw = yaml.safe_load((ROOT / "configs" / "demo_small.yaml").read_text())
    raw["data"]["dir"] = str(folder)
    raw["impact"]["programme_design"] = DESIGNS[pilot]
    config_path = workdir / f"{pilot}_{seed}.yaml"
    config_path.write_text(yaml.safe_dump(raw))
    config = load_config(config_path)
    evaluation = evaluate_programme(load_data(config), config)
    rows = []
    for row in evaluation.effects.to_dict("records"):
        planted = PLANTED[row["outcome"]]
        rows.append(
            {
                "pilot": pilot,
                "seed": seed,
                **row,
                "covered": row["ci_low"] <= planted <= row["ci_high"],
                "z": (np.log(row["estimate"]) - np.log(planted)) / row["se_log"],
                "max_abs_smd_weighted": evaluation.balance["smd_weighted"].abs().max(),
            }
        )
    if evaluation.notes:
        rows.append({"pilot": pilot, "seed": seed, "outcome": "notes", "estimator": str(evaluation.notes)})
    return rows


def summarise(results: pd.DataFrame) -> pd.DataFrame:
    """Coverage with its Monte Carlo SE, and the z and estimate summaries, per design/outcome/estimator."""
    results = results[results["outcome"].isin(PLANTED)].astype({"covered": float, "z": float})
    grouped = results.groupby(["pilot", "outcome", "estimator"], sort=False)
    table = grouped.agg(
        runs=("covered", "size"),
        coverage=("covered", "mean"),
        median_estimate=("estimate", "median"),
        mean_z=("z", "mean"),
        sd_z=("z", "std"),
        median_se_log=("se_log", "median"),
    )
    table.insert(2, "coverage_mcse", np.sqrt(table["coverage"] * (1 - table["coverage"]) / table["runs"]))
    return table


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=100)
    parser.add_argument("--n", type=int, default=4000)
    parser.add_argument("--first-seed", type=int, default=1000)
    args = parser.parse_args()
    started = time.time()
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for pilot in DESIGNS:
            for seed in range(args.first_seed, args.first_seed + args.seeds):
                rows += one_run(seed, args.n, pilot, Path(tmp))
    results = pd.DataFrame(rows)
    pd.set_option("display.width", 200)
    print(f"{platform.node()} {platform.processor() or platform.machine()}, {time.strftime('%Y-%m-%d')}")
    print(f"{args.seeds} seeds from {args.first_seed} x 2 designs, {args.n:,} customers each")
    print(summarise(results).round(3).to_string())
    balance = results.drop_duplicates(["pilot", "seed"]).groupby("pilot")["max_abs_smd_weighted"]
    print("max |SMD| after weighting over covariates, per run: median / max")
    print(balance.agg(["median", "max"]).round(3).to_string())
    listed = results.drop_duplicates(["pilot", "seed"]).groupby("pilot")[["treatment", "control", "events"]]
    print("customers and churn events per run (median)")
    print(listed.median().to_string())
    notes = results[results["outcome"] == "notes"]
    print(
        f"runs with reason codes: {len(notes)}"
        + (f" {notes['estimator'].tolist()[:5]}" if len(notes) else "")
    )
    print(f"took {time.time() - started:.0f} s")


if __name__ == "__main__":
    main()

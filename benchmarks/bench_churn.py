"""Benchmark: churn models on 1M customers x 30 features (2 cores). Prints wall time and peak memory.

Run: .venv/bin/python benchmarks/bench_churn.py [n_customers]
"""

from __future__ import annotations

import os

os.environ.setdefault("OMP_NUM_THREADS", "2")  # the target machine has 2 cores

import platform
import resource
import sys
import time

import numpy as np
import pandas as pd

from cxlib.churn._models import ChurnDrivers, ChurnPredictor, classification_metrics
from cxlib.churn._survival import ChurnHazards, RemainingLifetime
from cxlib.features import DAYS_PER_MONTH

N_NUMERIC, N_CATEGORICAL = 24, 6


def synthetic_panel(n: int, seed: int = 0) -> tuple[pd.DataFrame, list[str], list[str]]:
    """A churn panel with 24 numeric and 6 categorical (4 levels) features and a known logistic truth."""
    rng = np.random.default_rng(seed)
    numeric = [f"x{i:02d}" for i in range(N_NUMERIC)]
    categorical = [f"c{i}" for i in range(N_CATEGORICAL)]
    frame = pd.DataFrame(rng.normal(size=(n, N_NUMERIC)), columns=numeric)
    for column in categorical:
        frame[column] = rng.choice(["a", "b", "c", "d"], n, p=[0.4, 0.3, 0.2, 0.1])
    beta = np.linspace(-0.4, 0.4, N_NUMERIC)
    eta = -2.0 + frame[numeric].to_numpy() @ beta + 0.3 * (frame["c0"] == "b") - 0.3 * (frame["c1"] == "c")
    # tenures come from dates, so they are whole days (as cxlib.churn._panel computes them)
    days = DAYS_PER_MONTH
    entry = np.floor(rng.uniform(0, 24, n) * days) / days
    life = entry + np.ceil(rng.weibull(0.8, n) * 40 * np.exp(-0.5 * (eta + 2.0)) * days) / days
    frame["entry_months"] = entry
    frame["exit_months"] = np.minimum(life, entry + 182 / days)
    frame["churned"] = life < entry + 182 / days
    frame["tenure_months"] = entry
    return frame, numeric, categorical


def timed(label: str, func):
    start = time.perf_counter()
    result = func()
    elapsed = time.perf_counter() - start
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"| {label} | {elapsed:6.1f} s | {peak_mb:,.0f} MB |", flush=True)
    return result, elapsed


def main(n: int) -> None:
    print(
        f"{n:,} customers x {N_NUMERIC + N_CATEGORICAL} features; {os.cpu_count()} cores; "
        f"{platform.processor() or platform.machine()}; Python {platform.python_version()}\n"
    )
    print("| step | wall time | peak memory (process so far) |\n|---|---|---|")
    (frame, numeric, categorical), _ = timed("build panel", lambda: synthetic_panel(n))
    train, test = frame.iloc[: int(0.75 * n)], frame.iloc[int(0.75 * n) :]
    total = fitting = 0.0
    drivers, t = timed(
        "logistic drivers (statsmodels, odds ratios + VIF)",
        lambda: ChurnDrivers().fit(train, numeric, categorical),
    )
    total += t
    fitting += t
    booster, t = timed(
        "gradient boosting + calibration (scikit-learn)",
        lambda: ChurnPredictor(seed=42).fit(train, numeric, categorical),
    )
    total += t
    fitting += t
    _, t = timed(
        "held-out metrics, both models (no bootstrap)",
        lambda: [
            classification_metrics(test["churned"], m.predict_proba(test), n_boot=0)
            for m in (drivers, booster)
        ],
    )
    total += t
    _, t = timed(
        "permutation importance (5k-row sample, 5 repeats)", lambda: booster.permutation_importance(test)
    )
    total += t
    _, t = timed(
        "Cox model, delayed entry, + PH test (statsmodels PHReg; 250k-customer sample)",
        lambda: ChurnHazards(ties="breslow").fit(frame, numeric, categorical),
    )
    total += t
    fitting += t
    lifetime, t = timed(
        "Weibull remaining-lifetime model (lifelines; 250k-customer sample)",
        lambda: RemainingLifetime().fit(frame, numeric, categorical),
    )
    total += t
    fitting += t
    _, t = timed("expected remaining lifetime for every customer", lambda: lifetime.predict(frame))
    total += t
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(
        f"\nFitting the four models: {fitting:.1f} s. Everything above except building the panel: {total:.1f} s."
    )
    print(f"Peak memory: {peak:,.0f} MB.")


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 1_000_000)

"""Key drivers of 14 ratings over ~130,000 respondents with 500 bootstrap resamples: wall time.

Uses the merged Airline Passenger Satisfaction file (129,880 answers, 14 ratings, 0 = not
applicable, a satisfied flag) when the shared data folder has it, else simulated ratings of the
same shape. Times :meth:`cxlib.experience.KeyDrivers.fit` as a whole (weights, 500 resamples,
logistic model, performance) and the bootstrap alone, against a plain baseline: the same weights
from ``DataFrame.corr()`` (pairwise) on a resampled copy of the frame, one resample at a time
(timed on a few resamples and scaled to 500).

Run: ``.venv/bin/python benchmarks/bench_key_drivers.py [n_boot]``
"""

from __future__ import annotations

import os
import platform
import re
import resource
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd

from cxlib.experience import (
    KeyDrivers,
    PairwiseSums,
    bootstrap_weights,
    nearest_correlation,
    relative_weights,
)

#: The full airline file, when a copy of the project's shared data sits beside the clone (``../shared``)
#: or where CX_SHARED_DATA points; otherwise the benchmark simulates ratings of the same size.
SHARED = Path(__file__).resolve().parents[2] / "shared" / "data"
AIRLINE = Path(os.environ.get("CX_SHARED_DATA", SHARED)) / "airline_satisfaction"
RATINGS = [
    "Inflight wifi service",
    "Departure/Arrival time convenient",
    "Ease of Online booking",
    "Gate location",
    "Food and drink",
    "Online boarding",
    "Seat comfort",
    "Inflight entertainment",
    "On-board service",
    "Leg room service",
    "Baggage handling",
    "Checkin service",
    "Inflight service",
    "Cleanliness",
]


def surveys() -> tuple[pd.DataFrame, str]:
    """The merged airline answers in canonical columns, or simulated ones of the same shape."""
    path = AIRLINE / "merged_satisfaction.parquet"
    if path.exists():
        raw = pd.read_parquet(path)
        names = ["rating_" + "_".join(re.findall(r"[a-z]+", c.lower())) for c in RATINGS]
        frame = pd.DataFrame({name: raw[c].to_numpy() for name, c in zip(names, RATINGS, strict=True)})
        frame["satisfied"] = (raw["satisfaction"] == "satisfied").to_numpy()
        return frame, f"merged Airline Passenger Satisfaction ({path})"
    rng = np.random.default_rng(0)
    n = 129_880
    latent = 0.6 * rng.normal(size=(n, 1)) + 0.8 * rng.normal(size=(n, 14))
    frame = pd.DataFrame(np.clip(np.round(3 + latent), 0, 5), columns=[f"rating_{i:02d}" for i in range(14)])
    frame["satisfied"] = latent @ np.linspace(1, 0.1, 14) + rng.normal(size=n) > 0
    return frame, "simulated (the shared airline file is absent)"


def baseline(frame: pd.DataFrame, resamples: int, seed: int = 0) -> float:
    """Seconds per resample: resample rows, ``DataFrame.corr()`` (pairwise), relative weights."""
    rng = np.random.default_rng(seed)
    data = frame.mask(frame == 0).astype(float)  # 0 = not applicable (the target has no 0 ratings)
    data["satisfied"] = frame["satisfied"].astype(float)
    start = time.perf_counter()
    for _ in range(resamples):
        sample = data.iloc[rng.integers(0, len(data), len(data))]
        relative_weights(nearest_correlation(sample.corr().to_numpy())[0])
    return (time.perf_counter() - start) / resamples


def main(n_boot: int = 500) -> None:
    frame, source = surveys()
    ratings = [c for c in frame if c.startswith("rating_")]
    print(f"# Key-driver benchmark, {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}")
    print(
        f"machine: {platform.machine()}, {os.cpu_count()} cores, {platform.python_version()}, "
        f"numpy {np.__version__}, pandas {pd.__version__}; load average {os.getloadavg()[0]:.1f}"
    )
    print(f"data: {source}; {len(frame):,} respondents x {len(ratings)} ratings")

    start = time.perf_counter()
    model = KeyDrivers(target="satisfied", n_boot=n_boot, seed=42).fit(frame)
    fit_seconds = time.perf_counter() - start
    values = np.column_stack([frame[ratings].mask(frame[ratings] == 0).to_numpy(float), frame["satisfied"]])
    start = time.perf_counter()
    bootstrap_weights(PairwiseSums(values), n_boot, seed=42)
    boot_seconds = time.perf_counter() - start
    per_resample = baseline(frame, 5)
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    top = model.summary_.iloc[0]
    print(
        f"KeyDrivers.fit with {n_boot} resamples (weights, ranks, logit, performance): {fit_seconds:.1f} s wall"
    )
    print(f"  of which the bootstrap of the weights alone: {boot_seconds:.1f} s")
    print(
        f"baseline (resampled copy + DataFrame.corr() + weights, one resample at a time): "
        f"{per_resample:.2f} s per resample, about {per_resample * n_boot:.0f} s for {n_boot}"
    )
    print(f"process max RSS: {rss:,.0f} MB")
    print(
        f"R² = {model.r2_:.3f} [{model.r2_ci_[0]:.3f}, {model.r2_ci_[1]:.3f}]; top driver {top['term']} "
        f"({top['share']:.1f}% of R², first in {top['share_first']:.0%} of resamples)"
    )


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 500)

"""Segment 1M synthetic customers: wall time and peak memory of Segmenter.fit (k chosen by evidence).

The feature matrix is built directly (generating ~19M transactions through cxlib.data._synth would time
the simulator, not the segmentation): per customer, the planted segment of cxlib.data._synth sets the
purchase rate, basket and channel mix; months of activity, order counts, order values and channel
counts are drawn as in the simulator. When data/demo exists it also times the whole path, feature
building from raw tables included, on copies of the 50,000-customer demo stacked to ``n_customers``.

Run: ``.venv/bin/python benchmarks/bench_segmentation.py [n_customers]``
"""

from __future__ import annotations

import os
import platform
import resource
import sys
import time
import tracemalloc
from pathlib import Path

import numpy as np
import pandas as pd
from sklearn.metrics import adjusted_rand_score

from cxlib.data._synth import SEGMENTS
from cxlib.features import DAYS_PER_MONTH
from cxlib.segment import Segmenter

ROOT = Path(__file__).resolve().parents[1]


def synthetic_features(n: int, seed: int = 0) -> tuple[pd.DataFrame, np.ndarray]:
    rng = np.random.default_rng(seed)
    seg = rng.choice(len(SEGMENTS), size=n, p=SEGMENTS["share"].to_numpy())
    rate = SEGMENTS["orders_per_month"].to_numpy()[seg] * rng.gamma(8.0, 1 / 8.0, n)
    basket = SEGMENTS["mean_order_value"].to_numpy()[seg] * rng.lognormal(-0.02, 0.2, n)
    months = rng.uniform(1, 36, n)
    orders = rng.poisson(rate * months)
    # mean of `orders` lognormal(-0.18, 0.6) order values: approximate by its exact mean and variance
    aov = basket * np.exp(-0.18 + 0.18) * np.exp(rng.normal(0, 0.6 / np.sqrt(np.maximum(orders, 1))))
    probs = SEGMENTS[["p_web", "p_app", "p_store"]].to_numpy()[seg]
    counts = np.stack([rng.binomial(orders, probs[:, 0])], axis=1)
    app = rng.binomial(orders - counts[:, 0], probs[:, 1] / (probs[:, 1] + probs[:, 2]))
    counts = np.column_stack([counts[:, 0], app, orders - counts[:, 0] - app])
    with np.errstate(invalid="ignore", divide="ignore"):
        shares = counts / orders[:, None]
    monetary = orders * aov
    frame = pd.DataFrame(
        {
            "recency_days": np.where(orders > 0, rng.exponential(30 / np.maximum(rate, 0.05)), np.nan),
            "frequency": orders,
            "monetary": monetary,
            "tenure_days": months * DAYS_PER_MONTH,
            "active_months": months,
            "orders_per_active_month": orders / months,
            "spend_per_month": monetary / months,
            "avg_order_value": np.where(orders > 0, aov, np.nan),
            "purchase_interval_days": np.where(
                orders > 1, months * DAYS_PER_MONTH / np.maximum(orders - 1, 1), np.nan
            ),
            "share_web": shares[:, 0],
            "share_app": shares[:, 1],
            "share_store": shares[:, 2],
            "support_contact_per_month": rng.poisson(0.1 * months) / months,
            "complaint_per_month": rng.poisson(0.025 * months) / months,
            "nps": np.where(rng.random(n) < 0.15, rng.integers(0, 11, n), np.nan),
            "churned": rng.random(n) < 0.25,
        },
        index=pd.Index([f"C{i:07d}" for i in range(n)], name="customer_id"),
    )
    return frame, seg


def main() -> None:
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 1_000_000
    print(f"# Segmentation benchmark, {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}")
    print(
        f"machine: {platform.machine()}, {os.cpu_count()} cores, {platform.python_version()}, "
        f"numpy {np.__version__}, pandas {pd.__version__}"
    )
    features, planted = synthetic_features(n)
    print(f"customers: {n:,} ({int((features['frequency'] > 0).sum()):,} with a purchase)")

    rss_before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1e3
    start = time.perf_counter()
    seg = Segmenter(seed=42, bootstrap_runs=20, sample_size=20_000).fit(features)
    wall = time.perf_counter() - start
    rss_after = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1e3
    print(
        f"Segmenter.fit (choose k in 2-8 on a 20,000 sample, fit on all, 20 bootstrap refits): {wall:.1f} s wall; "
        f"process max RSS {rss_before:,.0f} MB before fit (features built), {rss_after:,.0f} MB after"
    )
    tracemalloc.start()  # second, traced run: peak memory allocated by the fit itself (slower under tracing)
    Segmenter(seed=42, bootstrap_runs=20, sample_size=20_000).fit(features)
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    print(f"peak memory allocated during fit (tracemalloc): {peak / 1e6:,.0f} MB")
    buyers = features["frequency"] > 0
    history = features["frequency"] >= 3
    print(
        f"k chosen: {seg.n_segments_}; ARI vs planted: all {adjusted_rand_score(planted, seg.labels_):.3f}, "
        f"buyers {adjusted_rand_score(planted[buyers], seg.labels_[buyers]):.3f}, "
        f">= 3 purchases {adjusted_rand_score(planted[history], seg.labels_[history]):.3f}; "
        f"bootstrap ARI mean {seg.stability_ari_.mean():.3f}"
    )

    demo = ROOT / "configs" / "demo.yaml"
    if (ROOT / "data" / "demo" / "transactions.csv").is_file():
        from cxlib.data._config import load_config
        from cxlib.data._load import load_data
        from cxlib.features import features_from_config

        config = load_config(demo)
        data = load_data(config)
        start = time.perf_counter()
        table = features_from_config(data, config)
        print(
            f"customer_features on the demo ({len(table):,} customers, {len(data['transactions']):,} transactions): "
            f"{time.perf_counter() - start:.1f} s"
        )
        copies = max(1, round(n / len(table)))
        stacked = stack_copies(data, copies)
        start = time.perf_counter()
        table = features_from_config(stacked, config)
        features_s = time.perf_counter() - start
        start = time.perf_counter()
        Segmenter(seed=42, bootstrap_runs=20, sample_size=20_000).fit(table)
        fit_s = time.perf_counter() - start
        print(
            f"whole path on {copies} stacked copies of the demo ({len(table):,} customers, "
            f"{len(stacked['transactions']):,} transactions): features {features_s:.1f} s + "
            f"Segmenter.fit {fit_s:.1f} s = {features_s + fit_s:.1f} s; process max RSS "
            f"{resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1e3:,.0f} MB"
        )


def stack_copies(data, copies: int):
    """``copies`` copies of every table with customer ids made unique per copy (a bigger company)."""
    from cxlib.data._load import CustomerData

    id_columns = ("customer_id", "referrer_id", "referred_id")
    tables = {}
    for name, frame in data.tables.items():
        parts = []
        for k in range(copies):
            part = frame.copy()
            for column in id_columns:
                if column in part:
                    part[column] = part[column].astype(str) + f"-{k}"
            parts.append(part)
        tables[name] = pd.concat(parts, ignore_index=True)
    return CustomerData(tables=tables, as_of=data.as_of)


if __name__ == "__main__":
    main()

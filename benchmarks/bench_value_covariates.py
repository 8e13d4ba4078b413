"""Benchmark: Pareto/NBD with covariates (cxlib.value.ParetoNBD). Prints Markdown tables.

1. CDNOW: the published fit and the 39-week holdout forecast against the 1,882 repeat purchases.
2. The planted demo at 20,000 customers (seed 42): dropout-rate ratios of social acquisition and of
   the number of products held against the planted hazard ratios (``cxlib/data/_synth.py``).
3. Why they come out larger: the same covariate planted in clean simulations whose lifetimes are
   exponential (the model's own assumption) or Weibull with shape 0.75 (the demo's).
4. Interval coverage when the model is right: Pareto/NBD worlds with planted ratios, many seeds.
5. Fit times (2 cores): with covariates at 100,000 customers, without at 1,000,000 (and lifetimes).

Run: .venv/bin/python benchmarks/bench_value_covariates.py [--quick]   (results: RESULTS-value-covariates.md)
"""

from __future__ import annotations

import os

os.environ.setdefault("OMP_NUM_THREADS", "2")  # the target machine has 2 cores

import platform
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd
import yaml

from cxlib.data._config import config_from_dict
from cxlib.data._demo_folder import write_demo
from cxlib.data._load import load_data
from cxlib.features import repeat_purchase_summary
from cxlib.value import ParetoNBD

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # the tests' CDNOW reader
from tests.cdnow import cdnow_summary  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
DAYS_PER_WEEK = 7.0


# ---- 2. the planted demo -------------------------------------------------------------------------------


def demo_data(n_customers: int, seed: int = 42):
    """The synthetic company (as ``cx synth`` writes it), loaded through configs/demo_small.yaml."""
    folder = Path(tempfile.mkdtemp(prefix=f"cx_value_{n_customers}_"))
    write_demo(folder, n_customers=n_customers, seed=seed)
    given = yaml.safe_load((ROOT / "configs" / "demo_small.yaml").read_text())
    given["data"]["dir"] = str(folder)
    truth = yaml.safe_load((folder / "ground_truth.json").read_text())
    return load_data(config_from_dict(given, base_dir=folder)), truth


def demo_summary(data) -> pd.DataFrame:
    summary = repeat_purchase_summary(data["transactions"], data.as_of)
    customers = data["customers"].set_index("customer_id").reindex(summary.index)
    products = customers["Products"].astype(int)
    columns = {"social": (customers["acquisition_channel"] == "social").astype(float)}
    for k in (1, 3, 4, 5):
        columns[f"products_{k}"] = (products == k).astype(float)
    columns["products_4_5"] = products.isin([4, 5]).astype(float)
    return summary.assign(**columns)


def planted_ratios(truth: dict) -> dict[str, float]:
    churn = truth["churn"]
    ratios, share = churn["products_hazard_ratios"]["ratios"], churn["products_hazard_ratios"]["share"]
    planted = {"social": churn["hazard_ratios"]["acquisition_social"]}
    planted |= {f"products_{k}": ratios[str(k)] for k in (1, 3, 4, 5)}
    log_pooled = sum(share[k] * np.log(ratios[k]) for k in ("4", "5")) / (share["4"] + share["5"])
    planted["products_4_5"] = float(np.exp(log_pooled))  # customers' geometric mean of 4 and 5
    return planted


def recovery_table(model: ParetoNBD, planted: dict[str, float]) -> list[str]:
    rows = [
        "| covariate | planted hazard ratio | dropout-rate ratio (95% CI) | error | planted inside CI |",
        "|---|---|---|---|---|",
    ]
    table = model.summary_.set_index("term")
    for column in model.dropout_covariates:
        row = table.loc[f"dropout:{column}"]
        truth = planted[column]
        inside = "yes" if row["ci_low"] < truth < row["ci_high"] else "**no**"
        rows.append(
            f"| {column} | {truth:.2f} | {row['estimate']:.2f} ({row['ci_low']:.2f}-{row['ci_high']:.2f}) | "
            f"{row['estimate'] / truth - 1:+.0%} | {inside} |"
        )
    return rows


def bench_demo(n_customers: int) -> None:
    start = time.perf_counter()
    data, truth = demo_data(n_customers)
    summary = demo_summary(data)
    print(
        f"\n## 2. Planted demo, {n_customers:,} customers (seed 42)\n\n{len(summary):,} customers with a purchase; "
        f"{(summary['frequency'] > 0).mean():.0%} repeat; calibration to {data.as_of.date()} in weeks "
        f"(demo generated and summarised in {time.perf_counter() - start:.0f} s).\n"
    )
    planted = planted_ratios(truth)
    for columns in (
        ["social", "products_1", "products_3", "products_4", "products_5"],
        ["social", "products_1", "products_3", "products_4_5"],
    ):
        start = time.perf_counter()
        model = ParetoNBD(dropout_covariates=columns).fit(summary)
        elapsed = time.perf_counter() - start
        base = ", ".join(f"{k} = {model.params_[k]:.3g}" for k in ("r", "alpha", "s", "beta"))
        print(f"Dropout covariates {columns} (2 products is the reference): fit {elapsed:.1f} s, {base}\n")
        print("\n".join(recovery_table(model, planted)) + "\n")


# ---- 3. misspecification: Weibull lifetimes read by the Pareto/NBD -----------------------------------


def weibull_world(
    n: int, seed: int, shape: float, ratio: float = 1.3, frailty_sd: float = 0.5
) -> pd.DataFrame:
    """Gamma purchase rates (r = 1.4, alpha = 4 weeks); Weibull PH lifetimes (months) with lognormal frailty."""
    rng = np.random.default_rng(seed)
    social = (rng.random(n) < 0.2).astype(float)
    log_hazard = np.log(0.03) + np.log(ratio) * social + rng.normal(0, frailty_sd, n)  # monthly scale
    life_weeks = (shape * rng.exponential(1, n) / np.exp(log_hazard)) ** (1 / shape) * 30.4375 / DAYS_PER_WEEK
    age = np.round(rng.uniform(4, 150, n) * DAYS_PER_WEEK) / DAYS_PER_WEEK
    return _observe(rng, rng.gamma(1.4, 1 / 4.0, n), np.minimum(life_weeks, age), age, {"social": social})


def _observe(rng, purchase_rate, active, age, covariates) -> pd.DataFrame:
    """Poisson purchases while active; the last one is the latest of x uniforms; dates in whole days."""
    x = rng.poisson(purchase_rate * active)
    last = np.where(x > 0, active * rng.random(len(x)) ** (1 / np.maximum(x, 1)), 0.0)
    summary = pd.DataFrame(
        {"frequency": x, "recency": np.floor(last * DAYS_PER_WEEK) / DAYS_PER_WEEK, "T": age, **covariates}
    )
    summary.attrs["unit_days"] = DAYS_PER_WEEK
    return summary


def bench_misspecification(n: int, seeds: int) -> None:
    print(
        f"\n## 3. Weibull lifetimes read by the Pareto/NBD ({n:,} customers, {seeds} seeds each)\n\n"
        "Planted: social multiplies each customer's hazard by 1.3 (proportional hazards) on top of a "
        "lognormal frailty; gamma purchase rates. Shape 1 is the Pareto/NBD's own exponential lifetime.\n\n"
        "| Weibull shape | frailty SD | dropout-rate ratio of social, by seed | geometric mean | "
        "planted inside 95% CI | s |\n|---|---|---|---|---|---|"
    )
    for frailty_sd in (0.5, 0.2):
        for shape in (1.0, 0.75):
            estimates, inside, s_values = [], 0, []
            for seed in range(seeds):
                summary = weibull_world(n, seed, shape, frailty_sd=frailty_sd)
                model = ParetoNBD(dropout_covariates=["social"]).fit(summary)
                row = model.summary_.set_index("term").loc["dropout:social"]
                estimates.append(row["estimate"])
                inside += row["ci_low"] < 1.3 < row["ci_high"]
                s_values.append(model.params_["s"])
            shown = ", ".join(f"{e:.2f}" for e in estimates)
            print(
                f"| {shape:g} | {frailty_sd:g} | {shown} | {np.exp(np.mean(np.log(estimates))):.2f} | "
                f"{inside} of {seeds} | {min(s_values):.2g}-{max(s_values):.2g} |"
            )


# ---- 4. coverage when the model is right -------------------------------------------------------------

PLANTED = {"purchase:loyalty_member": 1.3, "dropout:social": 1.5, "dropout:app_user": 0.7}


def pareto_nbd_world(n: int, seed: int) -> pd.DataFrame:
    """The Pareto/NBD itself (r = 1, alpha = 5, s = 1, beta = 40 weeks) with the ratios in PLANTED."""
    rng = np.random.default_rng(seed)
    flags = {
        "loyalty_member": (rng.random(n) < 0.5).astype(float),
        "social": (rng.random(n) < 0.3).astype(float),
        "app_user": (rng.random(n) < 0.4).astype(float),
    }
    purchase_rate = rng.gamma(1.0, 1 / 5.0, n) * 1.3 ** flags["loyalty_member"]
    dropout_rate = rng.gamma(1.0, 1 / 40.0, n) * 1.5 ** flags["social"] * 0.7 ** flags["app_user"]
    age = np.round(rng.uniform(20, 100, n) * DAYS_PER_WEEK) / DAYS_PER_WEEK
    return _observe(rng, purchase_rate, np.minimum(rng.exponential(1 / dropout_rate), age), age, flags)


def bench_coverage(n: int, seeds: int) -> None:
    covered = dict.fromkeys(PLANTED, 0)
    z_scores = {term: [] for term in PLANTED}
    start = time.perf_counter()
    for seed in range(seeds):
        model = ParetoNBD(purchase_covariates=["loyalty_member"], dropout_covariates=["social", "app_user"])
        table = model.fit(pareto_nbd_world(n, 1000 + seed)).summary_.set_index("term")
        for term, ratio in PLANTED.items():
            row = table.loc[term]
            covered[term] += row["ci_low"] < ratio < row["ci_high"]
            z_scores[term].append(np.log(row["estimate"] / ratio) / row["std_error"])
    print(
        f"\n## 4. Coverage when the model is right ({seeds} seeds x {n:,} customers, "
        f"{(time.perf_counter() - start) / seeds:.1f} s per fit)\n\n"
        "| term | planted ratio | 95% CI covers | mean z | SD of z |\n|---|---|---|---|---|"
    )
    for term, ratio in PLANTED.items():
        z = np.array(z_scores[term])
        print(f"| {term} | {ratio} | {covered[term]} of {seeds} | {z.mean():+.2f} | {z.std(ddof=1):.2f} |")


# ---- 1. CDNOW holdout ---------------------------------------------------------------------------------


def bench_cdnow() -> None:
    summary = cdnow_summary()
    model = ParetoNBD().fit(summary)
    forecast = model.expected_purchases(summary["duration_holdout"].to_numpy(), summary).sum()
    actual = summary["frequency_holdout"].sum()
    params = ", ".join(f"{k} = {v:.3f}" for k, v in model.params_.items())
    print(
        f"\n## 1. CDNOW (2,357 customers, 39 + 39 weeks)\n\n{params}; log-likelihood "
        f"{model.log_likelihood_:,.1f}. Forecast of holdout repeat purchases {forecast:,.0f} against "
        f"{actual:,} observed ({forecast / actual - 1:+.1%})."
    )


# ---- 5. fit times ---------------------------------------------------------------------------------------


def bench_times(quick: bool) -> None:
    print(
        "\n## 5. Fit times\n\n| data | customers | distinct rows | fit (incl. covariance) |\n|---|---|---|---|"
    )
    sizes = [(100_000, True), (1_000_000, False)] if not quick else [(20_000, True), (100_000, False)]
    for n, covariates in sizes:
        summary = pareto_nbd_world(n, 7)
        model = (
            ParetoNBD(purchase_covariates=["loyalty_member"], dropout_covariates=["social", "app_user"])
            if covariates
            else ParetoNBD()
        )
        columns = ["frequency", "recency", "T"] + (list(PLANTED_COLUMNS) if covariates else [])
        distinct = len(summary[columns].drop_duplicates())
        start = time.perf_counter()
        model.fit(summary)
        label = "Pareto/NBD world, 3 covariates" if covariates else "Pareto/NBD world, no covariates"
        print(f"| {label} | {n:,} | {distinct:,} | {time.perf_counter() - start:.1f} s |")
    try:
        from lifetimes import ParetoNBDFitter
    except ImportError:
        return
    n = 100_000
    summary = pareto_nbd_world(n, 7)
    start = time.perf_counter()
    ParetoNBDFitter().fit(summary["frequency"], summary["recency"], summary["T"])
    print(
        f"| lifetimes 0.11.3 ParetoNBDFitter (Nelder-Mead, no covariance), no covariates | {n:,} | {n:,} | {time.perf_counter() - start:.1f} s |"
    )


PLANTED_COLUMNS = ("loyalty_member", "social", "app_user")


def main() -> None:
    quick = "--quick" in sys.argv
    print(
        f"# Pareto/NBD with covariates: {os.cpu_count()} cores; {platform.machine()}; Python "
        f"{platform.python_version()}; {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}"
    )
    bench_cdnow()
    bench_demo(3_000 if quick else 20_000)
    bench_misspecification(5_000 if quick else 20_000, 2 if quick else 5)
    bench_coverage(5_000 if quick else 10_000, 4 if quick else 40)
    bench_times(quick)


if __name__ == "__main__":
    main()

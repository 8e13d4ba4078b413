"""Benchmark: the retention lever's Monte Carlo on 1M customers through the hazard-ratio grid (2 cores).

1,000,000 synthetic customers, each with a Weibull survival curve given the tenure reached
(scale log-normal around 40 months, shape uniform 0.6-1.4, tenure uniform 0-30 months; H = 36)
and a revenue per month (log-normal around 30). The :class:`cxlib.impact.RetentionBase` grid is
built once (40 hazard ratios, 0.25..2), then 10,000 Monte Carlo draws of

- the programme's hazard ratio, log-normal around 0.9 (se 0.05 on the log scale),
- its spend ratio, log-normal around 1.02 (se 0.01),
- an assumption, the share of customers it reaches, triangular (0.5, 0.7, 0.9),

give the discounted incremental margin over the horizon per draw (margin 30%, 8% a year):
share x margin x sum_u d(u) [s revenue(h)[u] - revenue(1)[u]], read off the grid. The plain
baseline computes the same sum exactly, customer by customer (S^h for all 1M customers and 37
months per draw), for a few draws, scaled to 10,000. Budget: 10,000 draws over 1M customers within
60 s and 4 GB.

Run: .venv/bin/python benchmarks/bench_impact_montecarlo.py [customers] [draws] [baseline_draws]
"""

from __future__ import annotations

import os

os.environ.setdefault("OMP_NUM_THREADS", "2")  # the target machine has 2 cores

import platform
import resource
import sys
import time
import tracemalloc

import numpy as np

from cxlib.impact import RetentionBase, retention_gain

HORIZON = 36
MARGIN = 0.30
ANNUAL = 0.08
SEED = 2024


def synthetic_curves(n: int, seed: int = SEED) -> tuple[np.ndarray, np.ndarray]:
    """Weibull conditional survival curves (float32, n x 37) and revenues per month of ``n`` customers."""
    rng = np.random.default_rng(seed)
    scale = rng.lognormal(np.log(40.0), 0.8, n)
    shape = rng.uniform(0.6, 1.4, n)
    tenure = rng.uniform(0.0, 30.0, n)
    revenue = rng.lognormal(np.log(30.0), 0.7, n)
    u = np.arange(HORIZON + 1)
    curves = np.empty((n, HORIZON + 1), dtype=np.float32)
    for start in range(0, n, 100_000):
        part = slice(start, start + 100_000)
        t0, lam, rho = tenure[part, None], scale[part, None], shape[part, None]
        curves[part] = np.exp((t0 / lam) ** rho - ((t0 + u) / lam) ** rho)
    return curves, revenue


def draws(n: int, seed: int = SEED + 1) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    hazard = np.exp(rng.normal(np.log(0.9), 0.05, n))
    spend = np.exp(rng.normal(np.log(1.02), 0.01, n))
    share = rng.triangular(0.5, 0.7, 0.9, n)
    return hazard, spend, share


def exact_margin(curves, revenue, hazard, spend, share) -> np.ndarray:
    """The plain way: per draw, S^h for every customer and month, summed with the discounts."""
    weights = (1 + ANNUAL) ** (-np.arange(HORIZON + 1.0) / 12)  # monthly rate equivalent to the annual
    weights[0] = 0.0
    out = np.empty(len(hazard))
    for k, (h, s, c) in enumerate(zip(hazard, spend, share, strict=True)):
        total = 0.0
        for start in range(0, len(curves), 100_000):
            now = curves[start : start + 100_000].astype(float)
            m = revenue[start : start + 100_000, None]
            total += ((s * np.power(now, h) - now) * m * weights).sum()
        out[k] = c * MARGIN * total
    return out


def measured(step):
    """Run ``step``; return its result, wall seconds and peak traced memory (GB)."""
    tracemalloc.start()
    start = time.perf_counter()
    result = step()
    seconds = time.perf_counter() - start
    peak = tracemalloc.get_traced_memory()[1] / 1e9
    tracemalloc.stop()
    return result, seconds, peak


def full_case(base, n_draws: int):
    """The suite's own path: :func:`cxlib.impact.revenue_case` with every lever, costs and a tornado."""
    from cxlib.impact import Input, LeverSettings, revenue_case
    from cxlib.impact._study import Enrolled

    inputs = {
        "hazard_ratio": Input.ratio("hazard_ratio", 0.9, 0.05, "randomised"),
        "spend_ratio": Input.ratio("spend_ratio", 1.02, 0.01, "randomised"),
        "promoter_shift": Input.assumption("promoter_shift", 0.05, 0.02, 0.10),
        "referral_rate_gain": Input.difference("referral_rate_gain", 0.018, 0.004, "observational"),
        "referred_value": Input.ratio("referred_value", 300.0, 0.1, "observational"),
        "cac": Input.assumption("cac", 60.0, 40.0, 80.0),
        "cost_fixed": Input.assumption("cost_fixed", 5e6),
        "cost_per_customer_year": Input.assumption("cost_per_customer_year", 30.0, 20.0, 40.0),
    }
    settings = LeverSettings(MARGIN, ANNUAL, nonpromoter_share=0.7, word_of_mouth=True)
    return revenue_case(Enrolled(base), inputs, settings, n_draws=n_draws, seed=SEED)


def main(n: int = 1_000_000, n_draws: int = 10_000, n_baseline: int = 100) -> None:
    print(f"python {platform.python_version()}, numpy {np.__version__}, {os.cpu_count()} cores")
    (curves, revenue), seconds, peak = measured(lambda: synthetic_curves(n))
    print(f"simulate {n:,} customers x {HORIZON + 1} months: {seconds:.1f} s, peak {peak:.2f} GB")

    def build():
        base = RetentionBase.from_curves(curves, revenue)
        base.revenue(1.0)  # tabulates the grid over all customers
        return base

    base, build_s, build_peak = measured(build)
    print(f"build grid ({len(base.hazard_grid)} ratios): {build_s:.1f} s, peak {build_peak:.2f} GB traced")
    hazard, spend, share = draws(n_draws)

    def monte_carlo():
        gain = retention_gain(base, hazard, spend, MARGIN, ANNUAL)
        return share * gain["margin"].to_numpy()

    margin, mc_s, mc_peak = measured(monte_carlo)
    low, mid, high = np.percentile(margin, [2.5, 50, 97.5])
    print(f"{n_draws:,} draws via the grid: {mc_s:.2f} s, peak {mc_peak:.3f} GB traced")
    print(f"  incremental margin: median {mid:,.0f}, 95% interval {low:,.0f} .. {high:,.0f}")
    case, case_s, case_peak = measured(lambda: full_case(base, n_draws))
    npv = case.summary.set_index("figure").loc["npv"]
    print(
        f"the whole revenue case (3 levers, costs, NPV/ROI/payback, tornado), {n_draws:,} draws: {case_s:.2f} s, "
        f"peak {case_peak:.3f} GB traced; NPV {npv['value']:,.0f} ({npv['low']:,.0f} .. {npv['high']:,.0f})"
    )
    exact, base_s, _ = measured(
        lambda: exact_margin(curves, revenue, hazard[:n_baseline], spend[:n_baseline], share[:n_baseline])
    )
    scaled = base_s / n_baseline * n_draws
    error = np.max(np.abs(margin[:n_baseline] / exact - 1))
    print(f"plain baseline: {n_baseline} exact draws {base_s:.1f} s -> {scaled:,.0f} s for {n_draws:,} draws")
    print(
        f"grid (build + draws) vs plain: {(build_s + mc_s) / scaled:.4f}x the time; speed-up {scaled / (build_s + mc_s):,.0f}x"
    )
    print(f"largest relative difference grid vs exact over the {n_baseline} draws: {error:.2e}")
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1e6
    print(f"peak resident memory of the whole run: {rss:.2f} GB")
    total = build_s + case_s
    verdict = "within" if total <= 60 and rss <= 4 else "OVER"
    print(f"budget (60 s, 4 GB): build + the whole case {total:.1f} s, {rss:.2f} GB: {verdict}")


if __name__ == "__main__":
    main(*(int(a) for a in sys.argv[1:]))

"""Benchmark: do the CLV intervals cover the planted value at the stated rate over repeated seeds?

Issue 12 asks that "CLV intervals cover the planted value at about the stated rate over repeated
seeds". :func:`cxlib.value.transaction_clv` gives 95% intervals that carry PARAMETER uncertainty
only (delta method on the log value, from the models' covariances), so the planted quantity they
should cover is the value computed with the TRUE parameters plugged into the same formulas, for
the same customers (same frequency, recency, age and mean spend). Not the customers' realised
future spend: that varies far more than any parameter interval.

For each seed:

- simulate ``n`` customers from the purchase process with known parameters (the CDNOW estimates:
  BG/NBD r 0.243, alpha 4.414, a 0.793, b 2.426, or Pareto/NBD r 0.553, alpha 10.578, s 0.606,
  beta 11.669), age T uniform on 10-78 weeks, in continuous time (no day dating, so the summary is
  exactly what the planted parameters describe); each repeat purchase worth gamma(p, nu) with
  nu ~ gamma(q, gamma) per customer (Gamma-Gamma p 6.25, q 3.74, gamma 15.44), so a customer's mean
  repeat spend is gamma(p x, nu) / x;
- fit the purchase model and GammaGamma, then ``transaction_clv`` (margin 0.3, 8% a year, 36
  months) of every customer and of four fixed profiles (appended to the valuation only, not to
  the fit);
- compare each interval with the value at the true parameters: the base's total
  (``group_value(value)``'s one row), each profile, and every customer's own interval (the share of
  customers covered, averaged over seeds).

Coverage is reported with its Monte Carlo standard error sqrt(p (1 - p) / S). The z column is
(log estimate - log truth) / (the interval's se on the log scale): for a well-calibrated interval
its mean is near 0 and its SD near 1 (SD > 1: the interval is too narrow; mean != 0: bias).
The parameters' own 95% intervals (``summary_``) are checked too, to tell a covariance problem
from a problem of the CLV delta method. A seed whose interval is NaN (a model's covariance is not
positive semi-definite, e.g. a Pareto/NBD fit that ran off along the s-beta ridge) counts as not
covered and is counted under "no interval"; its z is left out of the z columns.

Run: .venv/bin/python benchmarks/bench_value_coverage.py [--seeds 200] [--n 5000]
     [--large-seeds 40] [--large-n 50000] [--pnbd-seeds 200] [--workers 2]
     [--first-seed 0] [--profiles-only]
(``--seeds 0``, ``--large-seeds 0`` or ``--pnbd-seeds 0`` skips that run; ``--profiles-only``
values the four profiles but not the base, so many more seeds fit in the time.)
"""

from __future__ import annotations

import argparse
import os
import platform
import time
import warnings
from concurrent.futures import ProcessPoolExecutor

import numpy as np
import pandas as pd
from scipy import stats

from cxlib.value import BetaGeo, GammaGamma, ParetoNBD, group_value, transaction_clv
from cxlib.value._clv import discounted_purchases

PLANTED_BGNBD = {"r": 0.243, "alpha": 4.414, "a": 0.793, "b": 2.426}
PLANTED_PNBD = {"r": 0.553, "alpha": 10.578, "s": 0.606, "beta": 11.669}
PLANTED_SPEND = {"p": 6.25, "q": 3.74, "gamma": 15.44}
MIN_AGE, MAX_AGE = 10.0, 78.0  # weeks
SETTINGS = {"margin_rate": 0.3, "annual_discount_rate": 0.08, "horizon_months": 36}
LEVEL = 0.95

#: Fixed customer profiles valued in every seed (weeks; mean repeat spend in dollars).
PROFILES = pd.DataFrame(
    {
        "frequency": [0, 2, 10, 6],
        "recency": [0.0, 50.0, 20.0, 45.0],
        "T": [52.0, 52.0, 70.0, 52.0],
        "monetary_value": [np.nan, 40.0, 40.0, 25.0],
    },
    index=pd.Index(
        [
            "x=0, T=52",
            "x=2 recent (t_x 50, T 52, $40)",
            "x=10 lapsed (t_x 20, T 70, $40)",
            "x=6 steady (t_x 45, T 52, $25)",
        ],
        name="customer_id",
    ),
)
PROFILES.attrs["unit_days"] = 7.0


# ---- simulation -------------------------------------------------------------------------------


def _spend(rng: np.random.Generator, frequency: np.ndarray) -> np.ndarray:
    """Mean repeat spend per customer: the sum of x gamma(p, nu) purchases is gamma(p x, nu)."""
    p, q, gamma = PLANTED_SPEND.values()
    nu = rng.gamma(q, 1.0 / gamma, frequency.size)
    x = np.maximum(frequency, 1)
    total = rng.gamma(p * x, 1.0 / nu)
    return np.where(frequency > 0, total / x, np.nan)


def _frame(frequency, recency, age, spend) -> pd.DataFrame:
    summary = pd.DataFrame(
        {"frequency": frequency, "recency": recency, "T": age, "monetary_value": spend},
        index=pd.RangeIndex(frequency.size, name="customer_id"),
    )
    summary.attrs["unit_days"] = 7.0
    return summary


def simulate_bgnbd(n: int, rng: np.random.Generator) -> pd.DataFrame:
    """Exact (continuous-time) summaries of ``n`` BG/NBD customers with planted spend.

    While alive a customer buys at Poisson rate lambda ~ gamma(r, alpha); after each repeat
    purchase they leave with probability p ~ beta(a, b), so they can make at most J ~ geometric(p)
    repeat purchases. With N ~ Poisson(lambda T) arrivals in (0, T], x = min(J, N) and the x-th
    arrival time is T times the x-th of N uniform order statistics, i.e. T beta(x, N - x + 1).
    """
    r, alpha, a, b = PLANTED_BGNBD.values()
    rate = rng.gamma(r, 1.0 / alpha, n)
    dropout = np.clip(rng.beta(a, b, n), 1e-12, 1.0)
    age = rng.uniform(MIN_AGE, MAX_AGE, n)
    arrivals = rng.poisson(rate * age)
    limit = rng.geometric(dropout)
    frequency = np.minimum(arrivals, limit)
    some = frequency > 0
    recency = np.zeros(n)
    recency[some] = age[some] * rng.beta(frequency[some], arrivals[some] - frequency[some] + 1)
    return _frame(frequency, recency, age, _spend(rng, frequency))


def simulate_pnbd(n: int, rng: np.random.Generator) -> pd.DataFrame:
    """Exact summaries of ``n`` Pareto/NBD customers with planted spend.

    Lifetime tau ~ exponential(mu), mu ~ gamma(s, beta); purchases at Poisson rate
    lambda ~ gamma(r, alpha) during min(tau, T): x ~ Poisson(lambda min(tau, T)) and t_x is the
    largest of x uniforms on (0, min(tau, T)).
    """
    r, alpha, s, beta = PLANTED_PNBD.values()
    rate = rng.gamma(r, 1.0 / alpha, n)
    death = rng.gamma(s, 1.0 / beta, n)
    lifetime = rng.exponential(1.0, n) / np.maximum(death, 1e-300)
    age = rng.uniform(MIN_AGE, MAX_AGE, n)
    observed = np.minimum(lifetime, age)
    frequency = rng.poisson(rate * observed)
    some = frequency > 0
    recency = np.zeros(n)
    recency[some] = observed[some] * rng.beta(frequency[some], 1.0)  # max of x uniforms
    return _frame(frequency, recency, age, _spend(rng, frequency))


# ---- one seed ----------------------------------------------------------------------------------

MODELS = {
    "bgnbd": (BetaGeo, simulate_bgnbd, PLANTED_BGNBD),
    "pnbd": (ParetoNBD, simulate_pnbd, PLANTED_PNBD),
}


def _truth(purchase_model, spend_model, summary, planted) -> np.ndarray:
    """Each row's CLV at the planted parameters (same formula as transaction_clv)."""
    purchases = discounted_purchases(
        purchase_model,
        summary,
        SETTINGS["horizon_months"],
        SETTINGS["annual_discount_rate"],
        params=pd.Series(planted, dtype=float),
    )
    spend = spend_model.conditional_expected_spend(summary, params=pd.Series(PLANTED_SPEND, dtype=float))
    return SETTINGS["margin_rate"] * np.asarray(spend, float) * purchases


def _record(estimate, low, high, truth) -> dict:
    """Whether [low, high] covers truth, and the z-score on the log scale implied by the interval."""
    z_crit = stats.norm.ppf(0.5 + LEVEL / 2)
    with np.errstate(divide="ignore", invalid="ignore"):
        se_log = np.log(high / low) / (2 * z_crit)
        z = (np.log(estimate) - np.log(truth)) / se_log
    return {
        "covered": bool(low <= truth <= high),  # False when there is no interval (NaN)
        "no_interval": bool(not (np.isfinite(low) and np.isfinite(high))),
        "z": float(z),
        "rel_error": float(estimate / truth - 1),
        "rel_half_width": float((high - low) / (2 * truth)),
    }


def one_seed(kind: str, n: int, seed: int, base: bool = True) -> dict:
    """Simulate, fit, value and compare with the truth for one seed; returns a flat record.

    ``base=False`` values the profiles only (the base's valuation is most of the time at 50,000).
    """
    model_class, simulate, planted = MODELS[kind]
    rng = np.random.default_rng([12, seed])
    summary = simulate(n, rng)
    start = time.perf_counter()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        purchase = model_class().fit(summary)
        spend = GammaGamma().fit(summary)
        profiles = transaction_clv(purchase, spend, PROFILES, **SETTINGS)
        truth_profiles = _truth(purchase, spend, PROFILES, planted)
        if base:
            value = transaction_clv(purchase, spend, summary, **SETTINGS)
            total = group_value(value).iloc[0]
            truth_base = _truth(purchase, spend, summary, planted)
    out = {
        "seed": seed,
        "seconds": time.perf_counter() - start,
        "converged": bool(purchase.converged_ and spend.converged_),
        "repeaters": int((summary["frequency"] > 0).sum()),
    }
    if base:
        for key, val in _record(
            total["total"], total["total_low"], total["total_high"], truth_base.sum()
        ).items():
            out[f"total|{key}"] = val
        table = value.table
        inside = (table["clv_low"].to_numpy() <= truth_base) & (truth_base <= table["clv_high"].to_numpy())
        out["customers|share_covered"] = float(inside.mean())
    for name, row in profiles.table.iterrows():
        truth = truth_profiles[PROFILES.index.get_loc(name)]
        for key, val in _record(row["clv"], row["clv_low"], row["clv_high"], truth).items():
            out[f"{name}|{key}"] = val
    for model, names in ((purchase, list(planted)), (spend, list(PLANTED_SPEND))):
        rows = model.summary_.set_index("term")
        for name in names:
            true = {**planted, **PLANTED_SPEND}[name]
            out[f"param {name}|covered"] = bool(rows.loc[name, "ci_low"] <= true <= rows.loc[name, "ci_high"])
            out[f"param {name}|log_error"] = float(np.log(rows.loc[name, "estimate"] / true))
            width = np.log(rows.loc[name, "ci_high"] / rows.loc[name, "ci_low"])
            out[f"param {name}|se_log"] = float(width / (2 * stats.norm.ppf(0.5 + LEVEL / 2)))
    return out


# ---- reporting ---------------------------------------------------------------------------------


def _coverage(covered: pd.Series) -> tuple[float, float, float, str]:
    """Coverage, its MC SE sqrt(p(1-p)/S), the exact binomial p-value against 95%, and a verdict.

    The verdict measures the distance from 95% in standard errors at the nominal rate,
    sqrt(0.95 x 0.05 / S) (the MC SE at the observed rate is 0 when every seed covers): within 2,
    "yes"; 2-3, "borderline"; beyond, "no" with the direction.
    """
    s = len(covered)
    hits = int(covered.sum())
    p = hits / s
    se = np.sqrt(p * (1 - p) / s)
    p_value = stats.binomtest(hits, s, LEVEL).pvalue
    distance = abs(p - LEVEL) / np.sqrt(LEVEL * (1 - LEVEL) / s)
    if distance <= 2:
        verdict = "yes"
    elif distance <= 3:
        verdict = "borderline"
    else:
        verdict = "no: too narrow" if p < LEVEL else "no: too wide"
    return p, se, p_value, verdict


def report(kind: str, n: int, records: list[dict]) -> None:
    """Print the coverage table of one run (markdown)."""
    frame = pd.DataFrame(records)
    s = len(frame)
    print(
        f"\n### {kind}: {s} seeds x {n:,} customers "
        f"(converged {int(frame['converged'].sum())}/{s}; repeaters per seed {frame['repeaters'].mean():,.0f}; "
        f"fit + value {frame['seconds'].mean():.2f} s per seed)\n"
    )
    print(
        "| quantity | coverage of 95% interval | MC SE | binomial p vs 95% | about 95%? | no interval | z mean "
        "| z SD | median rel. error | median rel. half-width |"
    )
    print("|---|---|---|---|---|---|---|---|---|---|")
    base = "total|covered" in frame.columns
    targets = (["total"] if base else []) + list(PROFILES.index)
    for target in targets:
        p, se, p_value, verdict = _coverage(frame[f"{target}|covered"])
        z = frame[f"{target}|z"]
        label = "total of the base" if target == "total" else f"profile {target}"
        print(
            f"| {label} | {p:.3f} | {se:.3f} | {p_value:.2f} | {verdict} | {int(frame[f'{target}|no_interval'].sum())} "
            f"| {z.mean():+.2f} | {z.std():.2f} | "
            f"{frame[f'{target}|rel_error'].median():+.3f} | {frame[f'{target}|rel_half_width'].median():.3f} |"
        )
    if base:
        share = frame["customers|share_covered"]
        print(
            f"| every customer's own interval: share covered, mean over seeds (SD {share.std():.3f}, "
            f"median {share.median():.3f}) | {share.mean():.3f} | {share.std() / np.sqrt(s):.3f} "
            "| - | - | - | - | - | - | - |"
        )
    print(
        "\n| parameter | coverage of its 95% interval | MC SE | binomial p vs 95% | about 95%? "
        "| mean log error | SD log error (over seeds) | mean reported SE (log) |"
    )
    print("|---|---|---|---|---|---|---|---|")
    for column in [c for c in frame.columns if c.startswith("param ") and c.endswith("|covered")]:
        name = column.split("|")[0]
        p, se, p_value, verdict = _coverage(frame[column])
        err = frame[f"{name}|log_error"]
        print(
            f"| {name[6:]} | {p:.3f} | {se:.3f} | {p_value:.2f} | {verdict} | {err.mean():+.3f} | {err.std():.3f} "
            f"| {frame[f'{name}|se_log'].mean():.3f} |"
        )


def run(kind: str, n: int, seeds: int, workers: int, first_seed: int = 0, base: bool = True) -> list[dict]:
    """Seeds ``first_seed`` ... ``first_seed + seeds - 1`` of one configuration, on ``workers`` processes."""
    start = time.perf_counter()
    chosen = range(first_seed, first_seed + seeds)
    if workers > 1:
        with ProcessPoolExecutor(workers) as pool:
            records = list(pool.map(one_seed, [kind] * seeds, [n] * seeds, chosen, [base] * seeds))
    else:
        records = [one_seed(kind, n, seed, base) for seed in chosen]
    report(kind, n, records)
    print(f"\n(wall time {time.perf_counter() - start:.0f} s on {workers} worker(s))", flush=True)
    return records


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=200)
    parser.add_argument("--n", type=int, default=5000)
    parser.add_argument("--large-seeds", type=int, default=40)
    parser.add_argument("--large-n", type=int, default=50_000)
    parser.add_argument("--pnbd-seeds", type=int, default=200)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--first-seed", type=int, default=0)
    parser.add_argument("--profiles-only", action="store_true", help="skip valuing the base (faster)")
    args = parser.parse_args()
    options = {"first_seed": args.first_seed, "base": not args.profiles_only}
    print(
        f"{os.cpu_count()} cores; {platform.processor() or platform.machine()}; "
        f"Python {platform.python_version()}, numpy {np.__version__}, pandas {pd.__version__}; "
        f"CLV margin {SETTINGS['margin_rate']}, {SETTINGS['annual_discount_rate']:.0%} a year, "
        f"{SETTINGS['horizon_months']} months; 95% intervals",
        flush=True,
    )
    if args.seeds:
        run("bgnbd", args.n, args.seeds, args.workers, **options)
    if args.large_seeds:
        run("bgnbd", args.large_n, args.large_seeds, args.workers, **options)
    if args.pnbd_seeds:
        run("pnbd", args.n, args.pnbd_seeds, args.workers, **options)


if __name__ == "__main__":
    main()

"""Benchmark: BG/NBD + Gamma-Gamma on 1M simulated customers, cxlib against lifetimes (2 cores).

The customers are simulated from the models themselves with known parameters (the CDNOW
estimates), so the benchmark also shows how well the fit recovers them:

- birth day uniform over the 546 days (78 weeks) before the calibration end;
- while alive, purchases at a Poisson rate lambda ~ gamma(r, alpha) per week; after each repeat
  purchase the customer leaves with probability p ~ beta(a, b);
- each purchase is worth gamma(p_spend, nu) with nu ~ gamma(q, gamma) per customer;
- purchases are dated to the day and go through :func:`cxlib.features.repeat_purchase_summary`,
  so several purchases on one day merge into one, as in real data (a small departure from the
  planted process, visible in the recovered parameters).

Run: .venv/bin/python benchmarks/bench_value.py [n_customers] [lifetimes_customers]
(``lifetimes_customers`` caps the sample lifetimes fits on per-customer rows: default all.)
"""

from __future__ import annotations

import os

os.environ.setdefault("OMP_NUM_THREADS", "2")  # the target machine has 2 cores

import platform
import resource
import sys
import time
import warnings

import numpy as np
import pandas as pd

from cxlib.features import compress_summary, repeat_purchase_summary
from cxlib.value import BetaGeo, GammaGamma

PLANTED_BGNBD = {"r": 0.243, "alpha": 4.414, "a": 0.793, "b": 2.426}
PLANTED_SPEND = {"p": 6.25, "q": 3.74, "gamma": 15.44}
CALIBRATION_END = pd.Timestamp("2024-12-31")
MAX_AGE_DAYS = 546


def simulate(n: int, seed: int = 12) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Transactions of ``n`` customers following BG/NBD purchasing and Gamma-Gamma spend.

    Returns the transactions (dated to the day) and the exact summary in continuous time
    (frequency, recency, T, monetary_value of the repeat purchases: no day merges), which is
    what the planted parameters describe.
    """
    rng = np.random.default_rng(seed)
    r, alpha, a, b = PLANTED_BGNBD.values()
    p_spend, q, gamma = PLANTED_SPEND.values()
    rate = rng.gamma(r, 1 / alpha, n)  # purchases per week while alive
    dropout = rng.beta(a, b, n)
    nu = rng.gamma(q, 1 / gamma, n)
    age_days = rng.integers(0, MAX_AGE_DAYS + 1, n)
    age = age_days / 7
    customers, offsets = [np.arange(n)], [np.zeros(n, dtype=int)]
    frequency, recency, clock = np.zeros(n, dtype=int), np.zeros(n), np.zeros(n)
    active = np.arange(n)
    while active.size:
        clock[active] += rng.exponential(1.0, active.size) / rate[active]
        active = active[clock[active] <= age[active]]
        frequency[active] += 1
        recency[active] = clock[active]
        customers.append(active)
        offsets.append(np.floor(clock[active] * 7).astype(int))
        active = active[rng.random(active.size) >= dropout[active]]
    who = np.concatenate(customers)
    day = np.concatenate(offsets)
    amount = np.round(rng.gamma(p_spend, 1 / nu[who]), 2)
    birth = CALIBRATION_END - pd.to_timedelta(age_days, unit="D")
    transactions = pd.DataFrame(
        {
            "customer_id": who,
            "order_date": birth[who] + pd.to_timedelta(day, unit="D"),
            "amount": amount,
            "is_refund": False,
        }
    )
    repeat_spend = np.bincount(who[n:], weights=amount[n:], minlength=n)
    exact = pd.DataFrame(
        {
            "frequency": frequency,
            "recency": recency,
            "T": age,
            "monetary_value": np.where(frequency > 0, repeat_spend / np.maximum(frequency, 1), np.nan),
        }
    )
    exact.attrs["unit_days"] = 7.0
    return transactions, exact


def timed(label: str, func):
    start = time.perf_counter()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        result = func()
    elapsed = time.perf_counter() - start
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"| {label} | {elapsed:7.2f} s | {peak_mb:,.0f} MB |", flush=True)
    return result, elapsed


def lifetimes_compressed(summary: pd.DataFrame):
    """lifetimes on distinct (x, t_x, T) rows with their counts (its ``weights``)."""
    from lifetimes import BetaGeoFitter

    unique, counts, _ = compress_summary(summary["frequency"], summary["recency"], summary["T"])
    return BetaGeoFitter().fit(unique[:, 0], unique[:, 1], unique[:, 2], weights=counts)


def main(n: int, n_lifetimes: int | None) -> None:
    print(
        f"{n:,} customers; {os.cpu_count()} cores; {platform.processor() or platform.machine()}; "
        f"Python {platform.python_version()}, numpy {np.__version__}, pandas {pd.__version__}\n"
    )
    print("| step | wall time | peak memory (process so far) |\n|---|---|---|")
    (transactions, exact), _ = timed("simulate transactions", lambda: simulate(n))
    summary, _ = timed(
        f"repeat_purchase_summary ({len(transactions):,} transactions)",
        lambda: repeat_purchase_summary(transactions, CALIBRATION_END),
    )
    distinct = len(compress_summary(summary["frequency"], summary["recency"], summary["T"])[1])
    repeaters = summary[summary["frequency"] > 0]
    print(
        f"| ({len(summary):,} customers, {distinct:,} distinct (x, t_x, T) rows, {len(repeaters):,} repeaters) | | |"
    )
    bgnbd, t_bg = timed("cxlib BetaGeo.fit (incl. compression, covariance)", lambda: BetaGeo().fit(summary))
    spend, t_gg = timed(
        "cxlib GammaGamma.fit (incl. covariance, independence)", lambda: GammaGamma().fit(summary)
    )
    _, t_pred = timed(
        "cxlib expected_purchases(52) + probability_alive + expected spend, every customer",
        lambda: (
            bgnbd.expected_purchases(52.0, summary),
            bgnbd.probability_alive(summary),
            spend.conditional_expected_spend(summary),
        ),
    )

    from lifetimes import BetaGeoFitter, GammaGammaFitter

    sample = (
        summary if n_lifetimes is None or n_lifetimes >= n else summary.sample(n_lifetimes, random_state=1)
    )
    sample_repeaters = sample[sample["frequency"] > 0]
    label = "" if sample is summary else f" ({len(sample):,}-customer sample)"
    bgf, t_lbg = timed(
        f"lifetimes BetaGeoFitter.fit, one row per customer{label}",
        lambda: BetaGeoFitter().fit(sample["frequency"], sample["recency"], sample["T"]),
    )
    bgf_w, t_lbgw = timed(
        "lifetimes BetaGeoFitter.fit on distinct rows with weights (incl. compression)",
        lambda: lifetimes_compressed(summary),
    )
    ggf, t_lgg = timed(
        f"lifetimes GammaGammaFitter.fit{label}",
        lambda: GammaGammaFitter().fit(sample_repeaters["frequency"], sample_repeaters["monetary_value"]),
    )

    print(f"\nBG/NBD + Gamma-Gamma fit, cxlib: {t_bg + t_gg:.2f} s (predictions for all: {t_pred:.2f} s)")
    print(
        f"lifetimes, per-customer rows{label}: {t_lbg + t_lgg:.2f} s; ratio cxlib/lifetimes "
        f"{(t_bg + t_gg) / (t_lbg + t_lgg):.2f}"
    )
    print(
        f"lifetimes, BG/NBD on weighted distinct rows + Gamma-Gamma{label}: {t_lbgw + t_lgg:.2f} s; "
        f"ratio cxlib/lifetimes {(t_bg + t_gg) / (t_lbgw + t_lgg):.2f}"
    )
    print("\nThe same customers in continuous time (no day merges: every row distinct, the worst case):\n")
    print("| step | wall time | peak memory (process so far) |\n|---|---|---|")
    exact_bgnbd, t_ebg = timed("cxlib BetaGeo.fit, continuous time", lambda: BetaGeo().fit(exact))
    exact_spend, t_egg = timed("cxlib GammaGamma.fit, continuous time", lambda: GammaGamma().fit(exact))
    print(f"\nBG/NBD + Gamma-Gamma fit, cxlib, continuous time: {t_ebg + t_egg:.2f} s")

    print(
        "\n| parameter | planted | cxlib, daily data (95% CI) | lifetimes, daily data (weighted rows) "
        "| cxlib, continuous time (95% CI) | planted inside the continuous-time CI |\n|---|---|---|---|---|---|"
    )
    fits = ((bgnbd, exact_bgnbd, PLANTED_BGNBD, bgf_w), (spend, exact_spend, PLANTED_SPEND, ggf))
    for daily, continuous, planted, reference in fits:
        table, exact_table = daily.summary_.set_index("term"), continuous.summary_.set_index("term")
        for name, truth in planted.items():
            theirs = reference.params_["v" if name == "gamma" else name]
            row, exact_row = table.loc[name], exact_table.loc[name]
            inside = exact_row["ci_low"] <= truth <= exact_row["ci_high"]
            print(
                f"| {name} | {truth:g} | {row['estimate']:.4f} ({row['ci_low']:.4f}-{row['ci_high']:.4f}) "
                f"| {theirs:.4f} | {exact_row['estimate']:.4f} "
                f"({exact_row['ci_low']:.4f}-{exact_row['ci_high']:.4f}) | {'yes' if inside else 'no'} |"
            )
    print(
        f"\nconverged: BetaGeo {bgnbd.converged_}, GammaGamma {spend.converged_}; caveats: "
        f"{[c.code for c in bgnbd.caveats_ + spend.caveats_]}"
    )
    print(f"Peak memory: {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:,.0f} MB.")


if __name__ == "__main__":
    main(
        int(sys.argv[1]) if len(sys.argv) > 1 else 1_000_000,
        int(sys.argv[2]) if len(sys.argv) > 2 else None,
    )

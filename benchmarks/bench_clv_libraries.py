"""Benchmark: BG/NBD + Gamma-Gamma at 1M customers with lifetimes and with pymc-marketing.

Evidence for the library choice in issue 12 (results in ``benchmarks/RESULTS-clv-libraries.md``).
Neither library is a runtime dependency of cxlib: run this in a venv where one or both are installed;
a library that is missing is skipped with a message.

Run: python benchmarks/bench_clv_libraries.py [--customers 1000000] [--library all]
     [--nuts-customers 100000] [--warm-cache]

Each library runs in its own child process (same interpreter) so that wall time includes the import and,
for pymc-marketing, the compilation of the first fit, and peak memory (ru_maxrss) is that library's own.
The pymc-marketing child uses a fresh, empty pytensor compile directory unless ``--warm-cache`` is given,
as a CI runner without a cache would.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import os
import platform
import resource
import subprocess
import sys
import tempfile
import time

import numpy as np
import pandas as pd

# Published CDNOW estimates (Fader, Hardie and Lee 2005a, 2005b), weeks as the time unit.
BGNBD_TRUTH = {"r": 0.243, "alpha": 4.414, "a": 0.793, "b": 2.426}
GAMMA_GAMMA_TRUTH = {"p": 6.25, "q": 3.74, "gamma": 15.44}
MAX_AGE_DAYS = 546  # 78 weeks
LIBRARIES = ("lifetimes", "pymc-marketing")
MODULES = {"lifetimes": "lifetimes", "pymc-marketing": "pymc_marketing"}


def simulate_summaries(n: int, seed: int = 12) -> pd.DataFrame:
    """Simulate BG/NBD frequency/recency/T summaries and Gamma-Gamma mean spend for ``n`` customers.

    Parameters
    ----------
    n : int
        Number of customers.
    seed : int
        Seed of the numpy Generator.

    Returns
    -------
    pandas.DataFrame
        Columns ``customer_id, frequency, recency, T, monetary_value`` (time in weeks, whole days;
        ``monetary_value`` is the mean of the repeat purchases' spend, 0 for customers with none).

    Notes
    -----
    Each customer makes a first purchase at 0 and is observed for T weeks, T uniform over whole days in
    0-78 weeks. While alive, repeat purchases follow a Poisson process with rate lambda ~ Gamma(r, alpha);
    after each repeat purchase the customer drops out with probability p ~ Beta(a, b), so the number of repeat
    purchases before dropout K is geometric on {1, 2, ...}. Given N(T) = n Poisson events, the purchase times
    are the order statistics of n uniforms on (0, T): x = min(n, K), and the time of the x-th purchase is
    T * Beta(x, n - x + 1). Recency is then rounded to whole days (never above T). Spend per repeat purchase
    is Gamma(p, nu) with nu ~ Gamma(q, gamma), so the sum of x purchases is Gamma(p x, nu).
    """
    rng = np.random.default_rng(seed)
    t_age = rng.integers(0, MAX_AGE_DAYS + 1, n) / 7.0
    rate = rng.gamma(BGNBD_TRUTH["r"], 1.0 / BGNBD_TRUTH["alpha"], n)
    dropout = rng.beta(BGNBD_TRUTH["a"], BGNBD_TRUTH["b"], n)
    purchases_before_dropout = rng.geometric(dropout)
    events = rng.poisson(rate * t_age)
    frequency = np.minimum(events, purchases_before_dropout)
    repeaters = frequency > 0
    last = np.zeros(n)
    last[repeaters] = t_age[repeaters] * rng.beta(
        frequency[repeaters], events[repeaters] - frequency[repeaters] + 1
    )
    recency = np.minimum(np.round(last * 7.0) / 7.0, t_age)
    nu = rng.gamma(GAMMA_GAMMA_TRUTH["q"], 1.0 / GAMMA_GAMMA_TRUTH["gamma"], n)
    spend_sum = np.zeros(n)
    spend_sum[repeaters] = rng.gamma(GAMMA_GAMMA_TRUTH["p"] * frequency[repeaters], 1.0 / nu[repeaters])
    monetary = np.where(repeaters, spend_sum / np.maximum(frequency, 1), 0.0)
    return pd.DataFrame(
        {
            "customer_id": np.arange(n),
            "frequency": frequency.astype(float),
            "recency": recency,
            "T": t_age,
            "monetary_value": monetary,
        }
    )


def peak_mb() -> float:
    """Peak resident memory of this process so far, in MB (Linux ru_maxrss is in KB)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def run_lifetimes(data: pd.DataFrame) -> dict:
    """Fit lifetimes' BetaGeoFitter and GammaGammaFitter on the raw rows (as a user would call them).

    Parameters
    ----------
    data : pandas.DataFrame
        Output of :func:`simulate_summaries`.

    Returns
    -------
    dict
        Version, timings (s), peak memory (MB) and recovered parameters.
    """
    start = time.perf_counter()
    import lifetimes

    result = {"library": "lifetimes", "version": lifetimes.__version__}
    result["import_s"] = time.perf_counter() - start
    start = time.perf_counter()
    bgnbd = lifetimes.BetaGeoFitter().fit(data["frequency"], data["recency"], data["T"])
    result["bgnbd_s"] = time.perf_counter() - start
    result["bgnbd"] = {name: float(bgnbd.params_[name]) for name in BGNBD_TRUTH}
    repeat = data[data["frequency"] > 0]
    start = time.perf_counter()
    spend = lifetimes.GammaGammaFitter().fit(repeat["frequency"], repeat["monetary_value"])
    result["gamma_gamma_s"] = time.perf_counter() - start
    result["gamma_gamma"] = {
        "p": float(spend.params_["p"]),
        "q": float(spend.params_["q"]),
        "gamma": float(spend.params_["v"]),
    }
    return result


def run_pymc_marketing(data: pd.DataFrame, nuts_customers: int, seed: int) -> dict:
    """Fit pymc-marketing's BetaGeoModel and GammaGammaModel by MAP (optionally NUTS on a subsample).

    Parameters
    ----------
    data : pandas.DataFrame
        Output of :func:`simulate_summaries`.
    nuts_customers : int
        If positive, also time the default NUTS fit of BetaGeoModel on the first ``nuts_customers`` rows.
    seed : int
        Seed passed to the sampler.

    Returns
    -------
    dict
        Version, timings (s), peak memory (MB) and recovered parameters (MAP with the default priors).
    """
    start = time.perf_counter()
    import pymc_marketing
    from pymc_marketing.clv import BetaGeoModel, GammaGammaModel

    result = {"library": "pymc-marketing", "version": pymc_marketing.__version__}
    result["import_s"] = time.perf_counter() - start
    rfm = data[["customer_id", "frequency", "recency", "T"]]
    start = time.perf_counter()
    bgnbd = BetaGeoModel()
    bgnbd.fit(data=rfm, method="map", progressbar=False)
    result["bgnbd_s"] = time.perf_counter() - start
    point = bgnbd.fit_summary()
    result["bgnbd"] = {name: float(point[name]) for name in BGNBD_TRUTH}
    repeat = data.loc[data["frequency"] > 0, ["customer_id", "frequency", "monetary_value"]]
    start = time.perf_counter()
    spend = GammaGammaModel()
    spend.fit(data=repeat, method="map", progressbar=False)
    result["gamma_gamma_s"] = time.perf_counter() - start
    point = spend.fit_summary()
    result["gamma_gamma"] = {"p": float(point["p"]), "q": float(point["q"]), "gamma": float(point["v"])}
    result["peak_after_map_mb"] = peak_mb()
    if nuts_customers > 0:
        subsample = rfm.iloc[:nuts_customers]
        start = time.perf_counter()
        nuts = BetaGeoModel()
        nuts.fit(data=subsample, progressbar=False, random_seed=seed)
        result["nuts_customers"] = nuts_customers
        result["nuts_s"] = time.perf_counter() - start
        draws = nuts.fit_result
        result["nuts_draws"] = int(draws.chain.size * draws.draw.size)
        result["nuts"] = {name: float(draws[name].mean()) for name in BGNBD_TRUTH}
    return result


def child(library: str, customers: int, nuts_customers: int, seed: int) -> None:
    """Simulate, fit one library and print its result as one JSON line."""
    start = time.perf_counter()
    data = simulate_summaries(customers, seed)
    simulate_s = time.perf_counter() - start
    baseline = peak_mb()
    if library == "lifetimes":
        result = run_lifetimes(data)
    else:
        result = run_pymc_marketing(data, nuts_customers, seed)
    result.update(
        customers=customers,
        repeaters=int((data["frequency"] > 0).sum()),
        simulate_s=simulate_s,
        peak_before_fit_mb=baseline,
        peak_mb=peak_mb(),
    )
    result["fit_s"] = result["import_s"] + result["bgnbd_s"] + result["gamma_gamma_s"]
    print("RESULT " + json.dumps(result), flush=True)


def error_pct(estimate: dict, truth: dict) -> str:
    """Largest relative difference of the estimates from the planted values, in percent."""
    worst = max(abs(estimate[name] / truth[name] - 1.0) for name in truth)
    return f"{100 * worst:.1f}%"


def report(result: dict) -> None:
    """Print one library's result as markdown lines."""
    print(f"\n### {result['library']} {result['version']}")
    print(
        f"- {result['customers']:,} customers ({result['repeaters']:,} repeaters), simulated in "
        f"{result['simulate_s']:.1f} s; peak memory before fitting {result['peak_before_fit_mb']:,.0f} MB"
    )
    print("| step | wall time |\n|---|---|")
    print(f"| import | {result['import_s']:.1f} s |")
    print(f"| BG/NBD fit (incl. first-fit compilation) | {result['bgnbd_s']:.1f} s |")
    print(f"| Gamma-Gamma fit on the repeaters | {result['gamma_gamma_s']:.1f} s |")
    print(f"| **import + BG/NBD + Gamma-Gamma** | **{result['fit_s']:.1f} s** |")
    print(f"- peak memory (process): {result['peak_mb']:,.0f} MB")
    for model, truth in (("bgnbd", BGNBD_TRUTH), ("gamma_gamma", GAMMA_GAMMA_TRUTH)):
        values = ", ".join(f"{name} {result[model][name]:.4g}" for name in truth)
        print(f"- {model}: {values} (largest deviation from planted: {error_pct(result[model], truth)})")
    if "nuts_s" in result:
        values = ", ".join(f"{name} {result['nuts'][name]:.4g}" for name in BGNBD_TRUTH)
        print(
            f"- default NUTS fit of BG/NBD on {result['nuts_customers']:,} customers "
            f"({result['nuts_draws']:,} draws): {result['nuts_s']:.1f} s; posterior means {values}"
        )


def main() -> None:
    """Parse arguments and run each requested library in a child process."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--customers", type=int, default=1_000_000)
    parser.add_argument("--library", choices=(*LIBRARIES, "all"), default="all")
    parser.add_argument("--nuts-customers", type=int, default=0, help="0 skips the NUTS fit")
    parser.add_argument("--seed", type=int, default=12)
    parser.add_argument("--warm-cache", action="store_true", help="reuse the user's pytensor compile cache")
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(args.library, args.customers, args.nuts_customers, args.seed)
        return
    print(
        f"{os.cpu_count()} cores; {platform.machine()}; Python {platform.python_version()}; "
        f"numpy {np.__version__}; pandas {pd.__version__}"
    )
    libraries = LIBRARIES if args.library == "all" else (args.library,)
    for library in libraries:
        if importlib.util.find_spec(MODULES[library]) is None:
            print(
                f"\n### {library}: not installed in {sys.prefix}; skipped "
                f"(pip install {'lifetimes==0.11.3' if library == 'lifetimes' else library})"
            )
            continue
        env = dict(os.environ)
        with tempfile.TemporaryDirectory(prefix="pytensor-") as compiledir:
            if library == "pymc-marketing" and not args.warm_cache:
                env["PYTENSOR_FLAGS"] = f"compiledir={compiledir}"
            command = [
                sys.executable,
                __file__,
                "--child",
                "--library",
                library,
                "--customers",
                str(args.customers),
                "--nuts-customers",
                str(args.nuts_customers),
                "--seed",
                str(args.seed),
            ]
            start = time.perf_counter()
            done = subprocess.run(command, env=env, capture_output=True, text=True, check=False)
            elapsed = time.perf_counter() - start
        lines = [line for line in done.stdout.splitlines() if line.startswith("RESULT ")]
        if done.returncode != 0 or not lines:
            print(
                f"\n### {library}: failed (exit {done.returncode}) after {elapsed:.0f} s\n```\n"
                f"{done.stderr[-3000:]}\n```"
            )
            continue
        report(json.loads(lines[-1][len("RESULT ") :]))
        print(f"- child process wall time (interpreter start to exit): {elapsed:.1f} s")


if __name__ == "__main__":
    main()

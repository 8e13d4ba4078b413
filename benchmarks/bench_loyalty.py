"""Benchmark: do the loyalty-spend and referral inputs recover the planted values over repeated seeds?

For each seed the generator writes a ``--n``-customer demo (``cx synth``) whose planted truth is:
orders in a month whose latest NPS class is promoter cost x1.15 (``PROMOTER_SPEND_UPLIFT``), every
other class x1, and order counts do not depend on the class; referrals per customer-month 0.030
(promoter), 0.012 (passive), 0.004 (detractor), 0.010 (no answer). :func:`cxlib.impact.loyalty_spend`
and :func:`cxlib.impact.referral_inputs` (on :class:`cxlib.experience.ReferralRates`) are fitted
with the demo config's churn rule, and each 95% interval is compared with the planted value:

- per-order, order-rate and spend-per-month ratios of promoters, detractors and no-answer vs
  passives (planted 1.15, 1, 1.15; 1, 1, 1; 1, 1, 1);
- the referral gain, promoter minus passive (planted 0.018 per customer-month), and the promoter
  rate (0.030).

Coverage comes with its Monte Carlo SE sqrt(p (1 - p) / S); z = (estimate - truth) / se on the
estimate's own scale (log for ratios): mean 0 and SD 1 when calibrated.

Run: .venv/bin/python benchmarks/bench_loyalty.py [--seeds 30] [--n 3000] [--first-seed 100]
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
from pathlib import Path

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")  # the target machine has 2 shared cores

import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
import yaml  # noqa: E402

from cxlib.data import REFERRAL_RATE_BY_LATEST_NPS_CLASS, load_config, load_data  # noqa: E402
from cxlib.data._demo_folder import write_demo  # noqa: E402
from cxlib.experience import ReferralRates  # noqa: E402
from cxlib.features import churn_rule_from_config  # noqa: E402
from cxlib.impact._loyalty import COMPARED_CLASSES, loyalty_spend, referral_inputs  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
PLANTED_SPEND = {"promoter": 1.15, "detractor": 1.0, "no_answer": 1.0}
RATES = REFERRAL_RATE_BY_LATEST_NPS_CLASS


def one_seed(seed: int, n: int, folder: Path) -> list[dict]:
    """Fit both estimators on one seed's demo; one row per checked quantity."""
    demo = folder / f"demo_{seed}"
    write_demo(demo, n_customers=n, seed=seed)
    raw = yaml.safe_load((ROOT / "configs" / "demo_small.yaml").read_text())
    raw["data"]["dir"] = str(demo)
    config_path = folder / f"config_{seed}.yaml"
    config_path.write_text(yaml.safe_dump(raw))
    config = load_config(config_path)
    data = load_data(config)
    rule = churn_rule_from_config(data, config)
    rows = []
    table = loyalty_spend(data, rule).table.set_index("nps_class")
    for name in COMPARED_CLASSES:
        if name not in table.index:
            continue
        truth = {"per_order": PLANTED_SPEND[name], "order_rate": 1.0, "spend": PLANTED_SPEND[name]}
        for measure, planted in truth.items():
            row = table.loc[name]
            rows.append(
                {
                    "seed": seed,
                    "quantity": f"{name} {measure} ratio",
                    "truth": planted,
                    "estimate": row[f"{measure}_ratio"],
                    "covered": row[f"{measure}_ci_low"] <= planted <= row[f"{measure}_ci_high"],
                    "z": (np.log(row[f"{measure}_ratio"]) - np.log(planted)) / row[f"{measure}_se_log"],
                }
            )
    inputs = referral_inputs(ReferralRates().fit(data, rule))
    planted_referrals = {
        "referral_rate_gain": RATES["promoter"] - RATES["passive"],
        "referral_rate_promoter": RATES["promoter"],
    }
    for name, planted in planted_referrals.items():
        if name in inputs:
            item = inputs[name]
            z_scale = (
                np.log(item.value) - np.log(planted)
                if item.distribution == "lognormal"
                else item.value - planted
            )
            rows.append(
                {
                    "seed": seed,
                    "quantity": name,
                    "truth": planted,
                    "estimate": item.value,
                    "covered": item.low <= planted <= item.high,
                    "z": z_scale / item.se,
                }
            )
    return rows


def main() -> None:
    """Run the seeds and print coverage, mean estimate, and z mean / SD per quantity."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=30)
    parser.add_argument("--n", type=int, default=3000)
    parser.add_argument("--first-seed", type=int, default=100)
    args = parser.parse_args()
    started = time.time()
    rows = []
    with tempfile.TemporaryDirectory() as folder:
        for seed in range(args.first_seed, args.first_seed + args.seeds):
            rows += one_seed(seed, args.n, Path(folder))
            print(f"seed {seed} done ({time.time() - started:.0f} s)", flush=True)  # noqa: T201
    results = pd.DataFrame(rows)
    summary = results.groupby("quantity", sort=False).agg(
        truth=("truth", "first"),
        seeds=("seed", "size"),
        mean_estimate=("estimate", "mean"),
        coverage=("covered", "mean"),
        z_mean=("z", "mean"),
        z_sd=("z", "std"),
    )
    summary["coverage_mc_se"] = np.sqrt(summary["coverage"] * (1 - summary["coverage"]) / summary["seeds"])
    with pd.option_context(
        "display.width", 200, "display.max_columns", 20, "display.float_format", "{:.4f}".format
    ):
        print(summary)  # noqa: T201
    print(f"{args.seeds} seeds x {args.n} customers in {time.time() - started:.0f} s")  # noqa: T201


if __name__ == "__main__":
    main()

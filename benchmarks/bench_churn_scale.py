"""Benchmark: what churn's large-data shortcuts cost, on a run's validated data (issue 15).

Compares, on the same out-of-time split of a run (e.g. 200k or 1M customers):

- held-out calibration (above ``CALIBRATION_HOLDOUT_ROWS``: one booster fit, sigmoid on a held-out
  set) against out-of-fold calibration (``folds`` + 1 fits): test ROC-AUC, Brier, calibration error;
- ``current_risk`` above ``REFIT_ROWS`` (the evaluation's booster recalibrated on the panel) against a
  booster refitted on the panel with the same settings: agreement of today's customers' scores;
- two refits on the panel that differ only in their seed: the agreement to expect from noise alone.

Run: PYTHONPATH=. .venv/bin/python benchmarks/bench_churn_scale.py CONFIG RUN_DIR OUT.json
"""

from __future__ import annotations

import json
import sys
import time

import numpy as np
import pandas as pd
from scipy import stats
from sklearn.metrics import brier_score_loss, roc_auc_score

import cxlib.churn._models as models
from cxlib import churn
from cxlib.churn._panel import scoring_features, train_test_panels
from cxlib.data import load_config
from cxlib.run import load_run_data
from cxlib.run._artifacts import load_validated


def calibration_error(y, p, bins: int = 10) -> float:
    """|churn rate - mean probability| per score decile, weighted by its customers."""
    order = np.argsort(p, kind="stable")
    return float(
        sum(abs(y[part].mean() - p[part].mean()) * len(part) for part in np.array_split(order, bins)) / len(y)
    )


def bands(p):
    return pd.cut(p, [0, 0.1, 0.25, 0.5, 1], include_lowest=True)


def agreement(a, b) -> dict:
    k = len(a) // 10
    return {
        "spearman": float(stats.spearmanr(a, b)[0]),
        "mean_abs_diff": float(np.abs(a - b).mean()),
        "mean_a": float(a.mean()),
        "mean_b": float(b.mean()),
        "band_agreement": float((bands(a) == bands(b)).mean()),
        "top_decile_overlap": len(set(np.argsort(-a)[:k]) & set(np.argsort(-b)[:k])) / k,
    }


def main(config_path: str, run_dir: str, out: str) -> None:
    config = load_config(config_path, churn.churn_overrides("", 0))
    data = load_validated(run_dir) or load_run_data(config, run_dir)
    panel = churn.churn_panel(data, config)
    train, test, split = train_test_panels(data, config, panel)
    print(split.code, len(train), len(test), flush=True)
    y = test["churned"].astype(int).to_numpy()
    result, threshold = {}, models.CALIBRATION_HOLDOUT_ROWS
    for name, rows in [("holdout", threshold), ("out_of_fold", 10**12)]:
        models.CALIBRATION_HOLDOUT_ROWS = rows
        start = time.perf_counter()
        model = churn.ChurnPredictor.from_config(config).fit(train, panel.numeric, panel.categorical)
        seconds = time.perf_counter() - start
        p = model.predict_proba(test)
        result[name] = {
            "seconds": seconds,
            "chosen": model.chosen_,
            "roc_auc": roc_auc_score(y, p),
            "brier": brier_score_loss(y, p),
            "calibration_error": calibration_error(y, p),
            "mean_probability": float(p.mean()),
            "churn_rate": float(y.mean()),
        }
        print(name, result[name], flush=True)
        if name == "holdout":
            held = model
    models.CALIBRATION_HOLDOUT_ROWS = threshold
    current = scoring_features(data, config)
    reused = held.recalibrated(panel.frame).predict_proba(current)
    refit = churn.ChurnPredictor.from_config(config, tuning=held.tuning_)
    refit = refit.fit(panel.frame, panel.numeric, panel.categorical).predict_proba(current)
    result["reused_vs_refit"] = agreement(reused, refit)
    print("reused_vs_refit", result["reused_vs_refit"], flush=True)
    other = churn.ChurnPredictor.from_config(config, seed=config.seed + 1, tuning=held.tuning_)
    other = other.fit(panel.frame, panel.numeric, panel.categorical).predict_proba(current)
    result["refit_vs_refit_other_seed"] = agreement(refit, other)
    print("refit_vs_refit_other_seed", result["refit_vs_refit_other_seed"], flush=True)
    with open(out, "w") as handle:
        json.dump(result, handle, indent=1)


if __name__ == "__main__":
    main(*sys.argv[1:4])

"""Benchmark: what notebook 02's second round of large-data shortcuts costs (issue 15).

On the out-of-time split of a run's validated data (e.g. the 200k or 1M demo), each shortcut is
compared with the method it replaces, on the same customers:

- ``forms``: number forms chosen on a ``FORM_TEST_ROWS`` sample against on all rows, for the
  drivers model on the panel and the held-out evaluation's logistic model on the training panel
  (forms and their test p-values, odds ratios of the terms both fits share, held-out ROC-AUC, CPU);
- ``select``: boosting settings chosen on a sample of each size given (``SELECTION_ROWS``): the
  choice, cross-validated AUCs, held-out ROC-AUC and Brier score, CPU;
- ``fit``: the final booster on at most each ``FIT_ROWS`` given (10**12: all rows): held-out
  ROC-AUC, Brier score, decile calibration error and CPU; optional 5th argument lowers
  ``CALIBRATION_HOLDOUT_ROWS`` (for data below it).

CPU seconds (``time.process_time``) are reported beside wall seconds: on a shared machine the
wall time measures the other jobs as much as this one.

Run: PYTHONPATH=. .venv/bin/python benchmarks/bench_churn_shortcuts.py {forms|select|fit} CONFIG RUN_DIR [SIZES] [HOLDOUT]
"""

from __future__ import annotations

import sys
import time

import numpy as np
from sklearn.metrics import brier_score_loss, roc_auc_score

import cxlib.churn._models as models
from cxlib import churn
from cxlib.churn._panel import train_test_panels
from cxlib.data import load_config
from cxlib.run import load_run_data


def calibration_error(y, p, bins: int = 10) -> float:
    """|churn rate - mean probability| per score decile, weighted by its customers."""
    order = np.argsort(p, kind="stable")
    return float(
        sum(abs(y[part].mean() - p[part].mean()) * len(part) for part in np.array_split(order, bins)) / len(y)
    )


def _timed(fit):
    cpu, wall = time.process_time(), time.perf_counter()
    result = fit()
    return result, round(time.process_time() - cpu, 1), round(time.perf_counter() - wall, 1)


def forms(config, panel, train, test) -> None:
    y = test["churned"].astype(int).to_numpy()
    summaries = {}
    for name, rows in [("sample", models.FORM_TEST_ROWS), ("all", 10**12)]:
        models.FORM_TEST_ROWS = rows
        drivers, cpu, wall = _timed(
            lambda: churn.ChurnDrivers.from_config(config).fit(panel.frame, panel.numeric, panel.categorical)
        )
        held, held_cpu, _ = _timed(
            lambda: churn.ChurnDrivers.from_config(config).fit(
                train, panel.numeric, panel.categorical, describe=False
            )
        )
        auc = roc_auc_score(y, held.predict_proba(test))
        print(
            name,
            f"drivers {cpu} s CPU ({wall} s wall), evaluation's logistic {held_cpu} s CPU, AUC {auc:.5f}",
        )
        for label, model in [("panel", drivers), ("train", held)]:
            tested = model.driver_forms_.dropna(subset=["p_value"])
            print(
                " ",
                label,
                [(d, f, f"{p:.2g}") for d, f, p in tested[["driver", "form", "p_value"]].to_numpy()],
            )
        summaries[name] = drivers.summary_.set_index("term")
    a, b = summaries["sample"], summaries["all"]
    same = a.index.intersection(b.index)
    same = same[(a.loc[same, "unit_kind"] == b.loc[same, "unit_kind"]).to_numpy()]
    log_diff = np.abs(np.log(a.loc[same, "estimate"] / b.loc[same, "estimate"]))
    width = np.log(b.loc[same, "ci_high"] / b.loc[same, "ci_low"])
    print(
        f"{len(same)} terms of the same kind: max |log OR difference| {log_diff.max():.4f}, "
        f"at most {(log_diff / width).max():.2f} of the interval's width (log scale)"
    )


def _sweep(config, panel, train, test, sizes, setting: str, describe, after=None) -> None:
    """Fit the boosting once per value of ``models.<setting>``; print time, held-out scores, ``describe``
    (and what ``after`` returns, on lines of its own)."""
    y = test["churned"].astype(int).to_numpy()
    for rows in sizes:
        setattr(models, setting, rows)
        model, cpu, wall = _timed(
            lambda: churn.ChurnPredictor.from_config(config).fit(train, panel.numeric, panel.categorical)
        )
        p = model.predict_proba(test)
        print(
            rows,
            f"{cpu} s CPU ({wall} s wall), {describe(model, y, p)}, AUC {roc_auc_score(y, p):.5f}, "
            f"Brier {brier_score_loss(y, p):.5f}",
        )
        if after is not None:
            print(after(model))


def select(config, panel, train, test, sizes) -> None:
    _sweep(
        config,
        panel,
        train,
        test,
        sizes,
        "SELECTION_ROWS",
        lambda model, y, p: f"chosen {model.chosen_}",
        after=lambda model: model.tuning_.to_string(),
    )


def fit(config, panel, train, test, sizes) -> None:
    def describe(model, y, p):
        return (
            f"booster on {model.booster_rows_:,} rows ({model.booster_.n_iter_} rounds), "
            f"calibration error {calibration_error(y, p):.4f}"
        )

    _sweep(config, panel, train, test, sizes, "FIT_ROWS", describe)


def main(what: str, config_path: str, run_dir: str, sizes: str = "", holdout: str = "") -> None:
    config = load_config(config_path, churn.churn_overrides("", 0))
    data = load_run_data(config, run_dir)
    panel = churn.churn_panel(data, config)
    train, test, split = train_test_panels(data, config, panel)
    print(split.code, f"{len(train):,} training and {len(test):,} test customers", flush=True)
    if holdout:
        models.CALIBRATION_HOLDOUT_ROWS = int(holdout)
    numbers = [int(s) for s in sizes.split(",") if s]
    {
        "forms": lambda: forms(config, panel, train, test),
        "select": lambda: select(config, panel, train, test, numbers),
        "fit": lambda: fit(config, panel, train, test, numbers),
    }[what]()


if __name__ == "__main__":
    main(*sys.argv[1:])

"""Boosting at full strength: calibration and preprocessing cost no discrimination (issue 10, part 6).

The suite's :class:`ChurnPredictor` must rank held-out customers at least as well as scikit-learn's
default ``HistGradientBoostingClassifier`` trained on the same training rows, up to
:data:`TOLERANCE` of ROC-AUC, on the demo and on IBM Telco. The demo cases are also the planted
non-linear data (a peaked age effect and an irregular one by number of products:
``tests/test_nonlinear_drivers.py``), whose columns are among the features (checked below).
"""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.ensemble import HistGradientBoostingClassifier
from sklearn.metrics import roc_auc_score
from threadpoolctl import threadpool_limits

from cxlib.churn._models import ChurnPredictor
from cxlib.churn._panel import churn_panel, train_test_panels
from cxlib.report import render_all
from tests.churn_data import MID_CUSTOMERS, demo, telco

#: Held-out ROC-AUC the suite may fall short of the default model by, beyond the noise of the test
#: set: cross-validation may choose simpler settings that score as well up to noise.
TOLERANCE = 0.005
#: The noise allowed on top: this many standard errors of the paired AUC difference (bootstrap of the
#: held-out customers). On the 3,000-customer demo that SE is about 0.02, so a fixed 0.005 alone
#: would fail on a different draw of the demo although neither model ranks better.
NOISE_SE = 2.0


def _paired_auc_se(y, first, second, seed: int = 0, n_boot: int = 200) -> float:
    """Standard error of AUC(first) - AUC(second) over bootstrap resamples of the same held-out rows."""
    rng = np.random.default_rng(seed)
    y, first, second = np.asarray(y), np.asarray(first), np.asarray(second)
    differences = []
    for _ in range(n_boot):
        rows = rng.integers(0, len(y), len(y))
        if y[rows].min() == y[rows].max():
            continue
        differences.append(roc_auc_score(y[rows], first[rows]) - roc_auc_score(y[rows], second[rows]))
    return float(np.std(differences, ddof=1))


def _split(name):
    if name == "telco":
        config, data = telco()
    else:
        config, data, _ = demo(name)
    panel = churn_panel(data, config)
    train, test, _ = train_test_panels(data, config, panel)
    return config, panel, train, test


@pytest.fixture(scope="module", params=[3_000, MID_CUSTOMERS, "telco"])
def fitted(request):
    config, panel, train, test = _split(request.param)
    model = ChurnPredictor(seed=config.seed).fit(train, panel.numeric, panel.categorical)
    return request.param, config, panel, train, test, model


def _default_scores(config, model, train, test):
    """Held-out scores of a default HistGradientBoostingClassifier on the same training rows."""
    with threadpool_limits(limits=1, user_api="openmp"):
        default = HistGradientBoostingClassifier(random_state=config.seed)
        default.fit(model._matrix(train), train["churned"].astype(int))
        return default.predict_proba(model._matrix(test))[:, 1]


def _default_auc(config, model, train, test) -> float:
    """Held-out ROC-AUC of a default HistGradientBoostingClassifier on the same training rows."""
    return roc_auc_score(test["churned"].astype(int), _default_scores(config, model, train, test))


def test_boosting_ranks_held_out_customers_at_least_as_well_as_a_default_model(fitted):
    name, config, _, train, test, model = fitted
    y = test["churned"].astype(int)
    ours, theirs = model.predict_proba(test), _default_scores(config, model, train, test)
    suite, default = roc_auc_score(y, ours), roc_auc_score(y, theirs)
    se = _paired_auc_se(y, ours, theirs, seed=config.seed)
    print(
        f"{name}: suite {suite:.4f} ({model.chosen_}), default {default:.4f}, SE of the difference {se:.4f}"
    )
    assert suite >= default - TOLERANCE - NOISE_SE * se


def test_calibration_costs_no_discrimination(fitted):
    """Untuned, the suite is the default model fitted on all training rows: sigmoid calibration keeps its ranking."""
    _, config, panel, train, test, _ = fitted
    model = ChurnPredictor(seed=config.seed, tune=False).fit(train, panel.numeric, panel.categorical)
    suite = roc_auc_score(test["churned"].astype(int), model.predict_proba(test))
    assert model.chosen_ == "default"
    assert suite == pytest.approx(_default_auc(config, model, train, test), abs=1e-9)


def test_settings_are_chosen_by_cross_validation_and_stated(fitted):
    _, _, _, train, _, model = fitted
    tuning = model.tuning_.set_index("candidate")
    assert {"default", "slow", "shallow"} <= set(tuning.index) and tuning["chosen"].sum() == 1
    best = tuning["cv_roc_auc"].idxmax()
    # the one-standard-error rule: the simplest (listed first) within one standard error of the best
    within = tuning.index[tuning["cv_roc_auc"] >= tuning.loc[best, "cv_roc_auc"] - tuning.loc[best, "cv_se"]]
    assert model.chosen_ == within[0]
    text = " ".join(render_all(model.caveats_))
    assert f"'{model.chosen_}'" in text and "cross-validated ROC-AUC" in text
    assert f"fitted on all {len(train):,} training customers" in text


def test_missing_values_are_handled_natively_and_stated():
    config, panel, train, test = _split(3_000)
    assert train["mean_order_value"].isna().any()  # customers without orders yet
    model = ChurnPredictor(seed=config.seed).fit(train, panel.numeric, panel.categorical)
    missing = [n for n in model.caveats_ if n.code == "predictor.missing_native"]
    assert len(missing) == 1 and missing[0]["columns"] == ["mean_order_value"]
    assert missing[0]["values"] == int(train["mean_order_value"].isna().sum())
    assert "not imputed" in render_all(missing)[0]
    assert np.isfinite(model.predict_proba(test)).all()


@pytest.mark.parametrize("name", [3_000, MID_CUSTOMERS])
def test_demo_cases_carry_the_planted_non_linear_effects(name):
    """The demo cases above are the planted non-linear data: Age and Products are boosting features."""
    _, panel, train, _ = _split(name)
    assert {"Age", "Products"} <= set(panel.numeric)
    assert train["Age"].between(18, 85).all() and set(train["Products"]) <= {1, 2, 3, 4, 5}


def test_settings_chosen_on_a_sample_rank_as_well_as_chosen_on_all_rows(monkeypatch):
    """Above SELECTION_ROWS training rows the settings are chosen on a stratified sample and the chosen
    ones are still calibrated and fitted on every row: the held-out ranking loses nothing beyond noise
    (the approximation's error, measured here on the 20,000-customer demo with a 2,000-row sample)."""
    import cxlib.churn._models as models

    config, panel, train, test = _split(MID_CUSTOMERS)
    y = test["churned"].astype(int)
    full = ChurnPredictor(seed=config.seed).fit(train, panel.numeric, panel.categorical)
    monkeypatch.setattr(models, "SELECTION_ROWS", 2_000)
    sampled = ChurnPredictor(seed=config.seed).fit(train, panel.numeric, panel.categorical)
    assert full.selection_rows_ == len(train) > sampled.selection_rows_ == 2_000
    ours, theirs = sampled.predict_proba(test), full.predict_proba(test)
    se = _paired_auc_se(y, ours, theirs, seed=config.seed)
    assert roc_auc_score(y, ours) >= roc_auc_score(y, theirs) - TOLERANCE - NOISE_SE * se
    text = " ".join(render_all(sampled.caveats_))
    assert f"random sample of 2,000 of the {len(train):,} training customers" in text
    assert f"fitted on all {len(train):,} training customers" in text


#: How much worse calibration on a held-out set (above CALIBRATION_HOLDOUT_ROWS) may calibrate the
#: held-out customers than out-of-fold calibration: expected calibration error over score deciles.
#: With a few thousand test customers the decile rates themselves carry about 0.01 of noise.
CALIBRATION_TOLERANCE = 0.015


def _calibration_error(y, p, bins: int = 10) -> float:
    """Expected calibration error: |churn rate - mean probability| per score decile, weighted."""
    order = np.argsort(p, kind="stable")
    return float(
        sum(abs(y[part].mean() - p[part].mean()) * len(part) for part in np.array_split(order, bins)) / len(y)
    )


def test_calibration_on_a_held_out_set_is_as_good_as_out_of_fold_calibration(monkeypatch):
    """Above CALIBRATION_HOLDOUT_ROWS the booster is fitted once on all rows but a stratified calibration
    set and the sigmoid on that set (one full-size fit, not folds + 1): measured here with the threshold
    lowered on the 20,000-customer demo, held-out ranking and calibration stay within noise of the
    out-of-fold method."""
    import cxlib.churn._models as models

    config, panel, train, test = _split(MID_CUSTOMERS)
    y = test["churned"].astype(int).to_numpy()
    full = ChurnPredictor(seed=config.seed, tune=False).fit(train, panel.numeric, panel.categorical)
    monkeypatch.setattr(models, "CALIBRATION_HOLDOUT_ROWS", 2_000)
    monkeypatch.setattr(models, "CALIBRATION_ROWS", 2_000)
    held = ChurnPredictor(seed=config.seed, tune=False).fit(train, panel.numeric, panel.categorical)
    assert full.calibration_rows_ == 0 and held.calibration_rows_ == 2_000
    ours, theirs = held.predict_proba(test), full.predict_proba(test)
    se = _paired_auc_se(y, ours, theirs, seed=config.seed)
    auc, full_auc = roc_auc_score(y, ours), roc_auc_score(y, theirs)
    errors = _calibration_error(y, ours), _calibration_error(y, theirs)
    print(
        f"AUC {auc:.4f} vs {full_auc:.4f} (SE {se:.4f}); calibration error {errors[0]:.4f} vs {errors[1]:.4f}"
    )
    assert auc >= full_auc - TOLERANCE - NOISE_SE * se
    assert errors[0] <= errors[1] + CALIBRATION_TOLERANCE
    assert abs(ours.mean() - y.mean()) <= abs(theirs.mean() - y.mean()) + CALIBRATION_TOLERANCE
    text = " ".join(render_all(held.caveats_))
    assert "on 2,000 training customers held out of the boosting's fit" in text
    assert f"fitted once on the other {len(train) - 2_000:,}" in text


def test_booster_fitted_on_a_sample_above_fit_rows(monkeypatch):
    """Above FIT_ROWS (lowered here) the booster is fitted on a stratified sample of the rows outside
    the calibration set: the held-out ranking and calibration stay within noise of the fit on all of
    them, and a caveat says how many rows it learned from (the approximation's error at 200k and 1M
    customers is in benchmarks/RESULTS-churn.md)."""
    import cxlib.churn._models as models

    config, panel, train, test = _split(MID_CUSTOMERS)
    y = test["churned"].astype(int).to_numpy()
    monkeypatch.setattr(models, "CALIBRATION_HOLDOUT_ROWS", 2_000)
    monkeypatch.setattr(models, "CALIBRATION_ROWS", 2_000)
    full = ChurnPredictor(seed=config.seed, tune=False).fit(train, panel.numeric, panel.categorical)
    sample = (len(train) - 2_000) // 2
    monkeypatch.setattr(models, "FIT_ROWS", sample)
    capped = ChurnPredictor(seed=config.seed, tune=False).fit(train, panel.numeric, panel.categorical)
    assert full.booster_rows_ == len(train) - 2_000 and capped.booster_rows_ == sample
    assert capped.booster_.n_features_in_ == full.booster_.n_features_in_
    ours, theirs = capped.predict_proba(test), full.predict_proba(test)
    se = _paired_auc_se(y, ours, theirs, seed=config.seed)
    auc, full_auc = roc_auc_score(y, ours), roc_auc_score(y, theirs)
    print(f"AUC {auc:.4f} vs {full_auc:.4f} (SE {se:.4f})")
    assert auc >= full_auc - TOLERANCE - NOISE_SE * se
    assert _calibration_error(y, ours) <= _calibration_error(y, theirs) + CALIBRATION_TOLERANCE
    text = " ".join(render_all(capped.caveats_))
    assert f"random sample of {sample:,} of its {len(train) - 2_000:,} training customers" in text
    assert not any(n.code == "predictor.fit_sample" for n in full.caveats_)


def test_importance_is_computed_when_first_asked_for():
    """fit stores what the importance needs; summary_ computes it once (seeded), then keeps it."""
    config, panel, train, _ = _split(3_000)
    model = ChurnPredictor(seed=config.seed, tune=False).fit(train, panel.numeric, panel.categorical)
    assert "_summary" not in vars(model)
    held_out_model, x_out, y_out = model._importance_inputs
    expected = model._importance_table(model._permutation(x_out, y_out, 5, model=held_out_model))
    assert model.summary_ is model.summary_
    assert model.summary_.equals(expected)

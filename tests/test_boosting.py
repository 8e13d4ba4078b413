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

#: Held-out ROC-AUC the suite may fall short of the default model by: cross-validation may choose
#: simpler settings that score as well up to noise (on the 3,000-customer demo the suite scores
#: 0.553 and the default 0.556; on 20,000 customers 0.628 and 0.591; on Telco 0.848 and 0.827).
TOLERANCE = 0.005


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


def _default_auc(config, model, train, test) -> float:
    """Held-out ROC-AUC of a default HistGradientBoostingClassifier on the same training rows."""
    with threadpool_limits(limits=1, user_api="openmp"):
        default = HistGradientBoostingClassifier(random_state=config.seed)
        default.fit(model._matrix(train), train["churned"].astype(int))
        scores = default.predict_proba(model._matrix(test))[:, 1]
    return roc_auc_score(test["churned"].astype(int), scores)


def test_boosting_ranks_held_out_customers_at_least_as_well_as_a_default_model(fitted):
    name, config, _, train, test, model = fitted
    suite = roc_auc_score(test["churned"].astype(int), model.predict_proba(test))
    default = _default_auc(config, model, train, test)
    print(f"{name}: suite {suite:.4f} ({model.chosen_}), default {default:.4f}")
    assert suite >= default - TOLERANCE


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

"""Churn driver models pool categorical levels below min_group_size before fitting, and plot safely.

A plan held by 3 customers who all churned (quasi-separation) used to get its own odds ratio
(e.g. 20.80, 95% CI 3.68-117.66 on the demo), overflow ``exp`` and crash the forest plot with a
ZeroDivisionError. The rule under test: no level of fewer than ``min_group_size`` customers gets a
ratio of its own; it is pooled into ``Other (n groups)`` (with the next smallest level when the
pool is still small), the reference is never such a level, and a caveat says so.
"""

from __future__ import annotations

import dataclasses
import warnings

import matplotlib
import numpy as np
import pandas as pd
import pytest

from cxlib.churn._models import ChurnDrivers, ChurnPredictor
from cxlib.churn._panel import churn_panel
from cxlib.churn._survival import ChurnHazards, RemainingLifetime
from cxlib.report import render_all
from cxlib.report._charts import forest_plot

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

MIN = 10


@pytest.fixture(scope="module")
def tiny_plan_panel(small_config, small_data):
    """The demo's churn panel with 3 churners moved to a plan of their own, ``trial``."""
    panel = churn_panel(small_data, small_config)
    frame = panel.frame.copy()
    frame.loc[frame.index[frame["churned"]][:3], "plan"] = "trial"
    assert "plan" in panel.categorical
    return dataclasses.replace(panel, frame=frame)


def _fit(model, panel):
    kwargs = {"entry_col": panel.entry_col} if isinstance(model, ChurnHazards | RemainingLifetime) else {}
    with warnings.catch_warnings():
        warnings.simplefilter("error", RuntimeWarning)  # an overflow in exp would print into the report
        return model.fit(panel.frame, panel.numeric, panel.categorical, **kwargs)


MODELS = {
    "logistic": lambda: ChurnDrivers(min_group_size=MIN),
    "cox": lambda: ChurnHazards(min_group_size=MIN),
    "weibull": lambda: RemainingLifetime(min_group_size=MIN),
}


@pytest.mark.parametrize("name", list(MODELS))
def test_a_three_customer_level_gets_no_ratio_of_its_own(tiny_plan_panel, name):
    model = _fit(MODELS[name](), tiny_plan_panel)
    encoder = model.encoder_
    assert not any("trial" in term for term in encoder.terms_)
    pooling = encoder.pooling_["plan"]
    assert "trial" in pooling.groups and len(pooling.groups) >= 2 and pooling.size >= MIN
    # every level that has a term, and the reference, holds at least MIN customers
    levels = pooling.apply(tiny_plan_panel.frame["plan"]).value_counts()
    shown = [t.split(": ", 1)[1] for t in encoder.terms_ if t.startswith("plan: ")]
    assert (levels[[*shown, encoder.reference_["plan"]]] >= MIN).all()
    caveat = next(c for c in render_all(model.caveats_) if "'trial'" in c)
    assert caveat.startswith("Plan:") and pooling.label in caveat and f"{pooling.size:,} customers" in caveat


def test_a_tiny_configured_reference_level_is_replaced_by_the_most_common(tiny_plan_panel):
    model = _fit(ChurnDrivers(reference_levels={"plan": "trial"}, min_group_size=MIN), tiny_plan_panel)
    assert model.encoder_.reference_["plan"] == tiny_plan_panel.frame["plan"].value_counts().index[0]
    assert any("reference level 'trial'" in c for c in render_all(model.caveats_))


def test_boosting_pools_the_tiny_level_too(tiny_plan_panel):
    panel = tiny_plan_panel
    model = ChurnPredictor(seed=1, min_group_size=MIN).fit(panel.frame, panel.numeric, panel.categorical)
    assert "trial" not in model.categories_["plan"]
    assert np.isfinite(model.predict_proba(panel.frame.head(50))).all()


@pytest.mark.parametrize("name", ["logistic", "cox"])
def test_forest_plots_of_the_pooled_fit_draw(tiny_plan_panel, name):
    model = _fit(MODELS[name](), tiny_plan_panel)
    ax = model.plot_forest(top=50)
    assert len(ax.get_yticks()) == len(model.summary_)
    plt.close(ax.figure)


def test_forest_plot_survives_zero_infinite_and_missing_interval_ends():
    # what an unpooled separated level gives: exp(+-huge) = 0 or inf, or NaN from a singular fit
    table = pd.DataFrame(
        {
            "label": ["Separated", "Huge", "Missing", "Ordinary"],
            "unit": ["vs basic"] * 4,
            "odds_ratio": [np.inf, 20.8, np.nan, 1.3],
            "ci_low": [0.0, 3.68, np.nan, 1.1],
            "ci_high": [np.inf, 1e300, np.nan, 1.5],
        }
    )
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        ax = forest_plot(table, "odds_ratio", title="t", xlabel="Odds ratio")
    low, high = ax.get_xlim()
    assert np.isfinite([low, high]).all() and 0 < low < 1 < high
    assert "arrows" in ax.get_xlabel()
    plt.close(ax.figure)


def test_an_unpooled_separated_level_no_longer_crashes_the_plot(tiny_plan_panel):
    model = _fit(ChurnDrivers(min_group_size=None), tiny_plan_panel)
    assert any("trial" in term for term in model.encoder_.terms_)  # the old behaviour, kept on request
    ax = model.plot_forest(top=50)
    plt.close(ax.figure)


def test_a_caveat_names_at_most_five_pooled_levels(tiny_plan_panel):
    """A column of near-unique values (stopped by cx validate, but a model may be fitted directly)
    would otherwise list every value in the report: five are named, the rest counted."""
    frame = tiny_plan_panel.frame.copy()
    frame.loc[frame.index[:120], "plan"] = [f"code-{i:03d}" for i in range(40) for _ in range(3)]
    panel = dataclasses.replace(tiny_plan_panel, frame=frame)
    model = _fit(ChurnDrivers(min_group_size=MIN), panel)
    caveat = next(c for c in render_all(model.caveats_) if c.startswith("Plan:"))
    assert len(model.encoder_.pooling_["plan"].small) == 40
    assert "and 35 more" in caveat and len(caveat) < 400, caveat
    assert sum(f"'code-{i:03d}'" in caveat for i in range(40)) <= 5

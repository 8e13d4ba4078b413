"""Non-linear interpretable churn drivers (issue 10, part 5): flexible forms, effect curves, known answers.

Known answers come from the demo generator's planted effects (``cxlib/data/_synth.py``, recorded in
``ground_truth.json``): a peaked age effect (hazard ratio 1 up to 35, 2.2 from 47 to 58, 1 again
from 70) and an irregular one by number of products (hazard ratios 1.8, 1, 1.3, 2.4, 3.2 for 1-5
products), on the 20,000-customer demo that the churn tests share (:data:`tests.churn_data.MID_CUSTOMERS`).
"""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
import pytest  # noqa: E402
from scipy import special  # noqa: E402
from sklearn.metrics import roc_auc_score  # noqa: E402

from cxlib.churn import (  # noqa: E402
    ChurnDrivers,
    ChurnPredictor,
    churn_panel,
    describe_effects,
    largest_clear_effect,
    strongest_sentence,
    train_test_panels,
)
from cxlib.churn._flexible import FORM_ALPHA, curve_shape  # noqa: E402
from cxlib.exceptions import NotFittedError  # noqa: E402
from cxlib.stats._design import DesignEncoder, set_display_labels  # noqa: E402
from cxlib.stats._splines import SplineBasis, count_levels, count_text  # noqa: E402
from tests.churn_data import MID_CUSTOMERS, demo  # noqa: E402

#: The planted peak plateau is 47-58 years; the fitted curve's highest point may sit a few years
#: off it (a smooth spline rounds the plateau's corners): 2 years either side.
PEAK_RANGE = (45, 60)
#: Held-out ROC-AUC the interpretable model may fall short of the suite's boosting by (issue 10).
AUC_MARGIN = 0.02
#: Odds ratios over a 273-day window approximate the planted hazard ratios: the tolerance of
#: tests/test_churn.py (|log(OR / truth)| <= log 1.35, about 3 standard errors at this size).
OR_TOLERANCE = 1.35


@pytest.fixture(autouse=True)
def demo_labels():
    """The demo config's display labels ("Age (years)", "Number of products") for each test, then
    the labels before it: loading another config (e.g. Telco) elsewhere replaces them."""
    from cxlib.stats import _design

    before = dict(_design._CONFIG_FEATURE_LABELS), dict(_design._CONFIG_TERM_LABELS)
    set_display_labels({"Age": "Age (years)", "Products": "Number of products"})
    yield
    _design._CONFIG_FEATURE_LABELS.clear()
    _design._CONFIG_FEATURE_LABELS.update(before[0])
    _design._CONFIG_TERM_LABELS.clear()
    _design._CONFIG_TERM_LABELS.update(before[1])


@pytest.fixture(scope="module")
def planted():
    config, data, truth = demo(MID_CUSTOMERS)
    panel = churn_panel(data, config)
    model = ChurnDrivers.from_config(config).fit(panel.frame, panel.numeric, panel.categorical)
    return config, data, panel, model, truth["churn"]


def test_planted_age_and_products_columns_are_drivers(planted):
    config, _, panel, _, truth = planted
    assert {"Age", "Products"} <= set(panel.numeric)
    assert config.values["labels"]["features"] == {"Age": "Age (years)", "Products": "Number of products"}
    assert truth["products_hazard_ratios"]["reference"] == 2
    assert truth["age_hazard_ratio"]["knots"]["47"] == truth["age_hazard_ratio"]["knots"]["58"] == 2.2


def test_the_model_picks_a_spline_for_age_and_levels_for_the_product_count(planted):
    *_, model, _ = planted
    forms = model.driver_forms_.set_index("driver")
    assert forms.loc["Age", "form"] == "spline" and forms.loc["Age", "p_value"] < FORM_ALPHA
    assert forms.loc["Products", "form"] == "levels" and forms.loc["Products", "p_value"] < FORM_ALPHA
    # planted linear (on the log-hazard scale) and already in SDs: stays a straight line
    assert forms.loc["satisfaction_z", "form"] == "linear"
    assert set(model.curved_drivers()[:2]) == {"Age", "Products"}


def test_age_curve_peaks_inside_the_planted_peak(planted):
    *_, model, _ = planted
    shape = curve_shape(model.effect_curve("Age"))
    print(shape)
    assert shape["kind"] == "peak"
    assert PEAK_RANGE[0] <= shape["at"] <= PEAK_RANGE[1]
    # the curve's ends are clearly below its peak, as planted (ratio 1 at both ends vs 2.2)
    assert shape["ci_low"] > max(shape["low_end"][1], shape["high_end"][1])


def test_product_levels_follow_the_planted_order_and_sizes(planted):
    *_, model, truth = planted
    planted_ratios = {str(k): v for k, v in truth["products_hazard_ratios"]["ratios"].items()}
    curve = model.effect_curve("Products").set_index("value")
    assert list(curve.index) == ["1", "2", "3", "4", "5"]
    predicted_order = list(curve["churn_probability"].sort_values().index)
    assert predicted_order == sorted(planted_ratios, key=planted_ratios.get)  # 2 < 3 < 1 < 4 < 5
    summary = model.summary_.set_index("term")
    for level in ("1", "3", "4", "5"):
        ratio = summary.loc[f"Products: {level}", "odds_ratio"]
        assert abs(np.log(ratio / planted_ratios[level])) <= np.log(OR_TOLERANCE), (level, ratio)
        assert summary.loc[f"Products: {level}", "unit"] == "vs 2"


def test_effect_curve_has_intervals_and_counts_on_the_data_scale(planted):
    _, _, panel, model, _ = planted
    curve = model.effect_curve("Age")
    assert list(curve.columns[:6]) == [
        "value",
        "churn_probability",
        "ci_low",
        "ci_high",
        "n",
        "observed_rate",
    ]
    assert (curve["ci_low"] <= curve["churn_probability"]).all()
    assert (curve["churn_probability"] <= curve["ci_high"]).all()
    ages = panel.frame["Age"]
    assert curve["value"].min() >= ages.min() and curve["value"].max() <= ages.max()
    assert curve["n"].sum() <= len(ages) and curve["n"].sum() >= 0.97 * len(ages)
    # averaged predictions follow the raw churn rates of the levels (others as observed)
    products = model.effect_curve("Products")
    assert np.allclose(products["churn_probability"], products["observed_rate"], atol=0.02)


def test_the_headline_can_speak_of_a_strong_non_linear_driver(planted):
    *_, model, _ = planted
    table = model.driver_table()
    age = table.set_index("term").loc["Age"]
    assert age["unit_kind"] == "curve" and age["p_adjusted"] < 0.05 and not age["unstable"]
    assert age["agrees_with_raw"] and age["estimate"] > 1.5
    headline = largest_clear_effect(table)
    # the largest planted ratio is 5 vs 2 products (3.2), above an unresolved complaint's 2.0
    assert headline["driver"] in {"Age", "Products"}
    sentence = strongest_sentence(model)
    assert "Age (years)" in sentence and "no reliable odds ratio" not in sentence


def test_effects_are_described_in_plain_sentences(planted):
    *_, model, _ = planted
    text = describe_effects(model)
    shape = curve_shape(model.effect_curve("Age"))
    assert f"Churn by Age (years) rises from about {shape['start']:.0f} and peaks at" in text
    assert "Predicted churn by Number of products (95% CI): 1: " in text
    assert "likelihood-ratio test" in text


def test_plot_effects_draws_one_panel_per_curved_driver(planted):
    *_, model, _ = planted
    axes = model.plot_effects(top=2)
    titles = sorted(ax.get_title().replace("\n", " ") for ax in axes)
    assert (
        titles[0].startswith("Age (years): peaks at 4")
        and titles[1].startswith("Number of products: highest at 5 (")  # planted: 5 products churn most
    )
    plt.close(axes[0].figure)


def test_interpretable_auc_is_within_0_02_of_boosting_on_planted_non_linear_data(planted):
    config, data, panel, _, _ = planted
    train, test, _ = train_test_panels(data, config, panel)
    drivers = ChurnDrivers.from_config(config).fit(train, panel.numeric, panel.categorical)
    boosting = ChurnPredictor(seed=config.seed).fit(train, panel.numeric, panel.categorical)
    linear = ChurnDrivers.from_config(config, flexible=False).fit(train, panel.numeric, panel.categorical)
    y = test["churned"].astype(int)
    scores = {
        name: roc_auc_score(y, model.predict_proba(test))
        for name, model in {"flexible": drivers, "linear": linear, "boosting": boosting}.items()
    }
    print(scores)
    assert scores["flexible"] >= scores["boosting"] - AUC_MARGIN
    assert scores["flexible"] > scores["linear"]


# ---- a truly linear planted driver stays linear ------------------------------------------------------

#: Samples of a logistic model whose two numbers are truly linear; each is tested at FORM_ALPHA (1%), so
#: 40 tests give 0.4 false curves on average and 3 or more with probability below 1%.
LINEAR_SEEDS = 20
MAX_FALSE_CURVES = 2


def _linear_frame(seed: int, n: int = 2_000) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    frame = pd.DataFrame(
        {
            "spend": np.round(rng.gamma(4.0, 25.0, n), 2),
            "visits": rng.choice([1, 2, 3, 4, 5], n, p=[0.3, 0.3, 0.2, 0.12, 0.08]),
            "plan": rng.choice(["basic", "premium"], n),
        }
    )
    log_odds = (
        -1.0 + 0.008 * (frame["spend"] - 100) + 0.25 * frame["visits"] - 0.4 * (frame["plan"] == "premium")
    )
    frame["churned"] = rng.random(n) < special.expit(log_odds.to_numpy())
    return frame


def test_truly_linear_drivers_stay_linear_at_the_stated_false_positive_rate():
    curves = 0
    for seed in range(LINEAR_SEEDS):
        model = ChurnDrivers().fit(_linear_frame(seed), ["spend", "visits"], ["plan"])
        forms = model.driver_forms_.set_index("driver")
        assert list(forms["candidate"]) == ["spline", "levels"]
        curves += int((forms["form"] != "linear").sum())
        if seed == 0:
            assert "spend" in model.summary_["term"].to_numpy()  # per-SD odds ratio kept
    assert curves <= MAX_FALSE_CURVES


def test_linear_only_model_keeps_the_per_sd_ratio_and_records_its_forms():
    frame = _linear_frame(1)
    model = ChurnDrivers(flexible=False).fit(frame, ["spend", "visits"], ["plan"])
    assert set(model.driver_forms_["form"]) == {"linear"}
    assert set(model.summary_["unit_kind"]) == {"sd", "level"}
    assert describe_effects(model).startswith("Every numeric driver fits a straight line")


def test_a_curve_that_would_mimic_another_driver_stays_a_straight_line():
    """Telco-like: charges are a price per service plus noise, so a curve in them rebuilds the service."""
    rng = np.random.default_rng(6)
    n = 3_000
    fibre = rng.random(n) < 0.4
    frame = pd.DataFrame(
        {
            "charges": np.round(20 + 50 * fibre + rng.normal(0, 2, n), 2),
            "internet": np.where(fibre, "fibre", "dsl"),
        }
    )
    frame["churned"] = rng.random(n) < special.expit(-1.5 + 1.2 * fibre)
    model = ChurnDrivers().fit(frame, ["charges"], ["internet"])
    forms = model.driver_forms_.set_index("driver")
    assert forms.loc["charges", "collinear"] and forms.loc["charges", "form"] == "linear"
    assert "internet: fibre" in model.summary_["term"].to_numpy()


# ---- the building blocks ------------------------------------------------------------------------------


def test_count_levels_pool_small_tails():
    values = np.array([0] * 3 + [1] * 50 + [2] * 50 + [3] * 40 + [4] * 20 + [5] * 5)
    levels = count_levels(values, min_size=30)
    assert [name for name, _ in levels] == ["1 or fewer", "2", "3 or more"]
    assert list(count_text(np.array([0, 1, 2, 5, 9, np.nan]), levels)) == [
        "1 or fewer",
        "1 or fewer",
        "2",
        "3 or more",
        "3 or more",
        "unknown",
    ]


def test_spline_is_linear_beyond_its_outer_knots_and_fills_missing_values_with_the_median():
    values = np.random.default_rng(3).normal(50, 10, 1_000)
    basis = SplineBasis().fit(values)
    far = basis.transform(np.array([200.0, 300.0, 400.0]))
    assert np.allclose(far[1] - far[0], far[2] - far[1])
    assert np.allclose(basis.transform(np.array([np.nan])), basis.transform(np.array([np.median(values)])))


def test_design_with_flexible_forms_encodes_new_rows_the_same_way():
    frame = _linear_frame(2)
    encoder = DesignEncoder(["spend", "visits"], ["plan"], forms={"spend": "spline", "visits": "levels"}).fit(
        frame
    )
    assert [t for t in encoder.terms_ if t.startswith("spend")] == [f"spend: curve {k}" for k in range(1, 5)]
    assert [t for t in encoder.terms_ if t.startswith("visits")] == [
        "visits: 2",
        "visits: 3",
        "visits: 4",
        "visits: 5",
    ]
    assert encoder.reference_["visits"] == "1"
    pd.testing.assert_frame_equal(encoder.transform(frame.iloc[:50]), encoder.transform(frame).iloc[:50])


def test_effect_curve_before_fit_or_of_an_unknown_driver_says_what_to_do():
    with pytest.raises(NotFittedError):
        ChurnDrivers().effect_curve("spend")
    model = ChurnDrivers().fit(_linear_frame(4), ["spend", "visits"], ["plan"])
    with pytest.raises(KeyError, match="curves are drawn for numeric drivers"):
        model.effect_curve("plan")


def test_names_from_the_data_are_escaped_in_effect_sentences():
    rng = np.random.default_rng(5)
    frame = pd.DataFrame({"age_[*x*]": rng.integers(18, 80, 3_000).astype(float)})
    peak = np.exp(-(((frame["age_[*x*]"] - 50) / 8) ** 2))
    frame["churned"] = rng.random(len(frame)) < special.expit(-2 + 2.5 * peak.to_numpy())
    model = ChurnDrivers().fit(frame, ["age_[*x*]"], [])
    assert model.curved_drivers() == ["age_[*x*]"]
    text = describe_effects(model)
    assert "age\\_\\[\\*x\\*\\]" in text and "[*x*]" not in text


def test_forms_chosen_on_a_sample_above_the_threshold(planted, monkeypatch):
    """Above FORM_TEST_ROWS the forms are tested on a seeded sample (lowered here to half the panel):
    the planted curves are still found, the model is fitted on every row, and a caveat says so."""
    import cxlib.churn._models as models
    from cxlib.report import render

    config, _, panel, full, _ = planted
    sample = len(panel.frame) // 2
    monkeypatch.setattr(models, "FORM_TEST_ROWS", sample)
    model = ChurnDrivers.from_config(config).fit(panel.frame, panel.numeric, panel.categorical)
    forms = model.driver_forms_.set_index("driver")["form"]
    assert forms["Age"] == "spline" and forms["Products"] == "levels"
    assert model.form_rows_ == sample and full.form_rows_ == len(panel.frame)
    assert int(model.result_.nobs) == len(panel.frame)
    note = next(n for n in model.caveats_ if n.code == "drivers.forms_on_sample")
    assert f"{sample:,}" in render(note) and f"{len(panel.frame):,}" in render(note)
    assert not any(n.code == "drivers.forms_on_sample" for n in full.caveats_)
    if forms.equals(full.driver_forms_.set_index("driver")["form"]):  # same forms: the same model
        assert model.result_.params.to_numpy() == pytest.approx(full.result_.params.to_numpy())


def test_a_fit_for_predictions_only_predicts_as_the_described_one(planted):
    """describe=False (the held-out evaluation's logistic model) skips the tables, not the model."""
    config, _, panel, full, _ = planted
    model = ChurnDrivers.from_config(config).fit(
        panel.frame, panel.numeric, panel.categorical, describe=False
    )
    assert np.array_equal(model.predict_proba(panel.frame), full.predict_proba(panel.frame))
    assert "summary_" not in vars(model) and model.driver_forms_.equals(full.driver_forms_)

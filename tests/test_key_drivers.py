"""Known-answer tests of the key drivers (:class:`cxlib.experience.KeyDrivers`).

Relative weights (Johnson 2000) add up to the OLS R² exactly, equal squared correlations when the
drivers are orthogonal, and stay close to the exact Shapley / LMG decomposition (Grömping 2007)
on correlated drivers; planted weights are recovered in rank order on simulated ratings and on the
demo generator's touchpoints; a "not applicable" code is missing, not a low score; and the
Airline Passenger Satisfaction sample runs by config alone.
"""

from __future__ import annotations

import functools
import itertools
import math
from pathlib import Path

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
import pytest  # noqa: E402
import statsmodels.api as sm  # noqa: E402

from cxlib.data import generate, load_config, load_data  # noqa: E402
from cxlib.experience import (  # noqa: E402
    KeyDrivers,
    PairwiseSums,
    importance_performance,
    nearest_correlation,
    relative_weights,
)

ROOT = Path(__file__).resolve().parents[1]


def _correlated_ratings(n: int, weights: list[float], seed: int, rho: float = 0.4, noise: float = 1.0):
    """Ratings sharing a common factor (correlation ``rho``) and a target built from planted weights."""
    rng = np.random.default_rng(seed)
    common = rng.normal(size=(n, 1))
    latent = np.sqrt(rho) * common + np.sqrt(1 - rho) * rng.normal(size=(n, len(weights)))
    target = latent @ np.asarray(weights) + noise * rng.normal(size=n)
    ratings = np.clip(np.round(3 + latent), 1, 5)
    columns = [f"rating_{i}" for i in range(len(weights))]
    return pd.DataFrame(ratings, columns=columns).assign(nps=target)


def _r2(corr: np.ndarray, subset: tuple[int, ...]) -> float:
    if not subset:
        return 0.0
    idx = list(subset)
    r = corr[idx, -1]
    return float(r @ np.linalg.solve(corr[np.ix_(idx, idx)], r))


def _shapley(corr: np.ndarray) -> np.ndarray:
    """Exact Shapley / LMG shares of R² over all 2^p subsets (Lindeman, Merenda & Gold 1980)."""
    p = corr.shape[0] - 1
    shares = np.zeros(p)
    for j in range(p):
        others = [k for k in range(p) if k != j]
        for size in range(p):
            weight = math.factorial(size) * math.factorial(p - size - 1) / math.factorial(p)
            for subset in itertools.combinations(others, size):
                shares[j] += weight * (_r2(corr, tuple(sorted(subset + (j,)))) - _r2(corr, subset))
    return shares


def test_weights_add_up_to_the_ols_r2():
    surveys = _correlated_ratings(2000, [0.5, 0.3, 0.2, 0.1], seed=1)
    model = KeyDrivers(n_boot=0).fit(surveys)
    columns = [f"rating_{i}" for i in range(4)]
    ols = sm.OLS(surveys["nps"], sm.add_constant(surveys[columns])).fit()
    assert model.summary_["estimate"].sum() == pytest.approx(ols.rsquared, abs=1e-8)
    assert model.r2_ == pytest.approx(ols.rsquared, abs=1e-8)
    assert model.summary_["share"].sum() == pytest.approx(100, abs=1e-8)


def test_orthogonal_drivers_get_their_squared_correlations():
    rng = np.random.default_rng(2)
    raw = rng.normal(size=(500, 3))
    centred = raw - raw.mean(axis=0)
    orthogonal, _ = np.linalg.qr(centred)  # exactly uncorrelated, mean zero columns
    target = orthogonal @ [3.0, 2.0, 1.0] + 0.05 * rng.normal(size=500)
    values = np.column_stack([orthogonal, target])
    corr = np.corrcoef(values, rowvar=False)
    np.testing.assert_allclose(relative_weights(corr), corr[:3, -1] ** 2, atol=1e-10)


def test_close_to_exact_shapley_on_correlated_drivers():
    """Johnson's weights approximate LMG closely (Johnson 2000, table 2; LeBreton et al. 2004)."""
    surveys = _correlated_ratings(3000, [0.6, 0.35, 0.2, 0.05], seed=3, rho=0.5)
    corr = np.corrcoef(surveys.to_numpy(dtype=float), rowvar=False)
    weights, shapley = relative_weights(corr), _shapley(corr)
    assert weights.sum() == pytest.approx(shapley.sum(), abs=1e-10)  # both are the full R²
    # each share within 2% of R² of its exact Shapley value (observed: under 0.5%)
    np.testing.assert_allclose(weights, shapley, atol=0.02 * shapley.sum())
    assert list(np.argsort(-weights)) == list(np.argsort(-shapley))


def test_planted_weights_recovered_in_rank_order():
    planted = [0.45, 0.3, 0.2, 0.12, 0.06]
    surveys = _correlated_ratings(4000, planted, seed=4, rho=0.35, noise=0.6)
    model = KeyDrivers(n_boot=200, seed=4).fit(surveys)
    assert model.summary_["term"].tolist() == [f"rating_{i}" for i in range(5)]
    top = model.summary_.iloc[0]
    assert top["share_first"] >= 0.95 and top["rank_high"] == 1
    assert (model.summary_["ci_low"] <= model.summary_["estimate"]).all()
    assert model.r2_ci_[0] <= model.r2_ <= model.r2_ci_[1]


def test_fit_leaves_the_surveys_unchanged():
    surveys = _correlated_ratings(300, [0.4, 0.3], seed=10)
    surveys.loc[:20, "rating_1"] = 0
    before = surveys.copy()
    KeyDrivers(n_boot=5).fit(surveys)
    pd.testing.assert_frame_equal(surveys, before)


def test_bootstrap_is_seeded():
    surveys = _correlated_ratings(500, [0.4, 0.3, 0.1], seed=5)
    first = KeyDrivers(n_boot=30, seed=9).fit(surveys).boot_weights_
    np.testing.assert_array_equal(first, KeyDrivers(n_boot=30, seed=9).fit(surveys).boot_weights_)


def test_not_applicable_code_is_missing_not_a_low_score():
    """0 = "not used": treating it as a score would put a minor driver first."""
    rng = np.random.default_rng(6)
    surveys = _correlated_ratings(3000, [0.6, 0.2], seed=6, rho=0.2)
    # those who did not use service 1 are less satisfied for other reasons: their 0 would look "very bad"
    unused = rng.random(len(surveys)) < 0.3
    surveys.loc[unused, "rating_1"] = 0
    surveys.loc[unused, "nps"] -= 2.0
    as_missing = KeyDrivers(n_boot=0).fit(surveys)
    as_score = KeyDrivers(n_boot=0, not_applicable=()).fit(surveys)
    assert as_missing.summary_["term"].iloc[0] == "rating_0"
    assert as_score.summary_["term"].iloc[0] == "rating_1"
    row = as_missing.summary_.set_index("term").loc["rating_1"]
    assert row["not_applicable_share"] == pytest.approx(unused.mean())
    assert row["mean_rating"] >= 1  # a mean over the answers given, no zeros
    assert any(note.code == "drivers.not_applicable" for note in as_missing.caveats_)


def test_pairwise_correlations_match_pandas_and_resamples_match_one_by_one():
    rng = np.random.default_rng(7)
    values = rng.normal(size=(400, 4))
    values[rng.random(values.shape) < 0.15] = np.nan
    sums = PairwiseSums(values)
    np.testing.assert_allclose(sums.correlation()[0], pd.DataFrame(values).corr(), atol=1e-12)
    counts = np.stack([np.bincount(rng.integers(0, 400, 400), minlength=400) for _ in range(3)])
    together = sums.resampled_correlations(counts.astype(np.uint8), chunk_rows=150)
    for b in range(3):
        np.testing.assert_allclose(together[b], sums.correlation(counts[b].astype(float))[0], atol=1e-12)


def test_a_matrix_that_is_not_positive_definite_is_repaired():
    bad = np.array([[1.0, 0.9, 0.9], [0.9, 1.0, -0.9], [0.9, -0.9, 1.0]])
    fixed, smallest = nearest_correlation(bad)
    assert smallest < 0
    assert np.linalg.eigvalsh(fixed).min() > 0
    np.testing.assert_allclose(np.diag(fixed), 1.0)


def test_binary_target_uses_a_logistic_model():
    surveys = _correlated_ratings(2000, [0.8, 0.2, 0.1], seed=8)
    surveys["satisfied"] = surveys.pop("nps") > 0
    model = KeyDrivers(target="satisfied", n_boot=0).fit(surveys)
    assert model.binary_ and model.effect_name_ == "odds ratio per rating point"
    assert (model.summary_["effect"] > 1).all()  # every planted weight is positive
    assert model.summary_["term"].iloc[0] == "rating_0"


def test_importance_performance_quadrants():
    summary = pd.DataFrame(
        {
            "term": list("abcd"),
            "label": list("ABCD"),
            "share": [40.0, 30.0, 20.0, 10.0],
            "share_low": [36.0, 26.0, 16.0, 6.0],
            "share_high": [44.0, 34.0, 24.0, 14.0],
            "mean_rating": [3.0, 4.5, 3.1, 4.4],
            "top2_share": [0.3, 0.8, 0.3, 0.8],
        }
    )
    table = importance_performance(summary)
    assert table["quadrant"].tolist() == ["fix", "maintain", "secondary", "surplus"]
    assert table["importance_low"].iloc[0] == pytest.approx(36.0)


@functools.cache
def _airline():
    config = load_config(ROOT / "configs" / "airline.yaml")
    return KeyDrivers.from_config(config, n_boot=200).fit(load_data(config)["surveys"])


def test_airline_sample_runs_by_config_and_adds_up():
    model = _airline()
    assert model.target_ == "satisfied" and model.binary_ and model.n_ == 10_000
    assert len(model.summary_) == 14
    assert model.summary_["estimate"].sum() == pytest.approx(model.r2_, abs=1e-12)
    assert model.r2_ci_[0] <= model.r2_ <= model.r2_ci_[1]
    assert (model.summary_["not_applicable_share"] > 0).any()  # its 0 codes were read as missing


def test_airline_top_drivers_rank_stably():
    top = _airline().summary_.head(2)
    # the two strongest drivers keep their rank in at least 95% of resamples
    assert (top["rank_low"] == top["rank"]).all() and (top["rank_high"] == top["rank"]).all()
    assert top["share_first"].iloc[0] >= 0.95


def test_matrix_labels_do_not_overlap():
    ax = _airline().plot_matrix()
    renderer = ax.figure.canvas.get_renderer()
    boxes = [t.get_window_extent(renderer) for t in ax.texts if t.get_text()]
    assert len(boxes) == 14
    assert not any(a.overlaps(b) for a, b in itertools.combinations(boxes, 2))
    assert isinstance(_airline().plot_importance(), matplotlib.axes.Axes)
    plt.close("all")


@pytest.fixture(scope="module")
def demo_surveys():
    """A 20,000-customer demo (about 4,400 answers), generated in memory with the planted truth."""
    company = generate(20_000, seed=42)
    return company.tables["surveys"].rename(columns=str.lower), company.truth


def test_demo_touchpoint_weights_recovered(demo_surveys):
    surveys, truth = demo_surveys
    planted = truth["satisfaction"]["touchpoint_weights"]
    model = KeyDrivers(n_boot=500, seed=42).fit(surveys)
    expected = [f"rating_{tp}" for tp in sorted(planted, key=planted.get, reverse=True)]
    assert model.summary_["term"].tolist() == expected
    assert model.summary_["share_first"].iloc[0] >= 0.95
    support = model.summary_.set_index("term").loc["rating_support", "not_applicable_share"]
    assert support == pytest.approx(truth["satisfaction"]["rating_not_applicable"]["support"], abs=0.03)

"""Pareto/NBD with covariates: published CDNOW figures, lifetimes, planted effects (issue 12).

Known answers only:

- CDNOW 1/10 sample, 39-week calibration: r = 0.553, alpha = 10.578, s = 0.606, beta = 11.669
  (Fader, Hardie and Lee 2005; the shared data README), and lifetimes' ``ParetoNBDFitter``
  (the reference implementation) on the same summary;
- a simulated Pareto/NBD world with planted purchase- and dropout-rate ratios;
- the planted demo (``cxlib/data/_synth.py``): dropout hazard ratios of the acquisition channel and
  the number of products held. Heavier checks (the 20,000-customer demo, a misspecification study)
  are in ``benchmarks/bench_value_covariates.py``.
"""

from __future__ import annotations

import functools
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from cxlib.features import repeat_purchase_summary
from cxlib.value import ParetoNBD
from cxlib.value._pnbd_likelihood import _Likelihood
from tests.cdnow import cdnow_summary
from tests.churn_data import demo

ROOT = Path(__file__).resolve().parents[1]
#: Fader, Hardie and Lee (2005), Pareto/NBD on the CDNOW 1/10 sample, 39-week calibration.
PUBLISHED = {"r": 0.553, "alpha": 10.578, "s": 0.606, "beta": 11.669}


@functools.cache
def cdnow_fit() -> ParetoNBD:
    return ParetoNBD().fit(cdnow_summary())


def test_cdnow_reproduces_the_published_estimates_within_1_percent():
    summary = cdnow_summary()
    assert len(summary) == 2357 and summary["frequency"].sum() == 2457
    model = cdnow_fit()
    assert model.converged_
    for name, published in PUBLISHED.items():
        assert model.params_[name] == pytest.approx(published, rel=0.01), name
    assert model.summary_["unit"].tolist() == ["", "weeks", "", "weeks"]
    assert model.summary_["p_value"].isna().all()


def test_cdnow_agrees_with_lifetimes():
    lifetimes = pytest.importorskip("lifetimes")
    summary = cdnow_summary()
    x, t_x, age = (summary[c].to_numpy(float) for c in ("frequency", "recency", "T"))
    reference = lifetimes.ParetoNBDFitter().fit(x, t_x, age)
    ours = cdnow_fit()
    for name in PUBLISHED:
        assert ours.params_[name] == pytest.approx(reference.params_[name], rel=0.01), name
    # at one common parameter set (lifetimes'): the likelihood, P(alive) and the 39-week forecast
    common = reference.params_
    theirs_ll = reference._conditional_log_likelihood(common.to_numpy(), x, t_x, age).sum()
    theta = np.log(common[["r", "alpha", "s", "beta"]].to_numpy(float))
    ours_ll = -_Likelihood(x, t_x, age).value(theta) * len(x)
    assert ours_ll == pytest.approx(theirs_ll, rel=1e-8)
    alive = ours.probability_alive(summary, params=common)
    np.testing.assert_allclose(alive, reference.conditional_probability_alive(x, t_x, age), rtol=1e-4)
    forecast = ours.expected_purchases(39.0, summary, params=common)
    expected = reference.conditional_expected_number_of_purchases_up_to_time(39.0, x, t_x, age)
    np.testing.assert_allclose(forecast, expected, rtol=1e-4)
    new = ours.expected_purchases_new(np.array([13.0, 39.0, 78.0]), params=common)
    np.testing.assert_allclose(
        new, reference.expected_number_of_purchases_up_to_time(np.array([13.0, 39.0, 78.0])), rtol=1e-4
    )


def test_sampled_parameters_follow_the_fitted_covariance():
    model = cdnow_fit()
    draws = model.sample_params(4000, seed=1)
    assert list(draws.columns) == ["r", "alpha", "s", "beta"] and (draws > 0).all().all()
    logs = np.log(draws)
    working_sd = np.sqrt(np.diag(model.covariance_)) / model.params_  # delta method back to the log scale
    # 4,000 draws: the SD of a normal sample is within 5% of the truth with near certainty
    np.testing.assert_allclose(logs.std(), working_sd, rtol=0.05)
    np.testing.assert_allclose(logs.mean(), np.log(model.params_), atol=3 * working_sd.max() / np.sqrt(4000))
    assert model.sample_params(3, seed=1).equals(model.sample_params(3, seed=1))


# ---- a simulated Pareto/NBD world with planted rate ratios -------------------------------------------

PLANTED_PURCHASE = {"loyalty_member": 1.3}
PLANTED_DROPOUT = {"social": 1.5, "app_user": 0.7}


def simulate(n: int, seed: int, r=1.0, alpha=5.0, s=1.0, beta=40.0) -> pd.DataFrame:
    """Customers of the Pareto/NBD model itself (weeks), ages 20-100 weeks, dates in whole days."""
    rng = np.random.default_rng(seed)
    flags = {
        "loyalty_member": rng.random(n) < 0.5,
        "social": rng.random(n) < 0.3,
        "app_user": rng.random(n) < 0.4,
    }
    flags = {name: flag.astype(float) for name, flag in flags.items()}
    purchase_rate = rng.gamma(r, 1 / alpha, n)
    dropout_rate = rng.gamma(s, 1 / beta, n)
    for name, ratio in PLANTED_PURCHASE.items():
        purchase_rate *= ratio ** flags[name]
    for name, ratio in PLANTED_DROPOUT.items():
        dropout_rate *= ratio ** flags[name]
    age = np.round(rng.uniform(20, 100, n) * 7) / 7
    active = np.minimum(rng.exponential(1 / dropout_rate), age)
    x = rng.poisson(purchase_rate * active)
    last = np.where(x > 0, active * rng.random(n) ** (1 / np.maximum(x, 1)), 0.0)  # the latest of x uniforms
    summary = pd.DataFrame({"frequency": x, "recency": np.floor(last * 7) / 7, "T": age, **flags})
    summary.attrs["unit_days"] = 7.0
    return summary


@functools.cache
def simulated_fit() -> tuple[ParetoNBD, pd.DataFrame]:
    summary = simulate(20_000, seed=1)
    model = ParetoNBD(purchase_covariates=list(PLANTED_PURCHASE), dropout_covariates=list(PLANTED_DROPOUT))
    return model.fit(summary), summary


def test_planted_rate_ratios_are_recovered_within_three_standard_errors_and_inside_their_intervals():
    model, _ = simulated_fit()
    assert model.converged_
    table = model.summary_.set_index("term")
    planted = {f"purchase:{k}": v for k, v in PLANTED_PURCHASE.items()}
    planted |= {f"dropout:{k}": v for k, v in PLANTED_DROPOUT.items()}
    for term, ratio in planted.items():
        row = table.loc[term]
        assert np.sign(np.log(row["estimate"])) == np.sign(np.log(ratio)), term
        assert abs(np.log(row["estimate"] / ratio)) < 3 * row["std_error"], term
        assert row["ci_low"] < ratio < row["ci_high"], term
        assert row["p_value"] < 1e-6 and row["p_adjusted"] >= row["p_value"]
    assert model.dropout_rate_ratio_.index.tolist() == ["social", "app_user"]
    np.testing.assert_allclose(model.dropout_rate_ratio_["social"], table.loc["dropout:social", "estimate"])
    assert table.loc["dropout:social", "unit"] == "yes vs no"
    assert table.loc["dropout:social", "label"] == "Dropout rate ratio: social"


def test_without_covariates_the_covariate_likelihood_is_the_plain_one():
    model, summary = simulated_fit()
    x, t_x, age = (summary[c].to_numpy(float) for c in ("frequency", "recency", "T"))
    flags = summary[["loyalty_member"]].to_numpy(), summary[["social", "app_user"]].to_numpy()
    theta = np.log(model.params_[["r", "alpha", "s", "beta"]].to_numpy(float))
    plain = _Likelihood(x, t_x, age).value(theta)
    with_zero_coefficients = _Likelihood(x, t_x, age, *flags).value(np.concatenate([theta, np.zeros(3)]))
    assert with_zero_coefficients == pytest.approx(plain, rel=1e-12)
    # and the predictions of a model with zero coefficients are those of the plain model
    zero = model.params_.copy()
    zero[model.params_.index[4:]] = 0.0
    plain_model = ParetoNBD()
    for method in ("probability_alive", "expected_purchases"):
        args = (summary,) if method == "probability_alive" else (26.0, summary)
        np.testing.assert_allclose(
            getattr(model, method)(*args, params=zero),
            getattr(plain_model, method)(*args, params=zero[["r", "alpha", "s", "beta"]]),
            rtol=1e-12,
        )


def test_a_higher_dropout_rate_means_fewer_expected_purchases_and_a_lower_p_alive():
    model, summary = simulated_fit()
    one = summary.iloc[[0, 0]].copy()
    one["social"] = [0.0, 1.0]
    alive = model.probability_alive(one)
    assert alive[1] < alive[0]
    assert np.all(np.diff(model.expected_purchases(np.array([[13.0], [52.0]]), one), axis=1) < 0)
    new = model.expected_purchases_new(52.0, summary=one)
    assert new.shape == (2,) and new[1] < new[0]
    with pytest.raises(ValueError, match="pass summary="):
        model.expected_purchases_new(52.0)


def test_bad_summaries_are_clear_errors():
    bad = pd.DataFrame({"frequency": [1, 0, 2], "recency": [5.0, 1.0, 9.0], "T": [4.0, 3.0, 10.0], "c": 1.0})
    with pytest.raises(
        ValueError, match=r"recency is missing, negative or after T.*rows 0.*recency is not 0"
    ):
        ParetoNBD().fit(bad)
    good = bad.assign(recency=[3.0, 0.0, 9.0])
    with pytest.raises(ValueError, match="'c' is constant.*'d' is not a column"):
        ParetoNBD(dropout_covariates=["c", "d"]).fit(good)
    with pytest.raises(KeyError, match="no column"):
        ParetoNBD().fit(good.drop(columns="T"))


# ---- the planted demo: dropout hazard ratios of the acquisition channel and of products held ---------

#: The demo plants Weibull proportional hazards (shape 0.75, a hazard that falls with tenure) and
#: Poisson purchases with seasonality: misspecified for the Pareto/NBD, which reads the falling hazard
#: as gamma frailty (s about 0.7-0.8) whose selection would wear a ratio down with time, so it reports
#: a larger ratio per customer. ``benchmarks/RESULTS-value-covariates.md`` measures that inflation
#: (log ratios about 1.2-1.5x the planted ones, 20,000-customer demo and clean Weibull simulations). A
#: tolerance of 35% on the ratio (|log error| < log 1.35 = 0.30) takes that bias (up to about +30%) and
#: the sampling error of 3,000 customers (SE of a log ratio 0.14-0.18).
DEMO_TOLERANCE = 0.35


def demo_summary(n_customers: int) -> pd.DataFrame:
    _, data, _ = demo(n_customers)
    summary = repeat_purchase_summary(data["transactions"], data.as_of)
    customers = data["customers"].set_index("customer_id").reindex(summary.index)
    products = customers["Products"].astype(int)
    return summary.assign(
        social=(customers["acquisition_channel"] == "social").astype(float),
        products_1=(products == 1).astype(float),
        products_3=(products == 3).astype(float),
        products_4_5=products.isin([4, 5]).astype(float),
    )


def test_planted_dropout_hazard_ratios_of_the_demo_are_recovered_within_tolerance():
    truth = demo(3000)[2]["churn"]
    products = truth["products_hazard_ratios"]
    share = {k: products["share"][k] for k in ("4", "5")}
    planted = {
        "social": truth["hazard_ratios"]["acquisition_social"],
        "products_1": products["ratios"]["1"],
        # 4 and 5 products pooled: the customers' geometric mean of the two planted ratios
        "products_4_5": np.exp(
            sum(share[k] * np.log(products["ratios"][k]) for k in share) / sum(share.values())
        ),
    }
    model = ParetoNBD(dropout_covariates=["social", "products_1", "products_3", "products_4_5"])
    model.fit(demo_summary(3000))
    assert model.converged_
    table = model.summary_.set_index("term")
    for column, ratio in planted.items():
        row = table.loc[f"dropout:{column}"]
        assert row["estimate"] > 1 and row["p_value"] < 0.05, column
        assert abs(np.log(row["estimate"] / ratio)) < np.log(1 + DEMO_TOLERANCE), (
            column,
            row["estimate"],
            ratio,
        )
        # true at 3,000 customers; at 20,000 the intervals are narrow enough to exclude some planted
        # ratios (the bias above stays while the SE shrinks): see the benchmark's results
        assert row["ci_low"] < ratio < row["ci_high"], (column, row["ci_low"], row["ci_high"], ratio)
    # three products: planted 1.3, the smallest effect; its interval holds it
    row = table.loc["dropout:products_3"]
    assert row["ci_low"] < products["ratios"]["3"] < row["ci_high"]


def test_2f1_split_over_threads_equals_one_thread(monkeypatch):
    """Every 2F1 value is computed on its own: threads change no number, on either side of Pfaff's switch."""
    from cxlib.value import _pnbd_likelihood as lik

    rng = np.random.default_rng(7)
    n = 3 * lik.PARALLEL_FROM + 11
    b, a = rng.uniform(0.2, 40.0, n), rng.uniform(1.0, 60.0, n)
    z = np.concatenate([rng.uniform(0, 1, n - 3), [0.0, lik.PFAFF_FROM, 1 - 1e-12]])
    monkeypatch.setattr(lik, "THREADS", 3)
    threaded = lik._series(b, a, z)
    column = lik._series(b[:, None], a[:, None], z[:, None])  # shapes are kept
    monkeypatch.setattr(lik, "THREADS", 1)
    single = lik._series(b, a, z)
    assert np.array_equal(threaded, single, equal_nan=True)
    assert column.shape == (n, 1) and np.array_equal(column[:, 0], single, equal_nan=True)
    assert np.array_equal(single, lik._series_part(b, a, z), equal_nan=True)


def test_2f1_threads_work_in_a_forked_child():
    """A child forked after the threads started gets its own (the parent's do not exist there)."""
    import multiprocessing

    from cxlib.value import _pnbd_likelihood as lik

    if lik.THREADS < 2 or "fork" not in multiprocessing.get_all_start_methods():
        pytest.skip("one core or no fork here")
    n = 2 * lik.PARALLEL_FROM
    b, a, z = np.full(n, 2.0), np.full(n, 3.0), np.linspace(0, 0.99, n)
    parent = lik._series(b, a, z)  # the parent's threads exist now
    with multiprocessing.get_context("fork").Pool(1) as pool:
        child = pool.apply_async(lik._series, (b, a, z)).get(timeout=60)
    assert np.array_equal(parent, child)

"""Maximum likelihood for models with positive parameters, shared by the buy-till-you-die models.

Every parameter is positive, so the fit works on the log scale (no bounds, near-normal
likelihood), and the uncertainty is stated there too: the covariance of the log-parameters is
the inverse of the observed information (a central-difference Hessian of the analytic gradient
of the negative log-likelihood), intervals are exp(log estimate +/- z se), and the covariance on
the natural scale follows by the delta method. Draws for parameter uncertainty
(:func:`_draw_params`) come from the same normal on the log scale.

Nothing here is public: the model classes (:class:`cxlib.value.BetaGeo`,
:class:`cxlib.value.GammaGamma`) are.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping

import numpy as np
import pandas as pd
from scipy.optimize import minimize
from scipy.stats import norm

from cxlib.features._time import DAYS_PER_MONTH
from cxlib.stats import summary_frame

#: Relative step (on the log scale) of the central differences that give the Hessian.
_HESSIAN_STEP = 1e-4
#: Days in a time unit -> its name, for the ``unit`` of parameters measured in time.
_UNIT_NAMES = {1.0: "days", 7.0: "weeks", DAYS_PER_MONTH: "months", 365.25: "years"}


def _time_unit(unit_days: float | None) -> str:
    """The name of the summary's time unit ("weeks" for 7 days), or "periods" when unknown."""
    if unit_days is None:
        return "periods"
    for days, name in _UNIT_NAMES.items():
        if abs(float(unit_days) - days) < 1e-9 * days:
            return name
    return f"{float(unit_days):g}-day periods"


def _fit_log_scale(
    objective: Callable[[np.ndarray], tuple[float, np.ndarray]],
    start: np.ndarray,
    scale: float,
    max_iter: int,
) -> tuple[np.ndarray, bool]:
    """Minimise ``objective`` (value and gradient of the total negative log-likelihood at log-params).

    The objective is divided by ``scale`` (the number of customers) so the tolerance does not
    depend on the sample size. Returns the log-parameters and whether the optimiser converged
    (its own test, and a gradient per customer below 1e-4 as a second opinion).
    """

    def scaled(theta):
        value, grad = objective(theta)
        return value / scale, grad / scale

    result = minimize(scaled, start, jac=True, method="BFGS", options={"gtol": 1e-7, "maxiter": max_iter})
    gradient = scaled(result.x)[1]
    finite = np.isfinite(result.fun) and np.all(np.isfinite(gradient))
    # BFGS stops with "precision loss" when it is already at the optimum to machine precision;
    # the gradient decides whether that is a converged fit.
    converged = bool(finite and (result.success or np.max(np.abs(gradient)) < 1e-4))
    return result.x, converged


def _log_covariance(gradient: Callable[[np.ndarray], np.ndarray], theta: np.ndarray) -> np.ndarray | None:
    """Inverse observed information on the log scale, or None when the Hessian is not positive definite."""
    k = len(theta)
    hessian = np.empty((k, k))
    for j in range(k):
        step = np.zeros(k)
        step[j] = _HESSIAN_STEP
        hessian[:, j] = (gradient(theta + step) - gradient(theta - step)) / (2 * _HESSIAN_STEP)
    hessian = (hessian + hessian.T) / 2
    if not np.all(np.isfinite(hessian)):
        return None
    try:
        _cholesky(hessian)
    except np.linalg.LinAlgError:
        return None
    covariance = np.linalg.inv(hessian)
    return (covariance + covariance.T) / 2


def _cholesky(matrix: np.ndarray) -> np.ndarray:
    """Lower Cholesky factor by the textbook loop (a few parameters: no BLAS kernel decides a digit)."""
    k = len(matrix)
    lower = np.zeros((k, k))
    for i in range(k):
        for j in range(i + 1):
            rest = matrix[i, j] - sum(lower[i, m] * lower[j, m] for m in range(j))
            if i == j:
                if not rest > 0:
                    raise np.linalg.LinAlgError("matrix is not positive definite")
                lower[i, i] = np.sqrt(rest)
            else:
                lower[i, j] = rest / lower[j, j]
    return lower


def _natural_covariance(
    estimate: np.ndarray, log_covariance: np.ndarray | None, names: list[str]
) -> pd.DataFrame:
    """Delta method: cov(theta) = diag(theta) cov(log theta) diag(theta) (NaN when unavailable)."""
    if log_covariance is None:
        values = np.full((len(names), len(names)), np.nan)
    else:
        values = log_covariance * np.outer(estimate, estimate)
    return pd.DataFrame(values, index=names, columns=names)


def _parameter_summary(
    names: list[str],
    labels: list[str],
    units: list[str],
    estimate: np.ndarray,
    log_covariance: np.ndarray | None,
    alpha: float,
) -> pd.DataFrame:
    """One row per parameter: estimate, interval exp(log estimate +/- z se), no p-value (no null).

    Extra columns: ``se`` (natural scale, delta method) and ``se_log`` (log scale).
    """
    k = len(names)
    se_log = np.sqrt(np.diag(log_covariance)) if log_covariance is not None else np.full(k, np.nan)
    z = norm.ppf(1 - alpha / 2)
    return summary_frame(
        {
            "term": names,
            "label": labels,
            "estimate": estimate,
            "ci_low": estimate * np.exp(-z * se_log),
            "ci_high": estimate * np.exp(z * se_log),
            "p_value": np.full(k, np.nan),
            "p_adjusted": np.full(k, np.nan),
            "unit": units,
            "se": estimate * se_log,
            "se_log": se_log,
        }
    )


def _draw_params(
    estimate: np.ndarray, log_covariance: np.ndarray | None, names: list[str], n: int, seed: int
) -> pd.DataFrame:
    """``n`` draws from the asymptotic normal of the log-parameters, back-transformed.

    The normal draws are combined through the Cholesky factor element by element (no matrix
    product), so one seed gives the same draws whatever BLAS kernel the machine uses.
    """
    if log_covariance is None:
        raise ValueError(
            "the parameters have no covariance (the likelihood's curvature was not positive definite "
            "at the estimate); draws need one: check caveats_ and refit"
        )
    lower = _cholesky(log_covariance)
    normals = np.random.default_rng(seed).standard_normal((int(n), len(names)))
    log_draws = np.log(estimate)[None, :] + (normals[:, None, :] * lower[None, :, :]).sum(axis=2)
    return pd.DataFrame(np.exp(log_draws), columns=names)


def _param_values(params: Mapping | pd.Series, names: list[str]) -> tuple[float, ...]:
    """The named parameters as floats, in ``names`` order; a clear error names the missing ones."""
    missing = [n for n in names if n not in params]
    if missing:
        raise KeyError(f"params lacks {missing}: pass a Series or dict with {names} (like params_)")
    return tuple(float(params[n]) for n in names)


def _positive_start(values: dict[str, float]) -> np.ndarray:
    """Log of start values, floored away from zero."""
    return np.log(np.maximum(np.array(list(values.values()), dtype=float), 1e-3))

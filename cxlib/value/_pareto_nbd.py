"""Pareto/NBD with customer covariates on the purchase and the dropout process.

Schmittlein, Morrison and Colombo's (1987) model for customers who buy when they like: while
alive, customer *i* buys as a Poisson process with rate ``lambda_i ~ Gamma(r, alpha_i)`` and leaves
after an exponential lifetime with rate ``mu_i ~ Gamma(s, beta_i)``. Time-invariant covariates enter
as in R's CLVTools (``pnbd`` with static covariates; Fader and Hardie 2007, "Incorporating
time-invariant covariates into the Pareto/NBD and BG/NBD models"):

    alpha_i = alpha * exp(-gamma_purchase' x_i),    beta_i = beta * exp(-gamma_dropout' z_i),

so ``exp(gamma_purchase)`` multiplies every purchase rate (a purchase-rate ratio) and
``exp(gamma_dropout)`` every dropout rate: the hazard ratio of leaving for a one-unit step of the
covariate, for a customer of given frailty. That is how experience becomes a covariate of value: an
unresolved complaint's dropout-rate ratio flows into P(alive), expected purchases and so lifetime
value.

The likelihood (:mod:`cxlib.value._pnbd_likelihood`) is maximised on the working scale (logs of
the four positive parameters, the coefficients as they are) with an analytic gradient, each distinct
customer row counted once with its weight, by BFGS started from the inverse BHHH matrix. The covariance is the inverse of the observed information
(central differences of the gradient), carried to the natural scale by the delta method.

Examples
--------
>>> summary = repeat_purchase_summary(transactions, "1997-09-30")  # doctest: +SKIP
>>> model = ParetoNBD().fit(summary)  # doctest: +SKIP
>>> model.params_.round(3).to_dict()  # doctest: +SKIP
{'r': 0.553, 'alpha': 10.578, 's': 0.606, 'beta': 11.669}
>>> ParetoNBD(dropout_covariates=["social"]).fit(summary_with_social).dropout_rate_ratio_  # doctest: +SKIP
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd
from scipy import stats

from cxlib.features._time import DAYS_PER_MONTH
from cxlib.stats._design import Unit, feature_label, unit_text
from cxlib.stats._fitted import FittedModel, summary_frame
from cxlib.stats._multitest import holm_adjusted
from cxlib.stats._notes import Note
from cxlib.value._pnbd_likelihood import (
    _GRADIENT_TOLERANCE,
    _expected_purchases_ahead,
    _inverse_information,
    _Likelihood,
    _log_likelihood,
    _maximise,
)

#: The model's own parameters, in the order of ``params_``.
_BASE_PARAMS = ("r", "alpha", "s", "beta")
#: Labels of the base parameters in ``summary_``.
_BASE_LABELS = {
    "r": "Purchase rate shape (r)",
    "alpha": "Purchase rate scale (alpha)",
    "s": "Dropout rate shape (s)",
    "beta": "Dropout rate scale (beta)",
}


class ParetoNBD(FittedModel):
    """Pareto/NBD model of repeat purchases, with covariates on purchase and dropout rates.

    Parameters
    ----------
    purchase_covariates : sequence of str
        Numeric columns of the summary (0/1 flags or standardised numbers) that scale the purchase
        rate: ``alpha_i = alpha * exp(-gamma' x_i)``.
    dropout_covariates : sequence of str
        Numeric columns that scale the dropout rate: ``beta_i = beta * exp(-gamma' z_i)``. A column
        may be in both lists.
    alpha : float
        1 - confidence level of the intervals (not the model's parameter ``alpha``, which is
        ``params_["alpha"]``).

    Attributes
    ----------
    params_ : Series
        ``r``, ``alpha``, ``s``, ``beta``, then ``purchase:<column>`` and ``dropout:<column>``
        (the coefficients gamma; ``exp(gamma)`` is the rate ratio).
    covariance_ : DataFrame
        Covariance of ``params_`` (delta method from the working scale).
    summary_ : DataFrame
        The four parameters (intervals from the log scale, no p-value), then one row per
        coefficient whose estimate is the rate ratio ``exp(gamma)`` with its interval, Wald p-value
        and Holm's adjustment over the coefficients.
    dropout_rate_ratio_, purchase_rate_ratio_ : Series
        ``exp(gamma)`` by covariate column.
    log_likelihood_ : float
    n_customers_ : int
    converged_ : bool
    caveats_ : list of Note

    Notes
    -----
    A dropout-rate ratio compares two customers of the same frailty, whose lifetimes the model takes
    to be exponential. When hazards really fall with tenure (a Weibull shape below 1), the model
    reads the fall as gamma frailty (a small ``s``), whose selection would wear a ratio down over
    time, so it reports a larger ratio than the proportional hazard ratio that produced the data:
    about 1.4-1.5 for a planted 1.3 at Weibull shape 0.75 (``benchmarks/RESULTS-value-covariates.md``).

    Examples
    --------
    >>> model = ParetoNBD(dropout_covariates=["social"]).fit(summary)  # doctest: +SKIP
    >>> model.probability_alive(summary)  # doctest: +SKIP
    """

    estimate_name = "parameter or rate ratio"
    null_value = None
    higher_is = None

    def __init__(
        self,
        purchase_covariates: Sequence[str] = (),
        dropout_covariates: Sequence[str] = (),
        alpha: float = 0.05,
    ):
        self.purchase_covariates = purchase_covariates
        self.dropout_covariates = dropout_covariates
        self.alpha = alpha

    def fit(self, summary: pd.DataFrame) -> ParetoNBD:
        """Fit by maximum likelihood on a repeat-purchase summary; returns self.

        Parameters
        ----------
        summary : DataFrame
            One row per customer: ``frequency``, ``recency``, ``T`` (e.g. from
            :func:`cxlib.features.repeat_purchase_summary`) and the covariate columns.
            ``attrs["unit_days"]`` names the time unit of ``alpha`` and ``beta``.
        """
        purchase, dropout = list(self.purchase_covariates), list(self.dropout_covariates)
        x, t_x, age = _history(summary)
        purchase_x, dropout_z = _covariates(summary, purchase, dropout)
        self.n_customers_ = len(summary)
        # each distinct row (history and covariates) is evaluated once, weighted by its count
        full = _Likelihood(x, t_x, age, purchase_x, dropout_z)
        fit = _maximise(full, np.concatenate([_start(x, t_x, age), np.zeros(len(purchase) + len(dropout))]))
        theta = fit.x
        self.converged_ = bool(np.abs(fit.jac).max() < _GRADIENT_TOLERANCE)
        self.log_likelihood_ = -full.value(theta) * full.total
        names = list(_BASE_PARAMS) + [f"purchase:{c}" for c in purchase] + [f"dropout:{c}" for c in dropout]
        working_cov, positive_definite = _inverse_information(full, theta)
        jacobian = np.concatenate([np.exp(theta[:4]), np.ones(len(theta) - 4)])
        self.params_ = pd.Series(_natural(theta), index=names, name="estimate")
        self.covariance_ = pd.DataFrame(
            working_cov * np.outer(jacobian, jacobian), index=names, columns=names
        )
        self._theta, self._working_cov = theta, working_cov
        gammas = pd.Series(theta[4:], index=names[4:])
        self.purchase_rate_ratio_ = pd.Series(
            np.exp(gammas[[f"purchase:{c}" for c in purchase]].to_numpy()), index=purchase, dtype=float
        )
        self.dropout_rate_ratio_ = pd.Series(
            np.exp(gammas[[f"dropout:{c}" for c in dropout]].to_numpy()), index=dropout, dtype=float
        )
        self.summary_ = self._summary(names, theta, working_cov, summary, purchase_x, dropout_z)
        self.caveats_ = []
        if not self.converged_:
            self.caveats_.append(Note("pnbd.not_converged", {"iterations": int(fit.nit)}))
        if not positive_definite:
            self.caveats_.append(Note("pnbd.covariance_singular"))
        if purchase or dropout:
            self.caveats_.append(
                Note("pnbd.static_covariates", {"columns": list(dict.fromkeys(purchase + dropout))})
            )
        return self

    def _summary(self, names, theta, working_cov, summary, purchase_x, dropout_z) -> pd.DataFrame:
        z = stats.norm.ppf(1 - self.alpha / 2)
        se = np.sqrt(np.clip(np.diag(working_cov), 0, None))
        with np.errstate(over="ignore"):  # an unbounded interval is shown as infinite, not warned about
            low, high = np.exp(theta - z * se), np.exp(theta + z * se)
        estimate = np.exp(theta)  # the four parameters, and the rate ratios exp(gamma)
        p_value = np.full(len(theta), np.nan)
        with np.errstate(divide="ignore", invalid="ignore"):
            p_value[4:] = 2 * stats.norm.sf(np.abs(theta[4:] / se[4:]))
        p_adjusted = np.full(len(theta), np.nan)
        if len(theta) > 4:
            p_adjusted[4:] = holm_adjusted(p_value[4:])
        time_unit = _time_unit(summary.attrs.get("unit_days"))
        labels, units = [], []
        for name in _BASE_PARAMS:
            labels.append(_BASE_LABELS[name])
            units.append(time_unit if name in ("alpha", "beta") else "")
        columns = [(n, purchase_x[:, j]) for j, n in enumerate(self.purchase_covariates)]
        columns += [(n, dropout_z[:, j]) for j, n in enumerate(self.dropout_covariates)]
        for j, (column, values) in enumerate(columns):
            process = "Purchase" if j < len(self.purchase_covariates) else "Dropout"
            labels.append(f"{process} rate ratio: {feature_label(column)}")
            units.append(_covariate_unit(values))
        return summary_frame(
            {
                "term": names,
                "label": labels,
                "estimate": estimate,
                "ci_low": low,
                "ci_high": high,
                "p_value": p_value,
                "p_adjusted": p_adjusted,
                "unit": units,
                "coefficient": np.concatenate([np.full(4, np.nan), theta[4:]]),
                "std_error": np.concatenate([np.full(4, np.nan), se[4:]]),
            }
        )

    # ---- predictions: every method takes params (None: the fitted ones) so a caller can pass a draw

    def _scales(self, params, summary: pd.DataFrame | None):
        """r, s and each row's alpha_i, beta_i (scalars without covariates or summary)."""
        if params is None:
            self.check_is_fitted()
            params = self.params_
        params = pd.Series(params, dtype=float)
        r, alpha, s, beta = (float(params[name]) for name in _BASE_PARAMS)
        purchase, dropout = list(self.purchase_covariates), list(self.dropout_covariates)
        if summary is None or not (purchase or dropout):
            return r, s, alpha, beta
        purchase_x, dropout_z = _covariates(summary, purchase, dropout, check_spread=False)
        gamma_p = params[[f"purchase:{c}" for c in purchase]].to_numpy(float)
        gamma_d = params[[f"dropout:{c}" for c in dropout]].to_numpy(float)
        return r, s, alpha * np.exp(-(purchase_x @ gamma_p)), beta * np.exp(-(dropout_z @ gamma_d))

    def probability_alive(self, summary: pd.DataFrame, params=None) -> np.ndarray:
        """P(alive at the end of calibration | frequency, recency, T) per row (Fader-Hardie eq. 18).

        Parameters
        ----------
        summary : DataFrame
            ``frequency``, ``recency``, ``T`` and the covariate columns.
        params : Series or dict, optional
            Parameters named as ``params_`` (e.g. a row of :meth:`sample_params`); None for the fit.
        """
        r, s, alpha_i, beta_i = self._scales(params, summary)
        x, t_x, age = _history(summary)
        return np.exp(_log_likelihood(r, s, alpha_i, beta_i, x, t_x, age)[1])

    def expected_purchases(self, t, summary: pd.DataFrame, params=None) -> np.ndarray:
        """Expected repeat purchases in ``(T, T + t]`` per row, given its history (eq. 41).

        P(alive) times the purchases expected of a customer alive at ``T``.

        Parameters
        ----------
        t : float or array
            Horizon in the summary's time unit, broadcast against the rows.
        summary : DataFrame
            ``frequency``, ``recency``, ``T`` and the covariate columns.
        params : Series or dict, optional
            Parameters named as ``params_``; None for the fit.
        """
        r, s, alpha_i, beta_i = self._scales(params, summary)
        x, t_x, age = _history(summary)
        log_alive = _log_likelihood(r, s, alpha_i, beta_i, x, t_x, age)[1]
        ahead = _expected_purchases_ahead(r + x, s, alpha_i, beta_i, np.asarray(t, float), age)
        return np.exp(log_alive) * ahead

    def expected_purchases_steps(self, steps, summary: pd.DataFrame, params=None):
        """:meth:`expected_purchases` at each of several horizons, P(alive) computed once.

        The same numbers as calling :meth:`expected_purchases` once per step (P(alive), the costly
        part with its hypergeometric functions, does not depend on the horizon).

        Parameters
        ----------
        steps : sequence of float
            Horizons in the summary's time unit.
        summary : DataFrame
        params : Series or dict, optional

        Returns
        -------
        iterator of ndarray
            Expected purchases per row, one array per step (P(alive) is computed on the call).
        """
        r, s, alpha_i, beta_i = self._scales(params, summary)
        x, t_x, age = _history(summary)
        alive = np.exp(_log_likelihood(r, s, alpha_i, beta_i, x, t_x, age)[1])
        return (
            alive * _expected_purchases_ahead(r + x, s, alpha_i, beta_i, np.asarray(t, float), age)
            for t in steps
        )

    def expected_purchases_new(self, t, params=None, summary: pd.DataFrame | None = None) -> np.ndarray:
        """Expected repeat purchases in ``(0, t]`` of a new customer, born at 0 (eq. 27).

        Parameters
        ----------
        t : float or array
            Time since the first purchase.
        params : Series or dict, optional
            Parameters named as ``params_``; None for the fit.
        summary : DataFrame, optional
            For a model with covariates: the customers whose covariate columns set their rates
            (``t`` is broadcast against its rows); required then.
        """
        if params is None:
            self.check_is_fitted()
        if summary is None and (self.purchase_covariates or self.dropout_covariates):
            raise ValueError(
                "ParetoNBD.expected_purchases_new: this model has covariates "
                f"({list(self.purchase_covariates) + list(self.dropout_covariates)}); pass summary= with "
                "those columns for the customers to forecast"
            )
        r, s, alpha_i, beta_i = self._scales(params, summary)
        return _expected_purchases_ahead(r, s, alpha_i, beta_i, np.asarray(t, float), 0.0)

    def sample_params(self, n: int, seed: int) -> pd.DataFrame:
        """Draw parameters from their asymptotic normal distribution on the working scale.

        Logs of r, alpha, s and beta and the coefficients are drawn jointly and carried back, so
        every draw is a valid parameter set for the prediction methods' ``params``.

        Parameters
        ----------
        n : int
            Number of draws.
        seed : int
            Seed of the draws.

        Returns
        -------
        DataFrame
            ``n`` rows, columns as ``params_.index``.
        """
        self.check_is_fitted()
        rng = np.random.default_rng(seed)
        normals = rng.standard_normal((n, len(self._theta)))
        root = _covariance_root(self._working_cov)
        # element-wise products and a sum in a fixed order: no BLAS kernel decides a draw
        theta = self._theta + (normals[:, None, :] * root[None, :, :]).sum(axis=2)
        return pd.DataFrame(np.apply_along_axis(_natural, 1, theta), columns=self.params_.index)


def _covariance_root(covariance: np.ndarray) -> np.ndarray:
    """A matrix ``L`` with ``L L' = covariance`` (negative eigenvalues of a singular one set to 0)."""
    try:
        return np.linalg.cholesky(covariance)
    except np.linalg.LinAlgError:
        values, vectors = np.linalg.eigh(covariance)
        return vectors * np.sqrt(np.clip(values, 0, None))


def _natural(theta: np.ndarray) -> np.ndarray:
    """Working scale -> ``params_``: exp of the four positive parameters, coefficients unchanged."""
    return np.concatenate([np.exp(theta[:4]), theta[4:]])


def _start(x, t_x, age) -> np.ndarray:
    """Starting values: r = s = 1, purchase rate from the mean frequency, lifetime scale from T."""
    rate = max(x.sum(), 1.0) / max(age.sum(), 1e-9)
    return np.log([1.0, 1.0 / rate, 1.0, max(age.mean(), 1e-3)])


def _history(summary: pd.DataFrame) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """frequency, recency, T as float arrays, checked (every problem at once)."""
    missing = [c for c in ("frequency", "recency", "T") if c not in summary]
    if missing:
        raise KeyError(
            f"summary has no column(s) {missing}: pass the table of "
            "cxlib.features.repeat_purchase_summary (frequency, recency, T per customer)"
        )
    x, t_x, age = (summary[c].to_numpy(dtype=float) for c in ("frequency", "recency", "T"))
    problems = []
    checks = [
        (~np.isfinite(x) | (x < 0) | (x != np.round(x)), "frequency is not a whole number >= 0"),
        (~np.isfinite(age) | (age < 0), "T is missing or negative"),
        (~np.isfinite(t_x) | (t_x < 0) | (t_x > age + 1e-9), "recency is missing, negative or after T"),
        ((x == 0) & (t_x != 0), "recency is not 0 where frequency is 0"),
    ]
    for bad, what in checks:
        if bad.any():
            rows = ", ".join(map(str, np.flatnonzero(bad)[:3]))
            problems.append(f"{what} in {bad.sum():,} row(s) (first: rows {rows})")
    if problems:
        raise ValueError("ParetoNBD: the summary is not a repeat-purchase summary: " + "; ".join(problems))
    return x, np.minimum(t_x, age), age


def _covariates(summary, purchase, dropout, check_spread: bool = True) -> tuple[np.ndarray, np.ndarray]:
    """The covariate matrices, checked: present, numeric, finite and (at fit) not constant."""
    problems = []
    for column in dict.fromkeys(list(purchase) + list(dropout)):
        if column not in summary:
            problems.append(f"'{column}' is not a column of the summary")
        elif not pd.api.types.is_numeric_dtype(summary[column]):
            problems.append(f"'{column}' is {summary[column].dtype}, not a number (code flags as 0/1)")
        elif not np.isfinite(summary[column].to_numpy(dtype=float)).all():
            problems.append(f"'{column}' has missing or infinite values")
        elif check_spread and summary[column].nunique() < 2:
            problems.append(f"'{column}' is constant, so its effect cannot be estimated; leave it out")
    if problems:
        raise ValueError("ParetoNBD covariates: " + "; ".join(problems))

    def matrix(columns):
        return np.column_stack(
            [summary[c].to_numpy(dtype=float) for c in columns] or [np.empty((len(summary), 0))]
        )

    return matrix(purchase), matrix(dropout)


def _covariate_unit(values: np.ndarray) -> str:
    """The unit of a coefficient's ratio: a 0/1 flag, one SD of a standardised number, or one unit."""
    if np.isin(values, (0.0, 1.0)).all():
        return unit_text(Unit("flag"))
    if abs(values.mean()) < 0.05 and abs(values.std() - 1) < 0.05:
        return unit_text(Unit("sd"))
    return "per unit"


def _time_unit(unit_days) -> str:
    """The time unit of alpha and beta from the summary's ``unit_days``."""
    named = {1.0: "days", 7.0: "weeks", DAYS_PER_MONTH: "months", 365.25: "years"}
    if unit_days is None:
        return "time units"
    for days, name in named.items():
        if abs(float(unit_days) - days) < 1e-9:
            return name
    return f"units of {float(unit_days):g} days"

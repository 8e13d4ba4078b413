"""The Gamma-Gamma model of spend per purchase (Fader and Hardie 2013), fitted by maximum likelihood.

A customer's purchases are worth z ~ gamma(p, nu) each; nu varies across customers as
gamma(q, gamma), so the mean spend per purchase p nu^-1 has population mean p gamma / (q - 1)
(finite only when q > 1). A customer's average repeat spend mbar over x purchases shrinks
towards that mean as (p (gamma + x mbar)) / (p x + q - 1). The model assumes spend per purchase
is independent of how often a customer buys; :attr:`GammaGamma.independence_` checks it.

Only customers with repeat purchases (x > 0) and a positive average repeat spend carry
information; others are left out of the fit.

References
----------
Fader, P. S. and Hardie, B. G. S. (2013). The Gamma-Gamma model of monetary value.
http://brucehardie.com/notes/025/ (CDNOW, 946 repeat customers: p = 6.25, q = 3.74,
gamma = 15.44).

Examples
--------
>>> spend = GammaGamma().fit(summary)  # doctest: +SKIP
>>> spend.conditional_expected_spend(summary)  # doctest: +SKIP
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from scipy.special import digamma, gammaln
from scipy.stats import pearsonr, spearmanr

from cxlib.stats import FittedModel, Note
from cxlib.value._mle import (
    _draw_params,
    _fit_log_scale,
    _log_covariance,
    _natural_covariance,
    _param_values,
    _parameter_summary,
    _positive_start,
)

_NAMES = ["p", "q", "gamma"]
#: A Spearman correlation between frequency and spend per purchase at least this large (in
#: absolute value, p < 0.05) questions the model's independence assumption (a caveat).
SPEND_FREQUENCY_RHO = 0.2


def _spend_arrays(summary: pd.DataFrame) -> tuple[np.ndarray, np.ndarray]:
    missing = [c for c in ("frequency", "monetary_value") if c not in summary.columns]
    if missing:
        raise ValueError(
            f"summary lacks the column(s) {missing}: pass the table of "
            "cxlib.features.repeat_purchase_summary (frequency, monetary_value per customer)"
        )
    x = summary["frequency"].to_numpy(dtype=float)
    spend = summary["monetary_value"].to_numpy(dtype=float)
    bad = ~np.isfinite(x) | (x < 0) | (x != np.round(x))
    if bad.any():
        raise ValueError(
            f"summary.frequency: {int(bad.sum())} row(s) are not whole numbers >= 0 "
            f"(first: {list(summary.index[bad][:3])}); see repeat_purchase_summary"
        )
    return x, spend


class _SpendData:
    """Repeaters' frequency and mean repeat spend; gamma-function terms once per distinct x."""

    def __init__(self, x: np.ndarray, spend: np.ndarray):
        self.x_levels, self.ix = np.unique(x, return_inverse=True)
        self.x, self.spend = x, spend
        self.total = x * spend
        self.log_total = np.log(self.total)

    def value_and_gradient(self, log_params: np.ndarray) -> tuple[float, np.ndarray]:
        """Total negative log-likelihood and its gradient with respect to the log-parameters."""
        p, q, gamma = np.exp(log_params)
        xl, ix = self.x_levels, self.ix
        shape = p * xl + q
        log_scale = np.log(gamma + self.total)
        # density of the mean spend mbar of x purchases: x times that of their total x mbar
        ll = (
            (gammaln(shape) - gammaln(p * xl) - gammaln(q))[ix]
            + q * np.log(gamma)
            + (p * self.x - 1) * self.log_total
            + np.log(self.x)
            - shape[ix] * log_scale
        )
        d_shape = digamma(shape)[ix]
        g_p = self.x * (d_shape - digamma(p * xl)[ix] + self.log_total - log_scale)
        g_q = d_shape - digamma(q) + np.log(gamma) - log_scale
        g_gamma = q / gamma - shape[ix] / (gamma + self.total)
        grad = np.array([g_p.sum() * p, g_q.sum() * q, g_gamma.sum() * gamma])
        return -float(ll.sum()), -grad


def _independence(x: np.ndarray, spend: np.ndarray) -> pd.DataFrame:
    """Pearson and Spearman correlation of frequency and mean repeat spend, with p-values and n."""
    n = len(x)
    rows = []
    for method, test in (("pearson", pearsonr), ("spearman", spearmanr)):
        if n >= 3 and np.ptp(x) > 0 and np.ptp(spend) > 0:
            result = test(x, spend)
            rows.append((method, float(result[0]), float(result[1]), n))
        else:
            rows.append((method, np.nan, np.nan, n))
    return pd.DataFrame(rows, columns=["method", "correlation", "p_value", "n"]).set_index("method")


class GammaGamma(FittedModel):
    """Gamma-Gamma: each customer's expected spend per purchase, shrunk towards the population mean.

    Parameters
    ----------
    alpha : float
        One minus the confidence level of the parameter intervals (0.05: 95% intervals).
    max_iter : int
        Iterations allowed to the optimiser (BFGS on the log-parameters).

    Attributes
    ----------
    params_ : Series
        ``p``, ``q``, ``gamma`` (``gamma`` in the currency of the amounts).
    covariance_ : DataFrame
        Covariance of ``params_`` (delta method from the log scale).
    log_likelihood_ : float
    n_customers_ : int
        Customers the fit used: frequency > 0 and a positive ``monetary_value``.
    converged_ : bool
    population_mean_ : float
        p gamma / (q - 1), the expected spend per purchase of a new customer (NaN when q <= 1).
    independence_ : DataFrame
        Indexed by method (pearson, spearman): ``correlation`` of frequency and mean repeat
        spend among the customers fitted, ``p_value``, ``n``. The model assumes none; a
        Spearman correlation of at least :data:`SPEND_FREQUENCY_RHO` in absolute value with
        p < 0.05 adds the caveat ``value.spend_depends_on_frequency``.
    summary_ : DataFrame
        One row per parameter with its interval (from the log scale) and ``se``, ``se_log``.
    caveats_ : list of Note
        ``value.not_converged``, ``value.no_covariance``, ``value.spend_depends_on_frequency``,
        ``value.spend_mean_infinite`` (q <= 1) when they apply.

    Examples
    --------
    >>> GammaGamma().fit(summary).params_  # doctest: +SKIP
    """

    estimate_name = "parameter"
    null_value = None
    higher_is = None

    def __init__(self, alpha: float = 0.05, max_iter: int = 500):
        self.alpha = alpha
        self.max_iter = max_iter

    def fit(self, summary: pd.DataFrame) -> GammaGamma:
        """Fit on the customers with repeat purchases and positive mean repeat spend; returns self."""
        x, spend = _spend_arrays(summary)
        used = (x > 0) & np.isfinite(spend) & (spend > 0)
        if used.sum() < 2:
            raise ValueError(
                f"summary: {int(used.sum())} customer(s) with repeat purchases and a positive "
                "monetary_value; the Gamma-Gamma model needs at least 2"
            )
        data = _SpendData(x[used], spend[used])
        # start: p = 1, q = 2, so the population mean p gamma / (q - 1) is the observed mean
        start = _positive_start({"p": 1.0, "q": 2.0, "gamma": float(np.mean(spend[used]))})
        log_params, self.converged_ = _fit_log_scale(
            data.value_and_gradient, start, int(used.sum()), self.max_iter
        )
        estimate = np.exp(log_params)
        self.n_customers_ = int(used.sum())
        self.log_likelihood_ = -data.value_and_gradient(log_params)[0]
        self._log_covariance = _log_covariance(lambda t: data.value_and_gradient(t)[1], log_params)
        self.params_ = pd.Series(estimate, index=_NAMES, name="estimate")
        self.covariance_ = _natural_covariance(estimate, self._log_covariance, _NAMES)
        p, q, gamma = estimate
        self.population_mean_ = float(p * gamma / (q - 1)) if q > 1 else float("nan")
        self.independence_ = _independence(x[used], spend[used])
        self.summary_ = _parameter_summary(
            _NAMES,
            ["p: spend shape per purchase", "q: spend shape across customers", "gamma: spend scale"],
            ["", "", "currency"],
            estimate,
            self._log_covariance,
            self.alpha,
        )
        self.caveats_ = []
        if not self.converged_:
            self.caveats_.append(Note("value.not_converged", {"model": "Gamma-Gamma"}))
        if self._log_covariance is None:
            self.caveats_.append(Note("value.no_covariance", {"model": "Gamma-Gamma"}))
        spearman = self.independence_.loc["spearman"]
        if abs(spearman["correlation"]) >= SPEND_FREQUENCY_RHO and spearman["p_value"] < 0.05:
            self.caveats_.append(
                Note(
                    "value.spend_depends_on_frequency",
                    {
                        "rho": float(spearman["correlation"]),
                        "p_value": float(spearman["p_value"]),
                        "n": int(spearman["n"]),
                        "threshold": SPEND_FREQUENCY_RHO,
                    },
                )
            )
        if q <= 1:
            self.caveats_.append(Note("value.spend_mean_infinite", {"q": float(q)}))
        return self

    def _params(self, params) -> tuple[float, float, float]:
        if params is None:
            self.check_is_fitted()
            params = self.params_
        return _param_values(params, _NAMES)

    def sample_params(self, n: int, seed: int) -> pd.DataFrame:
        """Draw ``n`` parameter sets from the estimate's asymptotic normal (log scale), back-transformed.

        Parameters
        ----------
        n : int
        seed : int

        Returns
        -------
        DataFrame
            Columns p, q, gamma; each row can be passed as ``params`` to
            :meth:`conditional_expected_spend`.
        """
        self.check_is_fitted()
        return _draw_params(self.params_.to_numpy(), self._log_covariance, _NAMES, n, seed)

    def conditional_expected_spend(self, summary: pd.DataFrame, params=None) -> np.ndarray:
        """Expected spend per purchase E[M | x, mbar] per row of ``summary`` (Fader and Hardie 2013, eq. 5).

        Rows without repeat purchases (or without a mean repeat spend) get the population mean
        p gamma / (q - 1) (NaN when q <= 1).

        Parameters
        ----------
        summary : DataFrame
            frequency and monetary_value per customer.
        params : Series or dict, optional
            p, q, gamma (default ``params_``), e.g. a row of :meth:`sample_params`.

        Returns
        -------
        ndarray
        """
        p, q, gamma = self._params(params)
        x, spend = _spend_arrays(summary)
        population = p * gamma / (q - 1) if q > 1 else np.nan
        known = (x > 0) & np.isfinite(spend)
        safe = np.where(known, spend, 0.0)
        return np.where(known, p * (gamma + x * safe) / (p * x + q - 1), population)

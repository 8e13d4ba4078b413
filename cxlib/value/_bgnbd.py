"""The BG/NBD model of repeat buying (Fader, Hardie and Lee 2005), fitted by maximum likelihood.

While alive, a customer buys at a Poisson rate lambda (gamma across customers: shape ``r``,
rate ``alpha``); after each purchase they drop out with probability p (beta across customers:
``a``, ``b``). The likelihood of a customer depends only on their frequency x, recency t_x and
age T (:func:`cxlib.features.repeat_purchase_summary`), so the fit evaluates it once per
distinct (x, t_x, T) row, weighted by how many customers share it, and the gamma-function terms
once per distinct x.

References
----------
Fader, P. S., Hardie, B. G. S. and Lee, K. L. (2005). "Counting your customers" the easy way:
an alternative to the Pareto/NBD model. Marketing Science 24(2), 275-284 (equations 6, 8, 9, 10;
the CDNOW estimates r = 0.243, alpha = 4.414, a = 0.793, b = 2.426, LL = -9,582.4).
Fader, P. S., Hardie, B. G. S. and Lee, K. L. (2008). Computing P(alive) using the BG/NBD model.
http://brucehardie.com/notes/021/

Examples
--------
>>> model = BetaGeo().fit(summary)  # doctest: +SKIP
>>> model.expected_purchases(39, summary).sum()  # doctest: +SKIP
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from scipy.special import betaln, digamma, expit, gammaln, hyp2f1
from scipy.stats import nbinom

from cxlib.features._repeat import compress_summary
from cxlib.stats import FittedModel, Note
from cxlib.value._mle import (
    _draw_params,
    _fit_log_scale,
    _log_covariance,
    _natural_covariance,
    _param_values,
    _parameter_summary,
    _positive_start,
    _time_unit,
)

_NAMES = ["r", "alpha", "a", "b"]


def _repeat_arrays(summary: pd.DataFrame) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Frequency, recency and T as float arrays, checked once (the likelihood trusts them)."""
    missing = [c for c in ("frequency", "recency", "T") if c not in summary.columns]
    if missing:
        raise ValueError(
            f"summary lacks the column(s) {missing}: pass the table of "
            "cxlib.features.repeat_purchase_summary (frequency, recency, T per customer)"
        )
    x, t_x, age = (summary[c].to_numpy(dtype=float) for c in ("frequency", "recency", "T"))
    problems = []
    for name, bad in (
        ("frequency", ~np.isfinite(x) | (x < 0) | (x != np.round(x))),
        ("recency", ~np.isfinite(t_x) | (t_x < 0)),
        ("T", ~np.isfinite(age) | (age < t_x)),
        ("recency", (x == 0) & (t_x != 0)),
    ):
        if bad.any():
            first = list(summary.index[bad][:3])
            problems.append(f"{name}: {int(bad.sum())} row(s) break the rules (first: {first})")
    if problems:
        raise ValueError(
            "summary: " + "; ".join(problems) + ". frequency must be a whole number >= 0, "
            "0 <= recency <= T, and recency 0 when frequency is 0 (see repeat_purchase_summary)"
        )
    return x, t_x, age


def _unit_days(summary: pd.DataFrame) -> float | None:
    unit = summary.attrs.get("unit_days")
    return None if unit is None else float(unit)


def _dot(left: np.ndarray, right: np.ndarray) -> float:
    """Sum of products without BLAS.

    As fast here, not slowed by BLAS threads on a busy machine, and the same digits whatever BLAS
    kernel the CPU picks.
    """
    return float(np.sum(left * right))


class _Compressed:
    """Distinct (x, t_x, T) rows with counts, and the distinct values each column indexes into.

    Sums over customers of terms that depend on x only are taken per distinct x (weighted by
    the customers having it), so each evaluation touches every distinct row a few times only.
    """

    def __init__(self, x, t_x, age):
        unique, weight, _ = compress_summary(x, t_x, age)
        self.weight = weight.astype(float)
        self.x_levels, self.ix = np.unique(unique[:, 0], return_inverse=True)
        self.t_levels, self.it = np.unique(unique[:, 1], return_inverse=True)
        self.age_levels, self.iage = np.unique(unique[:, 2], return_inverse=True)
        self.weight_by_x = np.bincount(self.ix, self.weight, minlength=len(self.x_levels))
        self.weight_x = self.weight * unique[:, 0]
        self.total = self.weight.sum()

    def value_and_gradient(self, log_params: np.ndarray) -> tuple[float, np.ndarray]:
        """Total negative log-likelihood and its gradient with respect to the log-parameters."""
        r, alpha, a, b = np.exp(log_params)
        xl, wx = self.x_levels, self.weight_by_x
        repeat = xl > 0
        # per distinct x: log A1 + log A2, their derivatives, and log(a / (b + x - 1)) for x > 0
        a12 = gammaln(r + xl) - gammaln(r) + r * np.log(alpha)
        a12 += gammaln(a + b) + gammaln(b + xl) - gammaln(b) - gammaln(a + b + xl)
        b_x1 = np.where(repeat, b + xl - 1, 1.0)
        log_a_b = np.where(repeat, np.log(a) - np.log(b_x1), -np.inf)
        d_r = digamma(r + xl) - digamma(r) + np.log(alpha)
        d_a = digamma(a + b) - digamma(a + b + xl)
        d_b = d_a + digamma(b + xl) - digamma(b)
        # per distinct row
        log_age = np.log(alpha + self.age_levels)[self.iage]
        log_rec = np.log(alpha + self.t_levels)[self.it]
        inv_age = (1 / (alpha + self.age_levels))[self.iage]
        inv_rec = (1 / (alpha + self.t_levels))[self.it]
        w, w_rx = self.weight, r * self.weight + self.weight_x
        # L = A1 A2 (alpha+T)^-(r+x) [1 + [x > 0] exp(odds)]: alive at T, or left after the last purchase
        odds = log_a_b[self.ix] + (r + xl[self.ix]) * (log_age - log_rec)
        share = expit(odds)  # weight of the "left after the last purchase" branch
        w_share = w * share
        softplus = np.maximum(odds, 0.0) + np.log1p(np.exp(-np.abs(odds)))  # log(1 + e^odds)
        ll = _dot(a12, wx) - _dot(w_rx, log_age) + _dot(w, softplus)
        g_r = _dot(d_r, wx) - _dot(w, log_age) + _dot(w_share, log_age - log_rec)
        rx_share = w_share * (r + xl[self.ix])
        g_alpha = r / alpha * self.total - _dot(w_rx, inv_age) - _dot(rx_share, inv_rec - inv_age)
        g_a = _dot(d_a, wx) + w_share.sum() / a
        by_x = np.bincount(self.ix, w_share, minlength=len(xl))
        g_b = _dot(d_b, wx) - _dot(by_x, np.where(repeat, 1 / b_x1, 0.0))
        grad = np.array([g_r * r, g_alpha * alpha, g_a * a, g_b * b])
        return -float(ll), -grad


class BetaGeo(FittedModel):
    """BG/NBD: how often customers buy while alive and when they silently leave (Fader, Hardie and Lee 2005).

    Parameters
    ----------
    alpha : float
        One minus the confidence level of the parameter intervals (0.05: 95% intervals).
    max_iter : int
        Iterations allowed to the optimiser (BFGS on the log-parameters).

    Attributes
    ----------
    params_ : Series
        ``r``, ``alpha`` (the gamma purchase rate: mean rate r/alpha per time unit, ``alpha`` in
        the summary's time unit), ``a``, ``b`` (the beta dropout probability per purchase: mean
        a/(a+b)).
    covariance_ : DataFrame
        Covariance of ``params_`` (delta method from the log scale; NaN when the likelihood's
        curvature is not positive definite).
    log_likelihood_ : float
        Of the whole sample, in the summary's time unit (as published).
    n_customers_ : int
    converged_ : bool
    unit_days_ : float or None
        Days per time unit of the summary fitted (``summary.attrs["unit_days"]``).
    summary_ : DataFrame
        One row per parameter with its interval (from the log scale) and ``se``, ``se_log``.
    caveats_ : list of Note
        ``value.not_converged``, ``value.no_covariance`` when they apply.

    Examples
    --------
    >>> model = BetaGeo().fit(repeat_purchase_summary(transactions, "1997-09-30"))  # doctest: +SKIP
    >>> model.probability_alive(summary)  # doctest: +SKIP
    """

    estimate_name = "parameter"
    null_value = None
    higher_is = None

    def __init__(self, alpha: float = 0.05, max_iter: int = 500):
        self.alpha = alpha
        self.max_iter = max_iter

    def fit(self, summary: pd.DataFrame) -> BetaGeo:
        """Fit by maximum likelihood on ``frequency``, ``recency`` and ``T``; returns self."""
        x, t_x, age = _repeat_arrays(summary)
        if not (x > 0).any():
            raise ValueError("summary: no customer made a repeat purchase; the BG/NBD cannot be fitted")
        data = _Compressed(x, t_x, age)
        # start: the observed repeat rate for r/alpha, an even beta for dropout
        rate = max(x.sum() / max(age.sum(), 1e-9), 1e-6)
        start = _positive_start({"r": 1.0, "alpha": 1.0 / rate, "a": 1.0, "b": 1.0})
        log_params, self.converged_ = _fit_log_scale(data.value_and_gradient, start, len(x), self.max_iter)
        estimate = np.exp(log_params)
        self.n_customers_ = len(x)
        self.log_likelihood_ = -data.value_and_gradient(log_params)[0]
        self._log_covariance = _log_covariance(lambda t: data.value_and_gradient(t)[1], log_params)
        self.params_ = pd.Series(estimate, index=_NAMES, name="estimate")
        self.covariance_ = _natural_covariance(estimate, self._log_covariance, _NAMES)
        self.unit_days_ = _unit_days(summary)
        unit = _time_unit(self.unit_days_)
        self.summary_ = _parameter_summary(
            _NAMES,
            [
                "r: purchase rate shape",
                "alpha: purchase rate scale",
                "a: dropout shape a",
                "b: dropout shape b",
            ],
            ["", unit, "", ""],
            estimate,
            self._log_covariance,
            self.alpha,
        )
        self.caveats_ = []
        if not self.converged_:
            self.caveats_.append(Note("value.not_converged", {"model": "BG/NBD"}))
        if self._log_covariance is None:
            self.caveats_.append(Note("value.no_covariance", {"model": "BG/NBD"}))
        return self

    # ---- parameters ----------------------------------------------------------------------------

    def _params(self, params) -> tuple[float, float, float, float]:
        if params is None:
            self.check_is_fitted()
            params = self.params_
        return _param_values(params, _NAMES)

    def _check_unit(self, summary: pd.DataFrame) -> None:
        unit = _unit_days(summary)
        fitted = getattr(self, "unit_days_", None) if self.is_fitted else None
        if unit is not None and fitted is not None and abs(unit - fitted) > 1e-9:
            raise ValueError(
                f"summary is in units of {unit:g} days but the model was fitted in units of {fitted:g} "
                "days: rebuild the summary with the same unit_days"
            )

    def sample_params(self, n: int, seed: int) -> pd.DataFrame:
        """Draw ``n`` parameter sets from the estimate's asymptotic normal (log scale), back-transformed.

        Parameters
        ----------
        n : int
        seed : int

        Returns
        -------
        DataFrame
            Columns r, alpha, a, b; each row can be passed as ``params`` to a prediction method.
        """
        self.check_is_fitted()
        return _draw_params(self.params_.to_numpy(), self._log_covariance, _NAMES, n, seed)

    # ---- predictions ---------------------------------------------------------------------------

    def probability_alive(self, summary: pd.DataFrame, params=None) -> np.ndarray:
        """P(alive at T | x, t_x, T) per row of ``summary`` (FHL 2008 note 021; 1 when x = 0).

        Parameters
        ----------
        summary : DataFrame
            frequency, recency, T per customer.
        params : Series or dict, optional
            r, alpha, a, b (default ``params_``), e.g. a row of :meth:`sample_params`.

        Returns
        -------
        ndarray
        """
        r, alpha, a, b = self._params(params)
        self._check_unit(summary)
        x, t_x, age = _repeat_arrays(summary)
        return _probability_alive(x, t_x, age, r, alpha, a, b)

    def expected_purchases(self, t, summary: pd.DataFrame, params=None) -> np.ndarray:
        """Expected repeat purchases in (T, T + t] given each customer's history (FHL 2005, eq. 10).

        Computed through Euler's transformation of the hypergeometric function, whose
        parameters then no longer grow with x (stable for frequent buyers; any a != 1).

        Parameters
        ----------
        t : float or array
            Length of the period ahead, in the summary's time unit; broadcast against the rows.
        summary : DataFrame
            frequency, recency, T per customer.
        params : Series or dict, optional
            r, alpha, a, b (default ``params_``).

        Returns
        -------
        ndarray
        """
        r, alpha, a, b = self._params(params)
        self._check_unit(summary)
        x, t_x, age = _repeat_arrays(summary)
        t = np.asarray(t, dtype=float)
        z = t / (alpha + age + t)
        # ((alpha+T)/(alpha+T+t))^(r+x) 2F1(r+x, b+x; a+b+x-1; z) = (1-z)^(a-1) 2F1(a+b-1-r, a-1; a+b+x-1; z)
        ahead = 1 - (1 - z) ** (a - 1) * hyp2f1(a + b - 1 - r, a - 1, a + b + x - 1, z)
        return (a + b + x - 1) / (a - 1) * ahead * _probability_alive(x, t_x, age, r, alpha, a, b)

    def expected_purchases_steps(self, steps, summary: pd.DataFrame, params=None):
        """:meth:`expected_purchases` at each of several horizons, with the same numbers, faster.

        P(alive) is computed once, and the hypergeometric part, which depends on a customer only
        through frequency and T, once per distinct (frequency, T) pair.

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
        r, alpha, a, b = self._params(params)
        self._check_unit(summary)
        x, t_x, age = _repeat_arrays(summary)
        alive = _probability_alive(x, t_x, age, r, alpha, a, b)
        pairs, inverse = np.unique(np.column_stack([x, age]), axis=0, return_inverse=True)
        inverse = inverse.reshape(-1)
        x_u, age_u = pairs[:, 0], pairs[:, 1]

        def path():
            for step in steps:
                t = np.asarray(step, dtype=float)
                z = t / (alpha + age_u + t)
                ahead = 1 - (1 - z) ** (a - 1) * hyp2f1(a + b - 1 - r, a - 1, a + b + x_u - 1, z)
                yield (a + b + x - 1) / (a - 1) * ahead[inverse] * alive

        return path()

    def expected_purchases_new(self, t, params=None, summary: pd.DataFrame | None = None) -> np.ndarray:
        """Expected repeat purchases E[X(t)] in (0, t] of a customer whose first purchase is at 0 (eq. 9).

        Parameters
        ----------
        t : float or array
            Time since the first purchase, in the fitted time unit.
        params : Series or dict, optional
            r, alpha, a, b (default ``params_``).
        summary : DataFrame, optional
            Not used (no covariates); accepted so every value model is called alike.

        Returns
        -------
        ndarray
        """
        r, alpha, a, b = self._params(params)
        t = np.asarray(t, dtype=float)
        z = t / (alpha + t)
        # (alpha/(alpha+t))^r 2F1(r, b; a+b-1; z) = (1-z)^(a-1) 2F1(a+b-1-r, a-1; a+b-1; z)
        return (a + b - 1) / (a - 1) * (1 - (1 - z) ** (a - 1) * hyp2f1(a + b - 1 - r, a - 1, a + b - 1, z))

    def probability_of_purchases(self, n, t: float, params=None) -> np.ndarray:
        """P(X(t) = n): the chance of exactly n repeat purchases in (0, t] after the first (FHL 2005, eq. 8).

        For the frequency histogram of a cohort of one age; with ``n = range(k)`` the values
        sum to 1 as k grows.

        Parameters
        ----------
        n : int or array of int
        t : float
            Time since the first purchase, in the fitted time unit.
        params : Series or dict, optional

        Returns
        -------
        ndarray
        """
        r, alpha, a, b = self._params(params)
        n = np.asarray(n, dtype=float)
        t = float(t)
        p = alpha / (alpha + t)
        log_still = (
            betaln(a, b + n)
            - betaln(a, b)
            + gammaln(r + n)
            - gammaln(r)
            - gammaln(n + 1)
            + r * np.log(p)
            + n * np.log1p(-p)
        )
        left = np.where(
            n > 0,
            np.exp(betaln(a + 1, b + np.maximum(n, 1) - 1) - betaln(a, b)) * nbinom.sf(n - 1, r, p),
            0.0,
        )
        return np.exp(log_still) + left


def _probability_alive(x, t_x, age, r, alpha, a, b) -> np.ndarray:
    """1 / (1 + [x > 0] a/(b+x-1) ((alpha+T)/(alpha+t_x))^(r+x)), in log space."""
    repeat = x > 0
    log_odds_left = (
        np.log(a)
        - np.log(np.where(repeat, b + x - 1, 1.0))
        + (r + x) * (np.log(alpha + age) - np.log(alpha + t_x))
    )
    return np.where(repeat, expit(-log_odds_left), 1.0)

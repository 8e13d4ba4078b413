"""Shifted-beta-geometric (sBG) model of contract renewals, for cohorts known only by their counts.

Each customer renews at the end of every period with a fixed probability 1 - theta and leaves
for good otherwise; theta varies across customers as Beta(gamma, delta). The cohort's retention
rate then rises over time (the customers likely to leave go first) although nobody's own rate
changes. Fader and Hardie (2007), "How to project customer retention", Journal of Interactive
Marketing 21(1), 76-90 (sBG, equations 1-8 and the appendix on maximum likelihood); the
discounted expected residual lifetime is from Fader and Hardie (2010), "Customer-base valuation
in a contractual setting: the perils of ignoring heterogeneity", Marketing Science 29(1), 85-93,
equation 6.

With ``t`` counted in periods since acquisition (period 0 is the start):

- P(T = t) = B(gamma + 1, delta + t - 1) / B(gamma, delta), t = 1, 2, ... (leaves at the end of t)
- S(t) = B(gamma, delta + t) / B(gamma, delta)
- r(t) = S(t) / S(t - 1) = (delta + t - 1) / (gamma + delta + t - 1)

Examples
--------
>>> model = ShiftedBetaGeometric().fit([1000, 631, 468, 382, 326, 289, 262, 241])
>>> model.params_.round(3).tolist()
[0.704, 1.182]
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from scipy import optimize, special, stats
from statsmodels.tools.numdiff import approx_fprime

from cxlib.stats._fitted import FittedModel, summary_frame
from cxlib.stats._notes import Note
from cxlib.stats._parameter_draws import parameter_draws

#: Parameter names, in the order of ``params_``.
_PARAMS = ("gamma", "delta")
#: Readable labels of the parameters for the summary table.
_LABELS = {
    "gamma": "gamma (beta shape of the churn probability)",
    "delta": "delta (beta shape of the renewal probability)",
}


class ShiftedBetaGeometric(FittedModel):
    """Shifted-beta-geometric model of cohort retention (Fader and Hardie 2007).

    Fitted by maximum likelihood on the log scale of (gamma, delta) from the number of customers
    of one or more cohorts still active at the start of each period; the customers still active at
    the last period are right-censored (their lifetime is only known to be longer).

    Parameters
    ----------
    alpha : float
        1 - confidence level of the intervals in ``summary_``.

    Attributes
    ----------
    params_ : Series
        ``gamma`` and ``delta``: the churn probability varies across customers as
        Beta(gamma, delta), with mean gamma / (gamma + delta).
    covariance_ : DataFrame
        Covariance of ``params_`` (inverse observed information on the log scale, then the delta
        method).
    log_covariance_ : DataFrame
        Covariance of log(gamma), log(delta), the scale the intervals and draws are made on.
    log_likelihood_ : float
    n_customers_ : float
        Customers at period 0, summed over cohorts.
    n_periods_ : int
        The longest cohort's number of observed periods.
    converged_ : bool
    summary_ : DataFrame
        One row per parameter: the standard columns (``estimate`` is the parameter, interval from
        the log scale, no p-value: there is no null value), then ``se``.
    caveats_ : list of Note
        A fit that did not converge (``sbg.not_converged``); gamma at most 1 (``sbg.heavy_tail``:
        the mean lifetime is infinite, so undiscounted value is unbounded).

    Examples
    --------
    >>> model = ShiftedBetaGeometric().fit([1000, 869, 743, 653, 593, 551, 517, 491])
    >>> model.survival([8, 12]).round(3).tolist()
    [0.46, 0.378]
    """

    estimate_name = "parameter"
    null_value = None
    higher_is = None

    def __init__(self, alpha: float = 0.05):
        self.alpha = alpha

    def fit(self, counts) -> ShiftedBetaGeometric:
        """Fit on the customers still active at the start of periods 0, 1, ..., k; returns self.

        Parameters
        ----------
        counts : array-like or DataFrame
            One cohort: its number of active customers at the start of periods 0..k (e.g.
            ``[1000, 631, 468, ...]``; shares work as weights too). Several cohorts: a DataFrame with
            columns ``cohort``, ``period`` (0..k for each cohort, every period present) and
            ``alive``; cohorts share gamma and delta.

        Returns
        -------
        ShiftedBetaGeometric
        """
        cohorts = _cohort_counts(counts)
        lost_weights, survivor_weights = _likelihood_weights(cohorts)
        result = optimize.minimize(
            _negative_log_likelihood,
            np.zeros(2),
            args=(lost_weights, survivor_weights),
            jac=_negative_gradient,
            method="L-BFGS-B",
            options={"maxiter": 1000, "gtol": 1e-10, "ftol": 1e-15},
        )
        log_params = result.x
        # observed information: central differences of the analytic gradient on the log scale
        hessian = approx_fprime(
            log_params, _negative_gradient, args=(lost_weights, survivor_weights), centered=True
        )
        hessian = (hessian + hessian.T) / 2
        log_covariance = np.linalg.inv(hessian)
        params = np.exp(log_params)
        jacobian = np.diag(params)
        names = list(_PARAMS)
        self.params_ = pd.Series(params, index=names, name="estimate")
        self.log_covariance_ = pd.DataFrame(log_covariance, index=names, columns=names)
        self.covariance_ = pd.DataFrame(jacobian @ log_covariance @ jacobian, index=names, columns=names)
        self.log_likelihood_ = float(-result.fun)
        self.n_customers_ = float(sum(c[0] for c in cohorts))
        self.n_periods_ = int(max(len(c) - 1 for c in cohorts))
        self.converged_ = bool(result.success) and bool(np.all(np.linalg.eigvalsh(hessian) > 0))
        self.caveats_ = []
        if not self.converged_:
            self.caveats_.append(Note("sbg.not_converged"))
        if params[0] <= 1:
            self.caveats_.append(Note("sbg.heavy_tail", {"gamma": float(params[0])}))
        self.summary_ = self._summary()
        return self

    def _summary(self) -> pd.DataFrame:
        z = stats.norm.ppf(1 - self.alpha / 2)
        log_params = np.log(self.params_.to_numpy())
        log_se = np.sqrt(np.diag(self.log_covariance_.to_numpy()))
        return summary_frame(
            {
                "term": list(_PARAMS),
                "label": [_LABELS[p] for p in _PARAMS],
                "estimate": self.params_.to_numpy(),
                "ci_low": np.exp(log_params - z * log_se),
                "ci_high": np.exp(log_params + z * log_se),
                "se": np.sqrt(np.diag(self.covariance_.to_numpy())),
            }
        )

    def _params(self, params) -> tuple[float, float]:
        if params is None:
            self.check_is_fitted()
            params = self.params_
        return float(params["gamma"]), float(params["delta"])

    def sample_params(self, n: int, seed: int) -> pd.DataFrame:
        """Return ``n`` draws of (gamma, delta): normal on the log scale, back-transformed.

        Parameters
        ----------
        n : int
        seed : int

        Returns
        -------
        DataFrame
            Columns ``gamma`` and ``delta``, one row per draw.

        Examples
        --------
        >>> model.sample_params(1000, seed=7).median()  # doctest: +SKIP
        """
        self.check_is_fitted()
        draws = parameter_draws(np.log(self.params_.to_numpy()), self.log_covariance_.to_numpy(), n, seed)
        return pd.DataFrame(np.exp(draws), columns=list(_PARAMS))

    def survival(self, t, params=None) -> np.ndarray:
        """Share of a cohort still a customer at the start of period ``t``: S(t) = B(gamma, delta + t) / B(gamma, delta).

        Parameters
        ----------
        t : array-like
            Periods since acquisition (0 gives 1); any shape, real values allowed.
        params : Series or dict, optional
            ``gamma`` and ``delta`` (e.g. a row of :meth:`sample_params`); default ``params_``.

        Returns
        -------
        ndarray
            Same shape as ``t``.
        """
        gamma, delta = self._params(params)
        t = np.asarray(t, dtype=float)
        return np.exp(special.betaln(gamma, delta + t) - special.betaln(gamma, delta))

    def churn_probability(self, t, params=None) -> np.ndarray:
        """Probability that a new customer leaves at the end of period ``t`` (t = 1, 2, ...).

        P(T = t) = B(gamma + 1, delta + t - 1) / B(gamma, delta).

        Parameters
        ----------
        t : array-like of int
        params : Series or dict, optional

        Returns
        -------
        ndarray
        """
        gamma, delta = self._params(params)
        t = np.asarray(t, dtype=float)
        return np.exp(special.betaln(gamma + 1, delta + t - 1) - special.betaln(gamma, delta))

    def retention_rate(self, t, params=None) -> np.ndarray:
        """Share of the customers active in period ``t - 1`` who renew for period ``t`` (t = 1, 2, ...).

        r(t) = (delta + t - 1) / (gamma + delta + t - 1): it rises with ``t`` as the customers
        likely to leave are sorted out.

        Parameters
        ----------
        t : array-like
        params : Series or dict, optional

        Returns
        -------
        ndarray
        """
        gamma, delta = self._params(params)
        t = np.asarray(t, dtype=float)
        return (delta + t - 1) / (gamma + delta + t - 1)

    def discounted_expected_residual_lifetime(
        self, discount_rate: float, renewals_made=0, params=None
    ) -> np.ndarray:
        """Discounted expected residual lifetime (DERL) of a customer who has made ``renewals_made`` renewals.

        Fader and Hardie (2010), equation 6: for a customer who has made n - 1 renewals,

            DERL = (delta + n - 1) / (gamma + delta + n - 1)
                   * 2F1(1, delta + n; gamma + delta + n; 1 / (1 + d))

        which is the sum over t >= n of S(t) / S(n - 1) / (1 + d)^(t - n): the next renewal counts
        undiscounted, later ones discounted per period. Multiplied by the margin per period it is
        the customer's expected residual value. Infinite when ``discount_rate`` is 0 and gamma <= 1.

        Parameters
        ----------
        discount_rate : float
            Discount rate per period (e.g. 0.10 a year for yearly contracts).
        renewals_made : int or array-like of int
            Renewals made so far (0 for a customer in the first period).
        params : Series or dict, optional

        Returns
        -------
        ndarray
            One value per ``renewals_made``.
        """
        gamma, delta = self._params(params)
        if not discount_rate > -1:
            raise ValueError(f"discount_rate is {discount_rate}; expected a rate above -1 (e.g. 0.10)")
        n = np.asarray(renewals_made, dtype=float) + 1
        with np.errstate(over="ignore"):
            series = special.hyp2f1(1.0, delta + n, gamma + delta + n, 1.0 / (1.0 + discount_rate))
        return (delta + n - 1) / (gamma + delta + n - 1) * series


def _cohort_counts(counts) -> list[np.ndarray]:
    """Active customers at periods 0..k of each cohort, checked once here (all problems in one error)."""
    if isinstance(counts, pd.DataFrame):
        missing = [c for c in ("cohort", "period", "alive") if c not in counts]
        if missing:
            raise ValueError(
                f"counts: no column(s) {missing}; a table of several cohorts needs columns cohort, period "
                "(0, 1, ... for each cohort) and alive (customers active at the start of that period)"
            )
        cohorts, problems = [], []
        for name, rows in counts.groupby("cohort", sort=True):
            rows = rows.sort_values("period")
            periods = rows["period"].to_numpy()
            if not np.array_equal(periods, np.arange(len(rows))):
                problems.append(f"cohort {name!r}: periods {periods.tolist()}, expected 0, 1, ..., each once")
                continue
            cohorts.append((name, rows["alive"].to_numpy(dtype=float)))
    else:
        cohorts, problems = [("counts", np.asarray(counts, dtype=float).ravel())], []
    for name, alive in cohorts:
        problems += _count_problems(str(name), alive)
    if problems:
        raise ValueError("sBG counts cannot be fitted:\n" + "\n".join(f"  - {p}" for p in problems))
    return [alive for _, alive in cohorts]


def _count_problems(name: str, alive: np.ndarray) -> list[str]:
    if len(alive) < 2:
        return [f"{name}: {len(alive)} period(s); at least periods 0 and 1 are needed"]
    if not np.isfinite(alive).all() or (alive < 0).any():
        return [f"{name}: counts must be finite and non-negative"]
    problems = []
    if alive[0] <= 0:
        problems.append(f"{name}: no customers at period 0")
    rises = np.flatnonzero(np.diff(alive) > 0) + 1
    if len(rises):
        problems.append(
            f"{name}: the count rises at period(s) {rises[:5].tolist()}; a cohort can only lose customers "
            "(count each cohort's own customers, without newcomers)"
        )
    return problems


def _likelihood_weights(cohorts: list[np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
    """Customers lost at the end of each period t = 1..K and customers censored after t = 0..K.

    The log-likelihood is ``sum_t lost[t] log P(T = t) + sum_t censored[t] log S(t)``; cohorts of
    different lengths add their counts into the same periods.
    """
    longest = max(len(c) for c in cohorts) - 1
    lost = np.zeros(longest + 1)
    censored = np.zeros(longest + 1)
    for alive in cohorts:
        k = len(alive) - 1
        lost[1 : k + 1] += alive[:-1] - alive[1:]
        censored[k] += alive[-1]
    return lost, censored


def _negative_log_likelihood(log_params: np.ndarray, lost: np.ndarray, censored: np.ndarray) -> float:
    gamma, delta = np.exp(log_params)
    base = special.betaln(gamma, delta)
    t = np.arange(1, len(lost), dtype=float)
    log_p = special.betaln(gamma + 1, delta + t - 1) - base
    t_all = np.arange(len(censored), dtype=float)
    log_s = special.betaln(gamma, delta + t_all) - base
    return -float(lost[1:] @ log_p + censored @ log_s)


def _negative_gradient(log_params: np.ndarray, lost: np.ndarray, censored: np.ndarray) -> np.ndarray:
    """Gradient on the log scale: d betaln(a, b) / da = digamma(a) - digamma(a + b)."""
    gamma, delta = np.exp(log_params)
    t = np.arange(1, len(lost), dtype=float)
    psi = special.digamma
    base_g = psi(gamma) - psi(gamma + delta)
    base_d = psi(delta) - psi(gamma + delta)
    # log P(T = t) = betaln(gamma + 1, delta + t - 1) - betaln(gamma, delta)
    p_g = psi(gamma + 1) - psi(gamma + delta + t) - base_g
    p_d = psi(delta + t - 1) - psi(gamma + delta + t) - base_d
    # log S(t) = betaln(gamma, delta + t) - betaln(gamma, delta), t = 0..K
    t_all = np.arange(len(censored), dtype=float)
    s_g = psi(gamma) - psi(gamma + delta + t_all) - base_g
    s_d = psi(delta + t_all) - psi(gamma + delta + t_all) - base_d
    d_gamma = lost[1:] @ p_g + censored @ s_g
    d_delta = lost[1:] @ p_d + censored @ s_d
    return -np.array([d_gamma * gamma, d_delta * delta])

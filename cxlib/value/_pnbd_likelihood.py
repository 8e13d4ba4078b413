"""The Pareto/NBD log-likelihood of each customer and its gradient, in log space.

Fader and Hardie (2005), "A note on deriving the Pareto/NBD model and related expressions",
eq. (18)-(20): with purchase rate ``lambda ~ Gamma(r, alpha)`` and dropout rate
``mu ~ Gamma(s, beta)``, a customer with ``x`` repeat purchases, the last at ``t_x``, observed
for ``T``, has likelihood

    L = Gamma(r + x) alpha^r beta^s / Gamma(r)
        * [ (alpha + T)^-(r + x) (beta + T)^-s  +  s * I ],
    I = integral from t_x to T of (alpha + tau)^-(r + x) (beta + tau)^-(s + 1) d tau,

where the first bracketed term is the customer still alive at ``T`` and ``s * I`` the customer
having left between ``t_x`` and ``T``. The published form writes ``I`` as a difference of two
Gauss hypergeometric functions 2F1(r+s+x, b; r+s+x+1; z), with ``b`` and ``z`` depending on
whether ``alpha >= beta`` (eq. 19) or ``alpha < beta`` (eq. 20). Here each tail integral is
written through Euler's transformation as

    J(t) = (L + t)^-e_L (S + t)^-(e_S - 1) 2F1(1, e_L; a + 1; (L - S) / (L + t)) / a,

with ``L``/``S`` the larger/smaller of alpha and beta, ``e_L``/``e_S`` the exponents of their
factors and ``a = r + s + x``: the 2F1 here stays moderate (no ``(1 - z)^-(r + x)`` blow-up for
frequent buyers), so no row overflows where the published form does, and both cases are one
vectorised expression. Every customer may have their own ``alpha_i`` and ``beta_i`` (covariates).

The gradient is analytic in ``alpha_i`` and ``beta_i`` (so in every covariate coefficient), since
``dI/dalpha`` and ``dI/dbeta`` are integrals of the same family with an exponent raised by one;
the derivatives of ``log I`` in the exponents (``r`` and ``s``) are forward differences.

:class:`_Likelihood` holds the distinct customer rows with their counts and evaluates the mean
negative log-likelihood on the working scale (logs of r, alpha, s, beta, then the coefficients);
:func:`_maximise` and :func:`_inverse_information` give the estimate and its covariance.
"""

from __future__ import annotations

import os

import numpy as np
from scipy import optimize
from scipy.special import digamma, gammaln, hyp2f1

#: Step of the forward differences of ``log I`` in its exponents (r + x and s + 1): the error is
#: about step x the second derivative (below 1e-5 relative), far below the sampling error, and smooth
#: in the parameters, so differences of the gradient (the observed information) stay accurate.
_EXPONENT_STEP = 1e-6
#: Bounds of the working parameters: logs of r, alpha, s, beta, then the coefficients.
_LOG_BOUND, _COEF_BOUND = 20.0, 15.0
#: Step of the central differences of the gradient that give the observed information.
_HESSIAN_STEP = 1e-3
#: Largest gradient (of the mean negative log-likelihood, working scale) accepted as converged.
_GRADIENT_TOLERANCE = 1e-4
#: Relative nudge of a 2F1 parameter where scipy returns NaN: that happens when c - a - b is an
#: exact integer (e.g. s = 1 exactly) and z is close to 1; the function is continuous there.
_NUDGE = 1e-9


#: Above this argument 2F1(1, b; c; z) is evaluated through Pfaff's transformation (the same
#: function: 2F1(1, b; c; z) = 2F1(1, c - b; c; z / (z - 1)) / (1 - z)), where scipy's series,
#: slow to converge as z nears 1 (a scale ratio of 30 puts most customers there), takes up to six
#: times longer; the two agree to about 1e-14 relative.
PFAFF_FROM = 0.9


#: Above this many values :func:`_series` splits them over :data:`THREADS` threads: scipy's 2F1
#: releases the GIL, so the other core computes its share meanwhile. Each value is computed on its
#: own, so the numbers do not depend on the split (``tests/test_pareto_nbd.py``); on a 50,000-customer
#: fit the 2F1s are most of the time of the repeat-buying models.
PARALLEL_FROM = 20_000
#: Threads of :func:`_series`: the cores this process may use, at most 4.
THREADS = max(
    1, min(4, len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1)
)
_POOL: list = []


def _series(b, a, z):
    """``2F1(1, b; a + 1; z)`` for ``0 <= z < 1``, through Pfaff's transformation near 1."""
    b, a, z = np.broadcast_arrays(np.asarray(b, float), np.asarray(a, float), np.asarray(z, float))
    if z.size < PARALLEL_FROM or THREADS < 2:
        return _series_part(b, a, z)
    if not _POOL or _POOL[0][0] != os.getpid():  # a forked child has none of its parent's threads
        from concurrent.futures import ThreadPoolExecutor

        _POOL[:] = [(os.getpid(), ThreadPoolExecutor(THREADS, thread_name_prefix="cx-2f1"))]
    shape, errors = z.shape, np.geterr()  # the caller's floating-point error handling, in each thread
    b, a, z = (np.ravel(v) for v in (b, a, z))
    out = np.empty(z.shape)

    def part(rows: slice) -> None:
        with np.errstate(**errors):
            out[rows] = _series_part(b[rows], a[rows], z[rows])

    bounds = np.linspace(0, z.size, THREADS + 1).astype(int)
    parts = [slice(lo, hi) for lo, hi in zip(bounds[:-1], bounds[1:], strict=True)]
    for future in [_POOL[0][1].submit(part, rows) for rows in parts]:
        future.result()
    return out.reshape(shape)


def _series_part(b, a, z):
    """:func:`_series` in this thread."""
    out = np.empty(z.shape)
    near = z > PFAFF_FROM
    far = ~near
    out[far] = hyp2f1(1.0, b[far], a[far] + 1.0, z[far])
    zn = z[near]
    with np.errstate(divide="ignore"):
        out[near] = hyp2f1(1.0, a[near] + 1.0 - b[near], a[near] + 1.0, zn / (zn - 1.0)) / (1.0 - zn)
    return out


def _log_tail(p, q, alpha, beta, t):
    """``log`` of the integral from ``t`` to infinity of ``(alpha + tau)^-p (beta + tau)^-q``."""
    a = p + q - 1.0
    alpha_larger = alpha >= beta
    larger = np.where(alpha_larger, alpha, beta)
    smaller = np.where(alpha_larger, beta, alpha)
    e_large = np.where(alpha_larger, p, q)
    e_small = np.where(alpha_larger, q, p)
    z = (larger - smaller) / (larger + t)
    series = _series(e_large, a, z)
    failed = ~np.isfinite(series)
    if failed.any():
        e_large, a, z = np.broadcast_arrays(e_large, a, z)
        series[failed] = hyp2f1(1.0, e_large[failed] * (1.0 + _NUDGE), a[failed] + 1.0, z[failed])
    return -e_large * np.log(larger + t) - (e_small - 1.0) * np.log(smaller + t) - np.log(a) + np.log(series)


def _log_integral(p, q, alpha, beta, t_x, T):
    """``log`` of the integral from ``t_x`` to ``T`` of ``(alpha + tau)^-p (beta + tau)^-q``.

    ``-inf`` where ``t_x == T`` (nothing to integrate). Arrays broadcast.
    """
    head = _log_tail(p, q, alpha, beta, t_x)
    tail = _log_tail(p, q, alpha, beta, T)
    with np.errstate(divide="ignore"):
        return head + np.log(-np.expm1(np.minimum(tail - head, 0.0)))


def _scale_derivatives(p, q, alpha, beta, t_x, T, log_i):
    """``alpha dlog I/dalpha`` and ``beta dlog I/dbeta`` of the integral from ``t_x`` to ``T``.

    ``dI/dalpha = -p I(p + 1, q)`` and ``dI/dbeta = -q I(p, q + 1)``; integrating the derivative of
    the integrand gives ``p I(p + 1, q) + q I(p, q + 1) = f(t_x) - f(T)`` (f the integrand), so
    only the smaller of the two is computed (one 2F1 pair, not two) and the larger follows by a
    subtraction that loses no precision.
    """
    log_f = -p * np.log(alpha + t_x) - q * np.log(beta + t_x)
    log_f_end = -p * np.log(alpha + T) - q * np.log(beta + T)
    log_drop = log_f + np.log(-np.expm1(np.minimum(log_f_end - log_f, 0.0)))  # f(t_x) - f(T)
    # the integrands' ratio p (beta + tau) / (q (alpha + tau)) is monotone: its value at t_x says
    # which term is not the dominant one
    alpha_term_smaller = p * (beta + t_x) < q * (alpha + t_x)
    p_direct = np.where(alpha_term_smaller, p + 1.0, p)
    q_direct = np.where(alpha_term_smaller, q, q + 1.0)
    factor = np.where(alpha_term_smaller, p, q)
    direct = factor * np.exp(_log_integral(p_direct, q_direct, alpha, beta, t_x, T) - log_i)
    other = np.exp(log_drop - log_i) - direct
    alpha_part = np.where(alpha_term_smaller, direct, other)
    beta_part = np.where(alpha_term_smaller, other, direct)
    return -alpha * alpha_part, -beta * beta_part


def _log_likelihood(r, s, alpha, beta, x, t_x, T):
    """Each customer's Pareto/NBD log-likelihood and log P(alive at T).

    Parameters
    ----------
    r, s : float
        Shapes of the purchase and dropout rate distributions.
    alpha, beta : float or ndarray
        Their scales (one per customer with covariates).
    x, t_x, T : ndarray
        Repeat purchases, time of the last, time observed.

    Returns
    -------
    log_lik, log_alive : ndarray
    """
    log_alive_part = -(r + x) * np.log(alpha + T) - s * np.log(beta + T)
    log_dead_part = np.log(s) + _log_integral(r + x, s + 1.0, alpha, beta, t_x, T)
    log_bracket = np.logaddexp(log_alive_part, log_dead_part)
    log_lik = gammaln(r + x) - gammaln(r) + r * np.log(alpha) + s * np.log(beta) + log_bracket
    return log_lik, log_alive_part - log_bracket


def _log_likelihood_gradient(r, s, alpha, beta, x, t_x, T):
    """Log-likelihood per customer and its derivatives in r, s, log alpha_i and log beta_i.

    Returns
    -------
    log_lik : ndarray
    gradient : ndarray, shape (4, n)
        Rows: d/dr, d/ds, d/dlog(alpha_i), d/dlog(beta_i).
    """
    x, t_x, T, alpha, beta = np.broadcast_arrays(x, t_x, T, alpha, beta)
    p, q = r + x, s + 1.0
    log_i = _log_integral(p, q, alpha, beta, t_x, T)
    log_alive_part = -p * np.log(alpha + T) - s * np.log(beta + T)
    log_dead_part = np.log(s) + log_i
    log_bracket = np.logaddexp(log_alive_part, log_dead_part)
    log_lik = gammaln(p) - gammaln(r) + r * np.log(alpha) + s * np.log(beta) + log_bracket
    w_alive = np.exp(log_alive_part - log_bracket)
    w_dead = np.exp(log_dead_part - log_bracket)  # exactly 0 where t_x == T
    # derivatives of log I, needed only where the customer may have left before T
    d_p, d_q, d_alpha, d_beta = (np.zeros_like(log_i) for _ in range(4))
    k = np.flatnonzero(w_dead > 0)
    if k.size:
        pk, ak, bk, tk, Tk, lk = p[k], alpha[k], beta[k], t_x[k], T[k], log_i[k]
        h = _EXPONENT_STEP
        d_p[k] = (_log_integral(pk + h, q, ak, bk, tk, Tk) - lk) / h
        d_q[k] = (_log_integral(pk, q + h, ak, bk, tk, Tk) - lk) / h
        d_alpha[k], d_beta[k] = _scale_derivatives(pk, q, ak, bk, tk, Tk, lk)
    gradient = np.empty((4, log_lik.size))
    gradient[0] = digamma(p) - digamma(r) + np.log(alpha) - w_alive * np.log(alpha + T) + w_dead * d_p
    gradient[1] = np.log(beta) - w_alive * np.log(beta + T) + w_dead * (1.0 / s + d_q)
    gradient[2] = r - w_alive * p * alpha / (alpha + T) + w_dead * d_alpha
    gradient[3] = s - w_alive * s * beta / (beta + T) + w_dead * d_beta
    return log_lik, gradient


def _expected_purchases_ahead(r, s, alpha, beta, t, age):
    """Expected purchases in ``(age, age + t]`` of a customer alive at ``age`` (Fader-Hardie eq. 41 without P(alive)).

    ``(r / (alpha + age)) * (beta + age) * (1 - ((beta + age) / (beta + age + t))^(s - 1)) / (s - 1)``,
    with the ``s = 1`` limit ``log(1 + t / (beta + age))``; with ``age = 0`` and ``r`` the shape it is
    the unconditional expectation of a customer born at 0 (eq. 27). ``r`` may be ``r + x``.
    """
    u = np.log1p(t / (beta + age))
    s_minus_1 = s - 1.0
    if abs(s_minus_1) < 1e-10:
        horizon = u
    else:
        horizon = -np.expm1(-s_minus_1 * u) / s_minus_1
    return r / (alpha + age) * (beta + age) * horizon


class _Likelihood:
    """Mean negative log-likelihood on the working scale, over distinct rows with their counts."""

    def __init__(self, x, t_x, age, purchase_x=None, dropout_z=None):
        k_p = 0 if purchase_x is None else purchase_x.shape[1]
        k_d = 0 if dropout_z is None else dropout_z.shape[1]
        columns = [x, t_x, age] + ([purchase_x] if k_p else []) + ([dropout_z] if k_d else [])
        stacked = np.column_stack(columns)
        unique, counts = np.unique(stacked, axis=0, return_counts=True)
        self.x, self.t_x, self.age = unique[:, 0], unique[:, 1], unique[:, 2]
        self.purchase_x = unique[:, 3 : 3 + k_p]
        self.dropout_z = unique[:, 3 + k_p : 3 + k_p + k_d]
        self.weights = counts.astype(float)
        self.total = float(counts.sum())
        self.k_p, self.k_d = k_p, k_d

    def _scales(self, theta):
        r, s = np.exp(theta[0]), np.exp(theta[2])
        log_alpha_i = theta[1] - self.purchase_x @ theta[4 : 4 + self.k_p] if self.k_p else theta[1]
        log_beta_i = theta[3] - self.dropout_z @ theta[4 + self.k_p :] if self.k_d else theta[3]
        return r, s, np.exp(log_alpha_i), np.exp(log_beta_i)

    def value(self, theta) -> float:
        r, s, alpha_i, beta_i = self._scales(theta)
        log_lik = _log_likelihood(r, s, alpha_i, beta_i, self.x, self.t_x, self.age)[0]
        return -float(self.weights @ log_lik) / self.total

    def _per_row(self, theta):
        """Log-likelihood of each distinct row and its gradient on the working scale, shape (rows, k)."""
        with np.errstate(over="ignore", invalid="ignore", divide="ignore"):  # a line search may overshoot
            r, s, alpha_i, beta_i = self._scales(theta)
            log_lik, parts = _log_likelihood_gradient(r, s, alpha_i, beta_i, self.x, self.t_x, self.age)
            columns = [r * parts[0], parts[2], s * parts[1], parts[3]]
            gradient = np.column_stack(
                [*columns, -self.purchase_x * parts[2][:, None], -self.dropout_z * parts[3][:, None]]
            )
        return log_lik, gradient

    def value_and_gradient(self, theta):
        log_lik, gradient = self._per_row(theta)
        value = -float(self.weights @ log_lik) / self.total
        total_gradient = -(self.weights @ gradient) / self.total
        if not np.isfinite(value) or not np.isfinite(total_gradient).all():
            return np.inf, np.zeros_like(theta)
        return value, total_gradient

    def outer_product(self, theta) -> np.ndarray:
        """Mean outer product of the rows' gradients (BHHH): an information estimate from one pass."""
        gradient = self._per_row(theta)[1]
        return (gradient * self.weights[:, None]).T @ gradient / self.total


def _maximise(likelihood: _Likelihood, theta0: np.ndarray) -> optimize.OptimizeResult:
    """Minimise the mean negative log-likelihood from ``theta0``.

    BFGS starts from the inverse BHHH matrix, which knows the ridge between s and beta, so a few dozen
    gradients suffice; L-BFGS-B with bounds takes over if BFGS strays or stalls.
    """
    outer = likelihood.outer_product(theta0)
    start = np.linalg.pinv(outer) if np.isfinite(outer).all() else np.eye(len(theta0))
    fit = optimize.minimize(
        likelihood.value_and_gradient,
        theta0,
        jac=True,
        method="BFGS",
        options={"hess_inv0": (start + start.T) / 2, "gtol": 1e-7, "maxiter": 300},
    )
    if np.isfinite(fit.fun) and np.abs(fit.jac).max() < _GRADIENT_TOLERANCE:
        return fit
    bounds = [(-_LOG_BOUND, _LOG_BOUND)] * 4 + [(-_COEF_BOUND, _COEF_BOUND)] * (len(theta0) - 4)
    begin = fit.x if np.isfinite(fit.fun) and np.abs(fit.x).max() < _COEF_BOUND else theta0
    return optimize.minimize(
        likelihood.value_and_gradient,
        begin,
        jac=True,
        method="L-BFGS-B",
        bounds=bounds,
        options={
            "maxiter": 400,
            "ftol": 1e-12,
            "gtol": 1e-6,
        },  # a flat ridge (no one leaving) stops here, with a caveat
    )


def _inverse_information(likelihood: _Likelihood, theta: np.ndarray) -> tuple[np.ndarray, bool]:
    """Inverse of the observed information on the working scale, and whether it was positive definite."""
    k = len(theta)
    hessian = np.empty((k, k))
    for j in range(k):
        step = np.zeros(k)
        step[j] = _HESSIAN_STEP
        plus = likelihood.value_and_gradient(theta + step)[1]
        minus = likelihood.value_and_gradient(theta - step)[1]
        hessian[:, j] = (plus - minus) / (2 * _HESSIAN_STEP)
    information = (hessian + hessian.T) / 2 * likelihood.total
    try:
        np.linalg.cholesky(information)
    except np.linalg.LinAlgError:
        return np.linalg.pinv(information), False
    return np.linalg.inv(information), True

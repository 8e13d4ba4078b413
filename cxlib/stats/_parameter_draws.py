"""Draws of a model's parameters from their asymptotic normal distribution, the same on every machine.

``numpy.random.Generator.multivariate_normal`` factors the covariance by SVD, whose singular vectors
may flip sign from one BLAS kernel to another, so one seed gave different draws on different CPUs
(the project's toolchain notes, "Same numbers on every machine"). Standard normals combined through
the Cholesky factor, which is unique, differ at most in the last bit between machines.
"""

from __future__ import annotations

import numpy as np


def parameter_draws(mean, covariance, n: int, seed: int) -> np.ndarray:
    """Return ``n`` draws from the normal with ``mean`` and ``covariance``, reproducibly across machines.

    Parameters
    ----------
    mean : array-like, shape (k,)
        Centre of the distribution (e.g. maximum-likelihood estimates on the working scale).
    covariance : array-like, shape (k, k)
        Its covariance (symmetric, positive semi-definite).
    n : int
        Number of draws.
    seed : int
        Seed of :func:`numpy.random.default_rng`.

    Returns
    -------
    ndarray, shape (n, k)
        ``mean + z @ L.T`` with ``z`` standard normal and ``L`` the Cholesky factor of ``covariance``
        (its symmetric square root when the matrix is only semi-definite).

    Examples
    --------
    >>> parameter_draws([0.0, 1.0], [[1.0, 0.0], [0.0, 4.0]], 3, seed=1).shape
    (3, 2)
    """
    mean = np.asarray(mean, dtype=float)
    covariance = np.asarray(covariance, dtype=float)
    k = len(mean)
    if covariance.shape != (k, k):
        raise ValueError(f"covariance has shape {covariance.shape}; expected ({k}, {k}) to match the mean")
    if not np.isfinite(covariance).all():
        raise ValueError("covariance has non-finite entries: the fit's information matrix is singular")
    covariance = (covariance + covariance.T) / 2
    try:
        factor = np.linalg.cholesky(covariance)
    except np.linalg.LinAlgError:  # semi-definite: the symmetric square root is unique too
        values, vectors = np.linalg.eigh(covariance)
        factor = (vectors * np.sqrt(np.clip(values, 0.0, None))) @ vectors.T
    standard = np.random.default_rng(seed).standard_normal((int(n), k))
    return mean + standard @ factor.T

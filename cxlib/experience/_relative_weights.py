"""Johnson's relative weights from a correlation matrix, and weighted pairwise correlations.

Relative weights (Johnson 2000, "A heuristic method for estimating the relative weight of
predictor variables in multiple regression", *Multivariate Behavioral Research* 35(1), 1-19;
reviewed in Tonidandel & LeBreton 2011, "Relative importance analysis: a useful supplement to
regression analysis", *Journal of Business and Psychology* 26, 1-9) split a linear model's R² into
one non-negative share per predictor that stays meaningful when predictors are correlated (as
touchpoint ratings always are). The predictors are replaced by their closest orthogonal
counterparts ``Z = X R^{-1/2}``; the target is regressed on ``Z`` (weights ``beta = R^{-1/2} r``)
and each ``Z`` is mapped back to the predictors through ``R^{1/2}`` (whose squared entries sum to one
per column), so ``raw_j = sum_k (R^{1/2})_{jk}^2 beta_k^2`` and ``sum_j raw_j = r' R^{-1} r = R²``.
The weights agree closely with Shapley / LMG / general dominance (exhaustive over 2^p subsets) at a
fraction of the cost, which is what a bootstrap over 130,000 respondents needs.

Why numpy and not a PyPI package: ``relativeImp`` (0.0.2, last release 2019) and
``dominance-analysis`` (1.1.9, 2023; all-subsets regressions) are not maintained and work one
pandas frame at a time; the method is an eigendecomposition, which numpy does for a whole stack of
bootstrap matrices in one call.

Correlations come from pairwise-complete answers (nothing imputed), optionally weighted; the
bootstrap draws multinomial respondent counts and recomputes every pairwise sum with one matrix
product per resample (no loop over respondents). A pairwise matrix need not be positive definite;
:func:`nearest_correlation` clips its eigenvalues and restores the unit diagonal.
"""

from __future__ import annotations

import numpy as np

#: Eigenvalues below this are clipped up to it by :func:`nearest_correlation`.
MIN_EIGENVALUE = 1e-8


def relative_weights(corr: np.ndarray) -> np.ndarray:
    """Johnson's raw relative weights from a correlation matrix with the target last.

    Parameters
    ----------
    corr : ndarray, shape (..., p + 1, p + 1)
        Correlations of ``p`` predictors and the target (last row and column); a stack of matrices
        is handled in one call.

    Returns
    -------
    ndarray, shape (..., p)
        Raw weights: each predictor's share of R², non-negative, summing to R².

    Examples
    --------
    >>> corr = np.array([[1.0, 0.0, 0.6], [0.0, 1.0, 0.3], [0.6, 0.3, 1.0]])
    >>> relative_weights(corr).round(4).tolist()  # orthogonal predictors: squared correlations
    [0.36, 0.09]
    """
    corr = np.asarray(corr, dtype=float)
    rxx, rxy = corr[..., :-1, :-1], corr[..., :-1, -1]
    values, vectors = np.linalg.eigh(rxx)
    values = np.clip(values, MIN_EIGENVALUE, None)
    # R^{1/2} and R^{-1/2} from one eigendecomposition (symmetric square roots)
    root = (vectors * np.sqrt(values)[..., None, :]) @ np.swapaxes(vectors, -1, -2)
    inverse_root = (vectors / np.sqrt(values)[..., None, :]) @ np.swapaxes(vectors, -1, -2)
    beta = (inverse_root @ rxy[..., None])[..., 0]
    return ((root**2) @ (beta**2)[..., None])[..., 0]


def nearest_correlation(corr: np.ndarray, min_eigenvalue: float = MIN_EIGENVALUE) -> tuple[np.ndarray, float]:
    """A positive definite correlation matrix close to ``corr`` (eigenvalue clipping).

    Parameters
    ----------
    corr : ndarray, shape (q, q)
        A symmetric matrix with unit diagonal, e.g. pairwise-complete correlations.
    min_eigenvalue : float
        Eigenvalues below it are raised to it; the diagonal is then rescaled to one.

    Returns
    -------
    repaired : ndarray
        ``corr`` itself when it was positive definite already.
    smallest : float
        The smallest eigenvalue of ``corr`` before the repair.

    Examples
    --------
    >>> bad = np.array([[1, 0.9, 0.9], [0.9, 1, -0.9], [0.9, -0.9, 1.0]])
    >>> fixed, smallest = nearest_correlation(bad)
    >>> bool(smallest < 0), bool(np.linalg.eigvalsh(fixed).min() > 0)
    (True, True)
    """
    values, vectors = np.linalg.eigh(corr)
    smallest = float(values.min())
    if smallest >= min_eigenvalue:
        return corr, smallest
    clipped = (vectors * np.clip(values, min_eigenvalue, None)) @ vectors.T
    scale = np.sqrt(np.diag(clipped))
    repaired = clipped / np.outer(scale, scale)
    np.fill_diagonal(repaired, 1.0)
    return (repaired + repaired.T) / 2, smallest


class PairwiseSums:
    """The pieces of pairwise-complete correlations, ready to be weighted by respondent.

    ``values`` (n x q, NaN where missing) becomes a left block ``[M, X, X²]`` and a right block
    ``[M, X]`` (``M`` the answered mask, ``X`` zero where missing); ``left' diag(w) right`` holds,
    for every pair of columns, the weighted count of respondents who answered both, each column's
    sum and sum of squares over them, and the cross products.

    Parameters
    ----------
    values : ndarray, shape (n, q)
    """

    def __init__(self, values: np.ndarray):
        values = np.asarray(values, dtype=float)
        answered = ~np.isnan(values)
        filled = np.where(answered, values, 0.0)
        self.n, self.q = values.shape
        self.complete = bool(answered.all())
        self._mask = answered.astype(float)
        # transposed once, contiguous: the products below run along respondents
        self._left = np.ascontiguousarray(np.hstack([self._mask, filled, filled**2]).T)
        self._filled = filled
        self._filled_t = np.ascontiguousarray(filled.T)

    def correlation(self, weights: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
        """Weighted pairwise-complete correlations and pair counts.

        Parameters
        ----------
        weights : ndarray, shape (n,), optional
            Respondent weights (bootstrap counts); None = each respondent once.

        Returns
        -------
        corr : ndarray, shape (q, q)
            NaN where a pair has fewer than two answers or no spread.
        pairs : ndarray, shape (q, q)
            Weighted number of respondents who answered both columns.
        """
        if weights is None:
            mask, filled = self._mask, self._filled
        else:
            mask, filled = self._mask * weights[:, None], self._filled * weights[:, None]
        sums = self._left @ mask  # counts, sums and sums of squares over each pair
        cross = self._filled_t @ filled
        q = self.q
        pairs = sums[:q]
        with np.errstate(invalid="ignore", divide="ignore"):
            mean_row = sums[q : 2 * q] / pairs  # mean of column j over the pairs (j, k)
            square_row = sums[2 * q :] / pairs
            covariance = cross / pairs - mean_row * mean_row.T
            var_row = square_row - mean_row**2
            corr = covariance / np.sqrt(var_row * var_row.T)
        corr[pairs < 2] = np.nan
        np.fill_diagonal(corr, 1.0)
        return np.clip((corr + corr.T) / 2, -1.0, 1.0), pairs

    def resampled_correlations(self, counts: np.ndarray, chunk_rows: int = 8192) -> np.ndarray:
        """Pairwise-complete correlations under many respondent weightings at once.

        Every per-pair sum is linear in the weights, so the sums of all resamples are one product
        ``counts @ features`` of the weights with per-respondent pair features (answered both,
        each value and its square where the other is answered, cross products): a wide matrix
        product that BLAS runs near its peak, done over chunks of respondents to bound memory.

        Parameters
        ----------
        counts : ndarray, shape (B, n)
            Weights per resample and respondent (bootstrap counts; small integers, any dtype).
        chunk_rows : int
            Respondents per chunk (memory is about ``chunk_rows * (B + 3 q²) * 8`` bytes).

        Returns
        -------
        ndarray, shape (B, q, q)
            Correlations (NaN where a pair has fewer than two answers or no spread).
        """
        q, n = self.q, self.n
        upper = np.triu_indices(q)
        size = len(upper[0])
        totals = np.zeros((counts.shape[0], 2 * size + 2 * q * q))
        for start in range(0, n, chunk_rows):
            mask = self._mask[start : start + chunk_rows]
            filled = self._filled[start : start + chunk_rows]
            rows = len(mask)
            features = np.hstack(
                [
                    mask[:, upper[0]] * mask[:, upper[1]],
                    filled[:, upper[0]] * filled[:, upper[1]],
                    (filled[:, :, None] * mask[:, None, :]).reshape(rows, q * q),
                    (filled[:, :, None] ** 2 * mask[:, None, :]).reshape(rows, q * q),
                ]
            )
            totals += counts[:, start : start + chunk_rows].astype(float) @ features
        pairs = np.empty((len(totals), q, q))
        cross = np.empty_like(pairs)
        pairs[:, upper[0], upper[1]] = totals[:, :size]
        pairs[:, upper[1], upper[0]] = totals[:, :size]
        cross[:, upper[0], upper[1]] = totals[:, size : 2 * size]
        cross[:, upper[1], upper[0]] = totals[:, size : 2 * size]
        sums = totals[:, 2 * size : 2 * size + q * q].reshape(-1, q, q)  # [j, k]: sum of j where k answered
        squares = totals[:, 2 * size + q * q :].reshape(-1, q, q)
        with np.errstate(invalid="ignore", divide="ignore"):
            mean_row = sums / pairs
            var_row = squares / pairs - mean_row**2
            covariance = cross / pairs - mean_row * np.swapaxes(mean_row, 1, 2)
            corr = covariance / np.sqrt(var_row * np.swapaxes(var_row, 1, 2))
        corr[pairs < 2] = np.nan
        corr[:, np.arange(q), np.arange(q)] = 1.0
        return np.clip((corr + np.swapaxes(corr, 1, 2)) / 2, -1.0, 1.0)


def bootstrap_weights(
    sums: PairwiseSums,
    n_boot: int,
    seed: int,
    min_eigenvalue: float = 1e-8,
    clusters: np.ndarray | None = None,
) -> tuple[np.ndarray, int]:
    """Relative weights in ``n_boot`` multinomial resamples of the respondents.

    With ``clusters`` (one integer code per row, e.g. the customer), whole clusters are resampled:
    a customer who answered twice is drawn with both answers, so repeated answers do not make the
    intervals too narrow.

    Parameters
    ----------
    sums : PairwiseSums
        Ratings then target, as columns.
    n_boot : int
    seed : int
        Seeds ``np.random.default_rng``; the same seed gives the same resamples.
    min_eigenvalue : float
        Resampled correlation matrices whose smallest eigenvalue is below it are repaired.
    clusters : ndarray of int, optional
        Codes 0..k-1 of each row's cluster; default each row its own.

    Returns
    -------
    weights : ndarray, shape (n_boot, p)
    repaired : int
        How many resampled matrices needed a repair.
    """
    rng = np.random.default_rng(seed)
    n, p = sums.n, sums.q - 1
    counts = np.empty((n_boot, n), dtype=np.uint8)  # a respondent drawn 256 times in n draws: p < 1e-300
    k = n if clusters is None else int(clusters.max()) + 1
    for b in range(n_boot):
        # k draws with replacement = multinomial counts; a bincount of uniform indices is that, fast
        drawn = np.bincount(rng.integers(0, k, k), minlength=k)
        counts[b] = drawn if clusters is None else drawn[clusters]
    matrices = sums.resampled_correlations(counts)
    bad = np.isnan(matrices).any(axis=(1, 2))
    matrices[bad] = np.eye(sums.q)
    smallest = np.linalg.eigvalsh(matrices).min(axis=1)
    repaired = 0
    for b in np.flatnonzero((smallest < min_eigenvalue) & ~bad):
        matrices[b] = nearest_correlation(matrices[b], min_eigenvalue)[0]
        repaired += 1
    weights = relative_weights(matrices)
    weights[bad] = np.nan
    return weights.reshape(n_boot, p), repaired

"""Flexible encodings of one number for ratio models: a restricted cubic spline, or counts as levels.

A driver whose effect is not a straight line on the log-odds scale (churn that peaks in middle
age) enters a model as a few spline columns; a small count (1-5 products) whose levels differ
irregularly enters as one level per count. Both are built here from the training values alone,
so the same columns can be rebuilt for new rows and for the points of an effect curve.

The spline is the natural (restricted) cubic regression spline of patsy's ``cr()`` (the basis of
mgcv's ``"cr"`` smooths), with knots at Harrell's quantiles (*Regression Modeling Strategies*,
2nd ed., section 2.4.6: 5%, 27.5%, 50%, 72.5% and 95%): cubic between the knots and linear beyond
the outer ones, so a curve does not swing in the sparse tails, and linear functions lie inside its
span (a straight line is a special case, which makes the likelihood-ratio test of a spline against
a straight line a test of nested models). Its columns are centred on the training values so that
they are not collinear with the model's intercept.

Examples
--------
>>> import numpy as np
>>> basis = SplineBasis().fit(np.arange(100.0))
>>> basis.transform(np.array([10.0, 50.0])).shape
(2, 4)
>>> count_levels(np.array([1, 1, 2, 2, 3, 4, 5] * 10), min_size=15)
[('1', (1.0,)), ('2', (2.0,)), ('3', (3.0,)), ('4 or more', (4.0, 5.0))]
"""

from __future__ import annotations

import numpy as np
import patsy

#: Knot quantiles of a restricted cubic spline with 5 knots (Harrell 2015, table 2.3).
SPLINE_KNOT_QUANTILES = (0.05, 0.275, 0.5, 0.725, 0.95)
#: At most this many distinct whole values make a number a count that may enter as levels.
MAX_COUNT_LEVELS = 8
#: A count's tail levels held by fewer customers than this are pooled ("4 or more").
MIN_COUNT_LEVEL_SIZE = 30


def spline_knots(values) -> np.ndarray:
    """The distinct knots a :class:`SplineBasis` of ``values`` would have (a spline needs 3 or more).

    Examples
    --------
    >>> len(spline_knots(np.arange(100.0))), len(spline_knots([0, 0, 0, 0, 1]))
    (5, 2)
    """
    values = np.asarray(values, float)
    return np.unique(np.quantile(values[~np.isnan(values)], SPLINE_KNOT_QUANTILES))


class SplineBasis:
    """Restricted cubic spline columns of one number, with knots at quantiles of its training values.

    Attributes
    ----------
    knots_ : ndarray
        The distinct knots (at most 5; fewer when values tie, at least 3).
    fill_ : float
        Median of the training values: what a missing value is encoded as.
    """

    def fit(self, values) -> SplineBasis:
        """Place the knots at :data:`SPLINE_KNOT_QUANTILES` of the non-missing ``values``."""
        values = np.asarray(values, float)
        present = values[~np.isnan(values)]
        self.fill_ = float(np.median(present))
        self.knots_ = spline_knots(present)
        if len(self.knots_) < 3:
            raise ValueError(
                f"a spline needs at least 3 distinct knots; these values give {len(self.knots_)} "
                "(too many ties): keep the number linear"
            )
        spec = self._formula()
        self._info = patsy.dmatrix(spec, {"x": np.where(np.isnan(values), self.fill_, values)}).design_info
        return self

    def _formula(self) -> str:
        inner = ", ".join(repr(float(k)) for k in self.knots_[1:-1])
        return (
            f"cr(x, knots=({inner},), lower_bound={float(self.knots_[0])!r}, "
            f"upper_bound={float(self.knots_[-1])!r}, constraints='center') - 1"
        )

    @property
    def n_columns(self) -> int:
        """Number of columns: one per knot less one (the centring constraint)."""
        return len(self.knots_) - 1

    def transform(self, values) -> np.ndarray:
        """Spline columns of ``values`` (missing values as the training median), shape (n, n_columns)."""
        values = np.asarray(values, float)
        filled = np.where(np.isnan(values), self.fill_, values)
        return np.asarray(patsy.build_design_matrices([self._info], {"x": filled})[0])


def is_count(values) -> bool:
    """Whether ``values`` are whole numbers with 3 to :data:`MAX_COUNT_LEVELS` distinct values.

    Examples
    --------
    >>> is_count([1, 2, 3, 2]), is_count([0, 1, 0]), is_count([0.5, 1, 2])
    (True, False, False)
    """
    values = np.asarray(values, float)
    present = np.unique(values[~np.isnan(values)])
    return 3 <= len(present) <= MAX_COUNT_LEVELS and bool(np.all(present == np.round(present)))


def count_levels(values, min_size: int = MIN_COUNT_LEVEL_SIZE) -> list[tuple[str, tuple[float, ...]]]:
    """The levels a count enters as: one per value, tails held by fewer than ``min_size`` pooled.

    The top values are pooled downwards into "k or more", then the bottom ones upwards into
    "k or fewer", until each end holds ``min_size`` customers (or one level is left).

    Returns
    -------
    list of (str, tuple of float)
        Level name and the values it holds, in increasing order.
    """
    values = np.asarray(values, float)
    present = values[~np.isnan(values)]
    distinct, counts = np.unique(present, return_counts=True)
    groups = [[v] for v in distinct]
    sizes = list(counts)
    while len(groups) > 1 and sizes[-1] < min_size:
        tail, size = groups.pop(), sizes.pop()
        groups[-1], sizes[-1] = groups[-1] + tail, sizes[-1] + size
    while len(groups) > 1 and sizes[0] < min_size:
        head, size = groups.pop(0), sizes.pop(0)
        groups[0], sizes[0] = head + groups[0], sizes[0] + size
    levels = []
    for i, group in enumerate(groups):
        low, high = min(group), max(group)
        if low == high:
            name = f"{low:g}"
        elif i == len(groups) - 1:
            name = f"{low:g} or more"
        else:
            name = f"{high:g} or fewer"
        levels.append((name, tuple(float(v) for v in sorted(group))))
    return levels


def count_text(values, levels: list[tuple[str, tuple[float, ...]]]) -> np.ndarray:
    """Each value's level name (:func:`count_levels`).

    Values beyond the ends join the end levels; missing values become ``"unknown"``.
    """
    values = np.asarray(values, float)
    bounds = [max(held) for _, held in levels[:-1]]
    index = np.searchsorted(np.asarray(bounds), values, side="left")
    names = np.asarray([name for name, _ in levels], dtype=object)[np.minimum(index, len(levels) - 1)]
    return np.where(np.isnan(values), "unknown", names)

"""Confidence intervals for proportions, means and the Net Promoter Score."""

from __future__ import annotations

from typing import NamedTuple

import numpy as np
import pandas as pd
from scipy import stats
from statsmodels.stats.proportion import proportion_confint

Z95 = 1.959964


def wilson_interval(successes: int, trials: int) -> tuple[float, float, float]:
    """Share with its 95% Wilson interval: ``(share, low, high)``; NaNs when there are no trials."""
    if trials == 0:
        return (np.nan, np.nan, np.nan)
    low, high = proportion_confint(successes, trials, alpha=0.05, method="wilson")
    return (successes / trials, float(low), float(high))


def mean_interval(values: pd.Series) -> tuple[float, float, float]:
    """Mean with a 95% normal-approximation interval (fine for the large n of customer bases)."""
    values = pd.Series(values).dropna()
    if values.empty:
        return (np.nan, np.nan, np.nan)
    mean = float(values.mean())
    half = Z95 * float(values.std(ddof=1)) / np.sqrt(len(values)) if len(values) > 1 else np.nan
    return (mean, mean - half, mean + half)


def nps_interval(scores: pd.Series) -> tuple[float, float, float]:
    """Net Promoter Score (-100..100) with its 95% adjusted Wald interval (:func:`nps_interval_counts`).

    NPS = %promoters (9-10) - %detractors (0-6). The one NPS interval of the suite: the overview,
    segment profiles and the customer-experience report all use it.

    Examples
    --------
    >>> round(nps_interval(pd.Series([10, 9, 8, 3]))[0])
    25
    """
    scores = pd.Series(scores).dropna()
    result = nps_interval_counts(
        (scores >= 9).sum(), ((scores >= 7) & (scores <= 8)).sum(), (scores <= 6).sum()
    )
    return (result.estimate, result.ci_low, result.ci_high)


class NpsInterval(NamedTuple):
    """NPS on the -100..100 scale with its 95% adjusted Wald interval and standard error."""

    estimate: float | np.ndarray
    ci_low: float | np.ndarray
    ci_high: float | np.ndarray
    se: float | np.ndarray


def nps_interval_counts(promoters, passives, detractors, alpha: float = 0.05) -> NpsInterval:
    """NPS with the adjusted Wald interval of Rocks (2016), from counts (scalars or arrays).

    Parameters
    ----------
    promoters, passives, detractors : int or array of int
        Answers 9-10, 7-8 and 0-6. Arrays are broadcast (one interval per element).
    alpha : float
        1 - confidence level.

    Returns
    -------
    NpsInterval
        ``estimate`` (plain NPS, -100..100), ``ci_low``, ``ci_high`` (clipped to -100..100) and
        ``se`` (of the adjusted NPS, on the same scale); NaN where there are no answers.

    Examples
    --------
    >>> result = nps_interval_counts(50, 30, 20)
    >>> round(result.estimate), round(result.ci_low, 1), round(result.ci_high, 1)
    (30, 14.1, 44.2)
    """
    promoters, passives, detractors = (np.asarray(x, dtype=float) for x in (promoters, passives, detractors))
    n = promoters + passives + detractors
    with np.errstate(invalid="ignore", divide="ignore"):
        estimate = np.where(n > 0, (promoters - detractors) / n, np.nan)
        n_adj = n + 3.0
        p_adj = (promoters + 0.75) / n_adj
        d_adj = (detractors + 0.75) / n_adj
        centre = p_adj - d_adj
        se = np.sqrt((p_adj + d_adj - centre**2) / n_adj)
    z = float(stats.norm.ppf(1 - alpha / 2))
    low = np.where(n > 0, np.clip(centre - z * se, -1, 1), np.nan)
    high = np.where(n > 0, np.clip(centre + z * se, -1, 1), np.nan)
    se = np.where(n > 0, se, np.nan)
    result = [100 * x for x in (estimate, low, high, se)]
    if all(np.ndim(x) == 0 for x in result):
        result = [float(x) for x in result]
    return NpsInterval(*result)

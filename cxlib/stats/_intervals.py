"""Confidence intervals for proportions, means and the Net Promoter Score."""

from __future__ import annotations

import numpy as np
import pandas as pd
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
    """Net Promoter Score (-100..100) with its 95% interval.

    NPS = %promoters (9-10) - %detractors (0-6); its variance is
    ``(p + d - (p - d)^2) / n`` for shares p and d.

    Examples
    --------
    >>> round(nps_interval(pd.Series([10, 9, 8, 3]))[0])
    25
    """
    scores = pd.Series(scores).dropna()
    n = len(scores)
    if n == 0:
        return (np.nan, np.nan, np.nan)
    promoters = float((scores >= 9).mean())
    detractors = float((scores <= 6).mean())
    nps = promoters - detractors
    se = np.sqrt(max(promoters + detractors - nps**2, 0) / n)
    return (100 * nps, 100 * (nps - Z95 * se), 100 * (nps + Z95 * se))

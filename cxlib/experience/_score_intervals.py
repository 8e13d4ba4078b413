"""NPS and CSAT with 95% intervals, and tests of a difference between two samples.

Methods, and why
----------------
NPS interval: the adjusted Wald interval of Rocks (2016), "Interval estimation for the 'Net
Promoter Score'", *The American Statistician* 70(4), 365-372. Add 3/4 to the promoters and 3/4
to the detractors and 3 to the number of answers, then use the variance of a difference of two
trinomial shares, ``(p + d - (p - d)^2) / n``. Rocks compared six interval methods on
trinomial simulations and on a large database of companies' scores and found the adjusted Wald
(with an adjusted bootstrap) effective, including at small samples where the plain Wald
undercovers; Lewis and Sauro (2021, MeasuringU, "Evaluating NPS confidence intervals with
real-world data") reached the same conclusion on two real data sets. It needs no resampling. The
reported estimate is the plain NPS; only the interval (and its ``se``) use the adjusted counts.

NPS tests (a group against all other respondents; a period against the one before): a two-sample
z test on the difference of the two adjusted NPS, with the variance of each from the same
formula. The pseudo-counts play the part of Agresti and Caffo's (2000, *The American
Statistician* 54(4)) "add one success and one failure" for a difference of proportions: the
variance is never zero, even when a group has no detractors.

CSAT: the mean score with a Student t interval, groups compared with Welch's t test (unequal
variances; ``scipy.stats.ttest_ind``); the top-2-box share (the two highest points of the scale,
4-5 on 1-5) with a Wilson interval (:func:`cxlib.stats.wilson_interval`), which keeps its
coverage near the bounds.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from scipy import stats

from cxlib.stats._intervals import nps_interval_counts, wilson_interval


def nps_counts(scores: pd.Series) -> tuple[int, int, int]:
    """Promoters (9-10), passives (7-8) and detractors (0-6) among 0-10 answers (missing ignored).

    Examples
    --------
    >>> nps_counts(pd.Series([10, 9, 8, 3, None]))
    (2, 1, 1)
    """
    scores = pd.Series(scores).dropna()
    promoters = int((scores >= 9).sum())
    detractors = int((scores <= 6).sum())
    return promoters, len(scores) - promoters - detractors, detractors


def nps_difference_test(first: tuple[int, int, int], second: tuple[int, int, int]) -> float:
    """Two-sided p-value of a difference in NPS between two independent samples.

    A z test on the difference of the adjusted NPS of :func:`nps_interval_counts`, each with its
    adjusted variance (see the module docstring). ``first`` and ``second`` are
    ``(promoters, passives, detractors)``; NaN when either sample is empty.

    Examples
    --------
    >>> nps_difference_test((60, 20, 20), (30, 30, 40)) < 0.001
    True
    """
    if sum(first) == 0 or sum(second) == 0:
        return np.nan
    a, b = nps_interval_counts(*first), nps_interval_counts(*second)
    # adjusted centres on the -100..100 scale (the estimate itself is the plain NPS)
    centres = [100 * (p - d) / (p + q + d + 3) for p, q, d in (first, second)]
    z = (centres[0] - centres[1]) / np.sqrt(a.se**2 + b.se**2)
    return float(2 * stats.norm.sf(abs(z)))


def csat_scores(values: pd.Series, scale: tuple[int, int] = (1, 5)) -> dict[str, float]:
    """CSAT mean with its 95% t interval and top-2-box share with its Wilson interval.

    Parameters
    ----------
    values : Series
        CSAT answers (missing ignored).
    scale : (int, int)
        Lowest and highest point of the scale; the top two boxes are ``high - 1`` and ``high``.

    Returns
    -------
    dict
        ``csat_answers, csat_mean, csat_low, csat_high, top2_share, top2_low, top2_high``.

    Examples
    --------
    >>> scores = csat_scores(pd.Series([5, 4, 4, 3, 1]))
    >>> scores["csat_mean"], scores["top2_share"]
    (3.4, 0.6)
    """
    values = pd.Series(values).dropna().astype(float)
    n = len(values)
    mean = float(values.mean()) if n else np.nan
    half = float(stats.t.ppf(0.975, n - 1) * values.std(ddof=1) / np.sqrt(n)) if n > 1 else np.nan
    top2 = wilson_interval(int((values >= scale[1] - 1).sum()), n)
    return {
        "csat_answers": n,
        "csat_mean": mean,
        "csat_low": mean - half,
        "csat_high": mean + half,
        "top2_share": top2[0],
        "top2_low": top2[1],
        "top2_high": top2[2],
    }


def csat_difference_test(first: pd.Series, second: pd.Series) -> float:
    """Two-sided p-value of Welch's t test of two samples of CSAT answers; NaN under two answers each."""
    first, second = first.dropna(), second.dropna()
    if len(first) < 2 or len(second) < 2:
        return np.nan
    return float(stats.ttest_ind(first, second, equal_var=False).pvalue)

"""Propensity weights and covariate balance for a non-randomised comparison of two groups.

When a programme's treatment and control groups were not formed at random, customers who were
enrolled differ from the others in ways that also drive churn and spend. Inverse-probability
weighting (Rosenbaum & Rubin 1983; Austin & Stuart 2015, *Stat. Med.* 34:3661) reweights both groups
to the population of all customers in the comparison, so that, if enrolment depends only on the
covariates in the propensity model, a weighted comparison estimates the programme's effect.
Balance is judged by standardised mean differences (|SMD| < 0.1 is the usual threshold; Austin 2009,
*Stat. Med.* 28:3083) and the weights' cost by Kish's effective sample size.

Examples
--------
>>> import pandas as pd
>>> design = pd.DataFrame({"premium": [1, 0, 1, 0, 0, 1, 0, 0], "log_orders": [2.1, 0.5, 1.8, 1.0, 0.0, 2.5, 0.7, 1.2]})
>>> treated = pd.Series([1, 0, 1, 0, 0, 0, 1, 0]).astype(bool)
>>> weights = propensity_weights(design, treated)  # doctest: +SKIP
>>> balance_table(design, treated, weights)  # doctest: +SKIP
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
from sklearn.linear_model import LogisticRegression

#: Propensity scores are clipped to this range before weighting, so no customer weighs more than
#: 1 / 0.01 times their group's share (a common guard against extreme weights; Cole & Hernan 2008).
PROPENSITY_BOUNDS = (0.01, 0.99)
#: |SMD| below which a covariate counts as balanced (Austin 2009).
SMD_THRESHOLD = 0.1


@dataclass(frozen=True)
class PropensityWeights:
    """Stabilised inverse-probability weights of a two-group comparison.

    Attributes
    ----------
    weights : Series
        Per customer: ``P(treated) / e(x)`` for the treated and ``P(control) / (1 - e(x))`` for the
        others (stabilised, so they average about 1 in each group), ``e`` the clipped propensity.
    propensity : Series
        The fitted probability of being in the treatment group, before clipping.
    clipped : int
        Customers whose propensity lay outside :data:`PROPENSITY_BOUNDS`.
    """

    weights: pd.Series
    propensity: pd.Series
    clipped: int


def propensity_weights(
    design: pd.DataFrame, treated: pd.Series, bounds=PROPENSITY_BOUNDS
) -> PropensityWeights:
    """Stabilised inverse-probability-of-treatment weights from a logistic propensity model.

    The propensity model is an unpenalised logistic regression of group membership on the design
    columns (scikit-learn's ``LogisticRegression``, the standard propensity model; columns
    standardised first so its solver converges the same way whatever their units). Weights target
    the average effect over everyone compared (ATE) and are stabilised by the group shares
    (Robins, Hernan & Brumback 2000), which keeps the weighted group sizes near the real ones.

    Parameters
    ----------
    design : DataFrame
        Numeric pre-treatment covariates, one row per customer (dummies for categories).
    treated : Series of bool
        Group membership, aligned with ``design``.
    bounds : (float, float)
        Propensities are clipped to this range before weighting.

    Returns
    -------
    PropensityWeights
    """
    x = design.to_numpy(float)
    sd = x.std(axis=0)
    x = (x - x.mean(axis=0)) / np.where(sd > 0, sd, 1.0)
    y = treated.to_numpy(bool)
    model = LogisticRegression(C=np.inf, max_iter=2000, tol=1e-8).fit(x, y)
    propensity = model.predict_proba(x)[:, 1]
    clipped_score = np.clip(propensity, *bounds)
    share = y.mean()
    weights = np.where(y, share / clipped_score, (1 - share) / (1 - clipped_score))
    return PropensityWeights(
        weights=pd.Series(weights, index=design.index, name="weight"),
        propensity=pd.Series(propensity, index=design.index, name="propensity"),
        clipped=int(((propensity < bounds[0]) | (propensity > bounds[1])).sum()),
    )


def balance_table(design: pd.DataFrame, treated: pd.Series, weights: pd.Series | None = None) -> pd.DataFrame:
    """Standardised mean differences of each covariate between the groups, before and after weighting.

    SMD = (mean in treatment - mean in control) / sqrt((var in treatment + var in control) / 2), the
    denominator always from the unweighted groups, so before and after are on the same scale (as
    R's cobalt does by default; Austin & Stuart 2015).

    Parameters
    ----------
    design : DataFrame
        Numeric covariates (dummies for categories), one row per customer.
    treated : Series of bool
        Group membership, aligned with ``design``.
    weights : Series, optional
        Weights, aligned with ``design``; None: ``smd_weighted`` equals ``smd_unweighted``.

    Returns
    -------
    DataFrame
        One row per covariate: ``covariate``, ``mean_treatment``, ``mean_control`` (unweighted),
        ``smd_unweighted``, ``smd_weighted`` and ``balanced`` (|weighted SMD| < :data:`SMD_THRESHOLD`).
    """
    t = treated.to_numpy(bool)
    w = np.ones(len(design)) if weights is None else weights.to_numpy(float)
    rows = []
    for column in design.columns:
        x = design[column].to_numpy(float)
        scale = np.sqrt((x[t].var(ddof=1) + x[~t].var(ddof=1)) / 2)
        scale = scale if scale > 0 else np.nan
        before = (x[t].mean() - x[~t].mean()) / scale
        after = (np.average(x[t], weights=w[t]) - np.average(x[~t], weights=w[~t])) / scale
        rows.append(
            {
                "covariate": column,
                "mean_treatment": x[t].mean(),
                "mean_control": x[~t].mean(),
                "smd_unweighted": before,
                "smd_weighted": after,
                "balanced": bool(abs(after) < SMD_THRESHOLD),
            }
        )
    return pd.DataFrame(rows)


def effective_sample_size(weights) -> float:
    """Kish's effective sample size of weighted observations: (sum w)^2 / sum w^2."""
    w = np.asarray(weights, float)
    return float(w.sum() ** 2 / (w * w).sum())

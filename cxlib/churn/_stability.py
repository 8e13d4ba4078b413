"""Is a driver's odds ratio trustworthy? Raw churn rates per term and flags for unstable estimates.

A logistic regression can report a huge, "clear" odds ratio that is an artefact: a level where
(almost) everyone or no one churns (separation), two drivers that say the same thing (near
collinearity), or an interval so wide that the estimate says little. And an adjusted ratio can point
the other way from the raw churn rates (a level that churns less than the reference, reported with
58 times the odds). :func:`raw_term_rates` puts the raw churn rate of each contrast next to its
reference and says whether the model's direction agrees with it; :func:`unstable_terms` flags
terms whose estimate should not be read (and never headlined), each with the reasons as codes.
No sentences here: reports word the codes (:mod:`cxlib.churn._findings`,
:func:`cxlib.report.render`).

Examples
--------
>>> import pandas as pd
>>> summary = pd.DataFrame({"term": ["plan: premium"], "estimate": [80.0], "ci_low": [2.0], "ci_high": [900.0],
...                         "vif": [1.2], "unit_kind": ["level"]})
>>> raw = pd.DataFrame({"raw_rate": [1.0], "raw_rate_reference": [0.2]}, index=["plan: premium"])
>>> unstable_terms(summary, raw)["unstable_reasons"].iloc[0]
'separation, wide_interval'
"""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import statsmodels.api as sm

from cxlib.stats._design import CONTRAST_KINDS, DesignEncoder
from cxlib.stats._notes import Note

#: An interval whose upper end is more than this many times its lower end says little: flagged.
UNSTABLE_CI_RATIO = 20.0
#: An odds ratio beyond exp(5) ≈ 148 (or below 1/148) on one term is the mark of (quasi-)separation.
UNSTABLE_ABS_LOG_ESTIMATE = 5.0
#: A variance inflation factor above this (the design drops terms only above ``max_vif``, 10 by
#: default) means the term shares most of its information with other drivers: flagged.
UNSTABLE_VIF = 5.0
#: Reasons a term is flagged, in the order they are listed: a group where all or none churn, an
#: extreme estimate, a very wide interval, collinearity, a fit that did not converge.
UNSTABLE_REASONS = ("separation", "extreme_estimate", "wide_interval", "high_vif", "not_converged")
#: Prior standard deviation of a flagged term's log odds ratio in the penalised refit (a weakly
#: informative prior: ratios up to about exp(2 * 2.5) ≈ 150 stay plausible).
PENALTY_PRIOR_SD = 2.5


def raw_term_rates(
    frame: pd.DataFrame, y: np.ndarray, encoder: DesignEncoder, terms, estimates
) -> pd.DataFrame:
    """Raw churn rate of each contrast against its reference, and whether the model agrees in direction.

    Parameters
    ----------
    frame : DataFrame
        The rows the model was fitted on (features as given to the encoder).
    y : array of 0/1
        Churned or not, one per row of ``frame``.
    encoder : DesignEncoder
        Fitted on ``frame``; gives each term's unit, driver, pooling and reference level.
    terms : list of str
    estimates : array of float
        The model's ratio for each term (1 is no effect).

    Returns
    -------
    DataFrame
        Indexed by term: ``raw_n`` and ``raw_rate`` (customers with the level or flag, and the
        share who churned), ``raw_n_reference`` and ``raw_rate_reference`` (the reference level,
        or the flag's "no"); NaN for a number per SD. ``raw_direction``: +1 when the raw data go
        with more churn (a higher rate than the reference; for a number, a positive correlation
        with churn), -1 with less, 0 with no difference. ``agrees_with_raw``: the model's ratio
        points the same way (a ratio of exactly 1 agrees only with no raw difference).
    """
    y = np.asarray(y, dtype=float)
    design = encoder.transform(frame)
    rows = []
    for term, estimate in zip(terms, estimates, strict=True):
        unit = encoder.units_[term]
        row = dict.fromkeys(["raw_n", "raw_rate", "raw_n_reference", "raw_rate_reference"], np.nan)
        if unit.kind in ("flag", "level"):
            if unit.kind == "flag":
                mine = design[term].to_numpy() == 1
                reference = design[term].to_numpy() == 0
            else:
                driver = encoder.term_driver_[term]
                text = encoder.level_text(frame, driver)
                mine = design[term].to_numpy() == 1
                reference = text == encoder.reference_[driver]
            row.update(
                raw_n=int(mine.sum()),
                raw_rate=_rate(y[mine]),
                raw_n_reference=int(reference.sum()),
                raw_rate_reference=_rate(y[reference]),
            )
            difference = row["raw_rate"] - row["raw_rate_reference"]
        else:
            values = design[term].to_numpy(dtype=float)
            difference = 0.0 if values.std() == 0 or y.std() == 0 else float(np.corrcoef(values, y)[0, 1])
        row["raw_direction"] = int(np.sign(difference)) if np.isfinite(difference) else 0
        with np.errstate(divide="ignore"):
            model_direction = int(np.sign(np.log(float(estimate)))) if estimate > 0 else -1
        row["agrees_with_raw"] = model_direction == row["raw_direction"]
        rows.append(row)
    columns = [
        "raw_n",
        "raw_rate",
        "raw_n_reference",
        "raw_rate_reference",
        "raw_direction",
        "agrees_with_raw",
    ]
    return pd.DataFrame(rows, index=pd.Index(list(terms), name="term"), columns=columns)


def _rate(y: np.ndarray) -> float:
    return float(y.mean()) if len(y) else np.nan


def unstable_terms(
    summary: pd.DataFrame,
    raw: pd.DataFrame,
    converged: bool = True,
    max_ci_ratio: float = UNSTABLE_CI_RATIO,
    max_abs_log_estimate: float = UNSTABLE_ABS_LOG_ESTIMATE,
    max_vif: float = UNSTABLE_VIF,
) -> pd.DataFrame:
    """Flag terms whose ratio should not be read: separation, extreme or vague estimates, collinearity.

    Parameters
    ----------
    summary : DataFrame
        A ratio summary: ``term``, ``estimate``, ``ci_low``, ``ci_high``, ``vif``.
    raw : DataFrame
        :func:`raw_term_rates`, indexed by term.
    converged : bool
        False flags every term (``not_converged``), unless a term flagged for separation or an
        extreme estimate explains it (the fit diverges along that term alone).
    max_ci_ratio, max_abs_log_estimate, max_vif : float
        Thresholds: :data:`UNSTABLE_CI_RATIO`, :data:`UNSTABLE_ABS_LOG_ESTIMATE`,
        :data:`UNSTABLE_VIF`.

    Returns
    -------
    DataFrame
        One row per row of ``summary`` (same order): ``unstable`` (bool) and ``unstable_reasons``
        (the codes of :data:`UNSTABLE_REASONS` that apply, joined with ", "; empty when stable).
    """
    terms = summary["term"].to_numpy()
    raw = raw.reindex(terms)
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        estimate = summary["estimate"].to_numpy(dtype=float)
        low, high = summary["ci_low"].to_numpy(dtype=float), summary["ci_high"].to_numpy(dtype=float)
        ratio = high / low
        checks = {
            "separation": _all_or_none(raw["raw_rate"]) | _all_or_none(raw["raw_rate_reference"]),
            "extreme_estimate": ~(np.abs(np.log(estimate)) <= max_abs_log_estimate),
            "wide_interval": ~(ratio <= max_ci_ratio),
            "high_vif": summary["vif"].to_numpy(dtype=float) > max_vif,
        }
    # separation makes the fit diverge along that one term only; the others' estimates still settle,
    # so an unconverged fit flags every term only when no separated or extreme term explains it
    explained = (checks["separation"] | checks["extreme_estimate"]).any()
    checks["not_converged"] = np.full(len(terms), not converged and not explained)
    reasons = [", ".join(code for code in UNSTABLE_REASONS if checks[code][i]) for i in range(len(terms))]
    return pd.DataFrame({"unstable": [bool(r) for r in reasons], "unstable_reasons": reasons})


def _all_or_none(rates: pd.Series) -> np.ndarray:
    values = rates.to_numpy(dtype=float)
    return (values == 0.0) | (values == 1.0)


def stability_notes(table: pd.DataFrame, alpha: float = 0.05) -> list[Note]:
    """One caveat per term that must not be read as a finding, for its most telling reason.

    Parameters
    ----------
    table : DataFrame
        A ratio summary with the columns of :func:`raw_term_rates` and :func:`unstable_terms`.
    alpha : float
        A contrast whose direction the raw rates contradict gets a caveat only when it is clear
        (Holm-adjusted p below ``alpha``): then a reader would otherwise take it for a finding.

    Returns
    -------
    list of Note
        ``drivers.unstable_separation``, ``drivers.unstable_extreme_estimate``,
        ``drivers.unstable_wide_interval``, ``drivers.unstable_high_vif`` (the first reason that
        applies, in that order) or ``drivers.direction_disagrees``; values: term, estimate,
        ci_low, ci_high, vif, raw_rate, raw_rate_reference. A fit that did not converge has its
        own caveat for the whole model.
    """
    notes = []
    for row in table.itertuples(index=False):
        values = {
            "term": row.term,
            "estimate": row.estimate,
            "ci_low": row.ci_low,
            "ci_high": row.ci_high,
            "vif": row.vif,
            "raw_rate": row.raw_rate,
            "raw_rate_reference": row.raw_rate_reference,
        }
        reasons = row.unstable_reasons.split(", ")
        if "separation" in reasons:
            notes.append(Note("drivers.unstable_separation", values))
        elif "extreme_estimate" in reasons:
            notes.append(Note("drivers.unstable_extreme_estimate", values))
        elif "wide_interval" in reasons:
            notes.append(Note("drivers.unstable_wide_interval", values))
        elif "high_vif" in reasons:
            notes.append(Note("drivers.unstable_high_vif", values))
        elif row.unit_kind in CONTRAST_KINDS and row.p_adjusted < alpha and not row.agrees_with_raw:
            notes.append(Note("drivers.direction_disagrees", values))
    return notes


def penalised_estimates(
    design: pd.DataFrame, y: np.ndarray, terms, prior_sd: float = PENALTY_PRIOR_SD
) -> pd.Series:
    """Odds ratios of ``terms`` from a refit that lightly penalises those terms alone (ridge).

    The penalty is a normal prior with standard deviation ``prior_sd`` on each of ``terms``' log odds
    ratio (statsmodels' elastic net with ``L1_wt=0``), so a separated level gets a finite, shrunk
    ratio; the other terms are not penalised. No interval: the penalised fit gives none.

    Parameters
    ----------
    design : DataFrame
        The design matrix the model was fitted on, with its ``const`` column.
    y : array of 0/1
    terms : list of str
        The terms to penalise (e.g. those :func:`unstable_terms` flags).
    prior_sd : float

    Returns
    -------
    Series
        The penalised odds ratio of each of ``terms``, indexed by term (empty when ``terms`` is).
    """
    terms = list(terms)
    if not terms:
        return pd.Series(dtype=float)
    penalty = np.where(design.columns.isin(terms), 1 / (prior_sd**2 * len(y)), 0.0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # convergence chatter of the unpenalised part
        result = sm.GLM(np.asarray(y, float), design, family=sm.families.Binomial()).fit_regularized(
            method="elastic_net", alpha=penalty, L1_wt=0.0
        )
    params = pd.Series(np.asarray(result.params), index=design.columns)
    return np.exp(params[terms])

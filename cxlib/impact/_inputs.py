"""Uncertain inputs of the revenue case: an estimate with its sampling distribution, or an assumption with its range.

An :class:`Input` is one number the levers need (a hazard ratio, a spend ratio, a referral rate, a
share of customers moved, a cost) with what it rests on (:mod:`cxlib.impact._evidence`) and how it
varies in the Monte Carlo:

``lognormal``
    An estimated ratio or rate: log-normal around ``value`` with ``se`` on the log scale (the Wald
    interval of a log-linear model is exactly this).
``normal``
    An estimated difference: normal around ``value`` with standard error ``se``.
``triangular``
    An assumption given as a range: triangular from ``low`` through ``value`` (the mode) to ``high``.
``fixed``
    Known, or given without a range: no uncertainty.

Inputs estimated by one model are correlated; :func:`draw_inputs` takes their joint covariance on
the sampling scale (log for ``lognormal``) through ``correlated``.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np
import pandas as pd

from cxlib.impact._evidence import check_evidence

DISTRIBUTIONS = ("lognormal", "normal", "triangular", "fixed")
#: Normal quantile of a two-sided 95% interval.
Z95 = 1.959963984540054


@dataclass(frozen=True)
class Input:
    """One uncertain input of the levers.

    Attributes
    ----------
    name : str
        Code the lever arithmetic reads, e.g. ``"churn_hazard_ratio"``.
    value : float
        Central value on the natural scale (the estimate, or the assumption's most likely value).
    low, high : float
        95% interval of an estimate, or the range of an assumption.
    evidence : str
        One of :data:`cxlib.impact.EVIDENCE`.
    distribution : str
        One of :data:`DISTRIBUTIONS`.
    se : float
        Standard error on the sampling scale (log for ``lognormal``); 0 for ``triangular``/``fixed``.
    source : str
        Where it comes from: a catalog table, a config key, a model (for the report's assumptions list).
    unit : str
        What one unit is (e.g. ``"ratio"``, ``"share"``, ``"EUR"``).
    """

    name: str
    value: float
    low: float
    high: float
    evidence: str
    distribution: str = "fixed"
    se: float = 0.0
    source: str = ""
    unit: str = ""

    def __post_init__(self):
        check_evidence(self.evidence)
        if self.distribution not in DISTRIBUTIONS:
            raise ValueError(f"{self.name}: unknown distribution {self.distribution!r}")
        if not (self.low <= self.value <= self.high):
            raise ValueError(f"{self.name}: value {self.value} outside its range [{self.low}, {self.high}]")

    @classmethod
    def ratio(cls, name, estimate, se_log, evidence, source="", unit="ratio") -> Input:
        """An estimated ratio: log-normal with Wald interval exp(log(estimate) +- 1.96 se_log)."""
        return cls(
            name,
            float(estimate),
            float(estimate * np.exp(-Z95 * se_log)),
            float(estimate * np.exp(Z95 * se_log)),
            evidence,
            "lognormal" if se_log > 0 else "fixed",
            float(se_log),
            source,
            unit,
        )

    @classmethod
    def difference(cls, name, estimate, se, evidence, source="", unit="") -> Input:
        """An estimated difference: normal with interval estimate +- 1.96 se."""
        return cls(
            name,
            float(estimate),
            float(estimate - Z95 * se),
            float(estimate + Z95 * se),
            evidence,
            "normal" if se > 0 else "fixed",
            float(se),
            source,
            unit,
        )

    @classmethod
    def assumption(cls, name, value, low=None, high=None, source="", unit="") -> Input:
        """An assumption, with a range (triangular) or without one (fixed)."""
        low = value if low is None else low
        high = value if high is None else high
        ranged = high > low
        return cls(
            name,
            float(value),
            float(low),
            float(high),
            "assumption",
            "triangular" if ranged else "fixed",
            0.0,
            source,
            unit,
        )

    def fixed_at(self, value: float) -> Input:
        """The same input without uncertainty, at ``value`` (a tornado end, or a scenario)."""
        return replace(
            self, value=float(value), low=float(value), high=float(value), distribution="fixed", se=0.0
        )

    @property
    def uncertain(self) -> bool:
        """True when the Monte Carlo varies this input."""
        return self.distribution != "fixed"


def inputs_table(inputs: dict[str, Input]) -> pd.DataFrame:
    """One row per input: name, value, low, high, unit, evidence, distribution, source."""
    cols = ["name", "value", "low", "high", "unit", "evidence", "distribution", "se", "source"]
    return pd.DataFrame([{c: getattr(i, c) for c in cols} for i in inputs.values()], columns=cols)

"""The revenue-impact capability: the three levers of CX revenue, programme evaluation and economics.

Turns the earlier capabilities' results (segments, churn drivers, satisfaction drivers, customer
value) into money with its uncertainty: (1) more revenue per loyal customer, (2) revenue protected
by lower churn and longer lifetimes, (3) new customers won by word of mouth; a pilot programme's
effects estimated from its treatment and control groups (randomised or not); ROI, NPV and payback on
margin; a Monte Carlo over every uncertain input; a strength-of-evidence label on every figure.
Public names are defined in private modules and imported on first use (PEP 562).
"""

from cxlib._lazy import lazy_module

_WHERE = {
    "DAYS_PER_MONTH": "_programme",
    "DESIGN_CODES": "_programme",
    "DISTRIBUTIONS": "_inputs",
    "EVIDENCE": "_evidence",
    "EVIDENCE_LABELS": "_evidence",
    "Input": "_inputs",
    "MIN_EVENTS": "_programme",
    "MIN_GROUP_CUSTOMERS": "_programme",
    "MIN_LEVEL_CUSTOMERS": "_programme",
    "PROPENSITY_BOUNDS": "_balance",
    "ProgrammeEvaluation": "_programme",
    "PropensityWeights": "_balance",
    "RECENT_MONTHS": "_programme",
    "SMD_THRESHOLD": "_balance",
    "SPEND_RATE_MONTHS": "_programme",
    "Z95": "_inputs",
    "balance_table": "_balance",
    "check_evidence": "_evidence",
    "effective_sample_size": "_balance",
    "evaluate_programme": "_programme",
    "inputs_table": "_inputs",
    "propensity_weights": "_balance",
    "weakest": "_evidence",
}

__getattr__, __dir__, __all__ = lazy_module(__name__, _WHERE)

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
    "DEFAULT_FLAG_CHANGE": "_retention_levers",
    "DEFAULT_GRID_POINTS": "_retention",
    "DEFAULT_HAZARD_RANGE": "_retention",
    "DISTRIBUTIONS": "_inputs",
    "EVIDENCE": "_evidence",
    "EVIDENCE_LABELS": "_evidence",
    "FRICTION_COLUMNS": "_retention",
    "GROUP_COLUMNS": "_retention",
    "Input": "_inputs",
    "RetentionBase": "_retention",
    "WHAT_IF_COLUMNS": "_retention_levers",
    "Z95": "_inputs",
    "check_evidence": "_evidence",
    "friction_what_if": "_retention_levers",
    "hazard_grid": "_retention",
    "inputs_table": "_inputs",
    "retention_base": "_retention",
    "retention_gain": "_retention",
    "targeting": "_retention_levers",
    "weakest": "_evidence",
    "what_if_inputs": "_retention_levers",
}

__getattr__, __dir__, __all__ = lazy_module(__name__, _WHERE)

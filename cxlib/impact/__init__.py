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
    "COMPARED_CLASSES": "_loyalty",
    "DISTRIBUTIONS": "_inputs",
    "EVIDENCE": "_evidence",
    "EVIDENCE_LABELS": "_evidence",
    "Input": "_inputs",
    "LoyaltySpend": "_loyalty",
    "MEASURES": "_loyalty",
    "REFERENCE_CLASS": "_loyalty",
    "Z95": "_inputs",
    "check_evidence": "_evidence",
    "inputs_table": "_inputs",
    "loyalty_spend": "_loyalty",
    "referral_inputs": "_loyalty",
    "weakest": "_evidence",
}

__getattr__, __dir__, __all__ = lazy_module(__name__, _WHERE)

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
    "BLOCK": "_case",
    "CATALOG_TABLES": "_study",
    "DISTRIBUTIONS": "_inputs",
    "EVIDENCE": "_evidence",
    "EVIDENCE_LABELS": "_evidence",
    "ExactBase": "_levers",
    "FIGURES": "_case",
    "INPUTS": "_levers",
    "ImpactStudy": "_study",
    "Input": "_inputs",
    "LEVERS": "_levers",
    "LeverSettings": "_levers",
    "REASONS": "_study",
    "RevenueCase": "_case",
    "Z95": "_inputs",
    "catalog_tables": "_study",
    "central_values": "_montecarlo",
    "check_evidence": "_evidence",
    "discount_factors": "_economics",
    "draw_inputs": "_montecarlo",
    "figures": "_case",
    "fixed_cost": "_levers",
    "impact_settings": "_study",
    "impact_study": "_study",
    "inputs_table": "_inputs",
    "interval": "_montecarlo",
    "lever_inputs": "_case",
    "lever_streams": "_levers",
    "programme_economics": "_economics",
    "revenue_case": "_case",
    "simulate": "_case",
    "summary_table": "_study",
    "tornado": "_montecarlo",
    "weakest": "_evidence",
}

__getattr__, __dir__, __all__ = lazy_module(__name__, _WHERE)

"""The customer-experience capability: NPS and CSAT, key drivers, friction, the journey and word of mouth.

Public names are defined in private modules and imported on first use (PEP 562), so importing
this package is cheap and packages never import each other at import time.
"""

from cxlib._lazy import lazy_module

_WHERE = {
    "DEFAULT_GROUP_COLUMNS": "_funnel",
    "JOURNEY_STAGES": "_funnel",
    "JourneyFunnel": "_funnel",
    "NPS_CLASSES": "_referrals",
    "REFERRAL_RATE_UNIT": "_referrals",
    "ReferralRates": "_referrals",
    "UNAVAILABLE_REASONS": "_funnel",
    "checkout_kpis": "_funnel",
    "exposure_ends": "_referrals",
    "journey_funnel": "_funnel",
    "journey_stages": "_funnel",
    "loyalty_offset": "_funnel",
    "nps_class_of": "_referrals",
    "nps_class_spells": "_referrals",
    "plot_conversion_by": "_plots_journey",
    "plot_funnel": "_plots_journey",
    "plot_referral_rates": "_plots_journey",
    "referred_customer_value": "_referrals",
    "still_customer_at": "_funnel",
}

__getattr__, __dir__, __all__ = lazy_module(__name__, _WHERE)

"""The customer-value capability: lifetime value for transactional and subscription businesses.

Buy-till-you-die models (BG/NBD, Pareto/NBD with covariates, Gamma-Gamma) for customers who buy
when they like; survival-based value and the shifted-beta-geometric model for subscriptions;
diagnostics against a holdout period. Public names are defined in private modules and imported on
first use (PEP 562), so importing this package is cheap and packages never import each other at
import time.
"""

from cxlib._lazy import lazy_module

_WHERE = {
    "ASSUMPTIONS": "_report",
    "BetaGeo": "_bgnbd",
    "CATALOG_TABLES": "_study",
    "CHUNK": "_clv",
    "CustomerValue": "_clv",
    "DEFAULT_COVARIATES": "_covariates",
    "DEFAULT_DRAWS": "_subscription",
    "EXPERIENCE_COVARIATES": "_covariates",
    "GROUP_PREFERENCE": "_subscription_value",
    "GROUP_VARIABLES": "_study",
    "GammaGamma": "_gamma_gamma",
    "MIN_REPEATERS": "_study",
    "MODELS": "_study",
    "MODEL_NAMES": "_report",
    "NO_ANSWER": "_covariates",
    "ParetoNBD": "_pareto_nbd",
    "QUESTIONS": "_report",
    "REASONS": "_study",
    "SPEND_FREQUENCY_RHO": "_gamma_gamma",
    "STEP": "_clv",
    "ShiftedBetaGeometric": "_sbg",
    "SubscriptionValue": "_subscription",
    "ValueStudy": "_study",
    "alive_grid": "_diagnostics",
    "catalog_tables": "_study",
    "caveats": "_report",
    "check_report": "_report",
    "covariate_frame": "_covariates",
    "cumulative_forecast": "_diagnostics",
    "describe_experience": "_report",
    "describe_findings": "_findings",
    "describe_holdout": "_report",
    "describe_saved": "_findings",
    "describe_spend": "_report",
    "describe_value": "_report",
    "discounted_purchases": "_clv",
    "discounted_survival_value": "_subscription",
    "encode_covariates": "_covariates",
    "experience_report": "_report",
    "group_value": "_clv",
    "holdout_by_frequency": "_diagnostics",
    "holdout_totals": "_report",
    "model_table": "_report",
    "monthly_rate": "_clv",
    "monthly_revenue": "_subscription_value",
    "nps_classes": "_covariates",
    "periodic_discount_rate": "_subscription",
    "plot_alive_grid": "_plots",
    "plot_cumulative_forecast": "_plots",
    "plot_holdout_by_frequency": "_plots",
    "plot_value_by_group": "_plots",
    "plot_value_concentration": "_plots",
    "report_intro": "_report",
    "subscription_report": "_report",
    "subscription_value": "_subscription_value",
    "summary_metrics": "_findings",
    "survival_clv": "_subscription",
    "transaction_clv": "_clv",
    "value_headline": "_findings",
    "value_report": "_report",
    "value_settings": "_study",
    "value_study": "_study",
    "value_table": "_report",
}

__getattr__, __dir__, __all__ = lazy_module(__name__, _WHERE)

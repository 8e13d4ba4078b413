"""The customer-value capability: lifetime value for transactional and subscription businesses.

Buy-till-you-die models (BG/NBD, Pareto/NBD with covariates, Gamma-Gamma) for customers who buy
when they like; survival-based value and the shifted-beta-geometric model for subscriptions;
diagnostics against a holdout period. Public names are defined in private modules and imported on
first use (PEP 562), so importing this package is cheap and packages never import each other at
import time.
"""

from cxlib._lazy import lazy_module

_WHERE = {
    "ParetoNBD": "_pareto_nbd",
}

__getattr__, __dir__, __all__ = lazy_module(__name__, _WHERE)

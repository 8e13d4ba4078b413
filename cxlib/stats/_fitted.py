"""The contract every model class in cxlib keeps (after lifelines and scikit-learn).

- ``__init__`` only stores its parameters, unchanged, under their own names;
- ``from_config(config, **overrides)`` builds the model from the run's config;
- ``fit(...)`` returns ``self``; everything learned ends in ``_``;
- ``summary_`` is a table with the :data:`SUMMARY_COLUMNS` (plus the model's own), so one forest
  plot and one table formatter serve odds ratios, hazard ratios, importances and shares;
- ``caveats_`` lists, as short facts, what limits the result: :class:`cxlib.stats.Note` (a code
  and its values), worded by the message catalogue (:func:`cxlib.report.render`) in report modules;
- ``plot_*`` methods delegate to the capability's plotting module; the model module itself
  imports no matplotlib;
- any use before ``fit`` raises :class:`cxlib.exceptions.NotFittedError`, naming the class.
"""

from __future__ import annotations

import functools
import inspect
from typing import Any

import pandas as pd

from cxlib.exceptions import NotFittedError

#: Columns every ``summary_`` has: one row per term, estimate with its interval and p-values.
#: ``p_adjusted`` is adjusted for the number of terms tested (Holm); NaN where not applicable.
SUMMARY_COLUMNS = ["term", "label", "estimate", "ci_low", "ci_high", "p_value", "p_adjusted", "unit"]


class FittedModel:
    """Base class of cxlib's models: parameters, ``from_config``, the not-fitted guard.

    Subclasses set :attr:`estimate_name` (what ``summary_["estimate"]`` is, e.g. "odds ratio")
    and implement :meth:`config_params` and ``fit``.
    """

    #: What ``summary_["estimate"]`` measures, for axis labels and table headers.
    estimate_name: str = "estimate"
    #: Value of no effect on the estimate's scale (1 for ratios, 0 for differences), or None.
    null_value: float | None = None
    #: "worse" or "better" when a higher estimate is bad or good news (e.g. more churn, a longer
    #: lifetime), None when neither: the forest plot colours clear effects by it.
    higher_is: str | None = None

    #: Set by a ``fit`` that returned (see :meth:`__init_subclass__`); never by a failed one.
    _is_fitted: bool = False

    def __init_subclass__(cls, **kwargs):
        """Wrap the subclass's ``fit``: a fit that raises leaves the model as it was before."""
        super().__init_subclass__(**kwargs)
        if "fit" in cls.__dict__:
            cls.fit = _all_or_nothing(cls.__dict__["fit"])

    @classmethod
    def config_params(cls, config) -> dict[str, Any]:
        """The ``__init__`` parameters the config sets (subclasses override)."""
        return {}

    @classmethod
    def from_config(cls, config, **overrides):
        """Build from a :class:`cxlib.data.Config`; ``overrides`` win over the config."""
        params = cls.config_params(config)
        unknown = set(overrides) - set(cls._param_names())
        if unknown:
            raise TypeError(f"{cls.__name__} has no parameter(s) {sorted(unknown)}")
        params.update(overrides)
        return cls(**params)

    @classmethod
    def _param_names(cls) -> list[str]:
        signature = inspect.signature(cls.__init__)
        return [n for n, p in signature.parameters.items() if n != "self" and p.kind != p.VAR_KEYWORD]

    def get_params(self) -> dict[str, Any]:
        """The parameters given to ``__init__`` (as stored)."""
        return {name: getattr(self, name) for name in self._param_names()}

    @property
    def interval_name(self) -> str:
        """What ``ci_low``/``ci_high`` are.

        A confidence interval at the model's ``alpha`` (0.05 when it has none), unless a class says
        otherwise (e.g. "range over 5 shuffles").
        """
        alpha = getattr(self, "alpha", None)
        alpha = 0.05 if not isinstance(alpha, float | int) else alpha
        return f"{100 * (1 - alpha):g}% confidence interval"

    @property
    def is_fitted(self) -> bool:
        """True once ``fit`` has returned (a fit that raised leaves the model unfitted)."""
        return self._is_fitted

    def check_is_fitted(self) -> None:
        """Raise :class:`NotFittedError` unless ``fit`` has run."""
        if not self.is_fitted:
            raise NotFittedError(
                f"this {type(self).__name__} is not fitted yet: call {type(self).__name__}(...).fit(...) first"
            )

    def __getattr__(self, name: str):
        # Only called when normal lookup fails: a fitted attribute asked for before fit.
        if name.endswith("_") and not name.startswith("_"):
            if not self.is_fitted:
                self.check_is_fitted()
        raise AttributeError(f"'{type(self).__name__}' object has no attribute '{name}'")

    def __repr__(self) -> str:
        params = ", ".join(f"{k}={v!r}" for k, v in self.get_params().items())
        return f"{type(self).__name__}({params})"


def _all_or_nothing(fit):
    """``fit`` that either completes (and marks the model fitted) or leaves no trace of the attempt."""

    @functools.wraps(fit)
    def wrapper(self, *args, **kwargs):
        before = dict(vars(self))
        try:
            result = fit(self, *args, **kwargs)
        except BaseException:
            vars(self).clear()
            vars(self).update(before)
            raise
        self._is_fitted = True
        return result

    return wrapper


def summary_frame(rows: pd.DataFrame | dict, extra: list[str] | None = None) -> pd.DataFrame:
    """Order a summary table: :data:`SUMMARY_COLUMNS` first (missing ones as NaN), then ``extra``."""
    table = pd.DataFrame(rows)
    for column in SUMMARY_COLUMNS:
        if column not in table:
            table[column] = float("nan")
    rest = [c for c in (extra if extra is not None else table.columns) if c not in SUMMARY_COLUMNS]
    return table[SUMMARY_COLUMNS + rest].reset_index(drop=True)

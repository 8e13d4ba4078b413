"""Survival models: how drivers change the hazard of leaving, and how long customers have left.

Built on statsmodels (Cox proportional hazards) and lifelines (Weibull AFT), the field's standard
survival libraries. Time is tenure in months. Retention curves by group (Kaplan–Meier) are in
:mod:`cxlib.churn._retention`.

- :class:`ChurnHazards`: Cox model of the churn panel (covariates at the cut-off, follow-up after
  it, left-truncated at the tenure reached by then), hazard ratios, and a proportional-hazards test.
- :class:`RemainingLifetime`: Weibull model giving each customer's expected remaining lifetime
  within a horizon, given the tenure they have already reached.

Examples
--------
>>> cox = ChurnHazards().fit(panel.frame, panel.numeric, panel.categorical)  # doctest: +SKIP
>>> cox.summary_[["label", "hazard_ratio", "ci_low", "ci_high"]]  # doctest: +SKIP
"""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
from lifelines import WeibullAFTFitter
from scipy import stats
from statsmodels.duration.hazard_regression import PHReg
from statsmodels.stats.multitest import multipletests
from statsmodels.tools.sm_exceptions import ConvergenceWarning
from threadpoolctl import threadpool_limits

from cxlib.churn._panel import LABEL, design_params
from cxlib.churn._stability import UNSTABLE_ABS_LOG_ESTIMATE, UNSTABLE_CI_RATIO
from cxlib.features._time import DAYS_PER_MONTH
from cxlib.stats._design import DesignEncoder, feature_label
from cxlib.stats._fitted import FittedModel, summary_frame
from cxlib.stats._notes import Note
from cxlib.stats._parameter_draws import parameter_draws

#: lifelines warns about approximations and convergence; each is reported as a caveat instead.
_QUIET = ("ignore",)
#: Values per block when computing survival curves (draws x customers x times), so the temporaries
#: stay bounded on a million customers.
_BLOCK_CELLS = 3_000_000
#: The survival fits run with one BLAS thread: their products (customers x a few dozen terms,
#: evaluated hundreds of times by the optimisers) are too short to share, and on a busy 2-core
#: machine two BLAS threads spin and wait for each other. Measured on the 200,000-customer demo's
#: panel (136,510 customers, load average 5): the Weibull fit 19.0 s wall / 12.7 s CPU with two
#: threads, 5.1 s / 3.5 s with one; the Cox fit 5.5 s / 3.8 s and 3.9 s / 2.7 s. The Cox estimates
#: are identical; the Weibull's differ by at most 2e-14 (the optimiser's last digits).
_ONE_BLAS_THREAD = {"limits": 1, "user_api": "blas"}


class ChurnHazards(FittedModel):
    """Cox proportional-hazards model of churn, reported as hazard ratios with 95% intervals.

    Fitted with statsmodels' ``PHReg``, which handles delayed entry efficiently (lifelines' Cox
    fitter slows down by orders of magnitude with an entry column); hazard ratios agree with
    lifelines' to three decimals on the demo.

    Parameters
    ----------
    reference_levels : dict, optional
        Categorical feature -> reference level.
    max_vif : float
        Collinearity threshold (see :class:`cxlib.stats._design.DesignEncoder`).
    ties : {"efron", "breslow"}
        Handling of tied churn times.
    alpha : float
        1 - confidence level.
    max_rows : int or None
        Above this many customers, fit on a seeded random sample (stated in the caveats).
    seed : int
        Seed of that sample.
    min_group_size : int or None
        Categorical levels with fewer customers are pooled before the fit (see
        :class:`cxlib.stats._design.DesignEncoder`).

    Attributes
    ----------
    summary_ : DataFrame
        One row per term, smallest p-value first: the standard columns (``estimate`` is the
        hazard ratio, ``p_adjusted`` Holm's adjustment across terms), then the unit as data
        (unit_kind, unit_scale, unit_reference), driver, hazard_ratio (= estimate), p_holm
        (= p_adjusted) and ph_p_value (the proportional-hazards test).
    ph_test_ : DataFrame
        Grambsch–Therneau proportional-hazards test per term: scaled Schoenfeld residuals against
        the rank of churn time (chi-square, 1 df), as lifelines' ``proportional_hazard_test``.
    caveats_ : list of Note
        The design's, a sample taken, terms whose hazards look not proportional; sentences from
        :func:`cxlib.report.render`.
    result_ : statsmodels PHRegResults

    Examples
    --------
    >>> cox = ChurnHazards().fit(panel.frame, panel.numeric, panel.categorical)  # doctest: +SKIP
    >>> cox.summary_[["label", "hazard_ratio", "ci_low", "ci_high"]]  # doctest: +SKIP
    """

    estimate_name = "hazard ratio"
    null_value = 1.0
    higher_is = "worse"  # a higher hazard of leaving

    def __init__(
        self,
        reference_levels=None,
        max_vif: float | None = 10.0,
        ties: str = "efron",
        alpha: float = 0.05,
        max_rows: int | None = 250_000,
        seed: int = 42,
        min_group_size: int | None = 10,
    ):
        self.reference_levels = reference_levels
        self.max_vif = max_vif
        self.ties = ties
        self.alpha = alpha
        self.max_rows = max_rows
        self.seed = seed
        self.min_group_size = min_group_size

    @classmethod
    def config_params(cls, config) -> dict:
        """:func:`cxlib.churn.design_params` and the seed."""
        return {**design_params(config), "seed": config.seed}

    def fit(
        self,
        frame: pd.DataFrame,
        numeric,
        categorical,
        duration_col: str = "exit_months",
        event_col: str = LABEL,
        entry_col: str | None = "entry_months",
    ) -> ChurnHazards:
        """Fit on the churn panel; returns self.

        Covariates are measured at the cut-off and customers enter the risk set at the tenure
        reached by then (left truncation), so nobody is credited with time before they were
        observed. Tenure is the time scale, so it is not also a covariate. Fitted with one BLAS
        thread (see :data:`_ONE_BLAS_THREAD`).
        """
        with threadpool_limits(**_ONE_BLAS_THREAD):
            return self._fit(frame, numeric, categorical, duration_col, event_col, entry_col)

    def _fit(self, frame, numeric, categorical, duration_col, event_col, entry_col) -> ChurnHazards:
        """:meth:`fit` under one BLAS thread."""
        numeric = [c for c in numeric if c != "tenure_months"]
        frame, sampled = _sample(frame, self.max_rows, self.seed)
        self.encoder_ = DesignEncoder(
            numeric, categorical, self.reference_levels, self.max_vif, self.min_group_size
        ).fit(frame)
        x, duration, event, entry = _survival_arrays(self.encoder_, frame, duration_col, event_col, entry_col)
        self.terms_ = list(x.columns)
        model = PHReg(duration, x.to_numpy(), status=event.astype(int), entry=entry, ties=self.ties)
        with warnings.catch_warnings(record=True) as caught:
            # a level where nobody (or everybody) leaves drives its ratio to 0 (or infinity) and the
            # fit warns; the unstable flag and a caveat report it instead of a warning in the report
            warnings.simplefilter("always")
            self.result_ = model.fit(disp=False)
            self.ph_test_ = self._ph_test(duration, event)
        converged = not any(issubclass(w.category, ConvergenceWarning) for w in caught)
        self.caveats_ = list(self.encoder_.caveats_) + sampled
        if not converged:
            self.caveats_.append(Note("hazards.not_converged"))
        violated = self.ph_test_.index[self.ph_test_["p"] < 0.01]
        if len(violated):
            self.caveats_.append(Note("hazards.not_proportional", {"terms": list(violated)}))
        self.summary_ = _flag_unstable(self._summary())
        unstable = self.summary_.loc[self.summary_["unstable"], "term"].tolist()
        if unstable:
            self.caveats_.append(Note("hazards.unstable", {"terms": unstable}))
        return self

    def _ph_test(self, duration: np.ndarray, event: np.ndarray) -> pd.DataFrame:
        residuals = self.result_.schoenfeld_residuals[event]
        covariance = self.result_.cov_params()
        n_events = len(residuals)
        scaled = n_events * residuals @ covariance
        ranks = stats.rankdata(duration[event])
        centred = ranks - ranks.mean()
        statistic = (centred @ scaled) ** 2 / (n_events * np.diag(covariance) * (centred**2).sum())
        return pd.DataFrame({"chi2": statistic, "p": stats.chi2.sf(statistic, 1)}, index=self.terms_)

    def _summary(self) -> pd.DataFrame:
        params, se = self.result_.params, self.result_.bse
        z = stats.norm.ppf(1 - self.alpha / 2)
        with np.errstate(over="ignore"):  # a separated term's ratio is infinite; the plot shows it cut
            ratios = np.exp(np.vstack([params, params - z * se, params + z * se]))
        p_holm = multipletests(np.asarray(self.result_.pvalues), method="holm")[1]
        table = pd.DataFrame(
            {
                "term": self.terms_,
                "label": [feature_label(t) for t in self.terms_],
                "estimate": ratios[0],
                "ci_low": ratios[1],
                "ci_high": ratios[2],
                "p_value": self.result_.pvalues,
                "p_adjusted": p_holm,
                **self.encoder_.unit_columns(self.terms_),
                "driver": [self.encoder_.term_driver_[t] for t in self.terms_],
                "hazard_ratio": ratios[0],
                "p_holm": p_holm,
                "ph_p_value": self.ph_test_["p"].to_numpy(),
            }
        )
        return summary_frame(table.sort_values("p_value", ignore_index=True))

    def plot_forest(self, ax=None, top: int = 20, title: str | None = None):
        """Forest plot of hazard ratios with their intervals (log scale), most significant first.

        See :func:`cxlib.churn._plots.plot_hazard_ratios` (built on :func:`cxlib.report.plot_summary`);
        returns the Axes.
        """
        self.check_is_fitted()
        from cxlib.churn._plots import plot_hazard_ratios

        return plot_hazard_ratios(self, ax=ax, top=top, title=title)


def _block_rows(draws: int, times: int) -> int:
    """Customers per block so that draws x customers x times stays near :data:`_BLOCK_CELLS`."""
    return max(1, _BLOCK_CELLS // max(1, draws * times))


def _weibull_conditional_survival(
    tenure: np.ndarray, log_scale: np.ndarray, shape: float, u: np.ndarray
) -> np.ndarray:
    """S(t0 + u) / S(t0) for a Weibull: exp((t0 / scale)^rho - ((t0 + u) / scale)^rho), customers x u."""
    t0, scale = tenure[:, None], np.exp(log_scale)[:, None]
    return np.exp((t0 / scale) ** shape - ((t0 + u[None, :]) / scale) ** shape)


def _flag_unstable(table: pd.DataFrame) -> pd.DataFrame:
    """``table`` plus ``unstable``: an extreme ratio or a very wide interval.

    The thresholds are those of :func:`cxlib.churn._stability.unstable_terms`; reports never
    headline such a term.
    """
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        estimate = table["estimate"].to_numpy(dtype=float)
        ratio = table["ci_high"].to_numpy(dtype=float) / table["ci_low"].to_numpy(dtype=float)
        unstable = ~(np.abs(np.log(estimate)) <= UNSTABLE_ABS_LOG_ESTIMATE) | ~(ratio <= UNSTABLE_CI_RATIO)
    return table.assign(unstable=unstable)


def _sample(frame: pd.DataFrame, max_rows: int | None, seed: int) -> tuple[pd.DataFrame, list[Note]]:
    """A seeded random sample of at most ``max_rows`` customers, with a caveat when one is taken.

    Survival fits grow faster than linearly in time and memory (lifelines' Weibull used 5.6 GB on a
    million rows); a quarter of a million customers already pins ratios to a few percent.
    """
    if max_rows is None or len(frame) <= max_rows:
        return frame, []
    caveat = Note("survival.sampled", {"rows": max_rows, "customers": len(frame), "seed": seed})
    return frame.sample(max_rows, random_state=seed), [caveat]


def _survival_arrays(encoder, frame, duration_col, event_col, entry_col):
    """Design matrix, durations, events and entries; an exit on the entry day is nudged by an hour."""
    x = encoder.transform(frame)
    duration = frame[duration_col].to_numpy(dtype=float)
    event = frame[event_col].astype(bool).to_numpy()
    entry = frame[entry_col].to_numpy(dtype=float) if entry_col else None
    if entry is not None:
        duration = np.maximum(duration, entry + 1 / (24 * DAYS_PER_MONTH))
    return x, duration, event, entry


class RemainingLifetime(FittedModel):
    """Expected remaining lifetime within a horizon, from a Weibull accelerated-failure-time model.

    A Weibull model extrapolates smoothly past the longest tenure observed; capping the answer at
    ``horizon_months`` (restricted mean) keeps that extrapolation modest and states it.

    Parameters
    ----------
    horizon_months : int
        Remaining lifetime is counted up to this many months ahead.
    reference_levels : dict, optional
    max_vif : float
    penalizer : float
        Small ridge penalty for stability.
    max_rows : int or None
        Above this many customers, fit on a seeded random sample (stated in the caveats).
    seed : int
        Seed of that sample.
    min_group_size : int or None
        Categorical levels with fewer customers are pooled before the fit (see
        :class:`cxlib.stats._design.DesignEncoder`).

    Attributes
    ----------
    summary_ : DataFrame
        One row per term of the scale (lambda) part of the model: the standard columns
        (``estimate`` is the time ratio exp(coef): the factor by which the term stretches (> 1)
        or shortens (< 1) a customer's lifetime, with its 95% Wald interval and p-value;
        ``p_adjusted`` Holm's adjustment across terms), then the unit as data (unit_kind,
        unit_scale, unit_reference), driver, time_ratio (= estimate), p_holm (= p_adjusted), coef
        and se (log scale). The Weibull shape is ``shape_``.
    model_ : WeibullAFTFitter
    shape_ : float
        Weibull shape (< 1: the hazard of leaving falls with tenure).
    caveats_ : list of Note
        The design's, a sample taken, (code ``lifetime.horizon``) the horizon and the Weibull
        assumption, and (``lifetime.extrapolated``) a horizon beyond the longest tenure observed;
        sentences from :func:`cxlib.report.render`.
    longest_observed_months_ : float
        The longest tenure in the data the model was fitted on.
    """

    estimate_name = "time ratio"
    null_value = 1.0
    higher_is = "better"  # a longer lifetime

    def __init__(
        self,
        horizon_months: int = 36,
        reference_levels=None,
        max_vif: float | None = 10.0,
        penalizer: float = 0.001,
        max_rows: int | None = 250_000,
        seed: int = 42,
        min_group_size: int | None = 10,
    ):
        self.horizon_months = horizon_months
        self.reference_levels = reference_levels
        self.max_vif = max_vif
        self.penalizer = penalizer
        self.max_rows = max_rows
        self.seed = seed
        self.min_group_size = min_group_size

    @classmethod
    def config_params(cls, config) -> dict:
        """:func:`cxlib.churn.design_params` and the seed and ``analysis.horizon_months``."""
        return {
            **design_params(config),
            "seed": config.seed,
            "horizon_months": config.analysis["horizon_months"],
        }

    def fit(
        self,
        frame: pd.DataFrame,
        numeric,
        categorical,
        duration_col: str = "exit_months",
        event_col: str = LABEL,
        entry_col: str | None = "entry_months",
    ) -> RemainingLifetime:
        """Fit on the churn panel (same layout as :meth:`ChurnHazards.fit`); returns self.

        Fitted with one BLAS thread (see :data:`_ONE_BLAS_THREAD`).
        """
        with threadpool_limits(**_ONE_BLAS_THREAD):
            return self._fit(frame, numeric, categorical, duration_col, event_col, entry_col)

    def _fit(self, frame, numeric, categorical, duration_col, event_col, entry_col) -> RemainingLifetime:
        """:meth:`fit` under one BLAS thread."""
        numeric = [c for c in numeric if c not in ("tenure_months",)]
        frame, sampled = _sample(frame, self.max_rows, self.seed)
        self.encoder_ = DesignEncoder(
            numeric, categorical, self.reference_levels, self.max_vif, self.min_group_size
        ).fit(frame)
        x, duration, event, entry = _survival_arrays(self.encoder_, frame, duration_col, event_col, entry_col)
        table = x.assign(_duration=duration, _event=event)
        if entry is not None:
            table["_entry"] = entry
        with warnings.catch_warnings():
            warnings.simplefilter(*_QUIET)
            self.model_ = WeibullAFTFitter(penalizer=self.penalizer).fit(
                table, "_duration", "_event", entry_col="_entry" if entry_col else None
            )
        self.shape_ = float(np.exp(self.model_.params_.loc[("rho_", "Intercept")]))
        self.caveats_ = (
            list(self.encoder_.caveats_)
            + sampled
            + [Note("lifetime.horizon", {"horizon_months": self.horizon_months, "shape": self.shape_})]
        )
        self.longest_observed_months_ = float(np.nanmax(duration)) if len(duration) else 0.0
        if self.horizon_months > self.longest_observed_months_:  # the curve, not the data, goes on
            self.caveats_.append(
                Note(
                    "lifetime.extrapolated",
                    {"horizon_months": self.horizon_months, "longest": self.longest_observed_months_},
                )
            )
        self.summary_ = self._summary()
        return self

    def _summary(self) -> pd.DataFrame:
        """Time ratios of the scale's terms (not its intercept) from lifelines' summary."""
        fitted = self.model_.summary.loc["lambda_"].drop("Intercept")
        terms = list(fitted.index)
        p_values = fitted["p"].to_numpy()
        p_holm = multipletests(p_values, method="holm")[1] if len(terms) else p_values
        level = f"{100 * (1 - self.model_.alpha):.0f}%"
        return summary_frame(
            {
                "term": terms,
                "label": [feature_label(t) for t in terms],
                "estimate": fitted["exp(coef)"].to_numpy(),
                "ci_low": fitted[f"exp(coef) lower {level}"].to_numpy(),
                "ci_high": fitted[f"exp(coef) upper {level}"].to_numpy(),
                "p_value": p_values,
                "p_adjusted": p_holm,
                **self.encoder_.unit_columns(terms),
                "driver": [self.encoder_.term_driver_[t] for t in terms],
                "time_ratio": fitted["exp(coef)"].to_numpy(),
                "p_holm": p_holm,
                "coef": fitted["coef"].to_numpy(),
                "se": fitted["se(coef)"].to_numpy(),
            }
        )

    def predict(
        self, frame: pd.DataFrame, tenure_col: str = "tenure_months", grid_points: int = 145
    ) -> np.ndarray:
        """Return expected months still a customer within the horizon, given the tenure reached.

        Integrates S(t0 + u) / S(t0) over u in [0, horizon] (trapezoid rule on a monthly-or-finer grid).
        """
        self.check_is_fitted()
        log_scale, shape = self._log_scale_and_shape(frame, self.model_.params_)
        tenure = frame[tenure_col].to_numpy(dtype=float)
        u = np.linspace(0, self.horizon_months, grid_points)
        out = np.empty(len(frame))
        rows = _block_rows(1, len(u))
        for start in range(0, len(frame), rows):  # bounded memory on a million customers
            part = slice(start, start + rows)
            survival = _weibull_conditional_survival(tenure[part], log_scale[0, part], shape[0], u)
            out[part] = np.trapezoid(survival, u, axis=1)
        return out

    def sample_params(self, n: int, seed: int) -> pd.DataFrame:
        """Return ``n`` draws of the Weibull parameters from their asymptotic normal distribution.

        Centred on lifelines' estimates (``model_.params_``: the log-scale coefficients and the log
        shape) with lifelines' covariance (``model_.variance_matrix_``, the inverse observed
        information); reproducible across machines (:func:`cxlib.stats.parameter_draws`).

        Parameters
        ----------
        n : int
        seed : int

        Returns
        -------
        DataFrame
            One row per draw, columns ``model_.params_.index`` (pass a row, or the whole frame, as
            ``params`` to :meth:`conditional_survival`).
        """
        self.check_is_fitted()
        mean = self.model_.params_
        covariance = self.model_.variance_matrix_.loc[mean.index, mean.index]
        return pd.DataFrame(parameter_draws(mean, covariance, n, seed), columns=mean.index)

    def conditional_survival(
        self, frame: pd.DataFrame, months, tenure_col: str = "tenure_months", params=None
    ) -> np.ndarray:
        """Return each customer's chance of still being a customer ``u`` months ahead, given the tenure reached.

        S(t0 + u) / S(t0) of the fitted Weibull, with t0 the tenure in ``tenure_col`` (the same
        curve :meth:`predict` integrates).

        Parameters
        ----------
        frame : DataFrame
            Customers with the model's features and ``tenure_col``.
        months : int or array-like
            An int H gives u = 0, 1, ..., H months (H + 1 columns, the first all ones); an array gives
            its own offsets in months.
        tenure_col : str
        params : Series or DataFrame, optional
            Parameters indexed like ``model_.params_`` (default: the estimates), or a frame of draws
            from :meth:`sample_params`.

        Returns
        -------
        ndarray
            Customers x offsets; with a frame of draws, draws x customers x offsets.

        Examples
        --------
        >>> model.conditional_survival(current, 36).shape  # doctest: +SKIP
        (5174, 37)
        """
        self.check_is_fitted()
        u = np.arange(int(months) + 1, dtype=float) if np.ndim(months) == 0 else np.asarray(months, float)
        draws = params if isinstance(params, pd.DataFrame) else None
        log_scale, shape = self._log_scale_and_shape(frame, self.model_.params_ if params is None else params)
        tenure = frame[tenure_col].to_numpy(dtype=float)
        out = np.empty((len(shape), len(frame), len(u)))
        rows = _block_rows(len(shape), len(u))
        for start in range(0, len(frame), rows):
            part = slice(start, start + rows)
            for draw in range(len(shape)):
                out[draw, part] = _weibull_conditional_survival(
                    tenure[part], log_scale[draw, part], shape[draw], u
                )
        return out if draws is not None else out[0]

    def _log_scale_and_shape(self, frame: pd.DataFrame, params) -> tuple[np.ndarray, np.ndarray]:
        """Log Weibull scale per draw and customer (draws x customers) and the shape per draw."""
        table = params.to_frame().T if isinstance(params, pd.Series) else params
        scale_terms = table["lambda_"]
        slopes = scale_terms.drop(columns="Intercept")
        x = self.encoder_.transform(frame)[slopes.columns].to_numpy(dtype=float)
        log_scale = (
            scale_terms["Intercept"].to_numpy(dtype=float)[:, None] + slopes.to_numpy(dtype=float) @ x.T
        )
        shape = np.exp(table[("rho_", "Intercept")].to_numpy(dtype=float))
        return log_scale, shape

    def plot_forest(self, ax=None, top: int = 20, title: str | None = None):
        """Forest plot of time ratios with their intervals (log scale), most significant first.

        See :func:`cxlib.churn._plots.plot_time_ratios` (built on :func:`cxlib.report.plot_summary`);
        returns the Axes.
        """
        self.check_is_fitted()
        from cxlib.churn._plots import plot_time_ratios

        return plot_time_ratios(self, ax=ax, top=top, title=title)

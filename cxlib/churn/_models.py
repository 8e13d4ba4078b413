"""Churn models: interpretable drivers (logistic odds ratios) and a calibrated predictive model.

:class:`ChurnDrivers` answers "which experiences go with leaving, and how strongly" with odds
ratios, 95% intervals and p-values from a statsmodels logistic regression; a number whose effect
is not a straight line enters as a spline or, for a small count, as levels, and is shown as an
effect curve (:mod:`cxlib.churn._flexible`). :class:`ChurnPredictor`
answers "who is most likely to leave" with scikit-learn gradient boosting, its settings chosen by
cross-validation among the library default and two slower early-stopped variants, fitted on all
training rows and calibrated on out-of-fold scores so that a score of 0.3 means about 30% (the
calibration is monotone, so it costs no discrimination); evaluated on a held-out set.

Examples
--------
>>> drivers = ChurnDrivers().fit(train, panel.numeric, panel.categorical)  # doctest: +SKIP
>>> drivers.summary_[["term", "odds_ratio", "ci_low", "ci_high", "p_value"]]  # doctest: +SKIP
"""

from __future__ import annotations

import copy as _copy
import warnings

import numpy as np
import pandas as pd
import statsmodels.api as sm
from scipy import stats
from sklearn import inspection
from sklearn.base import clone
from sklearn.calibration import CalibratedClassifierCV
from sklearn.ensemble import HistGradientBoostingClassifier
from sklearn.frozen import FrozenEstimator
from sklearn.metrics import average_precision_score, brier_score_loss, roc_auc_score
from sklearn.model_selection import StratifiedKFold, train_test_split
from statsmodels.stats.multitest import multipletests
from threadpoolctl import threadpool_limits

from cxlib.churn._flexible import FORM_ALPHA, choose_forms, curve_contrasts, effect_curves
from cxlib.churn._panel import LABEL, design_params
from cxlib.churn._stability import (
    penalised_estimates,
    raw_term_rates,
    stability_notes,
    unstable_terms,
)
from cxlib.stats._design import DesignEncoder, feature_label
from cxlib.stats._fitted import FittedModel, summary_frame
from cxlib.stats._notes import Note
from cxlib.stats._suppression import pool_small_groups

#: Training rows above which each number's form (straight line, curve or levels) is chosen by the
#: likelihood-ratio tests of :func:`cxlib.churn._flexible.choose_forms` on a seeded random sample of
#: this many rows (each test is one more logistic fit, by Newton's method, per candidate driver);
#: the reported model, with the forms so chosen, is still fitted on every row (caveat
#: ``drivers.forms_on_sample``). A sample tests with less power than all rows: a driver whose test
#: is near :data:`cxlib.churn._flexible.FORM_ALPHA` on all rows may stay a straight line. What the
#: sample changes at 1M customers is measured in ``benchmarks/RESULTS-churn.md``.
FORM_TEST_ROWS = 200_000


class ChurnDrivers(FittedModel):
    """Logistic regression of churn on drivers, reported as odds ratios with 95% intervals.

    Each number enters as a straight line on the log-odds scale (an odds ratio per SD) unless a
    flexible form fits clearly better (likelihood-ratio test at ``form_alpha``,
    :func:`cxlib.churn._flexible.choose_forms`): a restricted cubic spline, or for a whole-number
    count with 3 to 8 values one level per count. Curved numbers are shown as effect curves
    (:meth:`effect_curve`, :meth:`plot_effects`); in ``summary_`` a spline driver has one row, its
    curve's highest against its lowest point.

    Parameters
    ----------
    reference_levels : dict, optional
        Categorical feature -> reference level (default: its most common level).
    max_vif : float, default 10
        Collinearity threshold; see :class:`cxlib.stats._design.DesignEncoder`.
    alpha : float, default 0.05
        1 - confidence level of the intervals.
    min_group_size : int or None, default 10
        Categorical levels with fewer customers are pooled into ``Other (n groups)`` before the
        fit (the config's ``analysis.min_group_size``); see :class:`cxlib.stats._design.DesignEncoder`.
    flexible : bool, default True
        Let numbers take a flexible form; False: every number linear (the model as before).
    form_alpha : float, default 0.01
        Level of the likelihood-ratio test that gives a number a flexible form
        (:data:`cxlib.churn._flexible.FORM_ALPHA`): a truly linear driver gets a curve in 1% of
        samples.

    Attributes
    ----------
    summary_ : DataFrame
        One row per term (a count entered as levels: one per level against its most common; a
        spline: one row, ``unit_kind`` "curve", the odds at the curve's highest point between the
        5th and 95th percentiles against its lowest, with the driver's joint p-value:
        :func:`cxlib.churn._flexible.curve_contrasts`): the standard columns (``estimate`` is the odds ratio, ``p_adjusted``
        Holm's adjustment across terms), then the unit as data (unit_kind, unit_scale,
        unit_reference: see :meth:`cxlib.stats.DesignEncoder.unit_columns`), driver, odds_ratio
        (= estimate), p_holm (= p_adjusted) and vif; then the raw churn rates of each contrast
        and its reference (raw_n, raw_rate, raw_n_reference, raw_rate_reference), raw_direction
        and agrees_with_raw (see :func:`cxlib.churn._stability.raw_term_rates`), and unstable
        with unstable_reasons (separation, an extreme estimate, a very wide interval, a variance
        inflation factor above 5, no convergence: :func:`cxlib.churn._stability.unstable_terms`),
        and odds_ratio_penalised: for a term flagged for any but the last reason, its ratio from a
        refit with a light ridge penalty on the flagged terms alone (NaN for the others, whose
        numbers are the plain fit's).
        Reports never headline an unstable term or one whose direction disagrees with the raw
        rates.
    drivers_ : DataFrame
        One row per driver (feature): joint Wald chi-square and p-value of all its terms, and its
        form, ranked strongest first.
    driver_forms_ : DataFrame
        One row per numeric driver: the flexible form tried, the likelihood-ratio test against a
        straight line (lr_chi2, df, p_value) and the form chosen (:func:`choose_forms`); above
        :data:`FORM_TEST_ROWS` rows the tests are those of a seeded sample of that many.
    form_rows_ : int
        Rows the form tests were run on (all, or :data:`FORM_TEST_ROWS`).
    effect_curves_ : dict
        Numeric driver (not a yes/no flag) -> its effect curve (:meth:`effect_curve`).
    caveats_ : list of Note
        The design's (levels pooled, terms left out), a fit that did not converge, each unstable
        term (``drivers.unstable_<reason>``) and each clear contrast whose direction disagrees
        with the raw churn rates (``drivers.direction_disagrees``); sentences from
        :func:`cxlib.report.render`.
    result_ : statsmodels results

    Examples
    --------
    >>> model = ChurnDrivers().fit(frame, numeric=["tenure_months"], categorical=["plan"])  # doctest: +SKIP
    >>> model.plot_forest()  # doctest: +SKIP
    >>> model.driver_forms_[["driver", "form", "p_value"]]  # doctest: +SKIP
    >>> model.effect_curve("tenure_months").head()  # doctest: +SKIP
    >>> model.plot_effects()  # doctest: +SKIP
    """

    estimate_name = "odds ratio"
    null_value = 1.0
    higher_is = "worse"  # higher odds of churning

    def __init__(
        self,
        reference_levels: dict | None = None,
        max_vif: float | None = 10.0,
        alpha: float = 0.05,
        min_group_size: int | None = 10,
        flexible: bool = True,
        form_alpha: float = FORM_ALPHA,
    ):
        self.reference_levels = reference_levels
        self.max_vif = max_vif
        self.alpha = alpha
        self.min_group_size = min_group_size
        self.flexible = flexible
        self.form_alpha = form_alpha

    @classmethod
    def config_params(cls, config) -> dict:
        """:func:`cxlib.churn.design_params`."""
        return design_params(config)

    def fit(
        self, frame: pd.DataFrame, numeric, categorical, label: str = LABEL, describe: bool = True
    ) -> ChurnDrivers:
        """Fit on ``frame`` (features plus a boolean ``label`` column); returns self.

        ``describe=False`` fits the model for :meth:`predict_proba` alone (e.g. the held-out
        evaluation's, whose ratios no report shows): the same forms, design and coefficients, but no
        ``summary_``, ``drivers_``, effect curves or stability checks (about half the time of a
        fit on many rows).
        """
        y = frame[label].astype(float).to_numpy()
        params = {
            "reference_levels": self.reference_levels,
            "max_vif": self.max_vif,
            "min_group_size": self.min_group_size,
        }
        with threadpool_limits(limits=1, user_api="blas"):
            return self._fit(frame, numeric, categorical, y, params, describe)

    def _fit(self, frame, numeric, categorical, y, params, describe: bool = True) -> ChurnDrivers:
        """:meth:`fit` with one BLAS thread.

        On a shared 2-core machine BLAS threads spin and wait for each other (measured: a 1,816-row
        fit with its form tests took 15 s with two threads, 2.5 s with one).
        """
        self.form_rows_ = len(frame)
        if self.flexible and len(frame) > FORM_TEST_ROWS:
            # the forms are chosen on a seeded sample; the reported fit uses every row
            rows = np.sort(np.random.default_rng(0).choice(len(frame), FORM_TEST_ROWS, replace=False))
            forms = choose_forms(frame.iloc[rows], y[rows], numeric, categorical, params, self.form_alpha)
            self.form_rows_ = FORM_TEST_ROWS
        else:
            forms = choose_forms(frame, y, numeric, categorical, params, self.form_alpha, test=self.flexible)
        self.driver_forms_ = forms
        chosen = dict(zip(forms["driver"], forms["form"], strict=True))
        self.encoder_ = DesignEncoder(numeric, categorical, forms=chosen, **params).fit(frame)
        design = sm.add_constant(self.encoder_.transform(frame), has_constant="add")
        with warnings.catch_warnings():
            # statsmodels warns on quasi-separation; the caveat below reports it instead
            warnings.simplefilter("ignore")
            # full rank by construction (the encoder drops dependent terms): no rank check (an SVD)
            self.result_ = sm.Logit(y, design, check_rank=False).fit(method="newton", maxiter=100, disp=0)
        self.caveats_ = list(self.encoder_.caveats_)
        converged = bool(self.result_.mle_retvals.get("converged", True))
        if not converged:
            self.caveats_.append(Note("drivers.not_converged"))
        self.caveats_ += self._form_notes()
        if self.form_rows_ < len(frame):
            values = {"sample": self.form_rows_, "customers": len(frame), "threshold": FORM_TEST_ROWS}
            self.caveats_.append(Note("drivers.forms_on_sample", values))
        if not describe:
            return self
        drawn = forms.loc[forms["candidate"].notna(), "driver"].tolist()
        self.effect_curves_, own_terms = effect_curves(
            self.encoder_, self.result_.params, self.result_.cov_params(), frame, y, drawn, self.alpha
        )
        self.drivers_ = self._driver_tests()
        splines = [d for d, f in chosen.items() if f == "spline"]
        curves = curve_contrasts(self.effect_curves_, own_terms, frame, y, splines, self.alpha)
        self.summary_ = self._summary(curves)
        self.summary_ = self._add_stability(frame, design, y, converged, curves)
        return self

    def _form_notes(self) -> list[Note]:
        """A note per driver given a flexible form: which, and the test that chose it."""
        notes = []
        for row in self.driver_forms_[self.driver_forms_["form"] != "linear"].itertuples(index=False):
            values = {"driver": row.driver, "p_value": row.p_value, "alpha": self.form_alpha}
            if row.form == "spline":
                notes.append(Note("drivers.form_spline", values))
            else:
                levels = [name for name, _ in self.encoder_.count_levels_[row.driver]]
                notes.append(Note("drivers.form_levels", {**values, "levels": levels}))
        return notes

    def effect_curve(self, driver: str) -> pd.DataFrame:
        """Predicted churn by the value of a numeric driver, on its own scale, with a 95% interval.

        At each value (each level of a count entered as levels), every customer of a sample of the
        training rows is given that value, the others of their drivers as they are, and the
        predicted churn probabilities are averaged (:func:`cxlib.churn._flexible.effect_curves`).

        Parameters
        ----------
        driver : str
            A numeric driver that is not a yes/no flag or a ``*_z`` score (see ``effect_curves_``).

        Returns
        -------
        DataFrame
            value, churn_probability, ci_low, ci_high, n (training customers at that value),
            observed_rate (their churn rate), log_odds and se_log_odds (the driver's own part of
            the linear predictor).

        Examples
        --------
        >>> model.effect_curve("Age").head()  # doctest: +SKIP
        """
        self.check_is_fitted()
        if driver not in self.effect_curves_:
            raise KeyError(
                f"no effect curve for {driver!r}: curves are drawn for numeric drivers that are not "
                f"yes/no flags or *_z scores: {sorted(self.effect_curves_)}"
            )
        return self.effect_curves_[driver].copy()

    def curved_drivers(self) -> list[str]:
        """Drivers that entered in a flexible form (spline or levels), strongest first."""
        self.check_is_fitted()
        forms = self.driver_forms_.set_index("driver")["form"]
        return [d for d in self.drivers_["driver"] if forms.get(d, "linear") != "linear"]

    def plot_effects(self, drivers=None, axes=None, top: int = 4):
        """Effect curves of the curved drivers (or of ``drivers``) side by side; returns the array of Axes.

        See :func:`cxlib.churn._plots.plot_effect_curves`.
        """
        self.check_is_fitted()
        from cxlib.churn._plots import plot_effect_curves

        return plot_effect_curves(self, drivers, axes=axes, top=top)

    def _add_stability(
        self,
        frame: pd.DataFrame,
        design: pd.DataFrame,
        y: np.ndarray,
        converged: bool,
        curves: pd.DataFrame,
    ) -> pd.DataFrame:
        """``summary_`` plus raw churn rates per term and the unstable flag, with a caveat per flag.

        See :func:`cxlib.churn._stability.raw_term_rates` and
        :func:`cxlib.churn._stability.unstable_terms`; the estimates themselves are unchanged. Terms
        flagged for separation, an extreme or vague estimate or collinearity also get
        ``odds_ratio_penalised`` (:func:`cxlib.churn._stability.penalised_estimates`).
        """
        summary = self.summary_
        terms = summary[summary["unit_kind"] != "curve"]
        raw = raw_term_rates(frame, y, self.encoder_, terms["term"], terms["estimate"].to_numpy())
        if len(curves):  # a curve's raw rates are those near its highest and lowest points
            parts = [raw, curves.set_index("term")[raw.columns]]
            raw = pd.concat([part for part in parts if len(part)])
        raw = raw.reindex(summary["term"])
        flags = unstable_terms(summary, raw, converged)
        table = pd.concat([summary, raw.reset_index(drop=True), flags], axis=1)
        # a light ridge refit gives flagged terms a finite ratio to look at; other rows keep NaN
        reasons = table["unstable_reasons"].str.split(", ")
        flagged = table.loc[reasons.map(lambda r: bool(set(r) - {"", "not_converged"})), "term"]
        flagged = flagged[flagged.isin(design.columns)]  # a curve's row is no single coefficient
        penalised = penalised_estimates(design, y, flagged)
        table["odds_ratio_penalised"] = table["term"].map(penalised).astype(float)
        self.caveats_ += stability_notes(table, self.alpha)
        return table

    def _summary(self, curves: pd.DataFrame) -> pd.DataFrame:
        """One row per term, a spline driver's columns replaced by its curve's row (``curves``)."""
        params = self.result_.params.drop("const")
        units = self.encoder_.unit_columns(params.index)
        params = params[[kind != "spline" for kind in units["unit_kind"]]]
        ci = self.result_.conf_int(self.alpha).loc[params.index]
        with np.errstate(over="ignore"):  # a separated term's ratio is infinite; the plot shows it cut
            ratios = np.exp(np.vstack([params.to_numpy(), ci[0].to_numpy(), ci[1].to_numpy()]))
        rows = pd.DataFrame(
            {
                "term": params.index,
                "label": [feature_label(t) for t in params.index],
                "estimate": ratios[0],
                "ci_low": ratios[1],
                "ci_high": ratios[2],
                "p_value": self.result_.pvalues[params.index].to_numpy(),
                **self.encoder_.unit_columns(params.index),
                "driver": [self.encoder_.term_driver_[t] for t in params.index],
            }
        )
        if len(curves):  # a curve's p-value is its driver's joint test
            joint = self.drivers_.set_index("driver")["p_value"]
            curve_rows = curves[[c for c in rows.columns if c != "p_value"]]
            curve_rows = curve_rows.assign(p_value=curves["driver"].map(joint).to_numpy())
            rows = pd.concat([part for part in (rows, curve_rows) if len(part)])
            order = {d: i for i, d in enumerate(self.encoder_.numeric + self.encoder_.categorical)}
            rows = rows.sort_values("driver", key=lambda d: d.map(order), kind="stable")
        # many drivers are tested at once: Holm's adjustment keeps the family-wise error at 5%
        p_holm = multipletests(rows["p_value"].to_numpy(), method="holm")[1]
        rows.insert(rows.columns.get_loc("p_value") + 1, "p_adjusted", p_holm)
        vif = self.encoder_.vif_["vif"].reindex(rows["term"]).to_numpy()
        return summary_frame(
            {
                **{c: rows[c].to_numpy() for c in rows.columns},
                "odds_ratio": rows["estimate"].to_numpy(),
                "p_holm": p_holm,
                "vif": vif,
            }
        )

    def _driver_tests(self) -> pd.DataFrame:
        """Joint Wald test of all terms of each driver (one for a straight line, several otherwise)."""
        params, cov = self.result_.params, self.result_.cov_params()
        terms_of: dict[str, list[str]] = {}
        for term in params.index.drop("const"):
            terms_of.setdefault(self.encoder_.term_driver_[term], []).append(term)
        rows = []
        for driver, terms in terms_of.items():
            b = params[terms].to_numpy()
            chi2 = float(b @ np.linalg.pinv(cov.loc[terms, terms].to_numpy()) @ b)
            rows.append(
                {
                    "driver": driver,
                    "label": feature_label(driver),
                    "wald_chi2": chi2,
                    "df": len(terms),
                    "form": self.encoder_.form(driver) if driver in self.encoder_.numeric else "levels",
                }
            )
        table = pd.DataFrame(rows)
        table["p_value"] = stats.chi2.sf(table["wald_chi2"], table["df"])
        table = table.sort_values("wald_chi2", ascending=False, ignore_index=True)
        table.insert(0, "rank", np.arange(1, len(table) + 1))
        return table

    def predict_proba(self, frame: pd.DataFrame) -> np.ndarray:
        """Churn probability of each row of ``frame``."""
        self.check_is_fitted()
        design = sm.add_constant(self.encoder_.transform(frame), has_constant="add")
        return np.asarray(self.result_.predict(design))

    def driver_table(self) -> pd.DataFrame:
        """``summary_`` plus the rank of each term's driver, strongest driver first."""
        self.check_is_fitted()
        rank = self.drivers_.set_index("driver")["rank"]
        table = self.summary_.assign(driver_rank=self.summary_["driver"].map(rank))
        return table.sort_values(["driver_rank", "p_value"], ignore_index=True)

    def plot_forest(self, ax=None, top: int = 20, title: str | None = None):
        """Forest plot of odds ratios with their intervals (log scale), strongest drivers first.

        See :func:`cxlib.churn._plots.plot_odds_ratios` (built on :func:`cxlib.report.plot_summary`);
        returns the Axes.
        """
        self.check_is_fitted()
        from cxlib.churn._plots import plot_odds_ratios

        return plot_odds_ratios(self, ax=ax, top=top, title=title)


#: Permutation importance computed in :meth:`ChurnPredictor.fit`: shuffles per feature, and the
#: most held-out rows it is computed on (a seeded sample above that, to bound the cost).
IMPORTANCE_REPEATS = 5
IMPORTANCE_ROWS = 5_000
#: Training rows above which the settings are chosen by cross-validation on a seeded stratified
#: sample of this many rows (the chosen settings are then calibrated and fitted on all rows).
#: Choosing among a handful of settings needs far fewer rows than fitting: on 1M customers it
#: cuts the boosting's 26 fits on the full training rows to 6 (``benchmarks/README.md``). 50,000
#: (was 100,000) halves the 15 selection fits; the choice and the held-out ROC-AUC at 200,000
#: and 1M customers are compared in ``benchmarks/RESULTS-churn.md``.
SELECTION_ROWS = 50_000
#: Training rows above which the probabilities are calibrated on a held-out set of
#: :data:`CALIBRATION_ROWS` customers (stratified by churn) that the booster, fitted once on the
#: other rows, did not see; below it on out-of-fold scores of ``folds``-fold cross-validation with
#: the booster refitted on all rows (``folds`` + 1 full-size fits). Their difference in calibration
#: and ROC-AUC is measured by ``tests/test_boosting.py`` (threshold lowered) and at 1M customers in
#: ``benchmarks/RESULTS-churn.md``.
CALIBRATION_HOLDOUT_ROWS = 100_000
CALIBRATION_ROWS = 20_000
#: Rows the final booster is fitted on at most (with a held-out calibration set): above it, a
#: seeded sample of this many of the rows outside the calibration set, stratified by churn (caveat
#: ``predictor.fit_sample``). One fit on 480,000 rows takes most of the held-out evaluation's time
#: at 1M customers; what fitting on the sample costs in held-out ROC-AUC and Brier score is
#: measured in ``benchmarks/RESULTS-churn.md``.
FIT_ROWS = 200_000


def boosting_candidates(seed: int) -> dict[str, HistGradientBoostingClassifier]:
    """The boosting settings :class:`ChurnPredictor` chooses among by cross-validated ROC-AUC.

    Simplest first: ``shallow`` and ``slow`` learn at half the default rate with trees of depth 3
    (or 15 leaves) and L2 shrinkage, stopping early on 10% of the rows they are given once 20
    rounds bring no gain: they suit data whose signal is a few smooth effects. ``default`` is
    scikit-learn's ``HistGradientBoostingClassifier`` as shipped, so the suite does no worse than it
    by more than cross-validation noise.
    Missing values need no imputation in any of them: each split learns which side they go to.

    Parameters
    ----------
    seed : int
        ``random_state`` of every candidate (their early-stopping split and binning sample).

    Returns
    -------
    dict
        Candidate name -> unfitted estimator.
    """
    slow = {
        "learning_rate": 0.05,
        "max_iter": 1000,
        "l2_regularization": 1.0,
        "early_stopping": True,
        "validation_fraction": 0.1,
        "n_iter_no_change": 20,
        "random_state": seed,
    }
    return {
        "shallow": HistGradientBoostingClassifier(max_depth=3, min_samples_leaf=40, **slow),
        "slow": HistGradientBoostingClassifier(max_leaf_nodes=15, **slow),
        "default": HistGradientBoostingClassifier(random_state=seed),
    }


class ChurnPredictor(FittedModel):
    """Gradient boosting, tuned by cross-validation and calibrated, for ranking customers by churn risk.

    ``fit`` scores each of :func:`boosting_candidates` by ``folds``-fold cross-validated ROC-AUC on
    the training rows (mean over folds), keeps the simplest whose score is within one standard error
    of the best (the one-standard-error rule: a more complex model must win by more than fold-to-fold
    noise), fits the chosen settings on all training rows and calibrates them on
    their out-of-fold scores (``CalibratedClassifierCV(ensemble=False)``). Above
    :data:`SELECTION_ROWS` training rows the settings are chosen on a seeded stratified sample of
    that many rows (model selection needs far fewer rows than the fit), and the chosen settings are
    still calibrated and fitted on all rows. Up to :data:`CALIBRATION_HOLDOUT_ROWS` training rows
    no training row is held back from the final booster; above it the booster is fitted once on
    all rows but a stratified calibration set of :data:`CALIBRATION_ROWS`, and the sigmoid on that
    set's scores (one full-size fit instead of ``folds`` + 1; caveat ``predictor.calibrated_holdout``).
    Sigmoid calibration is monotone, so calibration costs no discrimination. Missing values are
    handled natively by the boosting (not imputed).

    Parameters
    ----------
    seed : int
        Drives the cross-validation folds, the boosting's early-stopping split and the shuffles of
        the permutation importance.
    calibration : {"sigmoid", "isotonic"}
        Platt scaling (keeps the ranking, so ROC-AUC is unchanged) or isotonic regression (a step
        function: ties can lower ROC-AUC slightly).
    folds : int
        Cross-validation folds for choosing the settings and for the out-of-fold calibration scores.
    min_group_size : int or None
        Categorical levels with fewer customers are pooled into ``Other (n groups)`` before the
        fit (see :func:`cxlib.stats._suppression.pool_small_groups`), so no partial-dependence bar shows a
        handful of customers. None: no pooling.
    n_threads : int
        OpenMP threads for boosting. Default 1: on a shared 2-core machine busy threads spin and
        wait for each other (measured: a 7,000-row fit took 25 s with two threads and 0.3 s with
        one; a 750,000-row fit 113 s with two and 40 s with one while another process ran). Raise it
        on a dedicated machine.
    tune : bool
        Choose among :func:`boosting_candidates` (default); False: the library default alone.
    tuning : DataFrame, optional
        The ``tuning_`` table of an earlier fit (e.g. on the held-out evaluation's training rows):
        its chosen settings are fitted without choosing again (caveat ``predictor.settings_reused``).

    Attributes
    ----------
    summary_ : DataFrame
        Permutation importance, one row per feature, largest first: the standard columns
        (``estimate`` is the mean drop in ROC-AUC when the feature is shuffled, ``ci_low`` and
        ``ci_high`` the 2.5th and 97.5th percentiles over the shuffles; no p-values), then
        feature and auc_drop (= estimate). Computed with the chosen settings fitted on all folds
        but the first, on the first fold's rows, which that fit did not see (at most
        :data:`IMPORTANCE_ROWS`, :data:`IMPORTANCE_REPEATS` shuffles); with ``tuning`` given and a
        held-out calibration set, with the booster on that set. Computed when first asked for.
    model_ : CalibratedClassifierCV
    booster_ : HistGradientBoostingClassifier
        The chosen settings fitted on all training rows (above :data:`CALIBRATION_HOLDOUT_ROWS`:
        all but the calibration set; of those, at most :data:`FIT_ROWS`, a stratified sample).
    booster_rows_ : int
        Rows ``booster_`` was fitted on.
    calibration_rows_ : int
        Customers of the held-out calibration set; 0 when calibrated on out-of-fold scores.
    tuning_ : DataFrame
        candidate, cv_roc_auc (mean ROC-AUC over the held-out folds), cv_se (its standard error),
        chosen (bool); simplest candidate first.
    chosen_ : str
        Name of the chosen candidate.
    features_ : list of str
    categories_ : dict
        Categorical feature -> its levels in training (after pooling).
    pooling_ : dict
        Categorical feature -> :class:`cxlib.stats._suppression.Pooling` of its small levels.
    caveats_ : list of Note
        Levels pooled, missing values handled natively, which settings were chosen, how
        probabilities were calibrated, what the importance measures; sentences from
        :func:`cxlib.report.render`.

    Examples
    --------
    >>> model = ChurnPredictor(seed=7).fit(train, panel.numeric, panel.categorical)  # doctest: +SKIP
    >>> model.predict_proba(test)[:3]  # doctest: +SKIP
    >>> model.plot_importance()  # doctest: +SKIP
    """

    estimate_name = "drop in ROC AUC when shuffled"
    null_value = 0.0
    # the 2.5th-97.5th percentiles of a few shuffles: their spread, not a confidence interval
    interval_name = f"range over {IMPORTANCE_REPEATS} shuffles"

    def __init__(
        self,
        seed: int = 42,
        calibration: str = "sigmoid",
        folds: int = 5,
        n_threads: int = 1,
        min_group_size: int | None = 10,
        tune: bool = True,
        tuning: pd.DataFrame | None = None,
    ):
        self.seed = seed
        self.calibration = calibration
        self.folds = folds
        self.n_threads = n_threads
        self.min_group_size = min_group_size
        self.tune = tune
        self.tuning = tuning

    @classmethod
    def config_params(cls, config) -> dict:
        """``analysis.min_group_size`` and the seed."""
        return {"seed": config.seed, "min_group_size": config.analysis["min_group_size"]}

    def _threads(self):
        return threadpool_limits(limits=self.n_threads, user_api="openmp")

    def fit(self, frame: pd.DataFrame, numeric, categorical, label: str = LABEL) -> ChurnPredictor:
        """Choose the settings by cross-validation, fit on all of ``frame`` and calibrate; returns self."""
        self.numeric_, self.categorical_ = list(numeric), list(categorical)
        self.features_ = self.numeric_ + self.categorical_
        self.pooling_ = {
            c: pool_small_groups(frame[c], self.min_group_size or 0, column=c)[1] for c in self.categorical_
        }
        self.categories_ = {c: sorted(self.pooling_[c].apply(frame[c]).unique()) for c in self.categorical_}
        x, y = self._matrix(frame), frame[label].astype(int).to_numpy()
        missing = x[self.numeric_].isna().sum()
        with self._threads():
            held_out_model, x_out, y_out = self._fit(x, y)
            if len(x_out) > IMPORTANCE_ROWS:
                rows = pd.Series(np.arange(len(x_out))).sample(IMPORTANCE_ROWS, random_state=self.seed)
                x_out, y_out = x_out.iloc[rows.to_numpy()], y_out[rows.to_numpy()]
        # the importance is computed when first asked for (:attr:`summary_`): a report that shows
        # the importance on test customers instead (permutation_importance) never pays for it
        self._importance_inputs = held_out_model, x_out, y_out
        self.caveats_ = self._caveats(len(y), len(x_out), missing[missing > 0])
        return self

    @property
    def summary_(self) -> pd.DataFrame:
        """Permutation importance on training rows the measuring fit did not see (see the class docstring).

        Computed on first use and kept (seeded: the same table whenever it is asked for).
        """
        self.check_is_fitted()
        if "_summary" not in vars(self):
            model, x_out, y_out = self._importance_inputs
            with self._threads():
                result = self._permutation(x_out, y_out, IMPORTANCE_REPEATS, model=model)
            self._summary = self._importance_table(result)
        return self._summary

    def _fit(self, x: pd.DataFrame, y: np.ndarray):
        """Choose, fit and calibrate; returns a fit of the chosen settings and rows it did not see."""
        splits = list(StratifiedKFold(self.folds, shuffle=True, random_state=self.seed).split(x, y))
        candidates = boosting_candidates(self.seed)
        if self.tuning is not None:  # settings chosen before (on other training rows): no choosing
            self.tuning_ = self.tuning.copy()
            self.chosen_ = str(self.tuning_.loc[self.tuning_["chosen"], "candidate"].iloc[0])
            self.selection_rows_ = 0
            held_out = None
        else:
            held_out = self._choose(x, y, candidates, splits)
        chosen = candidates[self.chosen_]
        if len(x) > CALIBRATION_HOLDOUT_ROWS:
            # one full-size fit: the booster on all rows but a stratified calibration set, the
            # sigmoid on that set's scores, which the booster did not see
            fit_rows, calibration_rows = train_test_split(
                np.arange(len(x)), test_size=CALIBRATION_ROWS, stratify=y, random_state=self.seed
            )
            if len(fit_rows) > FIT_ROWS:  # a stratified sample of the rest (sorted: rows in order)
                fit_rows, _ = train_test_split(
                    fit_rows, train_size=FIT_ROWS, stratify=y[fit_rows], random_state=self.seed
                )
            fit_rows, calibration_rows = np.sort(fit_rows), np.sort(calibration_rows)
            self.booster_rows_ = len(fit_rows)
            self.booster_ = clone(chosen).fit(x.iloc[fit_rows], y[fit_rows])
            x_cal, y_cal = x.iloc[calibration_rows], y[calibration_rows]
            self.model_ = CalibratedClassifierCV(FrozenEstimator(self.booster_), method=self.calibration)
            self.model_.fit(x_cal, y_cal)
            self.calibration_rows_ = len(calibration_rows)
            if held_out is None:
                held_out = self.booster_, x_cal, y_cal
            return held_out
        # ensemble=False: calibrate on the out-of-fold scores, then fit the booster on all rows
        self.model_ = CalibratedClassifierCV(
            clone(chosen), method=self.calibration, cv=splits, ensemble=False
        )
        self.model_.fit(x, y)
        self.booster_ = self.model_.calibrated_classifiers_[0].estimator
        self.calibration_rows_ = 0
        self.booster_rows_ = len(x)
        if held_out is None:
            fit_rows, held_rows = splits[0]
            fold_model = clone(chosen).fit(x.iloc[fit_rows], y[fit_rows])
            held_out = fold_model, x.iloc[held_rows], y[held_rows]
        return held_out

    def _choose(self, x: pd.DataFrame, y: np.ndarray, candidates: dict, splits: list):
        """Choose the settings by cross-validated ROC-AUC (on a sample above :data:`SELECTION_ROWS`).

        Sets ``tuning_``, ``chosen_`` and ``selection_rows_``; returns the chosen settings' first
        fold model with the rows it did not see.
        """
        x_select, y_select, select_splits = x, y, splits
        if len(x) > SELECTION_ROWS:  # choose on a sample; calibrate and fit on all rows
            rows, _ = train_test_split(
                np.arange(len(x)), train_size=SELECTION_ROWS, stratify=y, random_state=self.seed
            )
            rows = np.sort(rows)
            x_select, y_select = x.iloc[rows], y[rows]
            folds = StratifiedKFold(self.folds, shuffle=True, random_state=self.seed)
            select_splits = list(folds.split(x_select, y_select))
        self.selection_rows_ = len(x_select)
        if not self.tune:
            candidates = {"default": candidates["default"]}
        fold_scores, first_fold = {}, {}
        for name, candidate in candidates.items():
            fold_scores[name] = []
            for k, (fit_rows, held_rows) in enumerate(select_splits):
                fold_model = clone(candidate).fit(x_select.iloc[fit_rows], y_select[fit_rows])
                fold_scores[name].append(
                    roc_auc_score(y_select[held_rows], fold_model.decision_function(x_select.iloc[held_rows]))
                )
                if k == 0:
                    first_fold[name] = fold_model
        means = {name: float(np.mean(s)) for name, s in fold_scores.items()}
        errors = {name: float(np.std(s, ddof=1) / np.sqrt(len(s))) for name, s in fold_scores.items()}
        best = max(means, key=means.get)
        # one-standard-error rule: the simplest candidate (listed first) that is as good up to noise
        self.chosen_ = next(name for name in means if means[name] >= means[best] - errors[best])
        self.tuning_ = pd.DataFrame(
            {
                "candidate": list(means),
                "cv_roc_auc": list(means.values()),
                "cv_se": list(errors.values()),
                "chosen": [name == self.chosen_ for name in means],
            }
        )
        held_rows = select_splits[0][1]
        return first_fold[self.chosen_], x_select.iloc[held_rows], y_select[held_rows]

    def _caveats(self, rows: int, importance_rows: int, missing: pd.Series) -> list[Note]:
        caveats = [
            Note(
                "predictor.levels_pooled",
                {
                    "column": column,
                    "levels": len(pooling.groups),
                    "pooled_label": pooling.label,
                    "size": pooling.size,
                },
            )
            for column, pooling in self.pooling_.items()
            if pooling
        ]
        if len(missing):
            caveats.append(
                Note(
                    "predictor.missing_native",
                    {"columns": list(missing.index), "values": int(missing.sum()), "customers": rows},
                )
            )
        scores = self.tuning_.set_index("candidate")["cv_roc_auc"]
        if self.tuning is not None:
            caveats.append(Note("predictor.settings_reused", {"chosen": self.chosen_, "customers": rows}))
        else:
            caveats.append(
                Note(
                    "predictor.tuned",
                    {
                        "folds": self.folds,
                        "candidates": len(scores),
                        "chosen": self.chosen_,
                        "auc": float(scores[self.chosen_]),
                        "default_auc": float(scores["default"]),
                    },
                )
            )
        if 0 < self.selection_rows_ < rows:
            caveats.append(
                Note("predictor.selection_sample", {"sample": self.selection_rows_, "customers": rows})
            )
        if self.calibration_rows_:
            values = {
                "method": self.calibration,
                "calibration": self.calibration_rows_,
                "customers": self.booster_rows_,
                "threshold": CALIBRATION_HOLDOUT_ROWS,
                "folds": self.folds,
            }
            caveats.append(Note("predictor.calibrated_holdout", values))
            if self.booster_rows_ < rows - self.calibration_rows_:
                values = {
                    "sample": self.booster_rows_,
                    "customers": rows - self.calibration_rows_,
                    "threshold": FIT_ROWS,
                }
                caveats.append(Note("predictor.fit_sample", values))
        else:
            caveats.append(
                Note(
                    "predictor.calibrated",
                    {"method": self.calibration, "folds": self.folds, "customers": rows},
                )
            )
        caveats.append(
            Note("predictor.importance", {"customers": importance_rows, "repeats": IMPORTANCE_REPEATS})
        )
        return caveats

    def _matrix(self, frame: pd.DataFrame) -> pd.DataFrame:
        x = frame[self.features_].copy()
        x[self.numeric_] = x[self.numeric_].astype(float)
        for column in self.categorical_:
            levels = self.pooling_[column].apply(x[column])
            x[column] = pd.Categorical(levels, categories=self.categories_[column])
        return x

    def recalibrated(self, frame: pd.DataFrame, label: str = LABEL) -> ChurnPredictor:
        """A copy whose booster is unchanged and whose probabilities are calibrated on ``frame``.

        For customers the booster never saw (e.g. the test panel of an out-of-time split): the
        sigmoid (or isotonic) map is refitted on a stratified sample of at most
        :data:`CALIBRATION_ROWS` of them, so the probabilities match their churn rate while the
        ranking stays the booster's. The importance and tuning are the original fit's.

        Parameters
        ----------
        frame : DataFrame
            Features plus the boolean ``label``; none of its rows may have been in the booster's fit.
        label : str

        Returns
        -------
        ChurnPredictor
            With ``recalibrated_rows_`` set and a ``predictor.recalibrated`` caveat in place of the
            calibration one.
        """
        self.check_is_fitted()
        y = frame[label].astype(int).to_numpy()
        rows = np.arange(len(frame))
        if len(rows) > CALIBRATION_ROWS:
            rows, _ = train_test_split(rows, train_size=CALIBRATION_ROWS, stratify=y, random_state=self.seed)
            rows = np.sort(rows)
        copy = _copy.copy(self)
        with self._threads():
            copy.model_ = CalibratedClassifierCV(FrozenEstimator(self.booster_), method=self.calibration)
            copy.model_.fit(self._matrix(frame.iloc[rows]), y[rows])
        copy.recalibrated_rows_ = len(rows)
        calibration = ("predictor.calibrated", "predictor.calibrated_holdout")
        values = {"method": self.calibration, "calibration": len(rows), "customers": len(frame)}
        copy.caveats_ = [n for n in self.caveats_ if n.code not in calibration]
        copy.caveats_.append(Note("predictor.recalibrated", values))
        return copy

    def predict_proba(self, frame: pd.DataFrame) -> np.ndarray:
        """Calibrated churn probability of each row of ``frame``."""
        self.check_is_fitted()
        with self._threads():
            return self.model_.predict_proba(self._matrix(frame))[:, 1]

    def permutation_importance(
        self, frame: pd.DataFrame, label: str = LABEL, n_repeats: int = 5, max_rows: int = 5_000
    ) -> pd.DataFrame:
        """Drop in ROC-AUC on ``frame`` when each feature is shuffled (mean, and 2.5th-97.5th percentiles over repeats).

        For an importance on other data than the held-out fold ``fit`` used (e.g. a test
        set). Computed on at most ``max_rows`` rows of ``frame`` (a seeded sample) to bound the
        cost. The model is not changed.

        Returns
        -------
        DataFrame
            The layout of ``summary_``: standard columns, then feature and auc_drop, largest first.
        """
        self.check_is_fitted()
        sample = (
            frame.sample(min(len(frame), max_rows), random_state=self.seed)
            if len(frame) > max_rows
            else frame
        )
        with self._threads():
            result = self._permutation(self._matrix(sample), sample[label].astype(int), n_repeats)
        return self._importance_table(result)

    def _permutation(self, x: pd.DataFrame, y, n_repeats: int, model=None):
        """Permutation importance of ``model`` (default ``model_``) by ROC-AUC on ``x``, ``y``."""
        return inspection.permutation_importance(
            self.model_ if model is None else model,
            x,
            y,
            scoring="roc_auc",
            n_repeats=n_repeats,
            random_state=self.seed,
            n_jobs=1,
        )

    def _importance_table(self, result) -> pd.DataFrame:
        table = pd.DataFrame(
            {
                "term": self.features_,
                "label": [feature_label(f) for f in self.features_],
                "estimate": result.importances_mean,
                "ci_low": np.percentile(result.importances, 2.5, axis=1),
                "ci_high": np.percentile(result.importances, 97.5, axis=1),
                "unit": "ROC-AUC",
                "feature": self.features_,
                "auc_drop": result.importances_mean,
            }
        )
        return summary_frame(table.sort_values("auc_drop", ascending=False, ignore_index=True))

    def partial_dependence(self, frame: pd.DataFrame, feature: str, max_rows: int = 5_000) -> pd.DataFrame:
        """Average predicted churn probability as ``feature`` varies, the others as observed.

        Computed on a seeded sample of at most ``max_rows`` rows of ``frame``; rows where a
        numeric ``feature`` is missing are left out (they would make the whole grid missing).
        A number is varied over 30 points between its 2nd and 98th percentiles, a category over
        its levels.

        Returns
        -------
        DataFrame
            ``value`` (the feature's grid) and ``churn_probability`` (the average prediction).
        """
        self.check_is_fitted()
        sample = frame.sample(min(len(frame), max_rows), random_state=self.seed)
        categorical = feature in self.categorical_
        matrix = self._matrix(sample)
        if not categorical:
            matrix = matrix[matrix[feature].notna()]
        with self._threads():
            result = inspection.partial_dependence(
                self.model_,
                matrix,
                [feature],
                categorical_features=[feature] if categorical else None,
                grid_resolution=30,
                percentiles=(0.02, 0.98),
                kind="average",
            )
        return pd.DataFrame({"value": result["grid_values"][0], "churn_probability": result["average"][0]})

    def plot_importance(self, ax=None, top: int = 12, importance: pd.DataFrame | None = None):
        """Permutation importance with its range (linear axis): ``summary_``, or ``importance`` from :meth:`permutation_importance`.

        See :func:`cxlib.churn._plots.plot_importance` (built on :func:`cxlib.report.plot_summary`);
        returns the Axes.
        """
        self.check_is_fitted()
        from cxlib.churn._plots import plot_importance

        return plot_importance(self, ax=ax, top=top, importance=importance)

    def plot_partial_dependences(self, frame: pd.DataFrame, features):
        """Partial-dependence panels for several features side by side; returns the array of Axes."""
        self.check_is_fitted()
        from cxlib.churn._plots import plot_partial_dependences

        return plot_partial_dependences(self, frame, features)

    def plot_partial_dependence(self, frame: pd.DataFrame, feature: str, ax=None):
        """Chart of :meth:`partial_dependence` (bars for levels and yes/no flags); returns the Axes."""
        self.check_is_fitted()
        from cxlib.churn._plots import plot_partial_dependence

        return plot_partial_dependence(self, frame, feature, ax=ax)


def classification_metrics(y_true, probability, n_boot: int = 200, seed: int = 42) -> pd.DataFrame:
    """Held-out ROC-AUC, PR-AUC, Brier score and top-decile lift, with 95% bootstrap intervals.

    Each resample draws ``len(y_true)`` customers with replacement (``numpy`` ``integers``, seeded);
    its metrics are computed exactly from how many times each customer was drawn, on the customers
    sorted once by probability (:class:`_SortedScores`), which gives the same numbers as scoring
    the resampled rows with scikit-learn (``tests/test_churn.py`` checks it) at a fraction of the
    cost on large test sets (no sort per resample).

    Parameters
    ----------
    y_true : array of bool
    probability : array of float
    n_boot : int
        Bootstrap resamples for the intervals (0 = no intervals).
    seed : int

    Returns
    -------
    DataFrame
        metric, estimate, ci_low, ci_high.
    """
    return bootstrap_metrics(y_true, {"model": probability}, n_boot=n_boot, seed=seed)["model"]


def bootstrap_metrics(
    y_true, probabilities: dict, n_boot: int = 200, seed: int = 42
) -> dict[str, pd.DataFrame]:
    """:func:`classification_metrics` of several models' scores of the same customers, one set of draws.

    Each model's table equals ``classification_metrics(y_true, probabilities[name], n_boot, seed)``
    (the same seeded draws, so the same resamples for every model); drawing each resample once
    for all models saves the draws and counts per model.

    Returns
    -------
    dict
        Model name -> DataFrame (metric, estimate, ci_low, ci_high).
    """
    y = np.asarray(y_true, dtype=int)
    ps = {name: np.asarray(p, dtype=float) for name, p in probabilities.items()}
    estimates = {name: _metrics(y, p) for name, p in ps.items()}
    scores = {name: _SortedScores(y, p) for name, p in ps.items()}
    draws: dict[str, list] = {name: [] for name in ps}
    rng = np.random.default_rng(seed)
    # one BLAS thread: the dot products are too short to share (two threads measured twice the CPU
    # time on a busy 2-core machine), and the sums then do not depend on the thread count
    with threadpool_limits(limits=1, user_api="blas"):
        for _ in range(n_boot):
            draw = rng.integers(0, len(y), len(y))
            counts = np.bincount(draw, minlength=len(y))
            for name, sorted_scores in scores.items():
                drawn = sorted_scores.metrics(counts, draw)
                if drawn is not None:
                    draws[name].append(drawn)
    tables = {}
    for name, estimate in estimates.items():
        boot = pd.DataFrame(draws[name], columns=list(estimate))
        tables[name] = pd.DataFrame(
            {
                "metric": list(estimate),
                "estimate": list(estimate.values()),
                "ci_low": [boot[m].quantile(0.025) if len(boot) else np.nan for m in estimate],
                "ci_high": [boot[m].quantile(0.975) if len(boot) else np.nan for m in estimate],
            }
        )
    return tables


def _metrics(y: np.ndarray, p: np.ndarray) -> dict[str, float]:
    top = np.argsort(-p, kind="stable")[: max(1, len(p) // 10)]
    return {
        "roc_auc": roc_auc_score(y, p),
        "pr_auc": average_precision_score(y, p),
        "brier": brier_score_loss(y, p),
        "top_decile_lift": y[top].mean() / y.mean(),
        "base_rate": y.mean(),
    }


class _SortedScores:
    """The metrics of :func:`_metrics` for a resample given as counts per customer, without sorting it.

    The customers are sorted once by descending probability (stable) and cut into runs of tied
    probabilities. A resample that draws customer i ``counts[i]`` times has, at each run's end, the
    weighted cumulative churners and non-churners that scikit-learn's ``roc_curve`` and
    ``average_precision_score`` build from the resampled rows (runs nobody was drawn from add no
    point), so ROC-AUC (trapezoids) and PR-AUC (step sum) are the same; the top decile is the
    first ``len // 10`` drawn rows in that order (copies of one customer share a churn label, so
    how ties between copies break does not matter).
    """

    def __init__(self, y: np.ndarray, p: np.ndarray):
        self.order = np.argsort(-p, kind="stable")
        self.labels = y.astype(float)
        self.y = self.labels[self.order]
        self.p = p[self.order]
        self.squared = (self.p - self.y) ** 2
        sorted_p = self.p
        self.run_end = np.append(np.flatnonzero(np.diff(sorted_p) != 0), len(sorted_p) - 1)
        self.untied = len(self.run_end) == len(sorted_p)

    def metrics(self, counts: np.ndarray, rows: np.ndarray | None = None) -> dict[str, float] | None:
        """The resample's metrics, or None when it holds only one class.

        ``counts``: times each customer was drawn; ``rows``: the draws themselves, in order (they
        break ties at the top decile's edge as a stable sort of the resampled rows does; without
        them, ties there break by customer order).
        """
        # whole numbers held as floats: every count, cumulative sum and product of two of them is
        # below 2**53, so exact (the same numbers as integer arithmetic), and the dot products
        # run in BLAS instead of numpy's integer or mixed-type loops (several times faster)
        w = counts[self.order].astype(np.float64)
        drawn_churners = w * self.y
        positives = np.cumsum(drawn_churners)
        drawn = np.cumsum(w)
        total, churners = float(drawn[-1]), float(positives[-1])
        if churners == 0 or churners == total:
            return None
        if self.untied:  # each drawn row is its own threshold (copies of a customer share a label)
            # ROC-AUC: the share of (churner, non-churner) pairs ranked right; PR-AUC: the mean
            # precision at each churner drawn
            roc_auc = float(np.dot(w - drawn_churners, positives)) / (churners * (total - churners))
            precision = np.divide(positives, drawn, out=np.zeros(len(drawn)), where=drawn > 0)
            pr_auc = float(np.dot(drawn_churners, precision)) / churners
        else:
            roc_auc, pr_auc = self._tied_areas(positives, drawn, churners, total)
        top = max(1, int(total) // 10)
        caught = self._top_churners(top, drawn, positives, rows)
        rate = churners / total
        return {
            "roc_auc": roc_auc,
            "pr_auc": pr_auc,
            "brier": float(np.dot(w, self.squared)) / total,
            "top_decile_lift": float(caught / top / rate),
            "base_rate": float(rate),
        }

    def _tied_areas(self, positives, drawn, churners: float, total: float) -> tuple[float, float]:
        """ROC-AUC (trapezoids) and PR-AUC (steps) over the runs of tied probabilities."""
        tps, seen = positives[self.run_end], drawn[self.run_end]
        # a run nobody was drawn from repeats the previous point: it adds nothing to either area
        # (steps of zero width); 0 / 0 precision before the first drawn run is taken as 0
        tpr = np.concatenate([[0.0], tps / churners])
        fpr = np.concatenate([[0.0], (seen - tps) / (total - churners)])
        roc_auc = float(np.sum(np.diff(fpr) * (tpr[1:] + tpr[:-1]))) / 2
        precision = np.divide(tps, seen, out=np.zeros(len(seen)), where=seen > 0)
        return roc_auc, float(np.sum(np.diff(tpr) * precision))

    def _top_churners(self, top: int, drawn: np.ndarray, positives: np.ndarray, rows) -> float:
        """Churners among the first ``top`` drawn rows in descending order of probability."""
        cut = int(np.searchsorted(drawn, top))  # the sorted customer whose copies cross ``top``
        run = int(np.searchsorted(self.run_end, cut))  # the run of tied probabilities holding it
        start, end = (int(self.run_end[run - 1]) + 1 if run else 0), int(self.run_end[run]) + 1
        labels = self.y[start:end]
        if rows is None or labels.min() == labels.max():  # no tie to break, or break it by order
            before = (positives[cut - 1], drawn[cut - 1]) if cut else (0.0, 0.0)
            return float(before[0] + (top - before[1]) * self.y[cut])
        # a stable sort of the resampled rows keeps tied rows in the order they were drawn
        caught, before = (positives[start - 1], drawn[start - 1]) if start else (0.0, 0.0)
        taken = rows[np.isin(rows, self.order[start:end])][: int(top - before)]
        return float(caught + self.labels[taken].sum())


def gains_table(y_true, probability, bins: int = 10) -> pd.DataFrame:
    """Cumulative gains by score decile: share of churners caught when contacting the top x%."""
    y, p = np.asarray(y_true, dtype=int), np.asarray(probability, dtype=float)
    order = np.argsort(-p, kind="stable")
    decile = np.arange(len(y)) * bins // len(y) + 1
    frame = pd.DataFrame({"decile": decile, "churned": y[order], "probability": p[order]})
    table = frame.groupby("decile").agg(
        customers=("churned", "size"), churners=("churned", "sum"), mean_probability=("probability", "mean")
    )
    table["churn_rate"] = table["churners"] / table["customers"]
    table["lift"] = table["churn_rate"] / y.mean()
    table["share_contacted"] = table["customers"].cumsum() / len(y)
    table["share_of_churners_caught"] = table["churners"].cumsum() / max(y.sum(), 1)
    return table.reset_index()

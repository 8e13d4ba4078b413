"""Churn models: interpretable drivers (logistic odds ratios) and a calibrated predictive model.

:class:`ChurnDrivers` answers "which experiences go with leaving, and how strongly" with odds
ratios, 95% intervals and p-values from a statsmodels logistic regression. :class:`ChurnPredictor`
answers "who is most likely to leave" with scikit-learn gradient boosting, calibrated so that a
score of 0.3 means about 30%, and evaluated on a held-out set.

Examples
--------
>>> drivers = ChurnDrivers().fit(train, panel.numeric, panel.categorical)  # doctest: +SKIP
>>> drivers.summary_[["term", "odds_ratio", "ci_low", "ci_high", "p_value"]]  # doctest: +SKIP
"""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import statsmodels.api as sm
from matplotlib.axes import Axes
from matplotlib.ticker import MaxNLocator
from scipy import stats
from sklearn.calibration import CalibratedClassifierCV, calibration_curve
from sklearn.ensemble import HistGradientBoostingClassifier
from sklearn.frozen import FrozenEstimator
from sklearn.inspection import partial_dependence, permutation_importance
from sklearn.metrics import average_precision_score, brier_score_loss, roc_auc_score
from sklearn.model_selection import train_test_split
from statsmodels.stats.multitest import multipletests
from threadpoolctl import threadpool_limits

from cxlib.churn._panel import LABEL
from cxlib.report._charts import (
    ACCENT,
    NEUTRAL,
    PALETTE,
    axis_labels,
    finish,
    forest_plot,
    new_axes,
    percent_formatter,
)
from cxlib.stats._design import DesignEncoder, feature_label
from cxlib.stats._fitted import FittedModel
from cxlib.stats._suppression import pool_small_groups


class ChurnDrivers(FittedModel):
    """Logistic regression of churn on drivers, reported as odds ratios with 95% intervals.

    Parameters
    ----------
    reference_levels : dict, optional
        Categorical feature -> reference level (default: its most common level).
    max_vif : float, default 10
        Collinearity threshold; see :class:`cxlib.stats._design.DesignEncoder`.
    alpha : float, default 0.05
        1 - confidence level of the intervals.
    min_level_size : int or None, default 10
        Categorical levels with fewer customers are pooled into ``Other (n groups)`` before the
        fit (the config's ``analysis.min_group_size``); see :class:`cxlib.stats._design.DesignEncoder`.

    Attributes
    ----------
    summary : DataFrame
        One row per term: driver, term, unit, odds_ratio, ci_low, ci_high, p_value, vif.
    drivers_ : DataFrame
        One row per driver (feature): joint Wald chi-square and p-value, ranked strongest first.
    caveats_ : list of str
    result_ : statsmodels results

    Examples
    --------
    >>> model = ChurnDrivers().fit(frame, numeric=["tenure_months"], categorical=["plan"])  # doctest: +SKIP
    >>> model.plot_forest()  # doctest: +SKIP
    """

    def __init__(
        self,
        reference_levels: dict | None = None,
        max_vif: float | None = 10.0,
        alpha: float = 0.05,
        min_level_size: int | None = 10,
    ):
        self.reference_levels = reference_levels
        self.max_vif = max_vif
        self.alpha = alpha
        self.min_level_size = min_level_size

    @classmethod
    def config_params(cls, config) -> dict:
        """``churn_model.reference_levels`` and ``max_vif``, ``analysis.min_group_size``."""
        settings = config.values["churn_model"]
        return {
            "reference_levels": settings["reference_levels"],
            "max_vif": settings["max_vif"],
            "min_level_size": config.analysis["min_group_size"],
        }

    def fit(self, frame: pd.DataFrame, numeric, categorical, label: str = LABEL) -> ChurnDrivers:
        """Fit on ``frame`` (features plus a boolean ``label`` column); returns self."""
        self.encoder_ = DesignEncoder(
            numeric, categorical, self.reference_levels, self.max_vif, self.min_level_size
        ).fit(frame)
        design = sm.add_constant(self.encoder_.transform(frame), has_constant="add")
        y = frame[label].astype(float).to_numpy()
        with warnings.catch_warnings():
            # statsmodels warns on quasi-separation; the caveat below reports it instead
            warnings.simplefilter("ignore")
            self.result_ = sm.Logit(y, design).fit(method="newton", maxiter=100, disp=0)
        self.caveats_ = list(self.encoder_.caveats_)
        if not self.result_.mle_retvals.get("converged", True):
            self.caveats_.append("the logistic fit did not converge; treat the ratios as rough")
        self.summary_ = self._summary()
        self.drivers_ = self._driver_tests()
        return self

    def _summary(self) -> pd.DataFrame:
        params = self.result_.params.drop("const")
        ci = self.result_.conf_int(self.alpha).drop("const")
        with np.errstate(over="ignore"):  # a separated term's ratio is infinite; the plot shows it cut
            ratios = np.exp(np.vstack([params.to_numpy(), ci[0].to_numpy(), ci[1].to_numpy()]))
        table = pd.DataFrame(
            {
                "driver": [self.encoder_.term_driver_[t] for t in params.index],
                "term": params.index,
                "label": [feature_label(t) for t in params.index],
                "unit": [self.encoder_.units_[t] for t in params.index],
                "odds_ratio": ratios[0],
                "ci_low": ratios[1],
                "ci_high": ratios[2],
                "p_value": self.result_.pvalues.drop("const").to_numpy(),
                # many drivers are tested at once: Holm's adjustment keeps the family-wise error at 5%
                "p_holm": multipletests(self.result_.pvalues.drop("const").to_numpy(), method="holm")[1],
                "vif": self.encoder_.vif_["vif"].reindex(params.index).to_numpy(),
            }
        )
        return table.reset_index(drop=True)

    def _driver_tests(self) -> pd.DataFrame:
        """Joint Wald test of all terms of each driver (one for a number, several for a category)."""
        params, cov = self.result_.params, self.result_.cov_params()
        rows = []
        for driver, terms in self.summary_.groupby("driver", sort=False)["term"]:
            b = params[list(terms)].to_numpy()
            chi2 = float(b @ np.linalg.pinv(cov.loc[list(terms), list(terms)].to_numpy()) @ b)
            rows.append(
                {"driver": driver, "label": feature_label(driver), "wald_chi2": chi2, "df": len(terms)}
            )
        table = pd.DataFrame(rows)
        table["p_value"] = stats.chi2.sf(table["wald_chi2"], table["df"])
        table = table.sort_values("wald_chi2", ascending=False, ignore_index=True)
        table.insert(0, "rank", np.arange(1, len(table) + 1))
        return table

    def predict_proba(self, frame: pd.DataFrame) -> np.ndarray:
        """Churn probability of each row of ``frame``."""
        design = sm.add_constant(self.encoder_.transform(frame), has_constant="add")
        return np.asarray(self.result_.predict(design))

    def driver_table(self) -> pd.DataFrame:
        """Terms with odds ratios, intervals and p-values, plus the rank of their driver."""
        rank = self.drivers_.set_index("driver")["rank"]
        table = self.summary_.assign(driver_rank=self.summary_["driver"].map(rank))
        return table.sort_values(["driver_rank", "p_value"], ignore_index=True)

    def plot_forest(self, ax: Axes | None = None, top: int = 20, title: str | None = None) -> Axes:
        """Forest plot of odds ratios with 95% intervals (log scale), strongest drivers first."""
        table = self.driver_table().head(top)
        first = table.iloc[0]
        default = f"{first['label']} has the strongest evidence of a link to churn (odds ratio {first['odds_ratio']:.2f})"
        return forest_plot(table.iloc[::-1], "odds_ratio", ax=ax, title=title or default, xlabel="Odds ratio")


class ChurnPredictor(FittedModel):
    """Gradient boosting with probability calibration, for ranking customers by churn risk.

    Parameters
    ----------
    seed : int
        Drives the calibration split and the boosting's early-stopping split.
    calibration : {"sigmoid", "isotonic"}
        Platt scaling (keeps the ranking, so ROC-AUC is unchanged) or isotonic regression.
    calibration_share : float
        Share of the training rows held back to calibrate.
    min_level_size : int or None
        Categorical levels with fewer customers are pooled into ``Other (n groups)`` before the
        fit (see :func:`cxlib.stats._suppression.pool_small_groups`), so no partial-dependence bar shows a
        handful of customers. None: no pooling.
    n_threads : int
        OpenMP threads for boosting. Default 1: on a shared 2-core machine busy threads spin and
        wait for each other (measured: a 7,000-row fit took 25 s with two threads and 0.3 s with
        one; a 750,000-row fit 113 s with two and 40 s with one while another process ran). Raise it
        on a dedicated machine.

    Attributes
    ----------
    model_ : CalibratedClassifierCV
    features_ : list of str
    categories_ : dict
        Categorical feature -> its levels in training (after pooling).
    pooling_ : dict
        Categorical feature -> :class:`cxlib.stats._suppression.Pooling` of its small levels.
    """

    def __init__(
        self,
        seed: int = 42,
        calibration: str = "sigmoid",
        calibration_share: float = 0.2,
        n_threads: int = 1,
        min_level_size: int | None = 10,
    ):
        self.seed = seed
        self.calibration = calibration
        self.calibration_share = calibration_share
        self.n_threads = n_threads
        self.min_level_size = min_level_size

    @classmethod
    def config_params(cls, config) -> dict:
        """``analysis.min_group_size`` and the seed."""
        return {"seed": config.seed, "min_level_size": config.analysis["min_group_size"]}

    def _threads(self):
        return threadpool_limits(limits=self.n_threads, user_api="openmp")

    def fit(self, frame: pd.DataFrame, numeric, categorical, label: str = LABEL) -> ChurnPredictor:
        """Fit boosting on part of ``frame`` and calibrate on the rest; returns self."""
        self.numeric_, self.categorical_ = list(numeric), list(categorical)
        self.features_ = self.numeric_ + self.categorical_
        self.pooling_ = {
            c: pool_small_groups(frame[c], self.min_level_size or 0, column=c)[1] for c in self.categorical_
        }
        self.categories_ = {c: sorted(self.pooling_[c].apply(frame[c]).unique()) for c in self.categorical_}
        x, y = self._matrix(frame), frame[label].astype(int).to_numpy()
        with self._threads():
            return self._fit(x, y)

    def _fit(self, x: pd.DataFrame, y: np.ndarray) -> ChurnPredictor:
        x_fit, x_cal, y_fit, y_cal = train_test_split(
            x, y, test_size=self.calibration_share, stratify=y, random_state=self.seed
        )
        booster = HistGradientBoostingClassifier(
            learning_rate=0.05,
            max_iter=500,
            max_leaf_nodes=15,
            min_samples_leaf=40,
            l2_regularization=1.0,
            categorical_features="from_dtype",
            early_stopping=True,
            validation_fraction=0.15,
            n_iter_no_change=20,
            random_state=self.seed,
        ).fit(x_fit, y_fit)
        self.booster_ = booster
        self.model_ = CalibratedClassifierCV(FrozenEstimator(booster), method=self.calibration).fit(
            x_cal, y_cal
        )
        return self

    def _matrix(self, frame: pd.DataFrame) -> pd.DataFrame:
        x = frame[self.features_].copy()
        x[self.numeric_] = x[self.numeric_].astype(float)
        for column in self.categorical_:
            levels = self.pooling_[column].apply(x[column])
            x[column] = pd.Categorical(levels, categories=self.categories_[column])
        return x

    def predict_proba(self, frame: pd.DataFrame) -> np.ndarray:
        """Calibrated churn probability of each row of ``frame``."""
        with self._threads():
            return self.model_.predict_proba(self._matrix(frame))[:, 1]

    def permutation_importance(
        self, frame: pd.DataFrame, label: str = LABEL, n_repeats: int = 5, max_rows: int = 5_000
    ) -> pd.DataFrame:
        """Drop in held-out ROC-AUC when each feature is shuffled (mean and 95% range over repeats).

        Computed on at most ``max_rows`` rows of ``frame`` (a seeded sample) to bound the cost.
        """
        sample = (
            frame.sample(min(len(frame), max_rows), random_state=self.seed)
            if len(frame) > max_rows
            else frame
        )
        with self._threads():
            result = self._permutation(sample, label, n_repeats)
        table = pd.DataFrame(
            {
                "feature": self.features_,
                "label": [feature_label(f) for f in self.features_],
                "auc_drop": result.importances_mean,
                "ci_low": np.percentile(result.importances, 2.5, axis=1),
                "ci_high": np.percentile(result.importances, 97.5, axis=1),
            }
        )
        self.importance_ = table.sort_values("auc_drop", ascending=False, ignore_index=True)
        return self.importance_

    def _permutation(self, sample: pd.DataFrame, label: str, n_repeats: int):
        return permutation_importance(
            self.model_,
            self._matrix(sample),
            sample[label].astype(int),
            scoring="roc_auc",
            n_repeats=n_repeats,
            random_state=self.seed,
            n_jobs=1,
        )

    def plot_importance(self, ax: Axes | None = None, top: int = 12) -> Axes:
        """Bar chart of permutation importance (call :meth:`permutation_importance` first)."""
        table = self.importance_.head(top).iloc[::-1]
        ax = new_axes(ax, figsize=(7.5, 0.32 * len(table) + 1.4))
        errors = np.vstack([table["auc_drop"] - table["ci_low"], table["ci_high"] - table["auc_drop"]]).clip(
            0
        )
        ax.barh(range(len(table)), table["auc_drop"], xerr=errors, color=ACCENT, ecolor=NEUTRAL)
        ax.set_yticks(range(len(table)), axis_labels(table["label"]))
        ax.grid(axis="y", visible=False)
        top_label = table["label"].iloc[-1]
        return finish(
            ax,
            f"{top_label} matters most to the model's ranking of churners",
            "Drop in ROC-AUC when shuffled",
        )

    def plot_partial_dependences(self, frame: pd.DataFrame, features) -> np.ndarray:
        """Partial-dependence panels for several features side by side; returns the Axes."""
        import matplotlib.pyplot as plt

        features = list(features)
        fig, axes = plt.subplots(1, len(features), figsize=(3.9 * len(features), 3.4), layout="constrained")
        axes = np.atleast_1d(axes)
        for feature, ax in zip(features, axes, strict=True):
            self.plot_partial_dependence(frame, feature, ax=ax)
        fig.suptitle(
            "How predicted churn changes with each top driver (others as observed)",
            x=0.01,
            ha="left",
            fontweight="bold",
        )
        return axes

    def plot_partial_dependence(self, frame: pd.DataFrame, feature: str, ax: Axes | None = None) -> Axes:
        """Average predicted churn probability as one feature varies, others as observed."""
        ax = new_axes(ax, figsize=(3.8, 3.0))
        sample = frame.sample(min(len(frame), 5_000), random_state=self.seed)
        categorical = feature in self.categorical_
        matrix = self._matrix(sample)
        if not categorical:  # a missing value (e.g. no orders yet) would make the whole grid NaN
            matrix = matrix[matrix[feature].notna()]
        with self._threads():
            result = partial_dependence(
                self.model_,
                matrix,
                [feature],
                categorical_features=[feature] if categorical else None,
                grid_resolution=30,
                percentiles=(0.02, 0.98),
                kind="average",
            )
        grid, average = result["grid_values"][0], result["average"][0]
        flag = not categorical and set(np.unique(grid)) <= {0.0, 1.0}
        if categorical or flag:  # levels, or a yes/no flag, as bars rather than a line between 0 and 1
            labels = ["no" if g == 0 else "yes" for g in grid] if flag else [str(g) for g in grid]
            order = np.arange(len(grid)) if flag else np.argsort(average)
            ax.barh(range(len(order)), average[order], color=ACCENT)
            ax.set_yticks(range(len(order)), axis_labels(np.asarray(labels)[order], width=24))
            ax.xaxis.set_major_formatter(percent_formatter(1))
            ax.xaxis.set_major_locator(MaxNLocator(4))
            ax.grid(axis="y", visible=False)
            ax.tick_params(axis="y", labelsize=9)
            ax.set_title(feature_label(feature), fontsize=10)
            return finish(ax, feature_label(feature), "Average churn probability", None)
        ax.plot(grid, average, color=ACCENT, lw=2)
        ax.yaxis.set_major_formatter(percent_formatter(1))
        finish(ax, feature_label(feature), feature_label(feature), "Average churn probability")
        ax.title.set_fontsize(10)
        return ax


def classification_metrics(y_true, probability, n_boot: int = 200, seed: int = 42) -> pd.DataFrame:
    """Held-out ROC-AUC, PR-AUC, Brier score and top-decile lift, with 95% bootstrap intervals.

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
    y, p = np.asarray(y_true, dtype=int), np.asarray(probability, dtype=float)
    estimate = _metrics(y, p)
    rng = np.random.default_rng(seed)
    draws = []
    for _ in range(n_boot):
        idx = rng.integers(0, len(y), len(y))
        if 0 < y[idx].sum() < len(idx):
            draws.append(_metrics(y[idx], p[idx]))
    boot = pd.DataFrame(draws, columns=list(estimate))
    return pd.DataFrame(
        {
            "metric": list(estimate),
            "estimate": list(estimate.values()),
            "ci_low": [boot[m].quantile(0.025) if len(boot) else np.nan for m in estimate],
            "ci_high": [boot[m].quantile(0.975) if len(boot) else np.nan for m in estimate],
        }
    )


def _metrics(y: np.ndarray, p: np.ndarray) -> dict[str, float]:
    top = np.argsort(-p, kind="stable")[: max(1, len(p) // 10)]
    return {
        "roc_auc": roc_auc_score(y, p),
        "pr_auc": average_precision_score(y, p),
        "brier": brier_score_loss(y, p),
        "top_decile_lift": y[top].mean() / y.mean(),
        "base_rate": y.mean(),
    }


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


def plot_gains(y_true, probabilities: dict[str, np.ndarray], ax: Axes | None = None) -> Axes:
    """Cumulative gains curves of one or more models against random targeting."""
    ax = new_axes(ax)
    caught = {}
    for (name, p), colour in zip(probabilities.items(), PALETTE, strict=False):
        table = gains_table(y_true, p)
        ax.plot(
            np.r_[0, table["share_contacted"]],
            np.r_[0, table["share_of_churners_caught"]],
            marker="o",
            ms=3,
            color=colour,
            label=name,
        )
        caught[name] = table.loc[table["decile"] == 2, "share_of_churners_caught"].iloc[0]
    ax.plot(
        [0, 1], [0, 1], color=NEUTRAL, ls="--", label="Random targeting (20% of churners per 20% contacted)"
    )
    ax.xaxis.set_major_formatter(percent_formatter())
    ax.yaxis.set_major_formatter(percent_formatter())
    ax.legend(frameon=False, loc="lower right")
    best = max(caught, key=caught.get)
    return finish(
        ax,
        f"Contacting the riskiest 20% would reach {caught[best]:.0%} of churners ({best.lower()})",
        "Share of customers contacted, highest risk first",
        "Share of churners reached",
    )


def plot_calibration(
    y_true, probabilities: dict[str, np.ndarray], ax: Axes | None = None, bins: int = 10
) -> Axes:
    """Reliability diagram: observed churn rate against predicted probability (quantile bins)."""
    ax = new_axes(ax)
    top, worst = 0.0, {}
    for (name, p), colour in zip(probabilities.items(), PALETTE, strict=False):
        observed, predicted = calibration_curve(np.asarray(y_true, int), p, n_bins=bins, strategy="quantile")
        ax.plot(predicted, observed, marker="o", ms=4, color=colour, label=name)
        top = max(top, predicted.max(), observed.max())
        worst[name] = float(np.abs(observed - predicted).max())
    ax.plot([0, top], [0, top], color=NEUTRAL, ls="--", label="Perfect calibration")
    ax.xaxis.set_major_formatter(percent_formatter(0))
    ax.yaxis.set_major_formatter(percent_formatter(0))
    ax.legend(frameon=False, loc="upper left")
    best = min(worst, key=worst.get)
    title = (
        f"{best}: predicted probabilities within {100 * worst[best]:.1f} percentage points of observed churn in every decile"
        if worst[best] < 0.05
        else f"Predicted probabilities miss observed churn by up to {100 * worst[best]:.1f} percentage points in some deciles"
    )
    return finish(
        ax, title, "Predicted churn probability (mean of a decile of customers)", "Observed churn rate"
    )

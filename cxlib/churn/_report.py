"""Tables for the churn report, built from fitted models: held-out comparison, retention, scores, risk.

The churn notebook calls these (and the sentences of :mod:`cxlib.churn._findings`) so that it holds
no data wrangling and no branching of its own: which customers to compare, which grouping to use
when an earlier notebook did not run, which flag to follow after the cut-off are decided here.
Numbers are returned as plain tables (for the run folder and for sentences); ``format_*`` turn
them into readable tables for the report.

Examples
--------
>>> drivers = ChurnDrivers.from_config(config).fit(panel.frame, panel.numeric, panel.categorical)  # doctest: +SKIP
>>> format_ratios(drivers, top=10, rows=drivers.driver_table())  # doctest: +SKIP
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from cxlib.churn._models import ChurnDrivers, ChurnPredictor, bootstrap_metrics
from cxlib.churn._panel import LABEL, ChurnPanel, train_test_panels
from cxlib.churn._retention import RetentionCurves
from cxlib.churn._shared import lifetime_fit
from cxlib.churn._survival import ChurnHazards, RemainingLifetime
from cxlib.data._config import Config
from cxlib.data._load import CustomerData
from cxlib.features._lifetimes import lifetime_table
from cxlib.features._time import DAYS_PER_MONTH
from cxlib.report._messages import group_label, variable_label
from cxlib.report._summary import format_summary
from cxlib.stats._notes import Note
from cxlib.stats._suppression import suppress_small

#: Names of the two models compared on held-out customers, as the report shows them.
LOGISTIC = "Logistic regression"
BOOSTING = "Gradient boosting"

METRIC_NAMES = {
    "roc_auc": "ROC-AUC",
    "pr_auc": "PR-AUC (average precision)",
    "brier": "Brier score (lower is better)",
    "top_decile_lift": "Top-decile lift",
    "base_rate": "Churn rate in the test set",
}


def _interval(estimate: float, low: float, high: float, digits: int = 2) -> str:
    if np.isnan(low):
        return f"{estimate:.{digits}f}"
    return f"{estimate:.{digits}f} ({low:.{digits}f}–{high:.{digits}f})"


def format_ratios(model, top: int = 15, rows: pd.DataFrame | None = None) -> pd.DataFrame:
    """Readable table of a ratio model (odds, hazard or time ratios) under the driver headers.

    :func:`cxlib.report.format_summary` with "Driver" and "Compared with" as headers: driver,
    comparison, ratio with its interval (the header names both, e.g. "Odds ratio (95% confidence
    interval)"), p-value and Holm-adjusted p-value.

    Parameters
    ----------
    model : ChurnDrivers, ChurnHazards or RemainingLifetime
        Fitted.
    top : int
        Rows shown.
    rows : DataFrame, optional
        The rows to show in order instead of the model's ``summary_``, e.g.
        ``drivers.driver_table()`` (strongest driver first).
    """
    return format_summary(model, top, rows=rows, label_name="Driver", unit_name="Compared with")


def compare_models(
    y_true, probabilities: dict[str, np.ndarray], n_boot: int = 200, seed: int = 42
) -> pd.DataFrame:
    """Held-out metrics of several models side by side, each with a 95% bootstrap interval.

    Returns
    -------
    DataFrame
        Long format: model, metric, estimate, ci_low, ci_high.
    """
    # one set of seeded draws for all models: each table equals classification_metrics' of its model
    tables = bootstrap_metrics(y_true, probabilities, n_boot=n_boot, seed=seed)
    parts = [table.assign(model=name) for name, table in tables.items()]
    return pd.concat(parts, ignore_index=True)


def format_metrics(metrics: pd.DataFrame) -> pd.DataFrame:
    """Wide, readable version of :func:`compare_models` (rows: metric, columns: model)."""
    text = metrics.assign(
        value=[
            _interval(e, lo, hi, 3)
            for e, lo, hi in zip(metrics["estimate"], metrics["ci_low"], metrics["ci_high"], strict=True)
        ],
        metric=metrics["metric"].map(METRIC_NAMES),
    )
    wide = text.pivot(index="metric", columns="model", values="value")
    return wide.reindex([METRIC_NAMES[m] for m in METRIC_NAMES]).rename_axis(index=None, columns=None)


def format_retention(summary: pd.DataFrame) -> pd.DataFrame:
    """Readable Kaplan–Meier summary: customers, churned, median lifetime and retention with intervals.

    Rows are named by :func:`cxlib.report.group_label` ("With unresolved complaint" for the
    customers with a yes/no flag).
    """
    out = pd.DataFrame(index=retention_labels(summary))
    column = summary["group_col"].iloc[0] if "group_col" in summary and len(summary) else None
    out.columns.name = variable_label(column)  # every group is named with its variable (header corner)
    out["Customers"] = [f"{n:,}" for n in summary["customers"]]
    out["Churned"] = [f"{n:,}" for n in summary["churned"]]
    out["Median lifetime, months (95% CI)"] = [
        _median_text(m, lo, hi)
        for m, lo, hi in zip(
            summary["median_months"], summary["median_ci_low"], summary["median_ci_high"], strict=True
        )
    ]
    for column in [c for c in summary.columns if c.startswith("retention_") and c.count("_") == 1]:
        if summary[column].isna().all():  # follow-up too short for this horizon: no empty column
            continue
        months = column.split("_")[1][:-1]
        out[f"Still a customer after {months} months (95% CI)"] = [
            "–" if np.isnan(e) else f"{e:.0%} ({lo:.0%}–{hi:.0%})"
            for e, lo, hi in zip(
                summary[column], summary[f"{column}_low"], summary[f"{column}_high"], strict=True
            )
        ]
    return out


def retention_labels(summary: pd.DataFrame) -> list[str]:
    """The reader's name of each group of a :class:`RetentionCurves` ``summary_``, in its order.

    A table without ``group_col`` and ``flag`` columns names each group by itself.

    Examples
    --------
    >>> summary = pd.DataFrame({"group": ["1", "0"], "group_col": "long_wait", "flag": True})
    >>> retention_labels(summary)
    ['With long support wait', 'Without long support wait']
    """
    columns = summary["group_col"] if "group_col" in summary else [None] * len(summary)
    flags = summary["flag"] if "flag" in summary else [False] * len(summary)
    return [
        group_label(group, column, flag)
        for group, column, flag in zip(summary["group"], columns, flags, strict=True)
    ]


def _median_text(median: float, low: float, high: float) -> str:
    if np.isinf(median):
        return f"not reached (> {low:.0f})" if np.isfinite(low) else "not reached"
    high_text = "not reached" if np.isinf(high) else f"{high:.0f}"
    return f"{median:.0f} ({low:.0f}–{high_text})"


def format_hazards(hazards: ChurnHazards, top: int = 15) -> pd.DataFrame:
    """Readable Cox table: :func:`format_ratios` of hazard ratios plus the proportional-hazards test.

    Parameters
    ----------
    hazards : ChurnHazards
        Fitted.
    top : int
        Rows shown, in the summary's order (most significant first).
    """
    return format_ratios(hazards, top=top).assign(
        **{"PH test p-value": hazards.summary_["ph_p_value"].head(top).map("{:.3f}".format).to_numpy()}
    )


def top_driver(drivers: ChurnDrivers, candidates: list[str], exclude=()) -> str | None:
    """Highest-ranked driver among ``candidates`` (e.g. categorical features or 0/1 flags), or None."""
    ranked = [d for d in drivers.drivers_["driver"] if d in candidates and d not in exclude]
    return ranked[0] if ranked else None


def flags(panel: ChurnPanel) -> list[str]:
    """The panel's yes/no features (experience flags such as an unresolved complaint)."""
    return [c for c in panel.numeric if set(np.unique(panel.frame[c].dropna())) <= {0.0, 1.0}]


@dataclass(frozen=True)
class Retention:
    """Retention curves by one grouping, with what the report needs to say how they were built.

    Attributes
    ----------
    curves : RetentionCurves
        Fitted Kaplan–Meier curves.
    group_col : str or None
        The grouping column (``segment_name``, a driver, or None: all customers together).
    lifetimes : DataFrame
        Every customer's observed lifetime (:func:`cxlib.features.lifetime_table`) with the
        customer attributes and, when segmentation ran in this run, ``segment_name``.
    after_cutoff : bool
        True: follow-up after the cut-off (months since it); False: whole tenure (months since signup).
    segments_missing : bool
        True when customers were to be grouped by segment but notebook 01 produced no segments
        in this run, so ``group_col`` is a driver instead (the report says so).
    """

    curves: RetentionCurves
    group_col: str | None
    lifetimes: pd.DataFrame
    after_cutoff: bool = False
    segments_missing: bool = False


def retention_groups(
    data: CustomerData,
    panel: ChurnPanel,
    drivers: ChurnDrivers,
    segments: pd.DataFrame | None,
    config: Config,
) -> Retention:
    """Retention over tenure by segment, or by the strongest customer attribute when there are no segments.

    Parameters
    ----------
    data : CustomerData
    panel : ChurnPanel
        Gives the churn design and the categorical drivers.
    drivers : ChurnDrivers
        Fitted; ranks the customer attributes when segments are missing.
    segments : DataFrame or None
        The run's ``segments`` table (``load_table(run_dir, "segments", required=False)``); None
        when the segmentation notebook did not run in this run.
    config : Config
        Builds the curves (:meth:`RetentionCurves.from_config`).

    Returns
    -------
    Retention
        ``segments_missing`` is True when ``segments`` is None, so the report can state what it used.

    Examples
    --------
    >>> by_group = retention_groups(data, panel, drivers, None, config)  # doctest: +SKIP
    >>> by_group.group_col, by_group.segments_missing  # doctest: +SKIP
    ('plan', True)
    """
    lifetimes = lifetime_table(data, panel.design.rule, panel.design.as_of, attributes=panel.categorical)
    if segments is not None:
        names = segments.drop_duplicates("customer_id").set_index("customer_id")["segment_name"]
        lifetimes["segment_name"] = lifetimes["customer_id"].map(names).fillna("Not segmented").to_numpy()
    group_col = "segment_name" if segments is not None else top_driver(drivers, panel.categorical)
    curves = RetentionCurves.from_config(config).fit(lifetimes, group_col=group_col)
    return Retention(curves, group_col, lifetimes, segments_missing=segments is None)


def key_driver_curves(
    panel: ChurnPanel, drivers: ChurnDrivers, by_group: Retention, config: Config
) -> Retention:
    """Retention by the strongest experience flag (after the cut-off) or else the next categorical driver.

    A flag measured at the cut-off is only compared over the follow-up after it (comparing whole
    lifetimes would credit long-lived customers with more time to collect complaints), with
    retention reported at half and all of the label window. A customer attribute that does not
    change is compared over whole lifetimes, skipping the one ``by_group`` already shows.

    Parameters
    ----------
    panel : ChurnPanel
    drivers : ChurnDrivers
        Fitted; ranks the flags and attributes.
    by_group : Retention
        From :func:`retention_groups`: its lifetimes, and its grouping (not repeated).
    config : Config
        Builds the curves (:meth:`RetentionCurves.from_config`).

    Returns
    -------
    Retention
    """
    flag = top_driver(drivers, flags(panel)) if panel.design.dated else None
    if flag is not None:
        months = panel.design.window_days / DAYS_PER_MONTH
        curves = RetentionCurves.from_config(config, horizons=(round(months / 2), int(months)))
        curves.fit(panel.frame, duration_col="followup_months", group_col=flag)
        return Retention(curves, flag, by_group.lifetimes, after_cutoff=True)
    attributes = [c for c in panel.categorical if c in by_group.lifetimes]
    driver = top_driver(drivers, attributes, exclude=[by_group.group_col])
    curves = RetentionCurves.from_config(config).fit(by_group.lifetimes, group_col=driver)
    return Retention(curves, driver, by_group.lifetimes)


@dataclass(frozen=True)
class HeldOutEvaluation:
    """Two churn models trained on one panel and scored on customers they never saw.

    Attributes
    ----------
    split : Note
        How train and test were chosen (from :func:`cxlib.churn.train_test_panels`; worded by
        :func:`cxlib.report.render`).
    train, test : DataFrame
        The training and test panels.
    models : dict
        :data:`LOGISTIC` -> fitted :class:`ChurnDrivers` (for its predictions only:
        ``describe=False``), :data:`BOOSTING` -> fitted
        :class:`ChurnPredictor`, in that order.
    probabilities : dict
        Model name -> churn probability of each test customer.
    metrics : DataFrame
        :func:`compare_models` of the test customers: model, metric, estimate, ci_low, ci_high.
    """

    split: Note
    train: pd.DataFrame
    test: pd.DataFrame
    models: dict
    probabilities: dict[str, np.ndarray]
    metrics: pd.DataFrame

    @property
    def y_true(self) -> pd.Series:
        """Whether each test customer churned."""
        return self.test[LABEL]

    def estimate(self, model: str, metric: str) -> float:
        """One held-out metric of one model, e.g. ``estimate("Gradient boosting", "roc_auc")``."""
        return float(self.metrics.set_index(["model", "metric"]).loc[(model, metric), "estimate"])

    @property
    def best_model(self) -> str:
        """The model with the highest held-out ROC-AUC (the first one on a tie)."""
        return max(self.probabilities, key=lambda name: self.estimate(name, "roc_auc"))


def held_out_evaluation(
    data: CustomerData, config: Config, panel: ChurnPanel, n_boot: int = 200
) -> HeldOutEvaluation:
    """Train logistic regression and gradient boosting, and test them on held-out customers.

    The split is out-of-time when churn has dates (see :func:`cxlib.churn.train_test_panels`);
    both models are built from the config, and metrics carry 95% bootstrap intervals seeded by it.

    Parameters
    ----------
    data : CustomerData
    config : Config
    panel : ChurnPanel
        The panel at the cut-off (the test customers of an out-of-time split).
    n_boot : int
        Bootstrap resamples for the metric intervals.

    Returns
    -------
    HeldOutEvaluation

    Examples
    --------
    >>> evaluation = held_out_evaluation(data, config, panel)  # doctest: +SKIP
    >>> evaluation.estimate("Gradient boosting", "roc_auc")  # doctest: +SKIP
    0.57
    """
    train, test, split = train_test_panels(data, config, panel)
    models = {
        # only its predictions are reported: no ratios, curves or stability checks
        LOGISTIC: ChurnDrivers.from_config(config).fit(
            train, panel.numeric, panel.categorical, describe=False
        ),
        BOOSTING: ChurnPredictor.from_config(config).fit(train, panel.numeric, panel.categorical),
    }
    probabilities = {name: model.predict_proba(test) for name, model in models.items()}
    metrics = compare_models(test[LABEL], probabilities, n_boot=n_boot, seed=config.seed)
    return HeldOutEvaluation(split, train, test, models, probabilities, metrics)


def churn_scores(
    current: pd.DataFrame, predictor: ChurnPredictor, lifetime: RemainingLifetime
) -> pd.DataFrame:
    """Per-customer output for later notebooks: churn probability and expected remaining lifetime."""
    return pd.DataFrame(
        {
            "customer_id": current["customer_id"].to_numpy(),
            "churn_probability": predictor.predict_proba(current),
            "expected_remaining_lifetime_months": lifetime.predict(current),
        }
    )


def risk_bands(scores: pd.DataFrame, min_group_size: int = 10) -> pd.DataFrame:
    """Customers by churn-risk band (aggregates only).

    Bands smaller than ``min_group_size`` are blanked (size, share and averages) by complementary
    suppression (:func:`cxlib.stats._suppression.suppress_small`).
    """
    bands = pd.cut(
        scores["churn_probability"],
        [0, 0.1, 0.25, 0.5, 1.0],
        include_lowest=True,
        labels=["Low (< 10%)", "Moderate (10–25%)", "High (25–50%)", "Very high (≥ 50%)"],
    )
    table = scores.groupby(bands, observed=False).agg(
        customers=("customer_id", "size"),
        mean_churn_probability=("churn_probability", "mean"),
        mean_remaining_lifetime_months=("expected_remaining_lifetime_months", "mean"),
    )
    table["share_of_customers"] = table["customers"] / table["customers"].sum()
    # small bands are blanked (size, share and averages) with enough others (complementary) that the
    # totals and overall means quoted in the report cannot give them back, as in every other table
    return suppress_small(table, "customers", min_group_size).rename_axis("Churn risk")


def format_risk_bands(table: pd.DataFrame, horizon_months: int) -> pd.DataFrame:
    """Readable risk-band table."""
    return pd.DataFrame(
        {
            "Customers": ["–" if np.isnan(n) else f"{n:,.0f}" for n in table["customers"]],
            "Share": ["–" if np.isnan(s) else f"{s:.0%}" for s in table["share_of_customers"]],
            "Mean churn probability": [
                "–" if np.isnan(p) else f"{p:.0%}" for p in table["mean_churn_probability"]
            ],
            f"Expected months as a customer (of the next {horizon_months})": [
                "–" if np.isnan(m) else f"{m:.1f}" for m in table["mean_remaining_lifetime_months"]
            ],
        },
        index=table.index.astype(str),
    ).rename_axis(index=None, columns=table.index.name)  # one header row


#: Columns of the saved ``churn_drivers`` table, in order: later notebooks read them by name.
DRIVER_TABLE_COLUMNS = [
    "driver",
    "term",
    "label",
    "unit",
    "unit_kind",
    "unit_scale",
    "unit_reference",
    "odds_ratio",
    "or_ci_low",
    "or_ci_high",
    "or_p_value",
    "p_holm",
    "vif",
    "driver_rank",
    "hazard_ratio",
    "hr_ci_low",
    "hr_ci_high",
    "hr_p_value",
    "ph_p_value",
    "unstable",
    "agrees_with_raw",
]


def driver_table(drivers: ChurnDrivers, hazards: ChurnHazards) -> pd.DataFrame:
    """The driver table for later notebooks: odds ratios (logistic) and hazard ratios (Cox) per term.

    Returns
    -------
    DataFrame
        One row per logistic term, ranked by driver, with :data:`DRIVER_TABLE_COLUMNS` only (so the
        saved table keeps its columns whatever else the models' summaries carry). A spline
        driver's row (``unit_kind`` "curve") has no hazard ratio: the Cox model's is per SD.
        ``unstable`` and ``agrees_with_raw`` say whether a reader may quote the ratio (the
        executive summary, like this report, quotes only stable ones that agree with the raw rates).
    """
    odds = drivers.driver_table()
    cox = hazards.summary_.set_index("term")[["estimate", "ci_low", "ci_high", "p_value", "ph_p_value"]]
    cox.columns = ["hazard_ratio", "hr_ci_low", "hr_ci_high", "hr_p_value", "ph_p_value"]
    # the saved names, from the standard columns (the summaries' alias columns hold the same values)
    table = odds.drop(columns=["odds_ratio", "p_holm"]).rename(
        columns={
            "estimate": "odds_ratio",
            "ci_low": "or_ci_low",
            "ci_high": "or_ci_high",
            "p_value": "or_p_value",
            "p_adjusted": "p_holm",
        }
    )
    table = table.merge(cox, left_on="term", right_index=True, how="left")
    # a curve's row compares two points of the curve; the Cox model's term of that driver is per SD
    table.loc[table["unit_kind"] == "curve", list(cox.columns)] = np.nan
    return table[DRIVER_TABLE_COLUMNS]


@dataclass(frozen=True)
class CurrentRisk:
    """Today's customers scored by models refitted on the latest panel (:func:`current_risk`).

    Attributes
    ----------
    scores : DataFrame
        :func:`churn_scores`: churn probability and expected remaining lifetime per customer.
    bands : DataFrame
        :func:`risk_bands` of the scores (small bands suppressed).
    predictor : ChurnPredictor
        Fitted on the whole panel, or above :data:`REFIT_ROWS` the evaluation's (see :func:`current_risk`).
    lifetime_model : RemainingLifetime
        Fitted on the whole panel; its caveats state the horizon and the Weibull assumption.
    horizon_months : int
        ``analysis.horizon_months``: remaining lifetime counts at most this far ahead.
    """

    scores: pd.DataFrame
    bands: pd.DataFrame
    predictor: ChurnPredictor
    lifetime_model: RemainingLifetime
    horizon_months: int


#: Panel customers above which :func:`current_risk` reuses the held-out evaluation's booster (or
#: its settings) instead of choosing and fitting a new one on the panel.
REFIT_ROWS = 100_000


def current_risk(
    data: CustomerData, panel: ChurnPanel, config: Config, evaluation: HeldOutEvaluation | None = None
) -> CurrentRisk:
    """Refit boosting and the remaining-lifetime model on the panel and score today's customers.

    Features are read at the as-of date (:func:`cxlib.churn.scoring_features`); the remaining-lifetime
    model and that scoring table come from :func:`cxlib.churn.lifetime_fit` (fitted once per run and
    saved in the run data, where notebooks 04 and 05 read them back); the bands use the
    config's ``analysis.min_group_size``. Up to :data:`REFIT_ROWS` panel customers (or without
    ``evaluation``) the boosting is chosen and fitted afresh on the whole panel (the latest
    labelled customers). Above it, given the held-out ``evaluation``:

    - out-of-time split (the panel is the evaluation's test set): the evaluation's booster is
      reused, not refitted, and only its calibration is refitted on the panel
      (:meth:`ChurnPredictor.recalibrated`, caveat ``predictor.recalibrated``). The scores then
      rest on the very model whose held-out performance the report shows; it learned from the
      customers one label window before the panel's, and its probabilities match the panel's
      churn rate. One full-size boosting fit (and the choice of settings) is saved.
    - random split (the booster saw part of the panel): refitted on the panel with the settings
      the evaluation chose, not chosen again (caveat ``predictor.settings_reused``).

    What reusing costs is measured in ``benchmarks/RESULTS-churn.md`` (scores of the reused
    and of the refitted booster compared on the same customers).

    Parameters
    ----------
    data : CustomerData
    panel : ChurnPanel
    config : Config
    evaluation : HeldOutEvaluation, optional
        From :func:`held_out_evaluation`; None: the settings are chosen afresh.

    Examples
    --------
    >>> risk = current_risk(data, panel, config, evaluation)  # doctest: +SKIP
    >>> format_risk_bands(risk.bands, risk.horizon_months)  # doctest: +SKIP
    """
    large = evaluation is not None and len(panel.frame) > REFIT_ROWS
    if large and evaluation.split.code == "split.out_of_time":
        # the panel is the evaluation's test set: the booster never saw it
        predictor = evaluation.models[BOOSTING].recalibrated(panel.frame)
    else:
        params = {"tuning": evaluation.models[BOOSTING].tuning_} if large else {}
        predictor = ChurnPredictor.from_config(config, **params).fit(
            panel.frame, panel.numeric, panel.categorical
        )
    lifetime = lifetime_fit(data, config, panel)  # saved in the run: notebooks 04 and 05 read it back
    scores = churn_scores(lifetime.current, predictor, lifetime.model)
    bands = risk_bands(scores, config.analysis["min_group_size"])
    return CurrentRisk(scores, bands, predictor, lifetime.model, config.analysis["horizon_months"])

"""Tables and sentences for the churn notebook: formatted ratios, model comparison, scores, risk bands.

Everything here is presentation over fitted models from :mod:`cxlib.churn._models` and
:mod:`cxlib.churn._survival`; the notebook calls these so that it holds no data wrangling of its own.

Examples
--------
>>> format_ratios(drivers.driver_table(), "odds_ratio", top=10)  # doctest: +SKIP
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from cxlib.churn._models import ChurnDrivers, ChurnPredictor, classification_metrics
from cxlib.churn._panel import ChurnPanel
from cxlib.churn._survival import ChurnHazards, RemainingLifetime, RetentionCurves
from cxlib.features._time import DAYS_PER_MONTH
from cxlib.report._safe_text import md_text
from cxlib.stats._design import feature_label
from cxlib.stats._suppression import suppress_small

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


def _p_value(p: float) -> str:
    return "< 0.001" if p < 0.001 else f"{p:.3f}"


def format_ratios(table: pd.DataFrame, estimate: str, top: int = 15) -> pd.DataFrame:
    """Readable table of odds or hazard ratios: driver, comparison, ratio (95% interval), p-value."""
    name = "Odds ratio" if estimate == "odds_ratio" else "Hazard ratio"
    rows = table.head(top)
    return (
        pd.DataFrame(
            {
                "Driver": rows["label"].to_numpy(),
                "Compared with": rows["unit"].to_numpy(),
                f"{name} (95% CI)": [
                    _interval(e, lo, hi)
                    for e, lo, hi in zip(rows[estimate], rows["ci_low"], rows["ci_high"], strict=True)
                ],
                "p-value": [_p_value(p) for p in rows["p_value"]],
                "p (Holm)": [_p_value(p) for p in rows["p_holm"]],
            }
        )
        .set_index("Driver")
        .rename_axis(index=None, columns="Driver")
    )  # one header row


def compare_models(
    y_true, probabilities: dict[str, np.ndarray], n_boot: int = 200, seed: int = 42
) -> pd.DataFrame:
    """Held-out metrics of several models side by side, each with a 95% bootstrap interval.

    Returns
    -------
    DataFrame
        Long format: model, metric, estimate, ci_low, ci_high.
    """
    parts = [
        classification_metrics(y_true, p, n_boot=n_boot, seed=seed).assign(model=name)
        for name, p in probabilities.items()
    ]
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
    """Readable Kaplan–Meier summary: customers, churned, median lifetime and retention with intervals."""
    out = pd.DataFrame(index=summary["group"].to_numpy())
    out["Customers"] = [f"{n:,}" for n in summary["customers"]]
    out["Churned"] = [f"{n:,}" for n in summary["churned"]]
    out["Median lifetime, months (95% CI)"] = [
        _median_text(m, lo, hi)
        for m, lo, hi in zip(
            summary["median_months"], summary["median_ci_low"], summary["median_ci_high"], strict=True
        )
    ]
    for column in [c for c in summary.columns if c.startswith("retention_") and c.count("_") == 1]:
        months = column.split("_")[1][:-1]
        out[f"Still a customer after {months} months (95% CI)"] = [
            "–" if np.isnan(e) else f"{e:.0%} ({lo:.0%}–{hi:.0%})"
            for e, lo, hi in zip(
                summary[column], summary[f"{column}_low"], summary[f"{column}_high"], strict=True
            )
        ]
    return out


def _median_text(median: float, low: float, high: float) -> str:
    if np.isinf(median):
        return f"not reached (> {low:.0f})" if np.isfinite(low) else "not reached"
    high_text = "not reached" if np.isinf(high) else f"{high:.0f}"
    return f"{median:.0f} ({low:.0f}–{high_text})"


def top_driver(drivers: ChurnDrivers, candidates: list[str], exclude=()) -> str | None:
    """Highest-ranked driver among ``candidates`` (e.g. categorical features or 0/1 flags), or None."""
    ranked = [d for d in drivers.drivers_["driver"] if d in candidates and d not in exclude]
    return ranked[0] if ranked else None


def flags(panel: ChurnPanel) -> list[str]:
    """The panel's yes/no features (experience flags such as an unresolved complaint)."""
    return [c for c in panel.numeric if set(np.unique(panel.frame[c].dropna())) <= {0.0, 1.0}]


def key_driver_curves(
    panel: ChurnPanel, lifetimes: pd.DataFrame, drivers: ChurnDrivers, exclude=(), min_group_size: int = 10
) -> tuple[RetentionCurves, str, str]:
    """Retention by the strongest experience flag (after the cut-off) or else the next categorical driver.

    A flag measured at the cut-off is only compared over the follow-up after it (comparing whole
    lifetimes would credit long-lived customers with more time to collect complaints). A
    customer attribute that does not change is compared over whole lifetimes.

    Returns
    -------
    curves : RetentionCurves
    driver : str
    xlabel : str
    """
    flag = top_driver(drivers, flags(panel)) if panel.design.dated else None
    if flag is not None:
        months = panel.design.window_days / DAYS_PER_MONTH
        curves = RetentionCurves(min_group_size=min_group_size, horizons=(round(months / 2), int(months)))
        curves.fit(panel.frame, duration_col="followup_months", group_col=flag)
        return curves, flag, "Months after the cut-off"
    driver = top_driver(drivers, [c for c in panel.categorical if c in lifetimes], exclude)
    curves = RetentionCurves(min_group_size=min_group_size).fit(lifetimes, group_col=driver)
    return curves, driver, "Tenure (months)"


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


def driver_table(drivers: ChurnDrivers, hazards: ChurnHazards) -> pd.DataFrame:
    """The driver table for later notebooks: odds ratios (logistic) and hazard ratios (Cox) per term."""
    odds = drivers.driver_table()
    cox = hazards.summary_.set_index("term")[["hazard_ratio", "ci_low", "ci_high", "p_value", "ph_p_value"]]
    cox.columns = ["hazard_ratio", "hr_ci_low", "hr_ci_high", "hr_p_value", "ph_p_value"]
    table = odds.rename(columns={"ci_low": "or_ci_low", "ci_high": "or_ci_high", "p_value": "or_p_value"})
    return table.merge(cox, left_on="term", right_index=True, how="left")


def strongest_sentence(drivers: ChurnDrivers) -> str:
    """One sentence naming the three best-evidenced drivers with their odds ratios (Markdown).

    Driver names, category levels and reference levels come from the data and are escaped with
    :func:`cxlib.report._safe_text.md_text`.
    """
    table = drivers.driver_table()
    parts = []
    for driver in drivers.drivers_["driver"].head(3):
        row = table.loc[table["driver"] == driver].iloc[0]
        parts.append(
            f"{md_text(feature_label(row['term']))} ({md_text(row['unit'])}: odds ratio {row['odds_ratio']:.2f})"
        )
    return (
        "Ranked by the strength of evidence (the joint test of all their terms), the drivers most clearly "
        "linked to churn are " + ", ".join(parts[:-1]) + f" and {parts[-1]}."
    )


def largest_clear_effect(table: pd.DataFrame, estimate: str = "odds_ratio", alpha: float = 0.05) -> pd.Series:
    """The contrast with the largest effect among those that are clearly not chance.

    Only yes/no and category contrasts compete (a ratio "per standard deviation" is on another
    scale and cannot be compared with them); "clearly" means a Holm-adjusted p-value below
    ``alpha``. The effect size is ``|log(ratio)|``, so halving and doubling count the same. When
    no contrast qualifies, the first row of ``table`` (the best-evidenced term) is returned.

    Parameters
    ----------
    table : DataFrame
        A model summary with ``unit``, ``p_holm`` and the ``estimate`` column (odds or hazard ratios).
    """
    contrasts = table[~table["unit"].str.startswith("per ") & (table["p_holm"] < alpha)]
    if contrasts.empty:
        return table.iloc[0]
    return contrasts.loc[np.log(contrasts[estimate]).abs().idxmax()]


def effect_sentence(row: pd.Series, estimate: str = "odds_ratio") -> str:
    """E.g. 'Unresolved complaint (yes vs no) goes with 1.96 times the odds of churning (95% CI 1.70–2.26)'.

    Markdown: the label and the unit (which name levels from the data) are escaped with
    :func:`cxlib.report._safe_text.md_text`.
    """
    what = "odds of churning" if estimate == "odds_ratio" else "monthly hazard of leaving"
    return (
        f"{md_text(row['label'])} ({md_text(row['unit'])}) goes with {row[estimate]:.2f} times the {what} "
        f"(95% CI {row['ci_low']:.2f}–{row['ci_high']:.2f})"
    )


def effect_headline(table: pd.DataFrame, estimate: str = "odds_ratio", alpha: float = 0.05) -> str:
    """:func:`effect_sentence` of :func:`largest_clear_effect`, saying which kind of pick it is."""
    row = largest_clear_effect(table, estimate, alpha)
    clear_contrast = not str(row["unit"]).startswith("per ") and row["p_holm"] < alpha
    kind = "the largest clear effect" if clear_contrast else "the driver with the strongest evidence"
    return f"{effect_sentence(row, estimate)}, {kind}"

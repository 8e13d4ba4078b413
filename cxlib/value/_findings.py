"""The customer-value report's findings: plain sentences with their numbers, the headline and key figures."""

from __future__ import annotations

import numpy as np

from cxlib.report import md_text, variable_label
from cxlib.value._report import (
    MODEL_NAMES,
    _compared_with,
    _money_ci,
    _shown_groups,
    holdout_totals,
    rounded_money,
    term_phrase,
)
from cxlib.value._study import ValueStudy


def _rounded(count: float) -> str:
    """A forecast count to three significant figures (12,345.6 -> 12,300)."""
    if abs(count) < 1000:
        return f"{count:,.0f}"
    digits = int(np.floor(np.log10(abs(count)))) - 2
    return f"{round(count, -digits):,.0f}"


def describe_findings(study: ValueStudy) -> str:
    """Three to five sentences with their numbers and intervals, for the top of the summary and the index."""
    fmt = rounded_money(md_text(study.settings["currency"]))
    lines = []
    if study.value is not None:
        total = study.by_group["all"].iloc[0]
        lines.append(
            f"- The {int(total['customers']):,} customers with a purchase are worth "
            f"{_money_ci(study, total['total'], total['total_low'], total['total_high'])} in margin over "
            f"{study.settings['horizon_months']} months, {fmt(total['mean'])} per customer."
        )
        best = _best_group(study)
        if best is not None:
            variable, row = best
            lines.append(
                f"- By {variable_label(variable).lower()}, **{md_text(row['group'])}** is worth most per customer: "
                f"{fmt(row['mean'])} (95% interval {fmt(row['mean_low'])} to {fmt(row['mean_high'])})."
            )
        values = study.value.table["clv"].sort_values(ascending=False)
        top = values.iloc[: max(1, int(round(0.2 * len(values))))].sum() / values.sum()
        lines.append(f"- The most valuable 20% of customers hold {top:.0%} of the value.")
        if study.holdout is not None:
            totals = holdout_totals(study).set_index("model")
            if study.chosen in totals.index:
                t = totals.loc[study.chosen]
                lines.append(
                    f"- Checked on the {study.settings['holdout_months']} months it did not see, "
                    f"{MODEL_NAMES[study.chosen]}'s forecast of repeat purchases was {abs(t['error_pct']):.0f}% "
                    f"{'too low' if t['error_pct'] < 0 else 'too high'} ({_rounded(t['expected_total'])} forecast, "
                    f"{t['actual_total']:,.0f} made)."
                )
    if study.covariates is not None:
        summary = study.covariates.summary_
        rows = summary.loc[summary["term"].str.startswith("dropout:") & (summary["p_adjusted"] < 0.05)]
        if len(rows):
            row = rows.sort_values("p_adjusted").iloc[0]
            reference = _compared_with(study, row["term"]) or "customers without it"
            lines.append(
                f"- Customers with {md_text(term_phrase(study, row['term']))} stop buying at {row['estimate']:.2f} "
                f"times the rate of {md_text(reference)} (95% CI {row['ci_low']:.2f} to {row['ci_high']:.2f}; an "
                "association, not a proven cause)."
            )
    if study.subscription is not None and study.subscription_value.settings["revenue_source"] is None:
        total = study.subscription_by_group["all"].iloc[0]
        lines.append(
            f"- From the survival model, an active subscriber is expected to stay {total['mean']:,.1f} discounted "
            f"months of the next {study.settings['horizon_months']} (95% interval {total['mean_low']:,.1f} to "
            f"{total['mean_high']:,.1f}); the data give no revenue per month to turn it into money."
        )
    elif study.subscription is not None:
        total = study.subscription_by_group["all"].iloc[0]
        lines.append(
            f"- From the survival model, which knows who has cancelled, the {int(total['customers']):,} active "
            f"subscribers are worth {fmt(total['total'])} in margin over {study.settings['horizon_months']} months "
            f"(95% interval {fmt(total['total_low'])} to {fmt(total['total_high'])}), {fmt(total['mean'])} each."
        )
    if not lines:
        return "- No customer could be valued: " + (
            "the data have no transactions and churn is not contractual."
            if "transactional" in study.unavailable
            else "too few customers bought more than once."
        )
    return "\n".join(lines)


def _best_group(study: ValueStudy):
    for variable in ("segment_name", "plan", "acquisition_channel"):
        if variable in study.by_group and len(study.by_group[variable]) > 1:
            shown = _shown_groups(study, variable)
            if len(shown) > 1:
                return variable, shown.sort_values("mean", ascending=False).iloc[0]
    return None


def value_headline(study: ValueStudy) -> str:
    """One plain sentence for the report index."""
    fmt = rounded_money(md_text(study.settings["currency"]))
    if study.value is not None:
        total = study.by_group["all"].iloc[0]
        return (
            f"Customers are worth {fmt(total['total'])} in margin over the next {study.settings['horizon_months']} "
            f"months (95% interval {fmt(total['total_low'])} to {fmt(total['total_high'])})."
        )
    if study.subscription is not None and study.subscription_value.settings["revenue_source"] is None:
        total = study.subscription_by_group["all"].iloc[0]
        return (
            f"An active subscriber is expected to stay {total['mean']:,.1f} discounted months of the horizon."
        )
    if study.subscription is not None:
        return f"Subscribers are worth {fmt(study.subscription['clv'].sum())} in margin over the horizon."
    return "No customer could be valued with these data."


def summary_metrics(study: ValueStudy) -> dict:
    """Headline figures with intervals for the report index and the executive summary."""
    metrics: dict = {}
    if study.value is not None:
        total = study.by_group["all"].iloc[0]
        for key in ("total", "total_low", "total_high", "mean", "mean_low", "mean_high"):
            metrics[f"clv_{key}"] = float(total[key])
        metrics["clv_customers"] = int(total["customers"])
        metrics["clv_model"] = study.chosen
    if study.holdout is not None and study.chosen is not None:
        totals = holdout_totals(study).set_index("model")
        if study.chosen in totals.index:
            metrics["holdout_error_pct"] = float(totals.loc[study.chosen, "error_pct"])
    if study.subscription is not None:
        key = (
            "subscription_months_mean"
            if study.subscription_value.settings["revenue_source"] is None
            else None
        )
        if key:
            metrics[key] = float(study.subscription_by_group["all"].iloc[0]["mean"])
        else:
            metrics["subscription_clv_total"] = float(study.subscription["clv"].sum())
    metrics["horizon_months"] = int(study.settings["horizon_months"])
    return metrics


def describe_saved(tables: dict) -> str:
    """What was handed on to later notebooks, in one sentence."""
    if not tables:
        return "No table was handed on: these data support no customer value."
    names = {
        "customer_value": "each customer's value with its interval",
        "value_by_group": "value by group",
        "value_parameters": "the models' parameters",
        "value_covariance": "their covariance",
        "value_what_if": "the value at stake in friction",
    }
    return "Handed on to later notebooks: " + ", ".join(names[n] for n in tables) + "."

"""The pilot section of the revenue-impact report: effects with intervals, the naive comparison, balance."""

from __future__ import annotations

import numpy as np
import pandas as pd
from IPython.display import Markdown

from cxlib.impact._evidence import EVIDENCE_LABELS
from cxlib.report import md_text, render, styled, variable_label

OUTCOMES = {"churn_hr": "Churn hazard ratio", "spend_ratio": "Spend per active month, ratio"}
ESTIMATORS = {"adjusted": "Adjusted", "naive": "Naive (treatment vs control only)"}


def _ratio(row) -> str:
    if row is None or not np.isfinite(row["estimate"]):
        return "not estimated"
    return f"{row['estimate']:.2f} ({row['ci_low']:.2f} to {row['ci_high']:.2f})"


def effect_table(programme) -> pd.DataFrame:
    """One row per outcome: the adjusted and the naive estimate with 95% intervals, p-value and counts."""
    rows = []
    for outcome, label in OUTCOMES.items():
        adjusted, naive = programme.effect(outcome), programme.effect(outcome, "naive")
        if adjusted is None and naive is None:
            continue
        rows.append(
            {
                "Outcome": label,
                ESTIMATORS["adjusted"]: _ratio(adjusted),
                ESTIMATORS["naive"]: _ratio(naive),
                "p-value (adjusted)": f"{adjusted['p_value']:.3f}" if adjusted is not None else "",
                "Customers (treatment / control)": (
                    f"{int(adjusted['treatment']):,} / {int(adjusted['control']):,}"
                    if adjusted is not None
                    else ""
                ),
            }
        )
    return pd.DataFrame(rows)


#: Reader's names of the pilot's pre-start covariates (dummies are named "<variable>: <level>").
COVARIATE_NAMES = {
    "log_tenure_months": "Tenure at the start (log months)",
    "log1p_orders_recent": "Orders in the 3 months before (log 1 + n)",
    "log1p_spend_rate_before": "Spend per month before (log 1 + amount)",
}


def covariate_name(column: str) -> str:
    """``plan[premium]`` -> ``Plan: premium``; the model's transformed columns by :data:`COVARIATE_NAMES`."""
    if column in COVARIATE_NAMES:
        return COVARIATE_NAMES[column]
    if column.endswith("]") and "[" in column:
        variable, level = column[:-1].split("[", 1)
        return f"{variable_label(variable)}: {level}"
    return variable_label(column)


def balance_display(programme) -> pd.DataFrame:
    """The covariate-balance table with readable names: SMD before (and, when weighted, after) weighting."""
    table = programme.balance
    out = pd.DataFrame(
        {
            "Covariate (before the start)": [covariate_name(c) for c in table["covariate"]],
            "Treatment mean": table["mean_treatment"].map("{:,.2f}".format),
            "Control mean": table["mean_control"].map("{:,.2f}".format),
            "Standardised difference": table["smd_unweighted"].map("{:+.2f}".format),
        }
    )
    if programme.design != "randomised":
        out["After weighting"] = table["smd_weighted"].map("{:+.2f}".format)
    return out


def pilot_parts(study) -> list:
    """Markdown, the effects table and (observational) the balance table."""
    programme = study.programme
    design = EVIDENCE_LABELS[programme.design]
    churn, spend = programme.effect("churn_hr"), programme.effect("spend_ratio")
    lines = [
        f"## What did the pilot show?\n\nThe pilot **{md_text(programme.programme)}** is read as a **{design}**."
    ]
    if programme.assumption is not None:
        lines.append(f"Identifying assumption: {md_text(render(programme.assumption))}.")
    if churn is not None:
        direction = "lower" if churn["estimate"] < 1 else "higher"
        lines.append(
            f"Enrolled customers' churn hazard was {churn['estimate']:.2f} times the control group's "
            f"({churn['ci_low']:.2f} to {churn['ci_high']:.2f}): {abs(1 - churn['estimate']):.0%} {direction}."
        )
    if spend is not None:
        lines.append(
            f"They spent {spend['estimate'] - 1:+.1%} per active month ({spend['ci_low'] - 1:+.1%} to "
            f"{spend['ci_high'] - 1:+.1%})."
        )
    naive_churn = programme.effect("churn_hr", "naive")
    if churn is not None and naive_churn is not None and programme.design != "randomised":
        lines.append(
            f"A naive comparison of the groups would say {naive_churn['estimate']:.2f}: the groups differed before the "
            "start, and the weighting removes what the covariates below measure."
        )
    lines.append("These estimates replace the config's assumptions in the levers below.")
    notes = [md_text(render(note)) for note in programme.notes]
    if notes:
        lines.append("\n" + "\n".join(f"- {text}" for text in notes))
    out = [
        Markdown("\n\n".join(lines[:1]) + "\n\n" + " ".join(lines[1:])),
        styled(effect_table(programme), caption="Pilot effects (95% intervals): adjusted against naive"),
    ]
    if len(programme.balance):
        ess = programme.effective_sample_size
        caption = "Covariate balance before the start: standardised mean differences (below 0.1 either way is balanced)"
        if programme.design != "randomised" and ess:
            caption += (
                f"; effective sample after weighting {ess.get('treatment', 0):,.0f} treated, "
                f"{ess.get('control', 0):,.0f} control"
            )
        out.append(styled(balance_display(programme), caption=caption))
    return out

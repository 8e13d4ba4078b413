"""Targeting, friction what-ifs, the assumptions list and the seed KPIs of the revenue-impact report."""

from __future__ import annotations

import numpy as np
import pandas as pd
from IPython.display import Markdown

from cxlib.impact._evidence import EVIDENCE_LABELS
from cxlib.impact._report import noun
from cxlib.report import closed_figure, md_text, render, styled, variable_label


def _fmt(study):
    from cxlib.impact._report import safe_money

    return safe_money(md_text(study.settings["currency"]))


def targeting_parts(study) -> list:
    """Groups ranked by return per unit of cost, the budget, and the expected-return curve."""
    from cxlib.impact._plots import plot_targeting

    fmt = _fmt(study)
    groups = study.targeting_groups
    name = groups.index.name or "group"
    budget = study.settings.get("budget")
    budget = float(budget[1] if isinstance(budget, list) else budget) if budget is not None else None
    table = pd.DataFrame(
        {
            variable_label(name): groups.index.astype(str),
            "Customers": groups["customers"].map("{:,}".format),
            "Margin per customer": groups["incremental_margin_per_customer"].map(fmt),
            "Cost per customer": groups["cost_per_customer"].map(fmt),
            "Return per unit of cost": groups["return_per_cost"].map(
                lambda v: f"{v:.2f}" if np.isfinite(v) else "no cost"
            ),
            "Enrol first" if budget is None else "Within budget": groups["within_budget"].map(
                {True: "yes", False: "no"}
            ),
        }
    )
    first = groups.iloc[0]
    label = variable_label(name).lower()
    words = (
        f"Enrol {label} **{md_text(groups.index[0])}** first: each enrolled customer there is expected to add "
        f"{fmt(first['incremental_margin_per_customer'])} of margin"
    )
    words += (
        f" for {fmt(first['cost_per_customer'])} of running cost." if first["cost_per_customer"] > 0 else "."
    )
    losing = groups.loc[groups["net_per_customer"] < 0]
    if len(losing):
        words += (
            f" In {len(losing)} of {len(groups)} groups the expected margin does not cover the running cost per customer; "
            "leave them out unless the effect there is larger than the pilot's average."
        )
    effect = (
        "the pilot's average effect" if study.sources.get("hazard_ratio") == "pilot" else "the assumed effect"
    )
    words += (
        f" The ranking assumes the {noun(study)} works equally well in every group ({effect}); an "
        "uplift model per customer needs a larger pilot."
    )
    if budget is not None:
        words += f" The budget (`impact.budget`) is {fmt(budget)}."
    return [
        Markdown("## Where to start?\n\n" + words),
        styled(table, caption=f"Whom to enrol first: {label}s ranked by return per unit of cost"),
        closed_figure(plot_targeting(study.targeting, study.settings["currency"], budget)),
    ]


def what_if_parts(study) -> list:
    """What less friction would be worth, through the churn model (observational)."""
    fmt = _fmt(study)
    table = study.what_if
    rows = []
    for row in table.itertuples():
        change = (
            f"{abs(row.change):.0%} {'fewer' if row.change < 0 else 'more'} customers with it"
            if row.unit_kind == "flag"
            else f"{row.change:+g} per customer"
        )
        rows.append(
            {
                "Friction": row.label,
                "Change": change,
                "Customers affected": f"{int(row.customers_affected):,}",
                "Hazard ratio applied": f"{row.hazard_ratio:.2f} ({row.hr_ci_low:.2f} to {row.hr_ci_high:.2f})",
                "Customer-months gained": f"{row.customer_months:,.0f} ({row.customer_months_low:,.0f} to {row.customer_months_high:,.0f})",
                "Margin (present value)": f"{fmt(row.margin)} ({fmt(row.margin_low)} to {fmt(row.margin_high)})",
                "Rests on": EVIDENCE_LABELS[row.evidence],
            }
        )
    best = table.sort_values("margin", ascending=False).iloc[0]
    words = (
        "## What would less friction be worth?\n\nEach change runs through the churn model: the customers affected keep "
        "their survival curve raised to the hazard ratio (S1 = S0^HR), valued at their current spend over the "
        f"horizon. The largest is **{md_text(best['label'])}**: {fmt(best['margin'])} of margin "
        f"({fmt(best['margin_low'])} to {fmt(best['margin_high'])}). These are **observed associations** read as "
        "what-ifs: customers who meet friction may differ in ways the churn model does not see."
    )
    notes = [md_text(render(note)) for note in table.attrs.get("notes", [])]
    if notes:
        words += "\n\n" + "\n".join(f"- {text}" for text in notes)
    return [Markdown(words), styled(pd.DataFrame(rows), caption="Friction what-ifs (95% intervals)")]


INPUT_NAMES = {
    "hazard_ratio": "Churn hazard ratio under the {p}",
    "spend_ratio": "Spend ratio under the {p}",
    "promoter_shift": "Share of non-promoters turned into promoters",
    "promoter_spend_ratio": "Promoters' spend per month vs passives'",
    "referral_rate_gain": "Extra referrals per customer-month, promoter vs passive",
    "referred_value": "Value of a referred customer (margin)",
    "cac": "Acquisition cost saved per referred customer",
    "cost_fixed": "One-off cost of the {p}",
    "cost_per_customer_year": "Running cost per enrolled customer and year",
}


def _number(item, currency: str = "") -> str:
    """An input's value with its interval or range: money with the currency, ratios to two decimals."""

    def one(v):
        if item.unit == "money":
            return f"{v:,.0f} {currency}".rstrip()
        if item.unit == "share":
            return f"{v:.1%}"
        if item.unit == "ratio":
            return f"{v:.2f}"
        return f"{v:.3g}"

    if item.low == item.high:
        return one(item.value)
    return f"{one(item.value)} ({one(item.low)} to {one(item.high)})"


def assumption_parts(study) -> list:
    """Every input: value with its interval or range, what it rests on, where it comes from."""
    rows = [
        {
            "Input": INPUT_NAMES.get(name, name).format(p=noun(study)),
            "Value (interval or range)": _number(item, study.settings["currency"]),
            "Rests on": EVIDENCE_LABELS[item.evidence],
            "Source": item.source,
        }
        for name, item in study.inputs.items()
    ]
    if "pilot" in (study.sources.get("hazard_ratio"), study.sources.get("spend")):
        months = study.settings.get("pilot_months", float("nan"))
        rows.append(
            {
                "Input": "The pilot's effects last the horizon and hold for every enrolled customer",
                "Value (interval or range)": f"{study.settings['horizon_months']} months",
                "Rests on": EVIDENCE_LABELS["assumption"],
                "Source": f"not testable in a pilot of about {months:.0f} months"
                if np.isfinite(months)
                else "",
            }
        )
    currency = md_text(study.settings["currency"])
    return [
        Markdown(
            "## Inputs and assumptions\n\nEvery input of the levers, with the 95% interval of an estimate or the range of an "
            f"assumption (money in {currency}). Assumptions are drawn from a triangular distribution over their range; "
            "estimates from their sampling distribution."
        ),
        styled(pd.DataFrame(rows), caption="Inputs of the revenue case"),
    ]


KPI_NAMES = {
    "acquisition_cost": ("Acquisition cost per new customer", "word of mouth"),
    "retention_cost_per_retained": ("Cost per extra customer retained", "retention"),
    "checkout_abandonment": (
        "Checkout abandonment (abandoned carts / (carts + orders), last 12 months)",
        "loyalty",
    ),
    "conversion": ("Conversion (needs visits, which no input table holds)", "loyalty"),
}


def kpi_parts(study) -> list:
    """The seed KPIs beside the lever each feeds; those the data cannot give are named as not available."""
    if study.kpis is None:
        return []
    fmt = _fmt(study)
    rows, missing = [], []
    for row in study.kpis.itertuples():
        name, lever = KPI_NAMES.get(row.kpi, (row.kpi, row.lever))
        if np.isnan(row.value):
            missing.append(name.split(" (")[0].lower())
            continue
        if np.isinf(row.value):
            value = "no extra customer retained at the central inputs"
        else:
            value = fmt(row.value) if row.unit == "money" else f"{row.value:.1%}"
        rows.append({"KPI": name, "Value": value, "Feeds the lever": lever})
    words = "## The KPIs behind the levers"
    if missing:
        words += "\n\nNot available from these data: " + ", ".join(missing) + "."
    out = [Markdown(words)]
    if rows:
        out.append(styled(pd.DataFrame(rows), caption="Seed KPIs"))
    return out

"""The revenue case: the levers, costs and economics at the central inputs and over Monte Carlo draws.

:func:`revenue_case` evaluates :func:`cxlib.impact.lever_streams` once at every input's central
value (the point figures) and over ``n_draws`` draws of the uncertain inputs (their 95% intervals,
P(ROI > 0)), then economics on margin (:func:`cxlib.impact.programme_economics`), a tornado of the
NPV and a waterfall from the levers to the NPV. With every uncertainty set to zero the draws equal
the central figures exactly: both are the same arithmetic.

Every figure carries the evidence of the weakest input it rests on (:func:`cxlib.impact.weakest`):
a lever resting on an assumed share is labelled ``assumption`` even when the other factor was
measured in a randomised pilot. The total is also split by evidence (:attr:`RevenueCase.by_evidence`).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from cxlib.impact._economics import discount_factors, programme_economics
from cxlib.impact._evidence import EVIDENCE, weakest
from cxlib.impact._inputs import Input
from cxlib.impact._levers import LEVERS, LeverSettings, fixed_cost, lever_streams
from cxlib.impact._montecarlo import central_values, draw_inputs, interval, tornado

#: Draws evaluated at once (bounds memory: draws x months x a few arrays).
BLOCK = 20_000


def lever_inputs(settings: LeverSettings) -> dict[str, tuple[str, ...]]:
    """Lever -> the inputs it rests on (for its evidence label)."""
    loyalty = (
        ("spend_ratio",)
        if settings.spend_from == "spend_ratio"
        else ("promoter_shift", "promoter_spend_ratio")
    )
    out = {"loyalty": loyalty, "retention": ("hazard_ratio",)}
    if settings.word_of_mouth:
        out["word_of_mouth"] = ("promoter_shift", "referral_rate_gain", "referred_value", "cac")
    return out


def figures(base, x: dict[str, np.ndarray], settings: LeverSettings) -> dict[str, np.ndarray]:
    """Every figure of the case for each draw of ``x`` (arrays of equal length)."""
    n = np.asarray(x["hazard_ratio"]).size
    streams = lever_streams(base, x, settings)
    v = discount_factors(streams["alive"].shape[1], settings.annual_discount_rate)
    out: dict[str, np.ndarray] = {}
    margin = np.zeros_like(streams["alive"])
    for lever in LEVERS:
        out[f"margin_{lever}"] = (streams[f"margin_{lever}"] * v).sum(1)
        out[f"revenue_{lever}"] = (streams[f"revenue_{lever}"] * v).sum(1)
        margin = margin + streams[f"margin_{lever}"]
    out["revenue_total"] = sum(out[f"revenue_{lever}"] for lever in LEVERS)
    economics = programme_economics(
        margin, streams["running_cost"], fixed_cost(x, n), settings.annual_discount_rate
    )
    out["margin_total"] = economics["pv_margin"]
    out["cost"] = economics["pv_cost"]
    out["npv"] = economics["npv"]
    out["roi"] = economics["roi"]
    out["payback_month"] = economics["payback_month"]
    alive_1 = base.alive(np.ones(1))[:, -1]
    out["customers_retained"] = streams["alive"][:, -1] - alive_1
    out["referrals"] = streams["referrals"].sum(1)
    with np.errstate(divide="ignore", invalid="ignore"):
        # no extra customer retained: no finite cost buys one
        out["cost_per_retained"] = np.where(
            out["customers_retained"] > 0, out["cost"] / out["customers_retained"], np.inf
        )
    return out


#: Figure -> (lever it belongs to, unit, description): the rows of :attr:`RevenueCase.summary`.
FIGURES = {
    "revenue_loyalty": ("loyalty", "money", "revenue from more spend per loyal customer"),
    "margin_loyalty": ("loyalty", "money", "margin from more spend per loyal customer"),
    "revenue_retention": ("retention", "money", "revenue protected by lower churn and longer lifetimes"),
    "margin_retention": ("retention", "money", "margin protected by lower churn and longer lifetimes"),
    "revenue_word_of_mouth": ("word_of_mouth", "money", "revenue of new customers won by word of mouth"),
    "margin_word_of_mouth": (
        "word_of_mouth",
        "money",
        "margin of new customers won by word of mouth, with acquisition cost saved",
    ),
    "referrals": ("word_of_mouth", "customers", "extra referred customers over the horizon"),
    "customers_retained": ("retention", "customers", "extra customers still there at the horizon"),
    "revenue_total": ("total", "money", "revenue impact of the programme"),
    "margin_total": ("total", "money", "margin impact of the programme"),
    "cost": ("total", "money", "programme cost"),
    "npv": ("total", "money", "net present value on margin"),
    "roi": ("total", "ratio", "return on investment on margin"),
    "payback_month": ("total", "months", "months until the margin repays the cost"),
    "cost_per_retained": ("retention", "money", "programme cost per extra customer retained"),
}


@dataclass
class RevenueCase:
    """Result of :func:`revenue_case`.

    Attributes
    ----------
    inputs : dict of str to Input
    settings : LeverSettings
    evidence : dict of str to str
        Lever (and ``total``) -> evidence code of the weakest input it rests on.
    central : dict of str to float
        Every figure at the central inputs.
    draws : dict of str to ndarray
        Every figure over the Monte Carlo draws.
    summary : DataFrame
        One row per figure: ``figure``, ``lever``, ``unit``, ``description``, ``value`` (central),
        ``low``, ``high`` (95% Monte Carlo interval), ``evidence``.
    tornado : DataFrame
        :func:`cxlib.impact.tornado` of the NPV (empty without costs: then of the margin).
    waterfall : DataFrame
        ``step`` (each lever's margin, minus the cost, the NPV), ``value``, ``evidence``.
    by_evidence : DataFrame
        The levers' margin summed by evidence code: ``evidence``, ``value``, ``low``, ``high``.
    p_roi_positive : float
        Share of draws with NPV > 0 (ROI > 0); NaN without costs.
    has_costs : bool
    """

    inputs: dict[str, Input]
    settings: LeverSettings
    evidence: dict[str, str]
    central: dict[str, float]
    draws: dict[str, np.ndarray]
    summary: pd.DataFrame
    tornado: pd.DataFrame
    waterfall: pd.DataFrame
    by_evidence: pd.DataFrame
    p_roi_positive: float
    has_costs: bool
    notes: list = field(default_factory=list)


def simulate(base, inputs, settings, n_draws: int, seed: int, correlated=None) -> dict[str, np.ndarray]:
    """Every figure over ``n_draws`` Monte Carlo draws of the inputs (evaluated in blocks)."""
    x = draw_inputs(inputs, n_draws, seed, correlated)
    parts = []
    for start in range(0, n_draws, BLOCK):
        block = {name: values[start : start + BLOCK] for name, values in x.items()}
        parts.append(figures(base, block, settings))
    return {name: np.concatenate([p[name] for p in parts]) for name in parts[0]}


def revenue_case(
    base,
    inputs: dict[str, Input],
    settings: LeverSettings,
    n_draws: int = 10_000,
    seed: int = 42,
    correlated: dict | None = None,
) -> RevenueCase:
    """The levers, costs, NPV, ROI and payback with 95% intervals, the tornado and the waterfall.

    Parameters
    ----------
    base : object
        ``alive(h)`` and ``revenue(h)`` curves of the enrolled customers (e.g.
        :class:`cxlib.impact.RetentionBase` or :class:`cxlib.impact.ExactBase`).
    inputs : dict of str to Input
        The inputs of :data:`cxlib.impact.INPUTS` the settings need.
    settings : LeverSettings
    n_draws : int
    seed : int
    correlated : dict, optional
        See :func:`cxlib.impact.draw_inputs`.

    Returns
    -------
    RevenueCase
    """
    levers = lever_inputs(settings)
    evidence = {
        lever: weakest(inputs[name].evidence for name in names if name in inputs)
        for lever, names in levers.items()
    }
    used = sorted({name for names in levers.values() for name in names if name in inputs} | {"hazard_ratio"})
    evidence["total"] = weakest(inputs[name].evidence for name in used)
    has_costs = "cost_fixed" in inputs or "cost_per_customer_year" in inputs
    costs = [inputs[name].evidence for name in ("cost_fixed", "cost_per_customer_year") if name in inputs]
    evidence["economics"] = weakest([evidence["total"], *costs])
    central = {
        name: float(values[0]) for name, values in figures(base, central_values(inputs), settings).items()
    }
    draws = simulate(base, inputs, settings, n_draws, seed, correlated)
    rows = []
    for name, (lever, unit, description) in FIGURES.items():
        if lever == "word_of_mouth" and not settings.word_of_mouth:
            continue
        if name in ("cost", "npv", "roi", "payback_month", "cost_per_retained") and not has_costs:
            continue
        values = draws[name]
        if name == "payback_month":  # not repaid within the horizon: later than any month
            values = np.where(np.isnan(values), np.inf, values)
        low, high = interval(values)
        label = evidence["total"] if lever == "total" else evidence[lever]
        if name in ("cost", "npv", "roi", "payback_month", "cost_per_retained"):
            label = evidence["economics"]
        rows.append(
            {
                "figure": name,
                "lever": lever,
                "unit": unit,
                "description": description,
                "value": central[name],
                "low": low,
                "high": high,
                "evidence": label,
            }
        )
    summary = pd.DataFrame(rows)
    target = "npv" if has_costs else "margin_total"

    def evaluate(values):
        return figures(base, values, settings)[target][0]

    table = tornado({k: v for k, v in inputs.items() if k in used or k.startswith("cost")}, evaluate)
    table.attrs["result"] = target
    return RevenueCase(
        inputs=inputs,
        settings=settings,
        evidence=evidence,
        central=central,
        draws=draws,
        summary=summary,
        tornado=table,
        waterfall=_waterfall(central, evidence, settings, has_costs),
        by_evidence=_by_evidence(draws, central, evidence),
        p_roi_positive=float(np.mean(draws["npv"] > 0)) if has_costs else float("nan"),
        has_costs=has_costs,
    )


def _waterfall(central, evidence, settings, has_costs) -> pd.DataFrame:
    levers = [lever for lever in LEVERS if lever != "word_of_mouth" or settings.word_of_mouth]
    rows = [
        {"step": lever, "value": central[f"margin_{lever}"], "evidence": evidence[lever]} for lever in levers
    ]
    if has_costs:
        rows.append({"step": "cost", "value": -central["cost"], "evidence": evidence["economics"]})
        rows.append({"step": "npv", "value": central["npv"], "evidence": evidence["economics"]})
    else:
        rows.append({"step": "margin_total", "value": central["margin_total"], "evidence": evidence["total"]})
    return pd.DataFrame(rows)


def _by_evidence(draws, central, evidence) -> pd.DataFrame:
    rows = []
    for code in EVIDENCE:
        levers = [lever for lever, label in evidence.items() if lever in LEVERS and label == code]
        if not levers:
            continue
        total = sum(draws[f"margin_{lever}"] for lever in levers)
        low, high = interval(total)
        rows.append(
            {
                "evidence": code,
                "levers": ", ".join(levers),
                "value": sum(central[f"margin_{lever}"] for lever in levers),
                "low": low,
                "high": high,
            }
        )
    return pd.DataFrame(rows, columns=["evidence", "levers", "value", "low", "high"])

"""What lower churn is worth: friction what-ifs and whom to enrol, on a :class:`cxlib.impact.RetentionBase`.

Kept apart from :mod:`cxlib.impact._retention` (the curves and the grid) so each module reads in
one sitting.

- :func:`friction_what_if`: the churn model's hazard ratio of a friction driver applied to the
  customers a change would touch. A flag (0/1) changed by c < 0: a share -c of the flagged lose it
  and their hazard is divided by the flag's ratio, so the change is
  -c x [value_flagged(1 / HR) - value_flagged(1)]; c > 0: c x (number flagged) of the others gain
  it. A number changed by delta (in its own unit): every hazard is multiplied by exp(beta delta),
  beta = log(HR per SD) / SD (Cox proportional hazards: S1 = S0^exp(beta delta)). The 95%
  interval maps the ratio's Wald interval through the value, which is monotone in the ratio, so
  its percentiles are the value's (the same as log-normal draws would give, without the noise).
- :func:`targeting`: each customer's expected incremental margin under a programme that
  multiplies their hazard by h and their spend by s, against its running cost, and the groups
  ranked by return per unit of cost.

Examples
--------
>>> table = friction_what_if(base, friction_effects(None, fit_churn_driver_table(data, config)))  # doctest: +SKIP
>>> curve, by_group = targeting(base, 0.9, 1.0, 24.0, 0.3, 0.08, budget=50_000)  # doctest: +SKIP
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from cxlib.impact._inputs import Z95, Input
from cxlib.impact._retention import RetentionBase
from cxlib.stats._notes import Note

#: Change of each friction flag when no what-if is given: present 20% less often.
DEFAULT_FLAG_CHANGE = -0.2
#: Columns of :func:`friction_what_if`.
WHAT_IF_COLUMNS = [
    "driver",
    "label",
    "change",
    "unit_kind",
    "customers_affected",
    "hazard_ratio",
    "hr_ci_low",
    "hr_ci_high",
    "se_log",
    "customer_months",
    "customer_months_low",
    "customer_months_high",
    "revenue",
    "revenue_low",
    "revenue_high",
    "margin",
    "margin_low",
    "margin_high",
    "evidence",
]
#: Customers x months cells per block in :func:`targeting`.
_BLOCK_CELLS = 2_000_000


def friction_what_if(
    base: RetentionBase,
    friction_effects: pd.DataFrame,
    changes: list[dict] | None = None,
    margin: float = 1.0,
    annual_discount_rate: float = 0.0,
) -> pd.DataFrame:
    """Customer-months, revenue and margin over the horizon gained by less friction, with 95% intervals.

    Parameters
    ----------
    base : RetentionBase
        Its ``groups`` carry the friction columns (0/1 flags, numbers).
    friction_effects : DataFrame
        Notebook 03's ``friction_effects`` (``driver``, ``label``, ``hazard_ratio``, ``hr_ci_low``,
        ``hr_ci_high``; optional ``unit_kind`` and ``unit_scale``), or the churn driver table
        (:func:`cxlib.experience.fit_churn_driver_table`). A number's ratio is per SD: the SD is
        ``unit_scale`` when given, else the churn panel's (``base.driver_scale``).
    changes : list of dict, optional
        ``[{"driver": name, "change": number}]`` (the config's ``impact.what_if``): for a flag the
        relative change of the share flagged (-0.2: 20% fewer), for a number the change in its
        unit. Default: each friction flag in the data 20% less often.
    margin : float
        Margin on revenue (``analysis.margin``).
    annual_discount_rate : float
        ``analysis.discount_rate``; revenue and margin are discounted, customer-months are not.

    Returns
    -------
    DataFrame
        :data:`WHAT_IF_COLUMNS`, one row per change that could be valued: ``hazard_ratio`` is the
        ratio applied to the customers affected (1 / HR when a flag is removed), with its interval
        and ``se_log``; the changes in expected customer-months, discounted revenue and margin
        with their 95% intervals; ``evidence`` "observational". ``attrs["notes"]`` lists Notes for
        changes left out: ``impact.driver_absent`` (not in the data), ``impact.driver_unrated``
        (no hazard ratio for it).

    Examples
    --------
    >>> friction_what_if(base, effects, [{"driver": "unresolved_complaint", "change": -0.2}], 0.3, 0.08)  # doctest: +SKIP
    """
    effects = friction_effects.loc[pd.to_numeric(friction_effects["hazard_ratio"], errors="coerce").notna()]
    effects = effects.drop_duplicates("driver").set_index("driver")
    if changes is None:
        flags = [d for d in effects.index if d in base.groups and _is_flag(base.groups[d])]
        changes = [{"driver": d, "change": DEFAULT_FLAG_CHANGE} for d in flags]
    weights = base.discount_weights(annual_discount_rate)
    rows, notes = [], []
    for item in changes:
        driver, change = item["driver"], float(item["change"])
        if driver not in base.groups:
            notes.append(Note("impact.driver_absent", {"driver": driver}))
            continue
        if driver not in effects.index:
            notes.append(Note("impact.driver_unrated", {"driver": driver}))
            continue
        effect = effects.loc[driver]
        plan = _flag_plan(base, driver, change, effect) if _is_flag_effect(base, driver, effect) else None
        if plan is None:
            plan = _number_plan(base, driver, change, effect)
        if plan is None:
            notes.append(Note("impact.driver_unrated", {"driver": driver}))
            continue
        rows.append(_value_row(base, driver, change, effect, plan, weights, margin))
    table = pd.DataFrame(rows, columns=WHAT_IF_COLUMNS)
    table.attrs["notes"] = notes
    return table


def what_if_inputs(table: pd.DataFrame) -> dict[str, Input]:
    """The hazard ratio each what-if applies, as a log-normal :class:`Input` (for the Monte Carlo).

    Named ``what_if_hazard_ratio.<driver>``; evidence "observational", source the churn Cox model.
    """
    return {
        f"what_if_hazard_ratio.{row.driver}": Input.ratio(
            f"what_if_hazard_ratio.{row.driver}",
            row.hazard_ratio,
            row.se_log,
            "observational",
            source="friction_effects (churn Cox model)",
        )
        for row in table.itertuples()
    }


def _is_flag(values: pd.Series) -> bool:
    present = pd.unique(values.dropna())
    return len(present) > 0 and set(np.asarray(present, dtype=float)) <= {0.0, 1.0}


def _is_flag_effect(base, driver, effect) -> bool:
    kind = effect.get("unit_kind") if hasattr(effect, "get") else None
    if isinstance(kind, str):
        return kind == "flag"
    return _is_flag(base.groups[driver])


def _flag_plan(base, driver, change, effect) -> dict | None:
    """Customers touched, their share and the ratio applied (point, interval) for a flag."""
    flagged = base.groups[driver].to_numpy(dtype=float) == 1
    count = int(flagged.sum())
    ratio = np.array([effect["hazard_ratio"], effect["hr_ci_low"], effect["hr_ci_high"]], dtype=float)
    if change < 0:  # a share of the flagged lose the flag: their hazard divided by the ratio
        mask, share, applied = flagged, min(-change, 1.0), 1.0 / ratio
    else:  # as many as change x flagged of the others gain it
        others = len(flagged) - count
        mask, share, applied = ~flagged, min(change * count / others, 1.0) if others else 0.0, ratio
    return {
        "kind": "flag",
        "mask": mask,
        "share": share,
        "affected": share * int(mask.sum()),
        "ratios": applied,
    }


def _number_plan(base, driver, change, effect) -> dict | None:
    """Every customer's hazard x exp(beta delta), beta = log(HR per SD) / SD."""
    scale = pd.to_numeric(pd.Series([effect.get("unit_scale", np.nan)]), errors="coerce").iloc[0]
    if not np.isfinite(scale):
        scale = base.driver_scale.get(driver, np.nan)
    if not (np.isfinite(scale) and scale > 0):
        return None
    ratio = np.array([effect["hazard_ratio"], effect["hr_ci_low"], effect["hr_ci_high"]], dtype=float)
    return {
        "kind": "number",
        "mask": None,
        "share": 1.0,
        "affected": base.customers,
        "ratios": np.exp(np.log(ratio) / scale * change),
    }


def _value_row(base, driver, change, effect, plan, weights, margin) -> dict:
    ratios = np.append(plan["ratios"], 1.0)
    alive = base.alive(ratios, plan["mask"])
    revenue = base.revenue(ratios, plan["mask"])
    months = plan["share"] * (alive[:3, 1:].sum(axis=1) - alive[3, 1:].sum())
    money = plan["share"] * ((revenue[:3] * weights).sum(axis=1) - (revenue[3] * weights).sum())
    low, high = np.sort(plan["ratios"][1:])
    row = {
        "driver": driver,
        "label": effect.get("label", driver),
        "change": change,
        "unit_kind": plan["kind"],
        "customers_affected": plan["affected"],
        "hazard_ratio": plan["ratios"][0],
        "hr_ci_low": low,
        "hr_ci_high": high,
        "se_log": float(np.log(high / low) / (2 * Z95)),
        "evidence": "observational",
    }
    for name, values in (("customer_months", months), ("revenue", money), ("margin", margin * money)):
        row[name] = values[0]
        row[f"{name}_low"], row[f"{name}_high"] = np.min(values[1:]), np.max(values[1:])
    return row


def targeting(
    base: RetentionBase,
    hazard_ratio,
    spend_ratio: float = 1.0,
    cost_per_customer_year: float = 0.0,
    margin: float = 1.0,
    annual_discount_rate: float = 0.0,
    budget: float | None = None,
    by: str = "segment_name",
    margin_per_month: float = 0.0,
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Whom to enrol: customers and groups ranked by what a programme would earn on them.

    Customer i's expected incremental margin over the horizon is, as the revenue case's levers
    count it (:func:`cxlib.impact.lever_streams`; amounts at the end of each month, as
    :func:`cxlib.value.discounted_survival_value`),
    ``margin`` x sum_{u=1..H} d(u) M_i [(S0_i(u)^h - S0_i(u)) + (s - 1) S0_i(u)]
    + ``margin_per_month`` x sum_{u=1..H} d(u) S0_i(u),
    the retention lever at today's spend, the spend lever on today's survival (their interaction
    left out) and a margin per month as a customer (word of mouth); their expected cost is the cost
    per month (``cost_per_customer_year`` / 12) for each month u = 1..H they stay under the
    programme, sum d(u) S0_i(u)^h.

    Parameters
    ----------
    base : RetentionBase
    hazard_ratio : float or dict
        h, for everyone, or per group of ``by`` (group -> ratio) when the effect differs.
    spend_ratio : float
        s: spend per month under the programme over spend without it.
    cost_per_customer_year : float
        Running cost per enrolled customer and year (``impact.cost_per_customer_year``).
    margin : float
        Margin on revenue (``analysis.margin``).
    annual_discount_rate : float
    budget : float, optional
        Budget for enrolment (``impact.budget``): marks the customers and groups it covers.
    by : str
        Column of ``base.groups`` to rank groups by; when absent, the first of ``segment_name``,
        ``plan`` present, else all customers as one group.
    margin_per_month : float
        Margin per month a customer stays, beside spend (e.g. the word-of-mouth lever's referrals
        x their value), counted on today's survival.

    Returns
    -------
    curve : DataFrame
        One row per customer, best first (incremental margin per customer, ties in the base's
        order): ``customers`` (enrolled so far), ``customer_id`` when known, the group,
        ``incremental_margin``, ``cost``, ``cumulative_margin``, ``cumulative_cost``, ``net``
        (cumulative margin - cumulative cost) and ``within_budget``.
    groups : DataFrame
        One row per group, by rank: ``customers``, ``incremental_margin_per_customer``,
        ``cost_per_customer``, ``net_per_customer``, ``return_per_cost`` (margin per unit of cost),
        ``total_margin``, ``total_cost``, ``rank`` (by return per cost, or by margin when nothing
        costs), ``cumulative_cost`` and ``within_budget``: groups taken in rank order while their
        cost fits the budget and their margin covers their cost.

    Examples
    --------
    >>> curve, groups = targeting(base, {"Regular mainstream": 0.85, "High-value frequent": 0.9}, by="segment_name")  # doctest: +SKIP
    """
    by = _group_column(base, by)
    labels = (
        base.groups[by].astype("string").fillna("unknown")
        if by
        else pd.Series("all", index=base.groups.index)
    )
    ratios = _customer_ratios(hazard_ratio, labels)
    gain, months, cost = _customer_gain_and_cost(base, ratios, float(spend_ratio), annual_discount_rate)
    gain = gain * margin + months * float(margin_per_month)
    cost *= cost_per_customer_year / 12.0
    order = np.argsort(-gain, kind="stable")
    curve = pd.DataFrame({"customers": np.arange(1, base.customers + 1)})
    if "customer_id" in base.groups:
        curve["customer_id"] = base.groups["customer_id"].to_numpy()[order]
    curve[by or "group"] = labels.to_numpy()[order]
    curve["incremental_margin"] = gain[order]
    curve["cost"] = cost[order]
    curve["cumulative_margin"] = np.cumsum(gain[order])
    curve["cumulative_cost"] = np.cumsum(cost[order])
    curve["net"] = curve["cumulative_margin"] - curve["cumulative_cost"]
    curve["within_budget"] = True if budget is None else curve["cumulative_cost"] <= budget
    return curve, _group_table(labels, gain, cost, budget, by or "group")


def _group_column(base: RetentionBase, by: str | None) -> str | None:
    for column in (by, "segment_name", "plan"):
        if column and column in base.groups:
            return column
    return None


def _customer_ratios(hazard_ratio, labels: pd.Series) -> np.ndarray:
    if not isinstance(hazard_ratio, dict):
        return np.full(len(labels), float(hazard_ratio))
    missing = sorted(set(labels) - set(hazard_ratio))
    if missing:
        raise KeyError(
            f"hazard_ratio has no ratio for the groups {missing}; give one per group of {labels.name!r}"
        )
    return labels.map({k: float(v) for k, v in hazard_ratio.items()}).to_numpy(dtype=float)


def _customer_gain_and_cost(base, ratios, spend_ratio, annual_discount_rate):
    """Per customer over u = 1..H, discounted: revenue gained M [(S^h - S) + (s - 1) S], months S and S^h.

    The same arithmetic as the revenue case's levers (:func:`cxlib.impact.lever_streams`): the
    spend lever on today's survival, the retention lever at today's spend (their interaction left
    out), running costs for the months the customer stays under the programme.
    """
    weights = base.discount_weights(annual_discount_rate)  # 0 at u = 0: end-of-month amounts
    gain = np.empty(base.customers)
    months = np.empty(base.customers)
    stay = np.empty(base.customers)
    block = max(1, _BLOCK_CELLS // base.survival.shape[1])
    for start in range(0, base.customers, block):
        part = slice(start, start + block)
        now = base.survival[part].astype(float)
        then = np.power(now, ratios[part, None])  # exact at h = 1: no change, no gain
        changed = (then - now) + (spend_ratio - 1.0) * now
        gain[part] = (changed * weights).sum(axis=1) * base.revenue_per_month[part]
        months[part] = (now * weights).sum(axis=1)
        stay[part] = (then * weights).sum(axis=1)
    return gain, months, stay


def _group_table(labels, gain, cost, budget, name) -> pd.DataFrame:
    frame = pd.DataFrame({name: labels.to_numpy(), "gain": gain, "cost": cost})
    table = frame.groupby(name, sort=True).agg(
        customers=("gain", "size"), total_margin=("gain", "sum"), total_cost=("cost", "sum")
    )
    table["incremental_margin_per_customer"] = table["total_margin"] / table["customers"]
    table["cost_per_customer"] = table["total_cost"] / table["customers"]
    table["net_per_customer"] = table["incremental_margin_per_customer"] - table["cost_per_customer"]
    with np.errstate(divide="ignore", invalid="ignore"):
        table["return_per_cost"] = np.where(
            table["total_cost"] > 0, table["total_margin"] / table["total_cost"], np.nan
        )
    key = "return_per_cost" if (table["total_cost"] > 0).all() else "incremental_margin_per_customer"
    table = table.sort_values(key, ascending=False, kind="stable")
    table["rank"] = np.arange(1, len(table) + 1)
    table["cumulative_cost"] = table["total_cost"].cumsum()
    pays = table["total_margin"] >= table["total_cost"]
    fits = True if budget is None else table["cumulative_cost"] <= budget
    table["within_budget"] = pays & fits & pays.cumprod().astype(bool)
    columns = [
        "customers",
        "incremental_margin_per_customer",
        "cost_per_customer",
        "net_per_customer",
        "return_per_cost",
        "total_margin",
        "total_cost",
        "rank",
        "cumulative_cost",
        "within_budget",
    ]
    return table[columns]

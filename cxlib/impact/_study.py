"""The revenue case for CX in one call: the levers on the company's own data, the pilot, the economics.

:func:`impact_study` gathers every input the levers need, from the strongest source the data allow,
and records each choice:

churn under the programme (lever 2)
    the pilot's hazard ratio (:func:`cxlib.impact.evaluate_programme`: randomised, or propensity
    weighted and labelled quasi-experimental) when the ``programme`` table has treatment and
    control; otherwise ``impact.churn_reduction`` (an assumption with its range).
spend under the programme (lever 1)
    the pilot's spend ratio; otherwise the spend of promoters against passives (within customers,
    :func:`cxlib.impact.loyalty_spend`) times the assumed share moved to promoter
    (``impact.promoter_shift``); otherwise ``impact.spend_uplift``.
word of mouth (lever 3)
    extra referrals per customer-month of promoters against passives (the experience capability's
    referral model), the value of a newly referred customer (``impact.referred_value``, or the
    survival model's value from sign-up for the profiles of referred customers) and the acquisition cost
    each saves (``impact.cac``).
who is enrolled, and for how long
    every active customer (or ``impact.target_segments``), with their survival curves from the
    churn capability's survival model and their revenue per month (:func:`cxlib.impact.retention_base`).

Then the Monte Carlo (:func:`cxlib.impact.revenue_case`), the value by segment, the friction
what-ifs, targeting under the budget and the seed KPIs. Parts the data do not allow are recorded
with a reason code (:data:`REASONS`) for the report.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from cxlib.features import DAYS_PER_MONTH
from cxlib.impact._case import RevenueCase, figures, revenue_case
from cxlib.impact._evidence import weakest
from cxlib.impact._inputs import Input
from cxlib.impact._levers import LeverSettings
from cxlib.impact._montecarlo import central_values, draw_inputs, interval

#: Why a part could not run (or fell back to an assumption): reason code -> what it needs.
REASONS = {
    "no_programme": "a programme table with treatment and control groups",
    "programme_failed": "a pilot with enough customers and cancellations in both groups",
    "no_surveys": "survey answers (NPS) to compare promoters with passives",
    "no_promoters": "enough customers answering as promoters and as passives at different times",
    "no_referrals": "a referrals table and survey answers (NPS)",
    "no_costs": "programme costs (impact.cost_fixed, impact.cost_per_customer_year)",
    "no_base": "customers active at the analysis date and a survival model of churn",
    "no_friction": "friction drivers in the churn model (interactions)",
    "no_segments": "segments (notebook 01) or a plan column",
    "no_revenue": "revenue per customer (transactions, or a monthly revenue column named by value.monthly_revenue)",
    "no_transactions": "transactions to compare promoters' spend with passives'",
}
#: Customers moved from passive to promoter in :attr:`ImpactStudy.shift_value`.
SHIFTED = 100


@dataclass
class ImpactStudy:
    """Every part of the revenue case of one dataset (see :func:`impact_study`).

    Attributes
    ----------
    settings : dict
        The config's ``impact`` section with the ``analysis`` money settings, as used.
    inputs : dict of str to Input
    sources : dict
        Input name -> code of where it came from (``pilot``, ``promoters``, ``referrals``,
        ``config``, ``survival_model``).
    case : RevenueCase or None
    programme : object or None
        :class:`cxlib.impact.ProgrammeEvaluation`.
    loyalty : object or None
        :class:`cxlib.impact.LoyaltySpend`.
    base : object or None
        :class:`cxlib.impact.RetentionBase` of the enrolled customers.
    by_group : DataFrame or None
        Per group of the enrolled (segment or plan): customers and the levers' margin with intervals.
    what_if : DataFrame or None
    shift_value : DataFrame or None
        What moving :data:`SHIFTED` enrolled customers from passive to promoter is worth, per lever
        (spend, word of mouth): ``lever``, ``value``, ``low``, ``high``, ``evidence``.
    targeting, targeting_groups : DataFrame or None
    kpis : DataFrame
        The seed KPIs: ``kpi``, ``value``, ``unit``, ``lever``, ``evidence`` (NaN value: not available).
    unavailable : dict
        Part -> reason code (:data:`REASONS`).
    """

    settings: dict
    inputs: dict = field(default_factory=dict)
    sources: dict = field(default_factory=dict)
    case: RevenueCase | None = None
    programme: object | None = None
    loyalty: object | None = None
    referral_rates: object | None = None
    base: object | None = None
    by_group: pd.DataFrame | None = None
    group_variable: str | None = None
    what_if: pd.DataFrame | None = None
    shift_value: pd.DataFrame | None = None
    targeting: pd.DataFrame | None = None
    targeting_groups: pd.DataFrame | None = None
    kpis: pd.DataFrame | None = None
    enrolled: int = 0
    enrolled_ids: set | None = None
    unavailable: dict = field(default_factory=dict)
    notes: list = field(default_factory=list)


def impact_settings(
    config, programme_cost: float | None = None, churn_reduction: float | None = None
) -> dict:
    """The config's ``impact`` section with the ``analysis`` money settings (and notebook overrides)."""
    settings = dict(config.section("impact"))
    if programme_cost is not None and programme_cost >= 0:
        settings["cost_fixed"] = float(programme_cost)
    if churn_reduction is not None and churn_reduction >= 0:
        settings["churn_reduction"] = float(churn_reduction)
    from cxlib.value import money_settings

    settings.update(money_settings(config))
    return settings


def _assumed(name: str, spec, unit: str = "", transform=None, source: str = "") -> Input:
    """An assumption from a config value: a number, or [low, most likely, high]."""
    values = list(spec) if isinstance(spec, list | tuple) else [spec, spec, spec]
    if transform is not None:
        values = sorted(transform(v) for v in values)
    low, mode, high = (float(v) for v in values)
    return Input.assumption(name, mode, low, high, source=source or f"impact.{name}", unit=unit)


def impact_study(
    data,
    config,
    segments: pd.DataFrame | None = None,
    *,
    friction_effects: pd.DataFrame | None = None,
    programme_cost: float | None = None,
    churn_reduction: float | None = None,
    n_draws: int | None = None,
) -> ImpactStudy:
    """Build the revenue case the data allow.

    Parameters
    ----------
    data : CustomerData
        The validated tables; not modified.
    config : Config
    segments : DataFrame, optional
        The segmentation's per-customer table (``customer_id``, ``segment_name``).
    friction_effects : DataFrame, optional
        Notebook 03's ``friction_effects`` table (computed here when absent and the data allow).
    programme_cost : float, optional
        Override ``impact.cost_fixed`` (a notebook parameter; negative or None: the config's).
    churn_reduction : float, optional
        Override ``impact.churn_reduction`` (used when no pilot measures it).
    n_draws : int, optional
        Override ``impact.n_draws``.

    Returns
    -------
    ImpactStudy
    """
    from cxlib.features import churn_rule_from_config
    from cxlib.impact._retention import retention_base

    study = ImpactStudy(settings=impact_settings(config, programme_cost, churn_reduction))
    settings = study.settings
    settings["has_programme"] = data.has("programme")
    if n_draws is not None and n_draws > 0:
        settings["n_draws"] = int(n_draws)
    rule = churn_rule_from_config(data, config)
    try:
        base = retention_base(data, config, segments)
    except ValueError as error:
        study.unavailable["case"] = "no_base"
        study.notes.append(str(error))
        return study
    study.base = base
    study.notes += list(base.notes)
    if any(getattr(note, "code", "") == "impact.revenue_unknown" for note in base.notes):
        study.unavailable["case"] = "no_revenue"  # months as a customer are not money
        return study
    mask = _enrolled(study, base)
    study.enrolled = int(mask.sum()) if mask is not None else base.customers
    ids = base.groups["customer_id"] if "customer_id" in base.groups else None
    study.enrolled_ids = None if ids is None else set(ids[mask] if mask is not None else ids)
    _churn_input(study, data, config, rule)
    from cxlib.experience._referrals import _class_spells

    # the NPS exposure spells, built once for the loyalty spend (spend inputs or the promoter-shift
    # value) and the referral rates (with the customers' positions the referral rates count by)
    spells = functools.cache(lambda: _class_spells(data, rule))
    _spend_inputs(study, data, rule, spells)
    _word_of_mouth(study, data, config, rule, spells)
    _cost_inputs(study)
    lever_settings = LeverSettings(
        margin=settings["margin_rate"],
        annual_discount_rate=settings["annual_discount_rate"],
        spend_from="promoters" if study.sources.get("spend") == "promoters" else "spend_ratio",
        nonpromoter_share=settings.get("nonpromoter_share", 1.0),
        word_of_mouth="referral_rate_gain" in study.inputs,
    )
    enrolled = Enrolled(base, mask)
    study.case = revenue_case(enrolled, study.inputs, lever_settings, settings["n_draws"], settings["seed"])
    _by_group(study, base, mask, lever_settings)
    _shift_value(study, enrolled, data, rule, spells)
    _what_if(study, data, config, base, friction_effects)
    _targeting(study, base)
    from cxlib.impact._outputs import seed_kpis

    study.kpis = seed_kpis(study, data)
    return study


def _enrolled(study: ImpactStudy, base) -> np.ndarray | None:
    """Mask of the customers the programme enrols (target segments), or None for all."""
    targets = study.settings.get("target_segments")
    if not targets:
        return None
    groups = base.groups.get("segment_name") if hasattr(base, "groups") else None
    if groups is None:
        study.unavailable["target_segments"] = "no_segments"
        return None
    return np.isin(np.asarray(groups, dtype=object), list(targets))


def _churn_input(study: ImpactStudy, data, config, rule) -> None:
    from cxlib.impact._programme import evaluate_programme

    if data.has("programme"):
        start = pd.to_datetime(data["programme"]["start_date"]).min()
        study.settings["pilot_months"] = float((pd.Timestamp(data.as_of) - start).days / DAYS_PER_MONTH)
        design = study.settings["programme_design"]
        study.programme = evaluate_programme(data, config, rule=rule, design=design)
        pilot = study.programme.inputs()
        if "programme_churn_hr" in pilot:
            item = pilot["programme_churn_hr"]
            study.inputs["hazard_ratio"] = _renamed(item, "hazard_ratio")
            study.sources["hazard_ratio"] = "pilot"
        if "programme_spend_ratio" in pilot:
            study.inputs["spend_ratio"] = _renamed(pilot["programme_spend_ratio"], "spend_ratio")
            study.sources["spend"] = "pilot"
        if not pilot:
            study.unavailable["programme"] = "programme_failed"
    else:
        study.unavailable["programme"] = "no_programme"
    if "hazard_ratio" not in study.inputs:
        study.inputs["hazard_ratio"] = _assumed(
            "hazard_ratio",
            study.settings["churn_reduction"],
            "ratio",
            lambda r: 1.0 - r,
            "impact.churn_reduction",
        )
        study.sources["hazard_ratio"] = "config"


def _renamed(item: Input, name: str) -> Input:
    from dataclasses import replace

    return replace(item, name=name)


def _spend_inputs(study: ImpactStudy, data, rule, spells=None) -> None:
    if study.sources.get("spend") == "pilot":
        return
    from cxlib.impact._loyalty import loyalty_spend

    loyalty = (
        loyalty_spend(data, rule, seed=study.settings["seed"], spells=spells()[0] if spells else None)
        if data.has("surveys") and data.has("transactions")
        else None
    )
    study.loyalty = loyalty
    ratio = loyalty.inputs().get("promoter_spend_ratio") if loyalty is not None else None
    if ratio is not None:
        study.inputs["promoter_spend_ratio"] = ratio
        study.inputs["promoter_shift"] = _assumed("promoter_shift", study.settings["promoter_shift"], "share")
        study.settings["nonpromoter_share"] = _nonpromoter_share(data, study.enrolled_ids)
        study.sources["spend"] = "promoters"
        return
    study.unavailable["loyalty"] = (
        "no_surveys"
        if not data.has("surveys")
        else ("no_transactions" if not data.has("transactions") else "no_promoters")
    )
    study.inputs["spend_ratio"] = _assumed(
        "spend_ratio", study.settings["spend_uplift"], "ratio", lambda u: 1.0 + u, "impact.spend_uplift"
    )
    study.sources["spend"] = "config"


def _nonpromoter_share(data, ids=None) -> float:
    """Share of the enrolled customers' latest NPS answers that are not promoters (9-10); 1 without answers."""
    surveys = data["surveys"]
    if ids is not None:
        surveys = surveys.loc[surveys["customer_id"].isin(ids)]
    if "nps" not in surveys:
        return 1.0
    answered = surveys.dropna(subset=["nps"]).sort_values("date", kind="stable")
    latest = answered.groupby("customer_id")["nps"].last()
    return float((latest < 9).mean()) if len(latest) else 1.0


def _word_of_mouth(study: ImpactStudy, data, config, rule, spells=None) -> None:
    if not (data.has("referrals") and data.has("surveys")):
        study.unavailable["word_of_mouth"] = "no_referrals"
        return
    from cxlib.experience import ReferralRates
    from cxlib.impact._loyalty import referral_inputs

    try:
        rates = ReferralRates().fit(data, rule, spells=spells() if spells else None)
    except ValueError as error:
        study.unavailable["word_of_mouth"] = "no_referrals"
        study.notes.append(str(error))
        return
    study.referral_rates = rates
    gain = referral_inputs(rates).get("referral_rate_gain")
    if gain is None:
        study.unavailable["word_of_mouth"] = "no_referrals"
        return
    study.inputs["referral_rate_gain"] = gain
    if "promoter_shift" not in study.inputs:
        study.inputs["promoter_shift"] = _assumed("promoter_shift", study.settings["promoter_shift"], "share")
        study.settings.setdefault("nonpromoter_share", _nonpromoter_share(data, study.enrolled_ids))
    study.inputs["referred_value"] = _referred_value(study, data, config)
    if study.settings.get("cac") is not None:
        study.inputs["cac"] = _assumed("cac", study.settings["cac"], "money")
    else:
        study.inputs["cac"] = Input.assumption(
            "cac", 0.0, source="impact.cac (not given: no saving counted)", unit="money"
        )


def _referred_value(study: ImpactStudy, data, config) -> Input:
    """Value on margin of one newly referred customer: the config's, or from the survival model.

    Each referred customer still active gives a profile (their features and revenue per month);
    the survival model's curve from tenure 0 for that profile, times the revenue and the margin,
    discounted over the horizon, is what such a customer is worth when they join. The mean over
    the profiles, with its standard error, is the input (an observed association: referred customers
    who stayed are the profiles there are).
    """
    if study.settings.get("referred_value") is not None:
        study.sources["referred_value"] = "config"
        return _assumed("referred_value", study.settings["referred_value"], "money")
    values = _new_customer_values(study, data, config)
    if values is not None and len(values) >= MIN_REFERRED and values.mean() > 0:
        mean = float(values.mean())
        se = float(values.std(ddof=1) / np.sqrt(len(values)))
        study.sources["referred_value"] = "survival_model"
        return Input.ratio(
            "referred_value",
            mean,
            se / mean,
            "observational",
            source="survival model: a referred customer's value from sign-up",
            unit="money",
        )
    study.sources["referred_value"] = "config"
    return Input.assumption("referred_value", 0.0, source="impact.referred_value (not given)", unit="money")


#: Fewest active referred customers whose profiles value a new referred customer.
MIN_REFERRED = 10


def _new_customer_values(study: ImpactStudy, data, config) -> pd.Series | None:
    """Per active referred customer: margin over the horizon from tenure 0, discounted (their profile)."""
    from cxlib.churn import scoring_features

    base = study.base
    if base is None or base.model is None or "customer_id" not in base.groups:
        return None
    referred = set(data["referrals"]["referred_id"].dropna())
    revenue = pd.Series(base.revenue_per_month, index=base.groups["customer_id"].to_numpy())
    revenue = revenue.loc[revenue.index.isin(referred)]
    if len(revenue) < MIN_REFERRED:
        return None
    features = base.scoring if base.scoring is not None else scoring_features(data, config)
    profiles = features.set_index("customer_id").reindex(revenue.index).reset_index()
    profiles["tenure_months"] = 0.0
    curves = base.model.conditional_survival(profiles, base.horizon_months)
    months = (curves * base.discount_weights(study.settings["annual_discount_rate"])).sum(1)
    return pd.Series(months * revenue.to_numpy() * study.settings["margin_rate"], index=revenue.index)


class Enrolled:
    """The customers a programme enrols: a mask over a :class:`RetentionBase` (None: all of them)."""

    def __init__(self, base, mask: np.ndarray | None = None):
        self.base = base
        self.mask = mask

    @property
    def customers(self) -> int:
        """Customers enrolled."""
        return self.base.customers if self.mask is None else int(np.count_nonzero(self.mask))

    def alive(self, h) -> np.ndarray:
        """Expected enrolled customers still there in months 0..H, one row per hazard ratio."""
        return self.base.alive(np.atleast_1d(h), mask=self.mask)

    def revenue(self, h) -> np.ndarray:
        """Expected revenue per month of the enrolled, months 0..H, one row per hazard ratio."""
        return self.base.revenue(np.atleast_1d(h), mask=self.mask)


def _cost_inputs(study: ImpactStudy) -> None:
    given = False
    for name in ("cost_fixed", "cost_per_customer_year"):
        if study.settings.get(name) is not None:
            study.inputs[name] = _assumed(name, study.settings[name], "money")
            study.sources[name] = "config"
            given = True
    if not given:
        study.unavailable["economics"] = "no_costs"


def _by_group(study: ImpactStudy, base, mask, lever_settings) -> None:
    """The levers' margin per group of the enrolled (segment, else plan), with Monte Carlo intervals."""
    groups = getattr(base, "groups", {})
    variable = next((v for v in ("segment_name", "plan") if v in groups), None)
    if variable is None:
        study.unavailable["by_group"] = "no_segments"
        return
    study.group_variable = variable
    labels = np.asarray(groups[variable], dtype=object)
    inputs = {k: v for k, v in study.inputs.items() if not k.startswith("cost")}
    n = min(int(study.settings["n_draws"]), 2000)
    x = draw_inputs(inputs, n, study.settings["seed"])
    centre = central_values(inputs)
    rows = []
    for group in pd.unique(labels):
        member = labels == group
        if mask is not None:
            member &= mask
        if member.sum() < study.settings["min_group_size"]:
            continue
        part = Enrolled(base, member)
        point = figures(part, centre, lever_settings)
        draws = figures(part, x, lever_settings)
        row = {"variable": variable, "group": group, "customers": int(member.sum())}
        for name in ("margin_loyalty", "margin_retention", "margin_word_of_mouth", "margin_total"):
            low, high = interval(draws[name])
            row.update({name: float(point[name][0]), f"{name}_low": low, f"{name}_high": high})
        row["per_customer"] = row["margin_total"] / row["customers"]
        rows.append(row)
    study.by_group = pd.DataFrame(rows).sort_values("margin_total", ascending=False, ignore_index=True)


def _shift_value(study: ImpactStudy, enrolled, data, rule, spells=None) -> None:
    """Margin of moving :data:`SHIFTED` enrolled customers from passive to promoter (no other change)."""
    if study.loyalty is None and data.has("surveys") and data.has("transactions"):
        from cxlib.impact._loyalty import loyalty_spend

        study.loyalty = loyalty_spend(
            data, rule, seed=study.settings["seed"], spells=spells()[0] if spells else None
        )
    ratio = study.loyalty.inputs().get("promoter_spend_ratio") if study.loyalty is not None else None
    if ratio is None or enrolled.customers == 0:
        return
    shift = SHIFTED / enrolled.customers
    inputs = {
        "hazard_ratio": Input.assumption("hazard_ratio", 1.0),
        "promoter_shift": Input.assumption("promoter_shift", shift),
        "promoter_spend_ratio": ratio,
    }
    word = "referral_rate_gain" in study.inputs
    if word:
        inputs.update({k: study.inputs[k] for k in ("referral_rate_gain", "referred_value", "cac")})
    settings = LeverSettings(
        study.settings["margin_rate"],
        study.settings["annual_discount_rate"],
        spend_from="promoters",
        nonpromoter_share=1.0,
        word_of_mouth=word,
    )
    n = min(int(study.settings["n_draws"]), 2000)
    point = figures(enrolled, central_values(inputs), settings)
    draws = figures(enrolled, draw_inputs(inputs, n, study.settings["seed"]), settings)
    rows = []
    for lever, names in (
        ("loyalty", ["promoter_spend_ratio"]),
        ("word_of_mouth", ["referral_rate_gain", "referred_value", "cac"]),
    ):
        if lever == "word_of_mouth" and not word:
            continue
        low, high = interval(draws[f"margin_{lever}"])
        rows.append(
            {
                "lever": lever,
                "value": float(point[f"margin_{lever}"][0]),
                "low": low,
                "high": high,
                "evidence": weakest(inputs[k].evidence for k in names),
            }
        )
    study.shift_value = pd.DataFrame(rows)


def _what_if(study: ImpactStudy, data, config, base, effects) -> None:
    from cxlib.impact._retention_levers import friction_what_if

    if effects is None and data.has("interactions"):
        from cxlib.experience import friction_effects

        effects = friction_effects(None, None, data, config)
    if effects is None or not len(effects):
        study.unavailable["what_if"] = "no_friction"
        return
    study.what_if = friction_what_if(
        base,
        effects,
        study.settings.get("what_if"),
        study.settings["margin_rate"],
        study.settings["annual_discount_rate"],
    )


def _targeting(study: ImpactStudy, base) -> None:
    from cxlib.impact._retention_levers import targeting

    groups = getattr(base, "groups", {})
    by = next((v for v in ("segment_name", "plan") if v in groups), None)
    value = {name: item.value for name, item in study.inputs.items()}
    per_year = value.get("cost_per_customer_year", 0.0)
    p = study.settings.get("nonpromoter_share", 1.0)
    if "spend_ratio" in value:
        spend = value["spend_ratio"]
    else:  # the promoters' lever: the share moved x their spend ratio
        spend = 1.0 + value["promoter_shift"] * p * (value["promoter_spend_ratio"] - 1.0)
    word_of_mouth = 0.0
    if "referral_rate_gain" in value:
        word_of_mouth = (
            value["promoter_shift"]
            * p
            * value["referral_rate_gain"]
            * (value["referred_value"] + value.get("cac", 0.0))
        )
    study.targeting, study.targeting_groups = targeting(
        base,
        value["hazard_ratio"],
        spend,
        per_year,
        study.settings["margin_rate"],
        study.settings["annual_discount_rate"],
        budget=_budget(study),
        by=by,
        margin_per_month=word_of_mouth,
    )


def _budget(study: ImpactStudy) -> float | None:
    budget = study.settings.get("budget")
    if budget is None:
        return None
    return float(budget[1] if isinstance(budget, list) else budget)

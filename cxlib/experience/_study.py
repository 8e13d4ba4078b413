"""The customer-experience analysis in one call: scores, key drivers, friction, journey, word of mouth.

:func:`experience_study` runs every part the data allow, each with the settings of the config's
``experience`` section, and records the parts it could not run with a reason code (no sentences:
:mod:`cxlib.experience._report` words them). The notebook ``03_cx_drivers`` and the tests call it
once and read its fields; the run catalog's tables are built from it by :func:`catalog_tables`.

Examples
--------
>>> study = experience_study(data, config)  # doctest: +SKIP
>>> study.drivers.summary_[["label", "share", "rank"]]  # doctest: +SKIP
"""

from __future__ import annotations

from dataclasses import dataclass, field

import pandas as pd

from cxlib.experience._friction import absent_kpis, friction_kpis
from cxlib.experience._friction_effects import FrictionOnNPS, friction_effects, friction_survey_frame
from cxlib.experience._funnel import JourneyFunnel, journey_funnel
from cxlib.experience._key_drivers import KeyDrivers, choose_target, rating_columns
from cxlib.experience._purchases import purchase_summary
from cxlib.experience._referrals import ReferralRates, referred_customer_value
from cxlib.experience._scores import (
    GroupScores,
    PeriodScores,
    customer_groups,
    scores_by_group,
    scores_by_period,
)

#: Sections of the analysis, in report order.
SECTIONS = ("scores", "drivers", "friction", "journey", "referrals")

#: Why a section (or part of one) could not run: reason code -> the tables or columns it needs.
REASONS = {
    "no_customers": "customers",
    "no_surveys": "surveys",
    "no_scores": "surveys.nps or surveys.csat",
    "no_ratings": "two or more surveys.rating_<touchpoint> columns",
    "no_target": "surveys.nps, surveys.csat or surveys.satisfied",
    "no_interactions": "interactions",
    "no_referrals": "referrals",
    "no_transactions": "transactions",
}
#: Reasons a part could not run although its table is there (worded by the report).
SHORT_REASONS = ("too_few_ratings", "too_few_answers", "churn_fit_failed")

#: Tables :func:`catalog_tables` can hand on (those the data allow), as the run catalog declares them.
CATALOG_TABLES = (
    "driver_importance",
    "friction_effects",
    "referral_rates",
    "referred_value",
    "scores_by_group",
)

#: Smallest number of answers with friction history for the friction-on-NPS model.
MIN_FRICTION_ANSWERS = 50


@dataclass
class ExperienceStudy:
    """Every part of the customer-experience analysis of one dataset.

    Attributes
    ----------
    settings : dict
        The config's ``experience`` section as used (with notebook overrides).
    groups : DataFrame or None
        One row per customer: the variables scores and the funnel are broken down by.
    scores, periods : GroupScores, PeriodScores or None
        NPS and CSAT by group and by period.
    target : str or None
        The survey column the key drivers and friction effects explain.
    drivers : KeyDrivers or None
        Relative weights and model effects of the touchpoint ratings.
    kpis, absent : DataFrame or None
        Friction KPIs (:func:`friction_kpis`) and those the data cannot give (:func:`absent_kpis`).
    friction_on_target : FrictionOnNPS or None
        Friction's effect on the survey answer.
    effects : DataFrame or None
        Friction's effect on the answer beside its effect on churn (:func:`friction_effects`).
    funnel : JourneyFunnel or None
    referrals : ReferralRates or None
    referred_value : DataFrame or None
        Spend and retention of referred vs other customers.
    unavailable : dict
        Section or part -> reason code (:data:`REASONS`).
    has_surveys, has_referrals : bool
        Whether the data have those tables (what the advocacy stage and the referral classes rest on).
    """

    settings: dict
    groups: pd.DataFrame | None = None
    scores: GroupScores | None = None
    periods: PeriodScores | None = None
    target: str | None = None
    drivers: KeyDrivers | None = None
    kpis: pd.DataFrame | None = None
    absent: pd.DataFrame | None = None
    friction_on_target: FrictionOnNPS | None = None
    effects: pd.DataFrame | None = None
    funnel: JourneyFunnel | None = None
    referrals: ReferralRates | None = None
    referred_value: pd.DataFrame | None = None
    unavailable: dict = field(default_factory=dict)
    has_surveys: bool = False
    has_referrals: bool = False


def experience_study(
    data,
    config,
    segments: pd.DataFrame | None = None,
    churn_drivers: pd.DataFrame | None = None,
    *,
    n_boot: int | None = None,
    min_answers: int | None = None,
) -> ExperienceStudy:
    """Run every part of the customer-experience analysis the data allow.

    Parameters
    ----------
    data : CustomerData
        The validated tables (:func:`cxlib.run.load_run_data`); not modified.
    config : Config
        Its ``experience`` section (and ``analysis`` for the churn rule) sets the analysis.
    segments : DataFrame, optional
        The segmentation's per-customer table (``customer_id``, ``segment_name``): scores, KPIs and
        the funnel are then broken down by segment too.
    churn_drivers : DataFrame, optional
        The churn capability's saved driver table; without it the churn model is fitted here the
        same way (:func:`cxlib.experience.fit_churn_driver_table`).
    n_boot, min_answers : int, optional
        Override the config's ``experience.n_boot`` and ``experience.min_answers`` (0 or None: the config's).

    Returns
    -------
    ExperienceStudy
    """
    from cxlib.features import churn_rule_from_config

    settings = dict(config.section("experience"))
    settings["n_boot"] = int(n_boot or settings["n_boot"])
    settings["min_answers"] = int(min_answers or settings["min_answers"])
    # the churn model's definition of a long wait, so friction means the same in both capabilities
    settings["long_wait_minutes"] = config.values["churn_model"]["long_wait_minutes"]
    settings["min_group_size"] = config.values["analysis"]["min_group_size"]  # smallest group in a report
    settings["currency"] = config.values["analysis"]["currency"]
    settings["company"] = config.company
    study = ExperienceStudy(
        settings=settings, has_surveys=data.has("surveys"), has_referrals=data.has("referrals")
    )
    engine = config.values["data"].get("engine") or "duckdb"  # cxlib.engine.engine_from_config
    has_customers = data.has("customers")
    if has_customers:
        study.groups = customer_groups(data, segments, engine=engine)
    surveys = data["surveys"] if data.has("surveys") else None
    _scores(study, data, surveys)
    _drivers(study, surveys, config)
    rule = churn_rule_from_config(data, config) if has_customers else None
    bought = None  # purchase_summary of the data, computed once when needed
    if not data.has("interactions"):
        study.unavailable["friction"] = "no_interactions"
    elif not has_customers:
        study.unavailable["friction"] = "no_customers"
    else:
        # the transactions are read once, for the friction KPIs' and the funnel's purchases
        start = data["interactions"]["timestamp"].min()
        bought = purchase_summary(data, start, engine) if data.has("transactions") else None
        study.kpis = friction_kpis(
            data,
            study.groups.drop(columns=["order_channel"], errors="ignore"),
            long_wait_minutes=settings["long_wait_minutes"],
            repeat_contact_days=settings["repeat_contact_days"],
            rule=rule,
            purchases=bought,
            engine=engine,
        )
        study.absent = absent_kpis(data)
        _friction_effects(study, data, config, surveys, churn_drivers)
    if not has_customers:
        study.unavailable["journey"] = "no_customers"
        study.unavailable["referrals"] = "no_customers"
        return study
    if bought is None and data.has("transactions"):
        bought = purchase_summary(data, None, engine)
    study.funnel = journey_funnel(
        data,
        rule,
        study.groups.drop(columns=["order_channel"], errors="ignore"),
        settings["loyalty_months"],
        purchases=bought,
    )
    if not data.has("referrals"):
        study.unavailable["referrals"] = "no_referrals"
    else:
        study.referrals = ReferralRates.from_config(config).fit(data, rule)
        if data.has("transactions"):
            features = _spend(data, config, bought)
            study.referred_value = referred_customer_value(data, rule, features)
        else:
            study.unavailable["referred_value"] = "no_transactions"
    return study


def _spend(data, config, bought: dict | None) -> pd.DataFrame:
    """``spend_per_month`` of :func:`cxlib.features.features_from_config`, from the purchase summary.

    The net amounts the study already has give it without building every feature again; with
    transactions excluded by the config (``segmentation.exclude_transactions``) the features are
    computed as the other notebooks do.
    """
    from cxlib.features import active_months, features_from_config, spend_per_month

    if bought is None or config.values["segmentation"]["exclude_transactions"]:
        return features_from_config(data, config)
    ids = pd.Index(data["customers"]["customer_id"], name="customer_id")
    churn = config.analysis["churn"]
    months = active_months(data, ids, churn["definition"], churn["inactivity_days"])
    monetary = bought["customers"].set_index("customer_id")["net"].reindex(ids).fillna(0.0).astype(float)
    return pd.DataFrame({"spend_per_month": spend_per_month(monetary, months)}, index=ids)


def _scores(study: ExperienceStudy, data, surveys) -> None:
    if surveys is None:
        study.unavailable["scores"] = "no_surveys"
        return
    if not any(c in surveys and surveys[c].notna().any() for c in ("nps", "csat")):
        study.unavailable["scores"] = "no_scores"
        return
    groups = study.groups if study.groups is not None else pd.DataFrame({"customer_id": []})
    minimum = study.settings["min_answers"]
    study.scores = scores_by_group(surveys, groups, min_answers=minimum)
    study.periods = scores_by_period(
        surveys, start=surveys["date"].min(), end=data.as_of, min_answers=minimum
    )


def _drivers(study: ExperienceStudy, surveys, config) -> None:
    if surveys is None:
        study.unavailable["drivers"] = "no_surveys"
        return
    try:
        study.target = choose_target(surveys, study.settings["target"])
    except ValueError:
        study.unavailable["drivers"] = "no_target"
        return
    if len(rating_columns(surveys)) < 2:
        study.unavailable["drivers"] = "no_ratings"
        return
    params = KeyDrivers.config_params(config) | {
        "target": study.target,
        "n_boot": study.settings["n_boot"],
        "min_answers": study.settings["min_answers"],
    }
    try:
        study.drivers = KeyDrivers(**params).fit(surveys)
    except ValueError:  # fewer than two ratings with enough answers (all not applicable, a small survey)
        study.unavailable["drivers"] = "too_few_ratings"


def _friction_effects(study: ExperienceStudy, data, config, surveys, churn_drivers) -> None:
    target = study.target
    summary = None
    if surveys is None or target is None or target not in surveys:
        study.unavailable["friction_on_target"] = "no_surveys" if surveys is None else "no_target"
    else:
        frame = friction_survey_frame(
            data, target=target, long_wait_minutes=study.settings["long_wait_minutes"]
        )
        if len(frame) < MIN_FRICTION_ANSWERS:
            study.unavailable["friction_on_target"] = "too_few_answers"
        else:
            try:
                study.friction_on_target = FrictionOnNPS(target=target).fit(frame)
                summary = study.friction_on_target.summary_
            except ValueError:  # no friction driver varies among the answers
                study.unavailable["friction_on_target"] = "too_few_answers"
    try:
        study.effects = friction_effects(summary, churn_drivers, data, config)
    except Exception:  # noqa: BLE001 - the churn model refitted here may not fit tiny or odd data
        study.unavailable["churn_link"] = "churn_fit_failed"
        study.effects = friction_effects(summary, None)


def catalog_tables(study: ExperienceStudy) -> dict[str, pd.DataFrame]:
    """The tables notebook 03 hands on through the run catalog (only those the data gave).

    Returns
    -------
    dict
        ``driver_importance`` (the key drivers' ``summary_``), ``friction_effects``,
        ``referral_rates`` (the referral model's ``summary_``), ``referred_value`` and
        ``scores_by_group`` (shown groups only: hidden groups stay out of every output).
    """
    tables = {}
    if study.drivers is not None:
        tables["driver_importance"] = study.drivers.summary_.assign(target=study.target)
    if study.effects is not None and len(study.effects):
        tables["friction_effects"] = study.effects
    if study.referrals is not None:
        tables["referral_rates"] = study.referrals.summary_
    if study.referred_value is not None:
        tables["referred_value"] = study.referred_value
    if study.scores is not None:
        tables["scores_by_group"] = study.scores.table.loc[study.scores.table["shown"]].reset_index(drop=True)
    return tables

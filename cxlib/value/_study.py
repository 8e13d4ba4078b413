"""The customer-value analysis in one call: repeat buying, spend, value per customer and per group.

:func:`value_study` runs every part the data allow with the config's ``value`` and ``analysis``
settings, and records the parts it could not run with a reason code (:data:`REASONS`; the report
module words them):

transactional value (a ``transactions`` table)
    The repeat-purchase summary (:func:`cxlib.features.repeat_purchase_summary`); BG/NBD and
    Pareto/NBD fitted on a calibration period and checked against the held-out months
    (``value.holdout_months``), then both refitted on all the data and the one with the higher
    likelihood kept (``value.model``); Gamma-Gamma for spend; the lifetime value of every customer
    with intervals (:func:`cxlib.value.transaction_clv`) and per group.
experience as a covariate of value
    Pareto/NBD with the covariates of :func:`cxlib.value.covariate_frame` on its dropout rate: how
    much faster customers with, say, an unresolved complaint stop buying.
subscription value (churn is contractual: dates or a label)
    Value from the churn capability's survival model (:func:`cxlib.value.survival_clv`).

Examples
--------
>>> study = value_study(data, config, segments)  # doctest: +SKIP
>>> study.by_group["segment_name"]  # doctest: +SKIP
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from cxlib.features import DAYS_PER_MONTH, churn_rule_from_config, repeat_purchase_summary
from cxlib.value._clv import CustomerValue, distinct_histories, group_value, transaction_clv, value_change
from cxlib.value._covariates import covariate_frame, encode_covariates
from cxlib.value._diagnostics import alive_grid, cumulative_forecast, holdout_by_frequency

#: Why a part could not run: reason code -> what it needs.
REASONS = {
    "no_transactions": "transactions",
    "too_few_repeaters": "enough customers with a repeat purchase",
    "short_history": "a history longer than the holdout period",
    "no_holdout": "value.holdout_months above 0",
    "no_covariates": "covariates that vary between customers",
    "not_contractual": "contractual churn (churn dates or a churn label)",
    "no_monthly_revenue": "value.monthly_revenue or transactions",
    "fit_failed": "a model that converges on these data",
    "too_few_customers": "enough customers and cancellations for a survival model",
}
#: Fewest customers, and cancellations among them, for the subscription value's survival model.
MIN_SUBSCRIBERS, MIN_CANCELLATIONS = 50, 10
#: A covariate whose rate ratio of leaving is beyond exp(+-5) (about 150 times) cannot be estimated
#: on the data (a group with almost no one stopping): it is left out and the rest refitted.
MAX_LOG_RATIO = 5.0
#: ... and so is one whose log ratio has a standard error above this (a 95% interval wider than a
#: factor of about 2,500 either way).
MAX_LOG_SE = 2.0
#: Fewest customers with a repeat purchase for the repeat-buying and spend models.
MIN_REPEATERS = 30
#: Above this many customers the repeat-buying models (BG/NBD, Pareto/NBD, the latter with
#: covariates too) are fitted on a seeded random sample of this many customers (one sample per
#: summary, the same for both models, so their likelihoods still compare); every customer is still
#: valued with those parameters, whose intervals then reflect the sample. Each model's caveats say
#: so (``value.fit_sample``). A Pareto/NBD fit evaluates slow hypergeometric functions per distinct
#: customer history: on a million customers one fit took minutes. What the sample costs in
#: accuracy is measured in ``benchmarks/RESULTS-value-scale.md`` and ``tests/test_value_engine.py``.
FIT_CUSTOMERS = 50_000
#: Tables :func:`catalog_tables` can hand on (those the data allow), as the run catalog declares them.
CATALOG_TABLES = ("customer_value", "value_by_group", "value_parameters", "value_covariance")
#: Repeat-buying models compared, in report order.
MODELS = ("bgnbd", "pareto_nbd")
#: Group variables value is broken down by, when the data have them.
GROUP_VARIABLES = ("segment_name", "plan", "acquisition_channel", "region")


@dataclass
class ValueStudy:
    """Every part of the customer-value analysis of one dataset.

    Attributes
    ----------
    settings : dict
        The config's ``value`` section and the ``analysis`` money settings as used.
    summary, calibration : DataFrame or None
        Repeat-purchase summaries at the analysis date and at the end of the calibration period.
    holdout_fits, fits : dict
        Model name -> the model fitted on the calibration period / on all the data.
    holdout : DataFrame or None
        Per model: holdout purchases actual vs forecast, total and by calibration frequency.
    cumulative : DataFrame or None
        Cumulative repeat purchases, actual vs the chosen model (calibration fit).
    alive : DataFrame or None
        P(alive) by frequency and recency at the median customer age (chosen model).
    chosen : str or None
        The repeat-buying model the value rests on.
    spend : GammaGamma or None
    covariates : ParetoNBD or None
        The model with covariates on dropout (and its encoder in ``encoder``).
    covariates_absent, covariates_unstable : dict, list
        Covariates the data lack (-> what they need), and those left out because their ratio could
        not be estimated (:data:`MAX_LOG_RATIO`).
    what_if : DataFrame or None
        Per friction flag (:data:`WHAT_IF_FLAGS`): the value of the customers who had it, now and
        with the flag set to 0 under the covariate model, and the change with its interval
        (:func:`cxlib.value.value_change`): an association read as a what-if.
    value : CustomerValue or None
        Per-customer lifetime value with intervals.
    by_group : dict
        Group variable -> :func:`group_value` table (``all`` for the whole base).
    subscription : DataFrame or None
        Survival-based value per customer (contractual churn): ``customer_id``, ``clv``,
        ``clv_low``, ``clv_median``, ``clv_high``.
    subscription_by_group : dict
        ``all`` and the first group variable the data have -> totals and means with intervals.
    subscription_value, subscription_model : SubscriptionValue, RemainingLifetime or None
    unavailable : dict
        Part -> reason code (:data:`REASONS`).
    cancelled_valued_zero : int
        Customers whose recorded cancellation set their repeat-buying value to zero.
    has_experience_data : bool
        Whether the data have interactions or surveys (what "experience" can refer to).
    customers_without_purchase : int
        Customers with no purchase yet: no repeat-buying history to value.
    """

    settings: dict
    summary: pd.DataFrame | None = None
    calibration: pd.DataFrame | None = None
    holdout_fits: dict = field(default_factory=dict)
    fits: dict = field(default_factory=dict)
    holdout: pd.DataFrame | None = None
    cumulative: pd.DataFrame | None = None
    alive: pd.DataFrame | None = None
    chosen: str | None = None
    spend: object | None = None
    covariates: object | None = None
    encoder: object | None = None
    covariates_absent: dict = field(default_factory=dict)
    covariates_unstable: list = field(default_factory=list)
    what_if: pd.DataFrame | None = None
    has_experience_data: bool = False
    cancelled_valued_zero: int = 0
    value: CustomerValue | None = None
    by_group: dict = field(default_factory=dict)
    subscription: pd.DataFrame | None = None
    subscription_by_group: dict = field(default_factory=dict)
    subscription_value: object | None = None
    subscription_model: object | None = None
    unavailable: dict = field(default_factory=dict)
    customers_without_purchase: int = 0


def value_settings(config, holdout_months: int | None = None) -> dict:
    """The config's ``value`` section with the ``analysis`` money settings (and a notebook override)."""
    settings = dict(config.section("value"))
    if holdout_months is not None and holdout_months >= 0:
        settings["holdout_months"] = int(holdout_months)
    settings.update(
        money_settings(config), long_wait_minutes=config.values["churn_model"]["long_wait_minutes"]
    )
    return settings


def money_settings(config) -> dict:
    """The ``analysis`` settings every money figure uses: margin, discount rate, horizon, currency, ...

    Returns
    -------
    dict
        ``margin_rate``, ``annual_discount_rate``, ``horizon_months``, ``currency``,
        ``min_group_size``, ``company`` and ``seed``.
    """
    analysis = config.values["analysis"]
    return {
        "margin_rate": float(analysis["margin"]),
        "annual_discount_rate": float(analysis["discount_rate"]),
        "horizon_months": int(analysis["horizon_months"]),
        "currency": analysis["currency"],
        "min_group_size": int(analysis["min_group_size"]),
        "company": config.company,
        "seed": config.seed,
    }


def value_study(
    data,
    config,
    segments: pd.DataFrame | None = None,
    *,
    holdout_months: int | None = None,
    covariates: list[str] | None = None,
) -> ValueStudy:
    """Run every part of the customer-value analysis the data allow.

    Parameters
    ----------
    data : CustomerData
        The validated tables; not modified.
    config : Config
    segments : DataFrame, optional
        The segmentation's per-customer table (``customer_id``, ``segment_name``).
    holdout_months : int, optional
        Override ``value.holdout_months`` (None or negative: the config's).
    covariates : list of str, optional
        Override ``value.covariates``.

    Returns
    -------
    ValueStudy
    """
    study = ValueStudy(settings=value_settings(config, holdout_months))
    if covariates is not None:
        study.settings["covariates"] = list(covariates)
    study.has_experience_data = data.has("interactions") or data.has("surveys")
    groups = _groups(data, segments)
    if data.has("transactions"):
        _transactional(study, data, config)
    else:
        study.unavailable["transactional"] = "no_transactions"
    if study.value is not None:
        study.by_group["all"] = group_value(study.value)
        aligned = groups.reindex(study.value.table.index)  # the ids looked up once, not per variable
        for variable in groups:
            study.by_group[variable] = group_value(study.value, aligned[variable])
    _subscription(study, data, config, groups)
    return study


def _groups(data, segments) -> pd.DataFrame:
    customers = data["customers"].drop_duplicates("customer_id").set_index("customer_id")
    frame = pd.DataFrame(index=customers.index)
    if segments is not None and "segment_name" in segments:
        frame["segment_name"] = segments.set_index("customer_id")["segment_name"].reindex(frame.index)
    for column in GROUP_VARIABLES[1:]:
        if column in customers:
            frame[column] = customers[column]
    return frame


def _transactional(study: ValueStudy, data, config) -> None:
    from cxlib.value._gamma_gamma import GammaGamma

    settings = study.settings
    unit = float(settings["time_unit_days"])
    summary, repeat = _repeat_tables(data, config, unit, _calibration_end(study, data))
    study.customers_without_purchase = int(data["customers"]["customer_id"].nunique() - len(summary))
    if int((summary["frequency"] > 0).sum()) < MIN_REPEATERS:
        study.unavailable["transactional"] = "too_few_repeaters"
        return
    study.summary = summary
    _holdout(study, data, repeat)
    horizon_units = settings["horizon_months"] * DAYS_PER_MONTH / unit
    for name in MODELS:
        try:
            model = _fitted(_model(name), summary, settings["seed"])
        except (ValueError, np.linalg.LinAlgError, FloatingPointError):
            study.unavailable[f"fit_{name}"] = "fit_failed"
            continue
        # a fit at the edge of its space (e.g. BG/NBD's a when almost nobody leaves) can give
        # forecasts that are not numbers: such a model is not used (checked once per distinct
        # customer history: the same forecasts)
        with np.errstate(all="ignore"):
            forecast = model.expected_purchases(horizon_units, distinct_histories(model, summary)[0])
        if not np.isfinite(np.asarray(forecast, float)).all():
            study.unavailable[f"fit_{name}"] = "fit_failed"
            continue
        study.fits[name] = model
    if not study.fits:
        study.unavailable["transactional"] = "fit_failed"
        return
    study.chosen = _choose(study)
    study.spend = GammaGamma().fit(summary)
    study.value = transaction_clv(
        study.fits[study.chosen],
        study.spend,
        summary,
        margin_rate=settings["margin_rate"],
        annual_discount_rate=settings["annual_discount_rate"],
        horizon_months=settings["horizon_months"],
    )
    _zero_cancelled(study, data, config)
    study.alive = alive_grid(
        study.fits[study.chosen],
        float(summary["T"].median()),
        max_frequency=int(max(summary["frequency"].quantile(0.95), 3)),
    )
    _covariates(study, data, summary)


def _zero_cancelled(study: ValueStudy, data, config) -> None:
    """Customers whose cancellation is recorded (contractual churn with dates) are worth nothing more.

    The repeat-buying models infer from purchases alone who is still a customer; where leaving is
    recorded, the record wins: their value, its interval and its gradient are set to zero.
    """
    rule = churn_rule_from_config(data, config)
    if rule.definition != "contractual" or not rule.dated:
        return
    churned = rule.churned_by(data, data.as_of)
    ids = pd.Index(data["customers"]["customer_id"].to_numpy()[churned.to_numpy()])
    gone = study.value.table.index.isin(ids)
    if not gone.any():
        return
    columns = ["probability_alive", "expected_purchases", "clv", "clv_low", "clv_high"]
    study.value.table.loc[gone, columns] = 0.0
    study.value.gradient[gone] = 0.0
    study.cancelled_valued_zero = int(gone.sum())


def _fit_rows(summary: pd.DataFrame, seed: int) -> pd.DataFrame:
    """The customers the repeat-buying models are fitted on: all, or a seeded sample above :data:`FIT_CUSTOMERS`."""
    if len(summary) <= FIT_CUSTOMERS:
        return summary
    rng = np.random.default_rng(seed)
    rows = summary.iloc[np.sort(rng.choice(len(summary), FIT_CUSTOMERS, replace=False))]
    rows.attrs = dict(summary.attrs)
    return rows


def _fitted(model, summary: pd.DataFrame, seed: int):
    """``model`` fitted on :func:`_fit_rows` of ``summary``, with a caveat when that is a sample."""
    rows = _fit_rows(summary, seed)
    model.fit(rows)
    if len(rows) < len(summary):
        from cxlib.stats import Note

        label = {"BetaGeo": "BG/NBD", "ParetoNBD": "Pareto/NBD"}.get(
            type(model).__name__, type(model).__name__
        )
        values = {"model": label, "sample": len(rows), "customers": len(summary), "seed": seed}
        model.caveats_.append(Note("value.fit_sample", values))
    return model


def _model(name: str):
    if name == "bgnbd":
        from cxlib.value._bgnbd import BetaGeo

        return BetaGeo()
    from cxlib.value._pareto_nbd import ParetoNBD

    return ParetoNBD()


def _choose(study: ValueStudy) -> str:
    wanted = study.settings["model"]
    if wanted in study.fits:
        return wanted
    return max(study.fits, key=lambda name: study.fits[name].log_likelihood_)


def _calibration_end(study: ValueStudy, data) -> pd.Timestamp | None:
    months = int(study.settings["holdout_months"])
    if months == 0:
        return None
    return pd.Timestamp(data.as_of).normalize() - pd.DateOffset(months=months)


def _repeat_tables(data, config, unit: float, cal_end) -> tuple[pd.DataFrame, dict]:
    """The summary at the analysis date, and what the holdout check needs (computed lazily).

    With a run's validated Parquet data and an engine other than pandas (``data.engine``), the
    engine builds the purchase days once and returns all three tables
    (:func:`cxlib.engine.repeat_purchases_from_validated`, equal to the pandas path:
    ``tests/test_value_engine.py``); otherwise pandas computes them from the transactions.
    """
    from cxlib.engine._features import engine_from_config

    if engine_from_config(config) != "pandas" and getattr(data, "source", None) is not None:
        from cxlib.engine import EngineUnsupported, repeat_purchases_from_validated

        try:
            summary, calibration, counts = repeat_purchases_from_validated(data, unit, cal_end)
        except EngineUnsupported:
            pass
        else:
            return summary, {"calibration": calibration, "counts": counts}
    summary = repeat_purchase_summary(data["transactions"], pd.Timestamp(data.as_of), unit_days=unit)
    return summary, {}


def _holdout(study: ValueStudy, data, repeat: dict) -> None:
    cal_end = _calibration_end(study, data)
    if cal_end is None:
        study.unavailable["holdout"] = "no_holdout"
        return
    as_of = pd.Timestamp(data.as_of).normalize()
    first = study.summary["first_purchase"].min()
    if cal_end - first < as_of - cal_end:  # calibration at least as long as the holdout
        study.unavailable["holdout"] = "short_history"
        return
    calibration = repeat.get("calibration")
    if calibration is None:
        calibration = repeat_purchase_summary(
            data["transactions"], cal_end, as_of, unit_days=float(study.settings["time_unit_days"])
        )
    if int((calibration["frequency"] > 0).sum()) < MIN_REPEATERS:
        study.unavailable["holdout"] = "too_few_repeaters"
        return
    study.calibration = calibration
    rows = []
    for name in MODELS:
        try:
            model = _fitted(_model(name), calibration, study.settings["seed"])
        except (ValueError, np.linalg.LinAlgError, FloatingPointError):
            continue
        study.holdout_fits[name] = model
        by_frequency = holdout_by_frequency(model, calibration).assign(model=name)
        rows.append(by_frequency)
    if not rows:
        study.unavailable["holdout"] = "fit_failed"
        return
    study.holdout = pd.concat(rows, ignore_index=True)
    best = study.settings["model"] if study.settings["model"] in study.holdout_fits else None
    best = best or max(study.holdout_fits, key=lambda n: study.holdout_fits[n].log_likelihood_)
    counts = repeat.get("counts")
    transactions = data["transactions"] if counts is None else None
    study.cumulative = cumulative_forecast(study.holdout_fits[best], transactions, calibration, as_of, counts)
    study.cumulative["model"] = best


def _covariates(study: ValueStudy, data, summary: pd.DataFrame) -> None:
    from cxlib.value._pareto_nbd import ParetoNBD

    if not data.has("customers"):
        study.unavailable["covariates"] = "no_covariates"
        return
    raw, study.covariates_absent = covariate_frame(
        data,
        pd.Timestamp(data.as_of) + pd.Timedelta(days=1),
        study.settings["covariates"],
        study.settings["long_wait_minutes"],
    )
    raw = raw.reindex(summary.index)
    raw = raw.loc[:, [c for c in raw if raw[c].notna().any()]]
    if raw.empty or not len(raw.columns):
        study.unavailable["covariates"] = "no_covariates"
        return
    for column in raw:
        if not pd.api.types.is_numeric_dtype(raw[column]):
            raw[column] = raw[column].astype("string").fillna("unknown").astype(object)
    while True:
        design, study.encoder = encode_covariates(raw, min_group_size=study.settings["min_group_size"])
        if design.shape[1] == 0:
            study.unavailable["covariates"] = "no_covariates"
            study.covariates = None
            return
        frame = summary.join(design)
        frame.attrs = dict(summary.attrs)
        try:
            model = _fitted(
                ParetoNBD(dropout_covariates=tuple(design.columns)), frame, study.settings["seed"]
            )
        except (ValueError, np.linalg.LinAlgError, FloatingPointError):
            study.unavailable["covariates"] = "fit_failed"
            return
        # a group in which (almost) nobody stops buying sends its ratio to zero and its interval to
        # everything: that variable is left out, said in the report, and the rest refitted
        coefficients = np.log(model.dropout_rate_ratio_)
        se = np.sqrt(
            np.diag(
                model.covariance_.loc[[f"dropout:{c}" for c in coefficients.index]][
                    [f"dropout:{c}" for c in coefficients.index]
                ].to_numpy()
            ).clip(min=0)
        )
        wild = (np.abs(coefficients.to_numpy()) > MAX_LOG_RATIO) | ~(se <= MAX_LOG_SE)
        unstable = coefficients.index[wild]
        variables = sorted({study.encoder.term_driver_[t] for t in unstable})
        if not variables:
            study.covariates = model
            study.what_if = _what_if(study, model, frame)
            return
        study.covariates_unstable += variables
        raw = raw.drop(columns=variables)


#: Experience flags whose removal the what-if values (customers who had one, as if they had not).
WHAT_IF_FLAGS = ("unresolved_complaint", "long_wait")


def _what_if(study: ValueStudy, model, frame: pd.DataFrame) -> pd.DataFrame | None:
    """Value of customers with each friction flag now, and with the flag set to 0 (same parameters)."""
    rows = []
    for flag in WHAT_IF_FLAGS:
        if flag not in model.dropout_covariates:
            continue
        before = frame.loc[frame[flag] == 1]
        if len(before) < study.settings["min_group_size"]:
            continue
        after = before.assign(**{flag: 0.0})
        after.attrs = before.attrs = dict(frame.attrs)
        change = value_change(
            model,
            study.spend,
            before,
            after,
            margin_rate=study.settings["margin_rate"],
            annual_discount_rate=study.settings["annual_discount_rate"],
            horizon_months=study.settings["horizon_months"],
        )
        rows.append({"covariate": flag, **change})
    return pd.DataFrame(rows) if rows else None


def _subscription(study: ValueStudy, data, config, groups: pd.DataFrame) -> None:
    rule = churn_rule_from_config(data, config) if data.has("customers") else None
    if rule is None or rule.definition not in ("contractual", "snapshot"):
        study.unavailable["subscription"] = "not_contractual"
        return
    from cxlib.value._subscription_value import subscription_value

    churned = rule.churned_by(data, data.as_of)
    if len(churned) < MIN_SUBSCRIBERS or int(churned.sum()) < MIN_CANCELLATIONS:
        study.unavailable["subscription"] = "too_few_customers"
        return
    try:
        value, study.subscription_model = subscription_value(data, config, study.settings, groups)
    except ValueError:
        study.unavailable["subscription"] = "no_monthly_revenue"
        return
    study.subscription_value = value
    study.subscription = value.customers
    table = value.groups
    renamed = pd.DataFrame(
        {
            "group": table.index.astype(str),
            "customers": table["customers"].to_numpy(),
            "total": table["total_clv"].to_numpy(),
            "total_low": table["total_low"].to_numpy(),
            "total_high": table["total_high"].to_numpy(),
            "mean": table["mean_clv"].to_numpy(),
            "mean_low": table["mean_low"].to_numpy(),
            "mean_high": table["mean_high"].to_numpy(),
        }
    )
    overall = table.attrs["overall"]
    study.subscription_by_group["all"] = pd.DataFrame(
        {
            "group": ["all customers"],
            "customers": [overall["customers"]],
            "total": [overall["total_clv"]],
            "total_low": [overall["total_low"]],
            "total_high": [overall["total_high"]],
            "mean": [overall["total_clv"] / overall["customers"]],
            "mean_low": [overall["total_low"] / overall["customers"]],
            "mean_high": [overall["total_high"] / overall["customers"]],
        }
    )
    by = value.settings["by"]
    if by is not None:
        study.subscription_by_group[by] = renamed.sort_values("total", ascending=False, kind="stable")


def catalog_tables(study: ValueStudy) -> dict[str, pd.DataFrame]:
    """The tables notebook 04 hands on through the run catalog (only those the data gave).

    Returns
    -------
    dict
        ``customer_value`` (per customer: value with its interval and what it rests on),
        ``value_by_group`` (totals and means per group variable and group),
        ``value_parameters`` (every model's parameters with their standard errors) and
        ``value_covariance`` (their covariance, one row per pair within a model).
    """
    out: dict[str, pd.DataFrame] = {}
    per_customer = []
    if study.value is not None:
        table = study.value.table.reset_index()
        per_customer.append(table.assign(method=f"repeat buying ({study.chosen}) and spend (gamma-gamma)"))
    if study.subscription is not None:
        per_customer.append(study.subscription.assign(method="survival (contractual)"))
    if per_customer:
        out["customer_value"] = pd.concat(per_customer, ignore_index=True)
    rows = [
        table.assign(variable=variable, method="repeat buying") for variable, table in study.by_group.items()
    ] + [
        table.assign(variable=variable, method="survival (contractual)")
        for variable, table in study.subscription_by_group.items()
    ]
    if rows:
        out["value_by_group"] = pd.concat(rows, ignore_index=True)
    params, covariance = [], []
    models = {**study.fits, "gamma_gamma": study.spend, "pareto_nbd_covariates": study.covariates}
    for name, model in models.items():
        if model is None:
            continue
        cov = model.covariance_
        for term in model.params_.index:
            params.append(
                {
                    "model": name,
                    "parameter": term,
                    "estimate": float(model.params_[term]),
                    "se": float(np.sqrt(max(cov.loc[term, term], 0.0))),
                }
            )
            covariance += [
                {"model": name, "parameter": term, "other": other, "covariance": float(cov.loc[term, other])}
                for other in model.params_.index
            ]
    if params:
        out["value_parameters"] = pd.DataFrame(params)
        out["value_covariance"] = pd.DataFrame(covariance)
    return out

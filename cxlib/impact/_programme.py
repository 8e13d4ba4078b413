"""A pilot programme's effect on churn and spend, from its treatment and control groups.

:func:`evaluate_programme` compares the programme table's treatment and control groups from the
programme's start date:

churn
    Hazard ratio of the treatment for the time from the start to churn (the suite's churn rule;
    censored at the analysis date), from a Cox model (lifelines' ``CoxPHFitter``, the standard
    for a hazard ratio with an interval) with the treatment and the pre-start covariates.
spend
    Ratio of spend per active month after the start: a Poisson quasi-likelihood GLM of each
    customer's spend with the log of their active months as offset and the pre-start covariates
    (the log pre-start spend rate among them), with heteroskedasticity-robust (HC0) standard errors
    (statsmodels; Wooldridge 2010, ch. 18: consistent for the ratio of means whatever the spend's
    distribution). This regression adjustment (ANCOVA on the log scale) is preferred to a
    difference-in-differences: under randomisation it is the more precise, and when enrolment
    depends on pre-start activity (a programme targeted at recently active customers) a
    difference-in-differences is biased by regression to the mean, while conditioning on the
    pre-start activity is not (Daw & Hatfield 2018, *Health Serv. Res.* 53:4138).

Randomised design (``impact.programme_design: randomised``): the models as they are, the
treatment's coefficient is causal by design. Observational design: both models are weighted by
stabilised inverse-probability weights from a logistic propensity model of enrolment on the same
pre-start covariates (:mod:`cxlib.impact._balance`), with robust (sandwich) standard errors; the
estimates are causal if enrolment depends on nothing else that drives churn or spend ("no
unmeasured confounding"), reported as a quasi-experiment. Beside each adjusted estimate the naive
one (treatment only, unweighted) shows how much the adjustment matters.

Examples
--------
>>> from cxlib.data import load_config, load_data  # doctest: +SKIP
>>> config = load_config("configs/demo_small.yaml")  # doctest: +SKIP
>>> evaluation = evaluate_programme(load_data(config), config)  # doctest: +SKIP
>>> evaluation.effects  # doctest: +SKIP
>>> evaluation.inputs()["programme_churn_hr"]  # doctest: +SKIP
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
import statsmodels.api as sm
from lifelines import CoxPHFitter
from scipy import stats
from threadpoolctl import threadpool_limits

from cxlib.features import DAYS_PER_MONTH, churn_rule_from_config
from cxlib.impact._balance import SMD_THRESHOLD, balance_table, effective_sample_size, propensity_weights
from cxlib.impact._inputs import Input
from cxlib.stats import Note

#: Design codes by ``impact.programme_design``.
DESIGN_CODES = {"randomised": "randomised", "observational": "quasi_experimental"}
#: Fewest customers per group, and fewest churn events in all, for an estimate.
MIN_GROUP_CUSTOMERS = 20
MIN_EVENTS = 10
#: Pre-start windows: recent orders (months) and the spend rate (months, or the tenure if shorter).
RECENT_MONTHS = 3
SPEND_RATE_MONTHS = 12
#: A level of a categorical covariate with fewer customers joins the most common level.
MIN_LEVEL_CUSTOMERS = 10
_CATEGORICAL = ("plan", "acquisition_channel")
_EFFECT_COLUMNS = [
    "outcome",
    "estimator",
    "estimate",
    "ci_low",
    "ci_high",
    "se_log",
    "p_value",
    "customers",
    "treatment",
    "control",
    "events",
]


@dataclass
class ProgrammeEvaluation:
    """What :func:`evaluate_programme` found.

    Attributes
    ----------
    programme : str or None
        The programme evaluated (the first in the table when it lists several; see ``notes``).
    design : str
        ``"randomised"`` or ``"quasi_experimental"`` (an evidence code of :mod:`cxlib.impact`).
    assumption : Note or None
        The identifying assumption: ``programme.assumption_randomised`` or
        ``programme.assumption_no_unmeasured_confounding`` (with the covariates).
    effects : DataFrame
        One row per outcome (``churn_hr``, ``spend_ratio``) and estimator (``adjusted``: regression
        adjustment, weighted when observational; ``naive``: treatment only, unweighted):
        ``estimate``, 95% ``ci_low`` / ``ci_high``, ``se_log`` (log scale), ``p_value``, the
        customers compared, per group, and the churn events.
    balance : DataFrame
        :func:`cxlib.impact.balance_table` of the pre-start covariates (weighted columns equal the
        unweighted ones for a randomised design).
    effective_sample_size : dict
        Kish's effective sample size per group (``treatment``, ``control``) under the weights.
    covariates : DataFrame
        Per customer compared: group, start, pre-start covariates, churn time and event, spend and
        active months after the start, weight.
    notes : list of Note
        Reason codes: why an estimate is missing, which programme was chosen, customers left out.
    """

    programme: str | None
    design: str
    assumption: Note | None = None
    effects: pd.DataFrame = field(default_factory=lambda: pd.DataFrame(columns=_EFFECT_COLUMNS))
    balance: pd.DataFrame = field(default_factory=pd.DataFrame)
    effective_sample_size: dict = field(default_factory=dict)
    covariates: pd.DataFrame = field(default_factory=pd.DataFrame)
    notes: list[Note] = field(default_factory=list)

    def effect(self, outcome: str, estimator: str = "adjusted") -> pd.Series | None:
        """The ``effects`` row of ``outcome`` (``churn_hr``, ``spend_ratio``) and ``estimator``, or None."""
        rows = self.effects[(self.effects["outcome"] == outcome) & (self.effects["estimator"] == estimator)]
        return None if rows.empty else rows.iloc[0]

    def inputs(self) -> dict[str, Input]:
        """The adjusted estimates as Monte Carlo inputs: ``programme_churn_hr``, ``programme_spend_ratio``.

        Log-normal with the Wald interval of the model (:meth:`cxlib.impact.Input.ratio`), evidence
        ``randomised`` or ``quasi_experimental`` by design; an outcome without an estimate is left out.
        """
        source = f"programme evaluation: {self.programme}"
        inputs = {}
        for outcome, name in (("churn_hr", "programme_churn_hr"), ("spend_ratio", "programme_spend_ratio")):
            row = self.effect(outcome)
            if row is not None:
                inputs[name] = Input.ratio(name, row["estimate"], row["se_log"], self.design, source)
        return inputs


def evaluate_programme(data, config, rule=None, design: str | None = None) -> ProgrammeEvaluation:
    """Estimate a pilot programme's effect on the churn hazard and on spend per active month.

    See the module docstring for the models. Problems that stop an estimate (no programme table, no
    control group, too few customers or churn events, churn without dates, no transactions) are
    returned as reason codes in ``notes``, not raised.

    Parameters
    ----------
    data : CustomerData
        Canonical tables: customers and programme (``customer_id``, ``programme``, ``group`` with
        ``treatment`` / ``control``, ``start_date``); transactions for spend and the pre-start activity.
    config : Config
        Reads ``impact.programme_design`` and ``analysis.churn``.
    rule : ChurnRule, optional
        Who churned when; default :func:`cxlib.features.churn_rule_from_config`.
    design : {"randomised", "observational"}, optional
        Overrides ``impact.programme_design``.

    Returns
    -------
    ProgrammeEvaluation
    """
    design = design or config.section("impact")["programme_design"]
    evaluation = ProgrammeEvaluation(programme=None, design=DESIGN_CODES[design])
    notes = evaluation.notes
    if not data.has("programme") or data["programme"].empty:
        notes.append(Note("programme.no_table"))
        return evaluation
    members = _members(data, notes)
    evaluation.programme = str(members["programme"].iloc[0])
    treated = members["group"] == "treatment"
    if treated.all() or not treated.any():
        notes.append(Note("programme.no_control" if treated.all() else "programme.no_treatment"))
        return evaluation
    rule = rule or churn_rule_from_config(data, config)
    frame = _customer_frame(data, members, rule, notes)
    groups = frame["treated"].value_counts()
    too_few = {g: int(groups.get(v, 0)) for g, v in (("treatment", True), ("control", False))}
    too_few = {g: n for g, n in too_few.items() if n < MIN_GROUP_CUSTOMERS}
    if too_few:
        for group, customers in too_few.items():
            notes.append(
                Note(
                    "programme.too_few_customers",
                    {"group": group, "customers": customers, "min_customers": MIN_GROUP_CUSTOMERS},
                )
            )
        return evaluation
    design_matrix = _design(frame)
    covariate_names = list(design_matrix.columns)
    if evaluation.design == "randomised":
        weights = pd.Series(1.0, index=frame.index)
        evaluation.assumption = Note("programme.assumption_randomised", {"programme": evaluation.programme})
    else:
        fitted = propensity_weights(design_matrix, frame["treated"])
        weights = fitted.weights
        evaluation.assumption = Note(
            "programme.assumption_no_unmeasured_confounding", {"covariates": covariate_names}
        )
        if fitted.clipped:
            notes.append(Note("programme.propensity_clipped", {"customers": fitted.clipped}))
    frame["weight"] = weights
    evaluation.covariates = frame
    weighted = evaluation.design != "randomised"
    evaluation.balance = balance_table(design_matrix, frame["treated"], weights if weighted else None)
    evaluation.effective_sample_size = {
        "treatment": effective_sample_size(weights[frame["treated"]]),
        "control": effective_sample_size(weights[~frame["treated"]]),
    }
    unbalanced = evaluation.balance.loc[~evaluation.balance["balanced"], "covariate"].tolist()
    if weighted and unbalanced:
        notes.append(Note("programme.imbalance", {"covariates": unbalanced, "threshold": SMD_THRESHOLD}))
    with threadpool_limits(limits=1, user_api="blas"):
        rows = _churn_effects(frame, design_matrix, weighted, notes, rule.dated) + _spend_effects(
            frame, design_matrix, weighted, notes
        )
    evaluation.effects = pd.DataFrame(rows, columns=_EFFECT_COLUMNS)
    return evaluation


def _members(data, notes: list[Note]) -> pd.DataFrame:
    """The first programme's rows, one per customer known to the customers table."""
    table = data["programme"].dropna(subset=["customer_id"])
    names = list(dict.fromkeys(table["programme"].dropna().astype(str)))
    if len(names) > 1:
        notes.append(Note("programme.several", {"programme": names[0], "others": names[1:]}))
    members = table[table["programme"].astype(str) == names[0]] if names else table
    members = members.assign(group=members["group"].astype(str).str.strip().str.lower())
    members = members.drop_duplicates("customer_id")
    known = members["customer_id"].isin(data["customers"]["customer_id"])
    if not known.all():
        notes.append(Note("programme.unknown_customers", {"customers": int((~known).sum())}))
    return members[known & members["group"].isin(["treatment", "control"])]


def _customer_frame(data, members: pd.DataFrame, rule, notes: list[Note]) -> pd.DataFrame:
    """Per member: pre-start covariates, churn time from the start, spend and active months after it."""
    customers = data["customers"].set_index("customer_id")
    as_of = pd.Timestamp(data.as_of).normalize()
    frame = members[["customer_id", "group", "start_date"]].set_index("customer_id")
    frame["treated"] = frame["group"] == "treatment"
    start = pd.to_datetime(frame["start_date"]).dt.normalize()
    signup = customers["signup_date"].reindex(frame.index).dt.normalize()
    frame["tenure_months"] = (start - signup).dt.days / DAYS_PER_MONTH
    for column in _CATEGORICAL:
        if column in customers:
            frame[column] = (
                customers[column].reindex(frame.index).astype(object).fillna("missing").astype(str)
            )
    churn = rule.churn_dates(data, as_of).reindex(frame.index).dt.normalize() if rule.dated else None
    if churn is None:
        notes.append(Note("programme.churn_undated"))
        churn = pd.Series(pd.NaT, index=frame.index, dtype="datetime64[ns]")
    # active at the start, from the records up to the day before it (under the inactivity rule a
    # purchase after the start must not bring a lapsed customer back into the pilot)
    active = pd.Series(True, index=frame.index)
    for day in start.dropna().unique():
        members_then = start == day
        gone = rule.churned_by(data, pd.Timestamp(day) - pd.Timedelta(days=1)).reindex(frame.index)
        active &= ~(members_then & gone.fillna(False).astype(bool))
    if not active.all():
        notes.append(Note("programme.not_active_at_start", {"customers": int((~active).sum())}))
    frame, start, churn = frame[active], start[active], churn[active]
    end = churn.where(churn.notna() & (churn <= as_of), as_of)
    frame["churn_months"] = (end - start).dt.days / DAYS_PER_MONTH
    frame["churned"] = churn.notna() & (churn <= as_of) if rule.dated else False
    frame["after_months"] = frame["churn_months"]
    _add_spend(data, frame, start, end)
    return frame


def _add_spend(data, frame: pd.DataFrame, start: pd.Series, end: pd.Series) -> None:
    """Orders and spend before the start (recent orders, spend rate) and spend after it, per member."""
    if not data.has("transactions"):
        for column in ("orders_recent", "spend_rate_before", "spend_after"):
            frame[column] = np.nan
        return
    columns = ["customer_id", "order_date", "amount", "is_refund"]
    columns_of = getattr(data.tables, "columns_of", None)  # a run's saved tables: the members' rows only
    tx = data["transactions"] if columns_of is None else columns_of("transactions", columns, frame.index)
    # members as positions in ``frame`` (-1: not a member): on millions of rows, mapping and
    # grouping by text ids cost most of the time
    member = frame.index.get_indexer(tx["customer_id"])
    keep = (~tx["is_refund"]).to_numpy(dtype=bool) & (member >= 0)
    who = member[keep]
    day = pd.Series(tx["order_date"].to_numpy()[keep]).dt.normalize()
    at = {
        "start": start.to_numpy()[who],
        "end": end.to_numpy()[who],
        "recent": (start - pd.DateOffset(months=RECENT_MONTHS)).to_numpy()[who],
        "year": (start - pd.DateOffset(months=SPEND_RATE_MONTHS)).to_numpy()[who],
    }
    recent = (day >= at["recent"]) & (day < at["start"])
    year = (day >= at["year"]) & (day < at["start"])
    after = (day >= at["start"]) & (day <= at["end"])
    amount = pd.Series(tx["amount"].to_numpy()[keep])
    members = np.arange(len(frame))
    # summed per member by pandas in the rows' order, as a grouping by id would
    frame["orders_recent"] = recent.groupby(who).sum().reindex(members, fill_value=0).to_numpy()
    months_before = frame["tenure_months"].clip(lower=1, upper=SPEND_RATE_MONTHS)
    spend_year = amount.where(year, 0).groupby(who).sum().reindex(members, fill_value=0).to_numpy()
    frame["spend_rate_before"] = spend_year / months_before
    frame["spend_after"] = amount.where(after, 0).groupby(who).sum().reindex(members, fill_value=0).to_numpy()


def _design(frame: pd.DataFrame) -> pd.DataFrame:
    """Pre-start covariates as model columns: log tenure, log(1 + recent orders), log(1 + spend rate), dummies."""
    columns = {"log_tenure_months": np.log(frame["tenure_months"].clip(lower=1))}
    if frame["orders_recent"].notna().all():
        columns["log1p_orders_recent"] = np.log1p(frame["orders_recent"])
        columns["log1p_spend_rate_before"] = np.log1p(frame["spend_rate_before"].clip(lower=0))
    design = pd.DataFrame(columns, index=frame.index)
    for column in _CATEGORICAL:
        if column not in frame:
            continue
        counts = frame[column].value_counts()
        reference = counts.index[0]
        for level in sorted(counts.index[(counts >= MIN_LEVEL_CUSTOMERS) & (counts.index != reference)]):
            design[f"{column}[{level}]"] = (frame[column] == level).astype(float)
    return design.loc[:, design.std() > 0]


def _row(outcome, estimator, log_estimate, se_log, frame, events=np.nan) -> dict:
    z = log_estimate / se_log if se_log > 0 else np.nan
    return {
        "outcome": outcome,
        "estimator": estimator,
        "estimate": float(np.exp(log_estimate)),
        "ci_low": float(np.exp(log_estimate - stats.norm.ppf(0.975) * se_log)),
        "ci_high": float(np.exp(log_estimate + stats.norm.ppf(0.975) * se_log)),
        "se_log": float(se_log),
        "p_value": float(2 * stats.norm.sf(abs(z))),
        "customers": len(frame),
        "treatment": int(frame["treated"].sum()),
        "control": int((~frame["treated"]).sum()),
        "events": events,
    }


def _churn_effects(frame, design_matrix, weighted: bool, notes: list[Note], dated: bool) -> list[dict]:
    """Cox hazard ratio of the treatment: adjusted (weighted if observational) and naive."""
    if not dated:
        return []
    events = int(frame["churned"].sum())
    if events < MIN_EVENTS:
        notes.append(Note("programme.too_few_events", {"events": events, "min_events": MIN_EVENTS}))
        return []
    survival = pd.DataFrame(
        {
            "treatment": frame["treated"].astype(float),
            "duration": frame["churn_months"].clip(lower=0.5 / DAYS_PER_MONTH),
            "event": frame["churned"].astype(float),
            "weight": frame["weight"],
        }
    )
    rows = []
    for estimator, covariates, weights in (
        ("adjusted", design_matrix, weighted),
        ("naive", design_matrix.iloc[:, :0], False),
    ):
        model_frame = pd.concat([survival, covariates], axis=1)
        with warnings.catch_warnings():
            warnings.simplefilter(
                "ignore"
            )  # lifelines' convergence hints; the estimate's interval says enough
            cox = CoxPHFitter().fit(
                model_frame if weights else model_frame.drop(columns="weight"),
                duration_col="duration",
                event_col="event",
                weights_col="weight" if weights else None,
                robust=weights,
            )
        rows.append(
            _row(
                "churn_hr",
                estimator,
                cox.params_["treatment"],
                cox.standard_errors_["treatment"],
                frame,
                events,
            )
        )
    return rows


def _spend_effects(frame, design_matrix, weighted: bool, notes: list[Note]) -> list[dict]:
    """Ratio of spend per active month after the start: Poisson quasi-likelihood GLM, robust SE."""
    if frame["spend_after"].isna().all():
        notes.append(Note("programme.no_transactions"))
        return []
    usable = frame["after_months"] > 0
    rows = []
    for estimator, covariates, weights in (
        ("adjusted", design_matrix, weighted),
        ("naive", design_matrix.iloc[:, :0], False),
    ):
        x = sm.add_constant(
            pd.concat([frame["treated"].astype(float).rename("treatment"), covariates], axis=1)[usable],
            has_constant="add",
        )
        glm = sm.GLM(
            frame.loc[usable, "spend_after"].to_numpy(float),
            x,
            family=sm.families.Poisson(),
            offset=np.log(frame.loc[usable, "after_months"].to_numpy(float)),
            var_weights=frame.loc[usable, "weight"].to_numpy(float) if weights else None,
        ).fit(cov_type="HC0")
        rows.append(
            _row("spend_ratio", estimator, glm.params["treatment"], glm.bse["treatment"], frame[usable])
        )
    return rows

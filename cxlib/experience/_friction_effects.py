"""The effect of friction on NPS (a survey model) and on churn (the churn model's own numbers).

**NPS.** Each survey answer is joined with its customer's friction before the first day of the
answer's month (:func:`cxlib.features.friction_features`, the definitions the churn model uses),
and the answer (NPS 0-10, or another target) is regressed on the friction drivers with plan and
region as controls by ordinary least squares. Why OLS: its coefficients read directly as points
on the answer's scale per unit of a driver (what a manager can act on), and with one answer per
customer-month the mean structure is all we need; ordinal models would give odds, not points.
Customers answer more than once, so standard errors are cluster-robust by customer (Liang & Zeger
1986, *Biometrika* 73:13; statsmodels ``cov_type="cluster"``), and p-values are Holm-adjusted
across the friction terms (Holm 1979, *Scand. J. Statist.* 6:65; :func:`cxlib.stats.holm_adjusted`).
The complaint count enters beside the unresolved-complaint flag, so the flag's coefficient is the
effect of a complaint left unresolved over and above having complained (customers who complain
are less satisfied to begin with).

**Churn.** The churn capability already estimates friction's effect on churn (odds ratios from
its logistic model, hazard ratios from its Cox model) and saves them as ``churn_drivers``
(:func:`cxlib.churn.driver_table`). :func:`churn_friction_rows` picks the friction rows of that
table, so the numbers are the churn model's, not recomputed; :func:`fit_churn_driver_table` builds
the same table with the churn capability's own calls when the saved one is absent.

Examples
--------
>>> frame = friction_survey_frame(data)  # doctest: +SKIP
>>> model = FrictionOnNPS().fit(frame)  # doctest: +SKIP
>>> friction_effects(model.summary_, churn_drivers)  # doctest: +SKIP
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import statsmodels.api as sm

from cxlib.stats._design import feature_label
from cxlib.stats._fitted import FittedModel, summary_frame
from cxlib.stats._multitest import holm_adjusted
from cxlib.stats._notes import Note

#: The friction drivers, as :func:`cxlib.features.friction_features` names them.
FRICTION_DRIVERS = (
    "support_contacts",
    "complaints",
    "unresolved_complaint",
    "long_wait",
    "cart_abandonments",
)
#: What one unit of each driver is (the NPS model's estimate is per this unit).
DRIVER_UNITS = {
    "support_contacts": "per contact a month",
    "complaints": "per complaint",
    "unresolved_complaint": "yes vs no",
    "long_wait": "yes vs no",
    "cart_abandonments": "per cart a month",
}
#: Columns of :func:`friction_effects`.
EFFECT_COLUMNS = [
    "driver",
    "term",
    "label",
    "nps_effect",
    "nps_ci_low",
    "nps_ci_high",
    "nps_p_value",
    "nps_p_holm",
    "nps_unit",
    "odds_ratio",
    "or_ci_low",
    "or_ci_high",
    "hazard_ratio",
    "hr_ci_low",
    "hr_ci_high",
    "churn_p_holm",
    "churn_unit",
    "nps_source",
    "churn_source",
]


def friction_survey_frame(
    data, target: str = "nps", long_wait_minutes: float = 20, controls=("plan", "region")
) -> pd.DataFrame:
    """Survey answers with their customer's friction before the first day of the answer's month.

    The friction is :func:`cxlib.features.friction_features` at the first day of the answer's
    month (:func:`answers_with_friction`), so a customer's complaint dated in the answer's own
    month (perhaps after the answer) is not counted.

    Parameters
    ----------
    data : CustomerData
        Customers, surveys and interactions (without interactions there are no friction columns).
    target : str
        Survey column to explain (``nps``, ``csat`` ...).
    long_wait_minutes : float
        A wait longer than this counts as a long wait.
    controls : sequence of str
        Customer columns joined as controls (those present; missing values as "unknown").

    Returns
    -------
    DataFrame
        One row per answer with a target value from a customer who signed up before the answer's
        month: ``customer_id``, ``date``, ``month_start``, the target, the friction columns and
        the controls.

    Examples
    --------
    >>> friction_survey_frame(data, target="nps").head()  # doctest: +SKIP
    """
    columns = ["customer_id", "date", "month_start", target]
    if not data.has("surveys") or target not in data["surveys"]:
        return pd.DataFrame(columns=columns)
    answers = data["surveys"].loc[data["surveys"][target].notna(), ["customer_id", "date", target]]
    answers = answers.assign(month_start=answers["date"].dt.to_period("M").dt.start_time)
    frame = answers_with_friction(data, answers, long_wait_minutes)
    customers = data["customers"].set_index("customer_id")
    for column in controls:
        if column in customers and customers[column].notna().any():
            values = customers[column].astype("string").reindex(frame["customer_id"])
            frame[column] = values.fillna("unknown").to_numpy()
    first = [c for c in columns if c in frame]
    return frame[first + [c for c in frame.columns if c not in first]]


def answers_with_friction(data, answers: pd.DataFrame, long_wait_minutes: float = 20) -> pd.DataFrame:
    """Each answer joined with :func:`cxlib.features.friction_features` at its ``month_start``.

    The same definitions computed for every answer at once (one pass over the interactions of the
    customers who answered, not one pass over all of them per month): equal to merging each
    month's answers with ``friction_features(data, month)`` (``tests/test_friction.py``).

    Parameters
    ----------
    data : CustomerData
        Customers, and interactions when present.
    answers : DataFrame
        ``customer_id`` and ``month_start`` (the cut-off of each answer's friction) and any
        other columns, kept.
    long_wait_minutes : float

    Returns
    -------
    DataFrame
        The answers of customers signed up before their cut-off, by cut-off (stable: within a
        month in the answers' order), with a new index and the friction columns of
        :func:`cxlib.features.friction_features`.
    """
    from cxlib.features._time import YEAR_DAYS, tenure_months

    customers = data["customers"].drop_duplicates("customer_id").set_index("customer_id")
    signup = customers["signup_date"].reindex(answers["customer_id"]).to_numpy()
    cut = answers["month_start"].to_numpy()
    kept = signup < cut
    order = np.argsort(answers["month_start"].to_numpy()[kept], kind="stable")
    out = answers.loc[kept].iloc[order].reset_index(drop=True)
    if not data.has("interactions"):
        return out
    at = out["month_start"]
    since = pd.Series(signup[kept][order], index=out.index)
    months_seen = np.minimum(tenure_months(since, at).to_numpy(), 12.0).clip(min=0.5)
    # customers as integer codes: the interactions are matched to the answers' customers once,
    # and joined on the codes rather than on the id strings (millions of rows)
    answerer, answerers = pd.factorize(out["customer_id"])
    code = pd.Index(answerers).get_indexer(data["interactions"]["customer_id"])
    events = data["interactions"].loc[code >= 0]
    code = code[code >= 0]
    codes, kinds = pd.factorize(events["kind"])
    lowered = np.asarray(pd.Index(kinds).str.lower(), dtype=object)
    kind = np.where(codes >= 0, lowered[np.maximum(codes, 0)] if len(lowered) else None, None)
    columns = {"code": code, "timestamp": events["timestamp"].to_numpy()}
    columns["support"] = kind == "support_contact"
    columns["complaint"] = kind == "complaint"
    columns["cart"] = kind == "cart_abandoned"
    if "resolved" in events:
        columns["unresolved"] = columns["complaint"] & events["resolved"].eq(False).fillna(False).to_numpy(
            bool
        )
    if "wait_minutes" in events:
        columns["long_wait"] = events["wait_minutes"].fillna(0).to_numpy() > long_wait_minutes
    pairs = pd.DataFrame({"answer": np.arange(len(out)), "code": answerer}).merge(
        pd.DataFrame(columns), on="code"
    )
    before = pairs["timestamp"].to_numpy() < at.to_numpy()[pairs["answer"].to_numpy()]
    recent = pairs["timestamp"].to_numpy() >= (at - pd.Timedelta(days=YEAR_DAYS)).to_numpy()[pairs["answer"]]
    which = pairs["answer"].to_numpy()

    def count(mask):
        return np.bincount(which[mask & before], minlength=len(out))

    out["support_contacts"] = count(pairs["support"].to_numpy() & recent) / months_seen
    out["complaints"] = count(pairs["complaint"].to_numpy()).astype(float)
    if "unresolved" in pairs:
        out["unresolved_complaint"] = (count(pairs["unresolved"].to_numpy()) > 0).astype(float)
    if "long_wait" in pairs:
        out["long_wait"] = (count(pairs["long_wait"].to_numpy()) > 0).astype(float)
    out["cart_abandonments"] = count(pairs["cart"].to_numpy() & recent) / months_seen
    return out


class FrictionOnNPS(FittedModel):
    """Points on the survey answer per unit of each friction driver (OLS, cluster-robust by customer).

    Parameters
    ----------
    target : str
        The answer explained (a column of the frame), e.g. ``nps`` (0-10).
    drivers : sequence of str
        Friction columns tried (those present and not constant enter the model).
    controls : sequence of str
        Categorical controls (reference level: the most common).
    alpha : float
        1 - confidence level of the intervals.

    Attributes
    ----------
    summary_ : DataFrame
        One row per friction driver: estimate (points per unit), 95% interval, p-value,
        Holm-adjusted p-value, unit; then ``driver``, ``std_error``.
    caveats_ : list of Note
        Drivers left out (constant in these data).
    result_ : statsmodels RegressionResults
        The fitted OLS with cluster-robust covariance.
    n_answers_, n_customers_ : int
        Answers and customers in the fit.

    Examples
    --------
    >>> model = FrictionOnNPS().fit(friction_survey_frame(data))  # doctest: +SKIP
    >>> model.summary_[["term", "estimate", "ci_low", "ci_high"]]  # doctest: +SKIP
    """

    estimate_name = "change in the answer (points)"
    null_value = 0.0
    higher_is = "better"

    def __init__(
        self, target: str = "nps", drivers=FRICTION_DRIVERS, controls=("plan", "region"), alpha=0.05
    ):
        self.target = target
        self.drivers = drivers
        self.controls = controls
        self.alpha = alpha

    @classmethod
    def config_params(cls, config) -> dict:
        """Nothing in the config changes the model yet (the frame carries the friction settings)."""
        return {}

    def fit(self, frame: pd.DataFrame) -> FrictionOnNPS:
        """Fit on :func:`friction_survey_frame` output (one row per answer); returns ``self``."""
        frame = frame.loc[frame[self.target].notna()]
        caveats = []
        drivers = []
        for driver in self.drivers:
            if driver not in frame:
                continue
            if frame[driver].nunique(dropna=True) < 2:
                caveats.append(Note("design.constant", {"term": driver}))
                continue
            drivers.append(driver)
        if not drivers:
            raise ValueError(
                f"FrictionOnNPS: none of the friction drivers {list(self.drivers)} varies in the "
                f"{len(frame)} answers; pass a frame from friction_survey_frame on data with interactions"
            )
        design = frame[drivers].astype(float).fillna(0.0)
        for column in [c for c in self.controls if c in frame]:
            levels = frame[column].astype(str)
            order = levels.value_counts().index  # the most common level is the reference
            dummies = pd.get_dummies(pd.Categorical(levels, categories=order), prefix=column, prefix_sep=": ")
            design = design.join(dummies.iloc[:, 1:].astype(float).set_axis(design.index))
        design = sm.add_constant(design, has_constant="add")
        groups = pd.factorize(frame["customer_id"])[0]
        result = sm.OLS(frame[self.target].astype(float), design).fit(
            cov_type="cluster", cov_kwds={"groups": groups}
        )
        interval = result.conf_int(self.alpha)
        p_values = result.pvalues[drivers].to_numpy()
        self.summary_ = summary_frame(
            {
                "term": drivers,
                "label": [feature_label(d) for d in drivers],
                "estimate": result.params[drivers].to_numpy(),
                "ci_low": interval.loc[drivers, 0].to_numpy(),
                "ci_high": interval.loc[drivers, 1].to_numpy(),
                "p_value": p_values,
                "p_adjusted": holm_adjusted(p_values),
                "unit": [DRIVER_UNITS.get(d, "per unit") for d in drivers],
                "driver": drivers,
                "std_error": result.bse[drivers].to_numpy(),
            }
        )
        self.caveats_ = caveats
        self.result_ = result
        self.n_answers_ = len(frame)
        self.n_customers_ = int(frame["customer_id"].nunique())
        return self

    def plot_forest(self, ax=None, title: str | None = None):
        """Forest plot of the effects with their intervals; returns the Axes."""
        self.check_is_fitted()
        from cxlib.experience._plots_friction import plot_nps_effects

        return plot_nps_effects(self.summary_, ax=ax, title=title, xlabel=self.estimate_name)


def churn_friction_rows(churn_drivers: pd.DataFrame) -> pd.DataFrame:
    """The friction rows of the churn capability's driver table, unchanged.

    Parameters
    ----------
    churn_drivers : DataFrame
        :func:`cxlib.churn.driver_table` output, e.g. the run's saved ``churn_drivers``.

    Returns
    -------
    DataFrame
        The rows whose ``driver`` is one of :data:`FRICTION_DRIVERS`, all columns, in the
        table's order (strongest driver first).

    Examples
    --------
    >>> churn_friction_rows(load_table(run_dir, "churn_drivers"))  # doctest: +SKIP
    """
    rows = churn_drivers.loc[churn_drivers["driver"].isin(FRICTION_DRIVERS)]
    return rows.reset_index(drop=True)


def fit_churn_driver_table(data, config) -> pd.DataFrame:
    """The churn capability's driver table, fitted here as notebook 02 does (when none was saved).

    Churn panel, :class:`cxlib.churn.ChurnDrivers`, :class:`cxlib.churn.ChurnHazards` from the
    config, then :func:`cxlib.churn.driver_table`: the same numbers as the churn notebook's.

    Examples
    --------
    >>> fit_churn_driver_table(data, config).head()  # doctest: +SKIP
    """
    from cxlib import churn  # the churn capability, only when its saved table is absent

    panel = churn.churn_panel(data, config)
    drivers = churn.ChurnDrivers.from_config(config).fit(panel.frame, panel.numeric, panel.categorical)
    hazards = churn.ChurnHazards.from_config(config).fit(
        panel.frame, panel.numeric, panel.categorical, entry_col=panel.entry_col
    )
    return churn.driver_table(drivers, hazards)


def friction_effects(
    nps_summary: pd.DataFrame | None,
    churn_drivers: pd.DataFrame | None = None,
    data=None,
    config=None,
) -> pd.DataFrame:
    """One tidy table: each friction driver's effect on NPS beside its effect on churn.

    Parameters
    ----------
    nps_summary : DataFrame or None
        :attr:`FrictionOnNPS.summary_` (None when there are no surveys).
    churn_drivers : DataFrame, optional
        The churn capability's saved driver table. When None and ``data`` and ``config`` are
        given, it is fitted with :func:`fit_churn_driver_table`.
    data, config : optional
        For the fallback.

    Returns
    -------
    DataFrame
        :data:`EFFECT_COLUMNS`: one row per friction driver and churn term (a flag or per-SD
        driver has one term). NPS effect (points per ``nps_unit``) with its interval and p-values;
        odds ratio and hazard ratio with intervals and the churn model's Holm-adjusted p-value,
        per ``churn_unit``; ``nps_source`` (``"survey_ols"``) and ``churn_source`` (``"saved"``:
        the churn table given; ``"refitted"``: the fallback) say where each number comes from.

    Examples
    --------
    >>> friction_effects(model.summary_, load_table(run_dir, "churn_drivers"))  # doctest: +SKIP
    """
    churn_source = "saved"
    if churn_drivers is None and data is not None and config is not None:
        churn_drivers, churn_source = fit_churn_driver_table(data, config), "refitted"
    nps = pd.DataFrame(columns=["driver"])
    if nps_summary is not None and len(nps_summary):
        nps = pd.DataFrame(
            {
                "driver": nps_summary["term"].to_numpy(),
                "nps_label": nps_summary["label"].to_numpy(),
                "nps_effect": nps_summary["estimate"].to_numpy(),
                "nps_ci_low": nps_summary["ci_low"].to_numpy(),
                "nps_ci_high": nps_summary["ci_high"].to_numpy(),
                "nps_p_value": nps_summary["p_value"].to_numpy(),
                "nps_p_holm": nps_summary["p_adjusted"].to_numpy(),
                "nps_unit": nps_summary["unit"].to_numpy(),
                "nps_source": "survey_ols",
            }
        )
    churn = pd.DataFrame(columns=["driver"])
    if churn_drivers is not None:
        rows = churn_friction_rows(churn_drivers)
        churn = rows[
            ["driver", "term", "label", "odds_ratio", "or_ci_low", "or_ci_high"]
            + ["hazard_ratio", "hr_ci_low", "hr_ci_high", "p_holm", "unit"]
        ].rename(columns={"p_holm": "churn_p_holm", "unit": "churn_unit"})
        churn = churn.assign(churn_source=churn_source)
    table = nps.merge(churn, on="driver", how="outer")
    for column in EFFECT_COLUMNS + ["nps_label"]:
        if column not in table:
            table[column] = np.nan
    table["term"] = table["term"].fillna(table["driver"])
    table["label"] = table["label"].fillna(table["nps_label"])
    order = {d: i for i, d in enumerate(FRICTION_DRIVERS)}
    table = table.sort_values("driver", key=lambda s: s.map(order), kind="stable")
    return table[EFFECT_COLUMNS].reset_index(drop=True)

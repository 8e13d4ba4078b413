"""Churn at a cut-off: who counts as at risk, what we knew about them, and whether they left.

Features are the churn-driver view of :mod:`cxlib.features` (:func:`cxlib.features.driver_features`)
and use only data dated before the cut-off; the label uses only what happens in the window after
it, so a model cannot peek at the future (``tests/test_churn.py`` shifts every post-cut-off record
and checks that the features do not move). Who has churned is decided by the one churn
rule, :class:`cxlib.features.ChurnRule`, applied at the cut-off:

contractual
    customers carry a churn date: at risk = signed up before the cut-off and not yet gone;
    churned = churn date inside the window after the cut-off.
inactivity
    no churn date, but transactions: at risk = not churned the day before the cut-off (a purchase,
    or for a customer who never bought the signup, in the ``inactivity_days`` before the cut-off);
    churned = no purchase in the ``inactivity_days`` after it (window = ``inactivity_days``).
snapshot
    a churn label but no dates (e.g. IBM Telco): the cut-off is the as-of date, features are the
    snapshot's attributes, and held-out evaluation can only be a random stratified split.

Examples
--------
>>> from cxlib.data._config import load_config
>>> from cxlib.data._load import load_data
>>> config = load_config("configs/demo_small.yaml")  # doctest: +SKIP
>>> panel = churn_panel(load_data(config), config)  # doctest: +SKIP
>>> panel.frame["churned"].mean()  # doctest: +SKIP
0.12
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from cxlib.churn._missing import MISSING_COLUMNS, missing_values
from cxlib.data._config import Config
from cxlib.data._dropped import OUTCOME_COLUMNS, dropped_outcomes
from cxlib.data._load import FIRST_ORDER, CustomerData
from cxlib.exceptions import ConfigError
from cxlib.features._churn_rule import ChurnRule, churn_rule_from_config
from cxlib.features._drivers import driver_features
from cxlib.features._time import DAYS_PER_MONTH, tenure_months
from cxlib.stats._notes import Note

LABEL = "churned"
#: A time-based split needs at least this many churners in the earlier panel.
MIN_TRAIN_CHURNERS = 30


@dataclass(frozen=True)
class ChurnCutoff:
    """The churn rule applied at a cut-off: who is at risk then, and the label window after it.

    Attributes
    ----------
    rule : ChurnRule
        Who has churned, and when (:class:`cxlib.features.ChurnRule`).
    cutoff : Timestamp
        Features use data before it, the label the window after it.
    window_days : int
        Length of the label window.
    as_of : Timestamp
        The analysis date (end of the data).
    """

    rule: ChurnRule
    cutoff: pd.Timestamp
    window_days: int
    as_of: pd.Timestamp

    @property
    def definition(self) -> str:
        """``contractual``, ``inactivity`` or ``snapshot`` (the rule's)."""
        return self.rule.definition

    @property
    def dated(self) -> bool:
        """Whether churn has dates (so time-based validation and survival after a cut-off work)."""
        return self.rule.dated


def design_params(config: Config) -> dict[str, object]:
    """The design-matrix parameters every churn driver model takes from the config.

    ``churn_model.reference_levels`` and ``max_vif``, and ``analysis.min_group_size`` (categorical
    levels with fewer customers are pooled before the fit).
    """
    settings = config.values["churn_model"]
    return {
        "reference_levels": settings["reference_levels"],
        "max_vif": settings["max_vif"],
        "min_group_size": config.analysis["min_group_size"],
    }


def churn_overrides(cutoff: str | None = "", label_window_days: int | None = 0) -> dict[str, object]:
    """Config overrides for the churn design from notebook parameters; empty values keep the config's.

    Parameters
    ----------
    cutoff : str, optional
        ``YYYY-MM-DD``; empty or None: ``churn_model.cutoff`` from the config.
    label_window_days : int, optional
        0 or None: ``churn_model.label_window_days`` from the config.

    Returns
    -------
    dict
        Dotted config keys to values, for :func:`cxlib.data.load_config`.

    Examples
    --------
    >>> churn_overrides("2025-06-30", 0)
    {'churn_model.cutoff': '2025-06-30'}
    """
    wanted = {"churn_model.cutoff": cutoff, "churn_model.label_window_days": label_window_days}
    return {key: value for key, value in wanted.items() if value}


def churn_cutoff(data: CustomerData, config: Config, cutoff: str | pd.Timestamp | None = None) -> ChurnCutoff:
    """The churn rule of the config and the data, at the configured cut-off and label window.

    Parameters
    ----------
    data : CustomerData
        Loaded tables.
    config : Config
        Reads ``analysis.churn`` and ``churn_model``.
    cutoff : str or Timestamp, optional
        Overrides ``churn_model.cutoff``.

    Returns
    -------
    ChurnCutoff

    Raises
    ------
    ConfigError
        If the data cannot support the requested definition or the window runs past the as-of date.
    """
    settings = config.values["churn_model"]
    rule = churn_rule_from_config(data, config)
    as_of = pd.Timestamp(data.as_of)
    if rule.definition == "snapshot":
        return ChurnCutoff(rule, as_of, 0, as_of)
    window = int(rule.inactivity_days or settings["label_window_days"])
    chosen = cutoff if cutoff is not None else settings["cutoff"]
    cut = pd.Timestamp(chosen) if chosen is not None else as_of - pd.Timedelta(days=window)
    if cut + pd.Timedelta(days=window) > as_of:
        raise ConfigError(
            f"churn_model.cutoff: {cut:%Y-%m-%d} plus a {window}-day label window ends after the as-of "
            f"date {as_of:%Y-%m-%d}; choose a cut-off on or before "
            f"{as_of - pd.Timedelta(days=window):%Y-%m-%d}"
        )
    return ChurnCutoff(rule, cut.normalize(), window, as_of)


def churn_labels(data: CustomerData, at: ChurnCutoff) -> pd.DataFrame:
    """Who was at risk at the cut-off, whether they churned in the window, and when.

    The churn rule (:class:`cxlib.features.ChurnRule`) decides: at risk = not churned by the day
    before the cut-off (from records dated before it); churned = churned by the last day of the
    window (from records dated before its end), on the rule's churn date.

    Returns
    -------
    DataFrame
        ``customer_id``, ``churned`` (bool), ``entry_months`` (tenure at the cut-off) and
        ``exit_months`` (tenure at churn or at the end of the window), for customers at risk.
    """
    customers = data["customers"]
    cut, end = at.cutoff, at.cutoff + pd.Timedelta(days=at.window_days)
    signed = customers["signup_date"] < cut if at.dated else customers["signup_date"] <= cut
    customers = customers.loc[signed]
    ids = customers["customer_id"]
    if at.definition == "snapshot":
        churned = at.rule.churned_by(data, cut).reindex(ids).to_numpy()
        event_date = pd.Series(cut, index=customers.index)
        at_risk = np.ones(len(customers), bool)
    else:
        day_before, last_day = cut - pd.Timedelta(days=1), end - pd.Timedelta(days=1)
        at_risk = ~at.rule.churned_by(data, day_before).reindex(ids).to_numpy()
        churn_date = pd.Series(
            at.rule.churn_dates(data, last_day).reindex(ids).to_numpy(), index=customers.index
        )
        churned = (churn_date.dt.normalize() <= last_day).to_numpy()
        event_date = churn_date.where(churned, end)
    signup = customers["signup_date"]
    frame = pd.DataFrame(
        {
            "customer_id": customers["customer_id"].to_numpy(),
            LABEL: churned.astype(bool),
            "entry_months": tenure_months(signup, cut).to_numpy(),
            "exit_months": tenure_months(signup, event_date).to_numpy(),
        }
    )
    frame = frame.loc[at_risk].reset_index(drop=True)
    if at.definition == "snapshot":  # the label carries no date: follow-up is the whole tenure
        frame["exit_months"] = frame["entry_months"].clip(lower=1 / DAYS_PER_MONTH)
        frame["entry_months"] = 0.0
    return frame


@dataclass
class ChurnPanel:
    """Features at a cut-off joined with the label after it, for customers at risk.

    Attributes
    ----------
    frame : DataFrame
        ``customer_id``, the features, ``churned``, ``entry_months`` and ``exit_months``.
    numeric, categorical : list of str
        Feature columns by kind (constant columns left out).
    design : ChurnCutoff
        The churn rule at the panel's cut-off.
    dropped : DataFrame
        Rows loading dropped, compared with those kept (:func:`cxlib.data.dropped_outcomes`).
    missing : DataFrame
        Drivers with missing values, how the models handle them, churn with and without
        (:func:`cxlib.churn.missing_values`).
    tenure_cap_months : float or None
        When the data window caps tenure (:func:`tenure_cap`), the longest tenure a customer can
        show at the cut-off; None when tenure is not capped.
    """

    frame: pd.DataFrame
    numeric: list[str]
    categorical: list[str]
    design: ChurnCutoff
    dropped: pd.DataFrame = field(default_factory=lambda: pd.DataFrame(columns=OUTCOME_COLUMNS))
    missing: pd.DataFrame = field(default_factory=lambda: pd.DataFrame(columns=MISSING_COLUMNS))
    tenure_cap_months: float | None = None

    @property
    def features(self) -> list[str]:
        """All feature columns."""
        return self.numeric + self.categorical

    @property
    def entry_col(self) -> str | None:
        """Column of the tenure at which customers enter follow-up (None for a snapshot)."""
        return "entry_months" if self.design.dated else None


def churn_panel(data: CustomerData, config: Config, cutoff: str | pd.Timestamp | None = None) -> ChurnPanel:
    """Build the modelling table: features before the cut-off, label after it.

    Parameters
    ----------
    data : CustomerData
    config : Config
        ``churn_model`` keys name extra feature columns and the long-wait threshold.
    cutoff : str or Timestamp, optional
        Overrides the configured cut-off (used for the earlier, training panel).

    Returns
    -------
    ChurnPanel
    """
    design, frame, numeric, categorical = _panel_frame(data, config, cutoff)
    return ChurnPanel(
        frame=frame,
        numeric=numeric,
        categorical=categorical,
        design=design,
        dropped=dropped_outcomes(data),
        missing=missing_values(frame, numeric, categorical, LABEL, config.analysis["min_group_size"]),
        tenure_cap_months=tenure_cap(data, design.cutoff),
    )


def _panel_frame(data: CustomerData, config: Config, cutoff) -> tuple[ChurnCutoff, pd.DataFrame, list, list]:
    """:func:`churn_panel`'s design, frame and feature columns, without its descriptions of the data.

    For a panel whose frame alone is used (the training panel of :func:`train_test_panels`): the
    report describes dropped rows, missing values and the tenure cap of the reported panel only,
    and each reads tables again.
    """
    design = churn_cutoff(data, config, cutoff)
    features = _features_at(data, config, design.cutoff, inclusive=not design.dated)
    labels = churn_labels(data, design)
    # one row per customer on both sides; checked directly (merge's validate="1:1" builds a
    # two-level index of the keys: three times the cost of the merge on 1M string ids)
    if not (labels["customer_id"].is_unique and features["customer_id"].is_unique):
        raise pd.errors.MergeError("churn panel: customer ids repeat in the labels or the features")
    frame = labels[["customer_id"]].merge(features, on="customer_id", how="inner")
    frame = frame.join(labels.drop(columns="customer_id"))
    frame["followup_months"] = frame["exit_months"] - frame["entry_months"]
    categorical = [c for c in features.columns if features[c].dtype == object and c != "customer_id"]
    numeric = [c for c in features.columns if c not in categorical and c != "customer_id"]
    varying = frame.nunique() > 1
    numeric = [c for c in numeric if varying[c]]
    categorical = [c for c in categorical if varying[c]]
    return design, frame, numeric, categorical


def scoring_features(data: CustomerData, config: Config) -> pd.DataFrame:
    """Features at the as-of date for current customers (not churned), to score with a fitted model."""
    design = churn_cutoff(data, config)
    features = _features_at(data, config, design.as_of, inclusive=True)
    churned = design.rule.churned_by(data, design.as_of)
    active = churned.index[~churned.to_numpy()]
    return features.loc[features["customer_id"].isin(active)].reset_index(drop=True)


def _features_at(data: CustomerData, config: Config, when: pd.Timestamp, inclusive: bool) -> pd.DataFrame:
    """Features at ``when``; ``inclusive`` also reads records dated on that day (snapshot, scoring)."""
    settings = config.values["churn_model"]
    at = when + pd.Timedelta(days=1) if inclusive else when
    features = driver_features(
        data,
        at,
        settings["numeric_features"],
        settings["categorical_features"],
        settings["long_wait_minutes"],
        engine=config.values["data"].get("engine") or "pandas",
    )
    if inclusive:  # tenure at ``when`` itself, not a day later
        features["tenure_months"] = features["tenure_months"] - 1 / DAYS_PER_MONTH
    return features


def train_test_panels(
    data: CustomerData, config: Config, panel: ChurnPanel
) -> tuple[pd.DataFrame, pd.DataFrame, Note]:
    """Split for held-out evaluation: out-of-time when churn has dates, else random stratified.

    The time-based split trains on the panel one window earlier (its label window ends at the
    cut-off, so training never sees the test period) and tests on ``panel``. It needs at least one
    window of history before the training cut-off (so training features describe customers as the
    test features do) and :data:`MIN_TRAIN_CHURNERS` churners in the training panel; otherwise the
    split is random stratified and ``how`` says why.

    Returns
    -------
    train, test : DataFrame
    how : Note
        The split as data, for :func:`cxlib.report.render`: ``split.out_of_time`` (``train_at``,
        ``test_at``), ``split.random`` (``train_share``, ``test_share``), or, for a random split
        of dated churn, why it is not out-of-time: ``split.random_short_history`` (also
        ``train_at``, ``window_days``, ``data_start``) or ``split.random_few_churners`` (also
        ``train_at``, ``churners``, ``needed``).
    """
    settings = config.values["churn_model"]
    shares = {"train_share": 1 - settings["test_size"], "test_share": settings["test_size"]}
    how = Note("split.random", shares)
    if panel.design.dated:
        window = pd.Timedelta(days=panel.design.window_days)
        earlier = panel.design.cutoff - window
        first = _first_record(data)
        if earlier - window < first:
            how = Note(
                "split.random_short_history",
                {**shares, "train_at": earlier, "window_days": panel.design.window_days, "data_start": first},
            )
        else:
            train = _panel_frame(data, config, earlier)[1]
            if train[LABEL].sum() >= MIN_TRAIN_CHURNERS:
                how = Note("split.out_of_time", {"train_at": earlier, "test_at": panel.design.cutoff})
                return train, panel.frame, how
            how = Note(
                "split.random_few_churners",
                {
                    **shares,
                    "train_at": earlier,
                    "churners": int(train[LABEL].sum()),
                    "needed": MIN_TRAIN_CHURNERS,
                },
            )
    from sklearn.model_selection import train_test_split  # slow import: loading checks need none

    train, test = train_test_split(
        panel.frame,
        test_size=settings["test_size"],
        stratify=panel.frame[LABEL],
        random_state=config.seed,
    )
    return train.reset_index(drop=True), test.reset_index(drop=True), how


def _column(data: CustomerData, table: str, column: str) -> pd.Series:
    """One column of a table, read alone from a run's saved Parquet when the table was not read yet.

    Reading a date column alone keeps 20 million transaction rows out of memory when only their
    first date is needed (the run's tables are read on first use: :class:`cxlib.run.SavedTables`).
    """
    columns_of = getattr(data.tables, "columns_of", None)
    if columns_of is not None:
        return columns_of(table, [column])[column]
    return data[table][column]


def _first_record(data: CustomerData) -> pd.Timestamp:
    """The earliest signup or transaction: where the history of the data begins."""
    first = _column(data, "customers", "signup_date").min()
    if data.has("transactions"):
        first = min(first, _column(data, "transactions", "order_date").min())
    return pd.Timestamp(first).normalize()


#: Activity tables whose first record marks the start of the data window.
_WINDOW_DATES = {"transactions": "order_date", "interactions": "timestamp", "surveys": "date"}

#: Signups in the first month of the window this many times the typical month: customers who joined
#: before the data began, piled up at its start (left-censored).
PILE_UP_RATIO = 3.0


def tenure_cap(data: CustomerData, cutoff: pd.Timestamp) -> float | None:
    """The tenure (months at ``cutoff``) beyond which the data window cannot show a customer, if any.

    Tenure is capped when the signup dates cannot reach back before the data window (its first
    transaction, interaction or survey): they are the first order in the data
    (``from_transactions``), or none predates the window and its first month holds a pile-up of
    signups (more than :data:`PILE_UP_RATIO` times the median of the next 12 months: customers who
    joined earlier, dated at the window's start). A tenure effect may then reflect when customers
    entered the data rather than how long they stayed.

    Returns
    -------
    float or None
        Months from the window's start to ``cutoff``; None when tenure is not capped (or there is
        no activity table to define a window).
    """
    starts = [
        _column(data, table, column).min() for table, column in _WINDOW_DATES.items() if data.has(table)
    ]
    starts = [pd.Timestamp(s) for s in starts if pd.notna(s)]
    if not starts:
        return None
    start = min(starts).normalize()
    cap = float(tenure_months(pd.Series([start]), pd.Timestamp(cutoff)).iloc[0])
    derived = getattr(data, "derived_columns", {}).get("customers.signup_date")
    if derived == FIRST_ORDER:
        return cap
    signup = _column(data, "customers", "signup_date").dropna()
    if signup.empty or signup.min() < start - pd.Timedelta(days=31):
        return None
    monthly = signup.dt.to_period("M").value_counts().sort_index()
    later = monthly.iloc[1:13]
    if later.empty or monthly.iloc[0] <= PILE_UP_RATIO * max(float(later.median()), 1.0):
        return None
    return cap

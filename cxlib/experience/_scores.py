"""NPS and CSAT with 95% intervals, by customer group and by period, with tests of differences.

Methods
-------
Intervals and two-sample tests are those of :mod:`cxlib.experience._score_intervals` (NPS: the
adjusted Wald interval of Rocks 2016; CSAT: t interval, Welch's t test, Wilson for the top-2 box).

Multiple comparisons: Holm's step-down correction (:func:`cxlib.stats.holm_adjusted`)
over the shown groups of one variable, and over the changes between consecutive periods; it
controls the family-wise error rate without assuming independent tests (Holm 1979).

Which answers count
-------------------
One voice per customer: each respondent's latest answer in the window (by group), or in each
period (by period), so frequent responders do not dominate. The rule is returned as data
(``counting``) for the report to state. A customer who answered in two consecutive periods counts
in both; the change tests treat the periods as independent samples, which for positively
correlated repeat answers errs on the cautious side.

Small groups
------------
A group (or period) with fewer than ``min_answers`` answers is not shown: its figures are NaN,
and :func:`cxlib.stats.suppress_small` hides further groups (smallest first) until the hidden
ones are at least two and hold ``min_answers`` answers together, so the overall figures minus the
shown groups never give one hidden group away. Hidden groups get no test either.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from cxlib.experience._purchases import order_channels
from cxlib.experience._score_intervals import (
    csat_difference_test,
    csat_scores,
    nps_counts,
    nps_difference_test,
    nps_interval_counts,
)
from cxlib.features._time import end_of_day
from cxlib.stats._multitest import holm_adjusted
from cxlib.stats._suppression import suppress_small

#: Smallest number of answers a group or period needs to be shown.
MIN_ANSWERS = 30
#: The counting rule of :func:`scores_by_group`: each customer's latest answer in the window.
LATEST_PER_CUSTOMER = "latest_per_customer"
#: The counting rule of :func:`scores_by_period`: each customer's latest answer in each period.
LATEST_PER_CUSTOMER_PER_PERIOD = "latest_per_customer_per_period"
#: Customer attributes :func:`customer_groups` takes when present.
GROUP_ATTRIBUTES = ("plan", "region", "acquisition_channel")
#: Label of respondents whose group is unknown (missing value, or not in the group table).
UNKNOWN = "unknown"

#: The score columns of both tables (per group or per period).
SCORE_COLUMNS = [
    "answers",
    "promoter_share",
    "detractor_share",
    "nps",
    "nps_low",
    "nps_high",
    "nps_se",
    "csat_answers",
    "csat_mean",
    "csat_low",
    "csat_high",
    "top2_share",
    "top2_low",
    "top2_high",
]
_NPS_FIGURES = ["answers", "promoter_share", "detractor_share", "nps", "nps_low", "nps_high", "nps_se"]
_CSAT_FIGURES = ["csat_answers", "csat_mean", "csat_low", "csat_high", "top2_share", "top2_low", "top2_high"]
_PERIOD_KEYS = ["period", "period_start", "period_end", "partial"]


def _score_row(answers: pd.DataFrame, scale: tuple[int, int]) -> dict[str, float]:
    """Every figure of :data:`SCORE_COLUMNS` for one set of answers."""
    nps = answers["nps"].dropna() if "nps" in answers else pd.Series(dtype=float)
    counts = nps_counts(nps)
    interval = nps_interval_counts(*counts)
    n = len(nps)
    row = {
        "answers": n,
        "promoter_share": counts[0] / n if n else np.nan,
        "detractor_share": counts[2] / n if n else np.nan,
        "nps": interval.estimate,
        "nps_low": interval.ci_low,
        "nps_high": interval.ci_high,
        "nps_se": interval.se,
    }
    csat = answers["csat"] if "csat" in answers else pd.Series(dtype=float)
    return {**row, **csat_scores(csat, scale)}


def _holm(p_values: pd.Series) -> pd.Series:
    """Holm-adjusted p-values over the non-missing ones (NaN stays NaN)."""
    adjusted = pd.Series(np.nan, index=p_values.index)
    present = p_values.dropna()
    if len(present):
        adjusted[present.index] = holm_adjusted(present.to_numpy())
    return adjusted


def _suppress(table: pd.DataFrame, min_answers: int) -> pd.DataFrame:
    """Hide small rows (and complements) for NPS and CSAT figures apart; ``shown`` is the NPS rule."""
    if table.empty:
        return table.assign(shown=pd.Series(dtype=bool))
    out = suppress_small(table, "answers", min_answers, columns=_NPS_FIGURES)
    out = suppress_small(out, "csat_answers", min_answers, columns=_CSAT_FIGURES)
    out["shown"] = out["nps"].notna() | out["csat_mean"].notna()
    return out


#: Period lengths of :func:`scores_by_period`, and the word that lets the data choose between them.
PERIOD_LENGTHS = ("quarter", "month")
AUTOMATIC = "auto"


def latest_per_customer(surveys: pd.DataFrame) -> pd.DataFrame:
    """Each customer's latest answer (ties on the date: the later row), with an NPS or CSAT score."""
    scored = [c for c in ("nps", "csat") if c in surveys]
    answered = surveys.dropna(subset=scored, how="all") if scored else surveys.iloc[:0]
    return answered.sort_values("date", kind="stable").groupby("customer_id").tail(1)


@dataclass(frozen=True)
class GroupScores:
    """NPS and CSAT per group, the result of :func:`scores_by_group`.

    Attributes
    ----------
    table : DataFrame
        One row per (``variable``, ``group``): :data:`SCORE_COLUMNS`, the p-values of the group
        against all other respondents (``nps_p_value``, ``csat_p_value``) and their Holm
        adjustment over the shown groups of every variable (``*_p_adjusted``), and ``shown`` (True when
        the group's NPS or CSAT figures are shown; each is hidden apart, by its own count of answers).
    overall : DataFrame
        One row: the same figures over every counted answer.
    counting : str
        Which answers count (:data:`LATEST_PER_CUSTOMER`).
    start, end : Timestamp
        The window of the counted answers (inclusive days).
    min_answers : int
        Smallest group shown.
    csat_scale : (int, int)
        The CSAT scale (its top two points are the top-2 box).
    """

    table: pd.DataFrame
    overall: pd.DataFrame
    counting: str
    start: pd.Timestamp
    end: pd.Timestamp
    min_answers: int
    csat_scale: tuple[int, int]

    @property
    def hidden(self) -> pd.DataFrame:
        """The groups not shown (variable and group only: their figures are withheld)."""
        return self.table.loc[~self.table["shown"], ["variable", "group"]]


def scores_by_group(
    surveys: pd.DataFrame,
    groups: pd.DataFrame,
    min_answers: int = MIN_ANSWERS,
    start=None,
    end=None,
    csat_scale: tuple[int, int] = (1, 5),
) -> GroupScores:
    """NPS and CSAT per group of every grouping variable, each group tested against the rest.

    Parameters
    ----------
    surveys : DataFrame
        Canonical survey answers: ``customer_id``, ``date`` and ``nps`` and/or ``csat``; not modified.
    groups : DataFrame
        One row per customer: ``customer_id`` and one column per grouping variable (e.g. from
        :func:`customer_groups`). Respondents missing from it, or with a missing value, are in the
        group ``unknown``.
    min_answers : int
        Smallest group shown (see the module docstring for the complementary hiding).
    start, end : date-like, optional
        Window of the answers (inclusive days); default every answer.
    csat_scale : (int, int)
        Lowest and highest CSAT point.

    Returns
    -------
    GroupScores

    Examples
    --------
    >>> surveys = pd.DataFrame({"customer_id": list("abcd"), "date": pd.Timestamp("2025-01-01"),
    ...                         "nps": [10, 9, 3, 8], "csat": [5, 4, 2, 4]})
    >>> groups = pd.DataFrame({"customer_id": list("abcd"), "plan": ["x", "x", "y", "y"]})
    >>> scores_by_group(surveys, groups, min_answers=1).table[["group", "nps"]].values.tolist()
    [['x', 100.0], ['y', -50.0]]
    """
    answers = _window(surveys, start, end)
    answers = latest_per_customer(answers)
    variables = [c for c in groups.columns if c != "customer_id" and groups[c].notna().any()]
    lookup = groups.drop_duplicates("customer_id").set_index("customer_id")
    rows = []
    for variable in variables:
        labels = answers["customer_id"].map(lookup[variable]).astype("string").fillna(UNKNOWN).astype(object)
        part = []
        for group in sorted(labels.unique(), key=str):
            inside = (labels == group).to_numpy()
            row = {"variable": variable, "group": group, **_score_row(answers[inside], csat_scale)}
            part.append(row)
            row["nps_p_value"] = _nps_vs(answers, inside)
            row["csat_p_value"] = csat_difference_test(*_split(answers, "csat", inside))
        if not part:
            continue
        table = _suppress(pd.DataFrame(part), min_answers)
        for metric, value in (("nps", "nps"), ("csat", "csat_mean")):
            table.loc[table[value].isna(), f"{metric}_p_value"] = np.nan  # hidden or no answers
        rows.append(table)
    columns = ["variable", "group", *SCORE_COLUMNS]
    columns += ["nps_p_value", "nps_p_adjusted", "csat_p_value", "csat_p_adjusted", "shown"]
    if rows:
        table = pd.concat(rows, ignore_index=True)
        # one family: every shown group of every variable, so scanning the whole table for a
        # "significant" group keeps its 5% error rate
        for metric in ("nps", "csat"):
            table[f"{metric}_p_adjusted"] = _holm(table[f"{metric}_p_value"])
        table = table[columns]
    else:
        table = pd.DataFrame(columns=columns)
    overall = pd.DataFrame([_score_row(answers, csat_scale)])
    dates = answers["date"]
    return GroupScores(
        table=table,
        overall=overall,
        counting=LATEST_PER_CUSTOMER,
        start=_day(start, dates.min()),
        end=_day(end, dates.max()),
        min_answers=min_answers,
        csat_scale=tuple(csat_scale),
    )


def _window(surveys: pd.DataFrame, start, end) -> pd.DataFrame:
    dates = surveys["date"]
    keep = pd.Series(True, index=surveys.index)
    if start is not None:
        keep &= dates >= pd.Timestamp(start).normalize()
    if end is not None:
        keep &= dates < end_of_day(end)
    return surveys[keep & dates.notna()]


def _split(answers: pd.DataFrame, column: str, inside: np.ndarray) -> tuple[pd.Series, pd.Series]:
    values = answers[column] if column in answers else pd.Series(np.nan, index=answers.index)
    return values[inside], values[~inside]


def _nps_vs(answers: pd.DataFrame, inside: np.ndarray) -> float:
    group, rest = _split(answers, "nps", inside)
    return nps_difference_test(nps_counts(group), nps_counts(rest))


@dataclass(frozen=True)
class PeriodScores:
    """NPS and CSAT per period, the result of :func:`scores_by_period`.

    Attributes
    ----------
    table : DataFrame
        One row per period in time order: ``period`` (e.g. ``2025Q1``), ``period_start``,
        ``period_end`` (inclusive days), ``partial`` (the data do not cover the whole period),
        :data:`SCORE_COLUMNS`, ``shown``, and the change from the period before: ``nps_change``,
        ``nps_change_p_value``, ``nps_change_p_adjusted`` and the same for ``csat`` (NaN unless
        both periods are shown; Holm over the tested changes).
    freq : str
        ``"quarter"`` or ``"month"``.
    counting : str
        Which answers count (:data:`LATEST_PER_CUSTOMER_PER_PERIOD`).
    start, end : Timestamp
        First and last day the data cover.
    min_answers : int
        Smallest period shown.
    """

    table: pd.DataFrame
    freq: str
    counting: str
    start: pd.Timestamp
    end: pd.Timestamp
    min_answers: int


def scores_by_period(
    surveys: pd.DataFrame,
    freq: str = "auto",
    start=None,
    end=None,
    min_answers: int = MIN_ANSWERS,
    csat_scale: tuple[int, int] = (1, 5),
) -> PeriodScores:
    """NPS and CSAT by quarter (or month), with tests of change between consecutive periods.

    Parameters
    ----------
    surveys : DataFrame
        Canonical survey answers (``customer_id``, ``date``, ``nps`` and/or ``csat``); not modified.
    freq : {"auto", "quarter", "month"}
        Period length; ``auto`` takes months when the data cover less than a year, else quarters.
    start, end : date-like, optional
        First and last day the data cover (e.g. the data window and the analysis date); default
        the first and last answer. Periods reaching outside them are marked ``partial``; answers
        outside them are left out.
    min_answers : int
        Smallest period shown (with complementary hiding, as for groups).
    csat_scale : (int, int)
        Lowest and highest CSAT point.

    Returns
    -------
    PeriodScores

    Examples
    --------
    >>> surveys = pd.DataFrame({"customer_id": list("abcd"), "nps": [10, 9, 3, 8],
    ...     "date": pd.to_datetime(["2025-01-05", "2025-01-20", "2025-02-03", "2025-02-27"])})
    >>> scores_by_period(surveys, min_answers=1).table[["period", "nps"]].values.tolist()
    [['2025-01', 100.0], ['2025-02', -50.0]]
    """
    if freq not in (*PERIOD_LENGTHS, AUTOMATIC):
        raise ValueError(f"freq must be 'auto', 'quarter' or 'month', got {freq!r}")
    answers = _window(surveys, start, end)
    first = _day(start, answers["date"].min())
    last = _day(end, answers["date"].max())
    if freq not in PERIOD_LENGTHS:  # automatic: months for less than a year of answers
        freq = "month" if pd.notna(first) and (last - first).days + 1 < 365 else "quarter"
    code = "Q" if freq == "quarter" else "M"
    periods = pd.period_range(first, last, freq=code) if pd.notna(first) else []
    labels = answers["date"].dt.to_period(code)
    rows, counted = [], []
    for period in periods:
        counted.append(latest_per_customer(answers[(labels == period).to_numpy()]))
        row = {
            "period": str(period),
            "period_start": period.start_time.normalize(),
            "period_end": period.end_time.normalize(),
        }
        row["partial"] = bool(row["period_start"] < first or row["period_end"] > last)
        rows.append({**row, **_score_row(counted[-1], csat_scale)})
    table = _suppress(pd.DataFrame(rows, columns=[*_PERIOD_KEYS, *SCORE_COLUMNS]), min_answers)
    _add_changes(table, counted)
    return PeriodScores(table, freq, LATEST_PER_CUSTOMER_PER_PERIOD, first, last, min_answers)


def _day(given, fallback) -> pd.Timestamp:
    """``given`` (or else ``fallback``) as a day; NaT when neither is known."""
    day = pd.Timestamp(given) if given is not None else pd.Timestamp(fallback)
    return day.normalize() if pd.notna(day) else pd.NaT


def _add_changes(table: pd.DataFrame, counted: list[pd.DataFrame]) -> None:
    """Add the change from the period before, its p-value and Holm adjustment to ``table`` (our own copy)."""
    for metric, value in (("nps", "nps"), ("csat", "csat_mean")):
        change = table[value] - table[value].shift(1)
        p_values = pd.Series(np.nan, index=table.index)
        for position in range(1, len(table)):
            before, after = counted[position - 1], counted[position]
            if table[value].iloc[position - 1 : position + 1].isna().any():
                continue  # a hidden (or empty) period is not compared
            if metric == "nps":
                p = nps_difference_test(nps_counts(after.get("nps", [])), nps_counts(before.get("nps", [])))
            else:
                p = csat_difference_test(
                    after.get("csat", pd.Series(dtype=float)), before.get("csat", pd.Series(dtype=float))
                )
            p_values.iloc[position] = p
        table[f"{metric}_change"] = change
        table[f"{metric}_change_p_value"] = p_values
        table[f"{metric}_change_p_adjusted"] = _holm(p_values)


def customer_groups(
    data, segments: pd.DataFrame | None = None, attributes=GROUP_ATTRIBUTES, engine: str = "pandas"
) -> pd.DataFrame:
    """One row per customer with the variables to compare scores by.

    Parameters
    ----------
    data : CustomerData
        The loaded tables (:func:`cxlib.data.load_data`); only ``customers`` is required.
    segments : DataFrame, optional
        ``customer_id`` and ``segment_name`` (e.g. the segmentation's assignments).
    attributes : sequence of str
        Customer columns to take when present (default plan, region, acquisition channel).
    engine : str
        ``data.engine``: the main order channels come from the engine when the data were read
        from a run's validated Parquet files (:func:`cxlib.experience.order_channels`).

    Returns
    -------
    DataFrame
        ``customer_id``, the present ``attributes``, ``order_channel`` (each customer's most
        frequent channel of purchase; ties go to the alphabetically first; refunds not counted)
        when transactions have a channel, and ``segment_name`` when ``segments`` is given.
    """
    customers = data["customers"]
    present = [c for c in attributes if c in customers]
    groups = customers[["customer_id", *present]].drop_duplicates("customer_id").reset_index(drop=True)
    main = order_channels(data, engine)
    if main is not None:
        groups["order_channel"] = groups["customer_id"].map(main)
    if segments is not None:
        groups["segment_name"] = _segment_names(segments, groups["customer_id"])
    return groups


def _segment_names(segments: pd.DataFrame, ids: pd.Series) -> pd.Series:
    """Each customer's segment name (missing when not segmented), in the order of ``ids`` (unique).

    The segmentation's table holds the customers in the customers table's order: then its column
    is taken as it is, without looking a million ids up (the same values).
    """
    aligned = len(segments) == len(ids) and segments["segment_name"].dtype == object
    if aligned and np.array_equal(segments["customer_id"].to_numpy(), ids.to_numpy()):
        return pd.Series(segments["segment_name"].to_numpy(), index=ids.index, name=ids.name)
    names = segments.drop_duplicates("customer_id").set_index("customer_id")["segment_name"]
    return ids.map(names)

"""The run catalog: which tables each numbered notebook writes to the run folder and which it reads.

Notebooks hand tables on through the run folder (``run_dir``, ``reports-data/`` by default) with
:func:`cxlib.run.save_table` and :func:`cxlib.run.load_table`. This module declares that
hand-over, so it is no hidden channel (kedro's data catalogue is the model):

========================  =======================  ================================================
table                     written by               read by
========================  =======================  ================================================
``segments``              ``01_segmentation``      ``02_churn_drivers`` (optional: without it the
                                                   retention curves group customers by a driver)
``segment_summary``       ``01_segmentation``      analysts, the executive summary
``churn_scores``          ``02_churn_drivers``     analysts
``churn_drivers``         ``02_churn_drivers``     ``03_cx_drivers`` (optional: without it the churn
                                                   model is fitted there the same way), the
                                                   executive summary
``driver_importance``     ``03_cx_drivers``        analysts, the executive summary
``friction_effects``      ``03_cx_drivers``        analysts, the revenue-impact notebook
``referral_rates``        ``03_cx_drivers``        analysts
``referred_value``        ``03_cx_drivers``        analysts
``scores_by_group``       ``03_cx_drivers``        analysts, the executive summary
``customer_value``        ``04_customer_value``    analysts (per customer: run data only)
``value_by_group``        ``04_customer_value``    the executive summary
``value_parameters``      ``04_customer_value``    analysts
``value_covariance``      ``04_customer_value``    analysts
``impact_summary``        ``05_revenue_impact``    the executive summary
``impact_inputs``         ``05_revenue_impact``    analysts, the executive summary
========================  =======================  ================================================

Every table has a one-line description and the columns a reader may rely on (it may hold more,
after them); :data:`CATALOG` holds them, :func:`describe_catalog` prints them. Each notebook also
writes a summary (headline and key figures, :func:`cxlib.run.save_summary`) that the report index
shows, and reads the data the runner validated once (:func:`cxlib.run.load_run_data`).

The rules the catalog enforces:

- ``save_table`` refuses a table the catalog does not list (or, when the writer names itself, a
  table the catalog lists for another notebook), and one lacking a declared column; it records in
  the run folder (``produced.json``) that the table was produced in this run.
- ``load_table(run_dir, name)`` raises :class:`~cxlib.exceptions.MissingInputError` naming the
  table, the notebook that produces it and the command that makes it, when the table was not
  produced in this run; ``load_table(run_dir, name, required=False)`` returns None instead, so the
  library can say in the report what it used instead.
- The runner checks before running anything that every selected notebook can get its required
  inputs from a notebook selected before it, and fails early otherwise; an optional input that
  will be missing is stated in the report index.

"This run": ``cx run`` builds every run in a fresh folder (see :mod:`cxlib.run._publish`), so a
table from an earlier run is never there; ``cx run --only 02`` does not see the segments of the
previous full run. A notebook run by hand writes to a folder it shares with earlier sessions
(``build/run`` by default), so the record is what counts there: :func:`start_run` (which the runner
calls) begins a new record, and a table file the record does not list is ignored.

A new capability adds its notebook with one :class:`NotebookIO` entry here.
"""

from __future__ import annotations

import datetime as dt
import json
import uuid
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

#: File in the run folder recording which tables this run produced.
PRODUCED = "produced.json"


@dataclass(frozen=True)
class TableSpec:
    """One table handed on through the run folder.

    Attributes
    ----------
    name : str
        File stem in the run folder (``<name>.parquet``).
    description : str
        One line: what a row is and what it holds.
    columns : dict
        Column -> one-line meaning: the columns every reader may rely on (more may follow).
    """

    name: str
    description: str
    columns: dict[str, str]


@dataclass(frozen=True)
class Read:
    """A table a notebook reads: required (no run without it) or optional (a stated substitute)."""

    table: str
    required: bool = True
    instead: str = ""  # what the notebook does without it (optional reads)


@dataclass(frozen=True)
class NotebookIO:
    """What one numbered notebook writes to and reads from the run folder.

    Attributes
    ----------
    notebook : str
        Notebook stem, e.g. ``"01_segmentation"``.
    writes : tuple of TableSpec
        Tables it saves with :func:`cxlib.run.save_table`.
    reads : tuple of Read
        Tables it loads with :func:`cxlib.run.load_table`.
    data : tuple of str
        Input tables of the data contract it cannot run without (the runner skips it otherwise).
    data_any : tuple of str
        Input tables of which it needs at least one (the runner skips it when none is supplied).
    revenue : bool
        It needs revenue per customer: a transactions table, or a customers column of revenue per
        month named by ``value.monthly_revenue`` (the runner skips it otherwise).
    """

    notebook: str
    writes: tuple[TableSpec, ...] = ()
    reads: tuple[Read, ...] = ()
    data: tuple[str, ...] = field(default=())
    data_any: tuple[str, ...] = field(default=())
    revenue: bool = False


#: The declared hand-over between the suite's notebooks, in run order.
CATALOG: tuple[NotebookIO, ...] = (
    NotebookIO("00_data_overview", data=("customers",)),
    NotebookIO(
        "01_segmentation",
        data=("transactions",),
        writes=(
            TableSpec(
                "segments",
                "One row per customer: behavioural segment and its name, with RFM values and scores.",
                {
                    "customer_id": "the customer",
                    "segment": "segment number (buyers), or the no-purchase label",
                    "segment_name": "the segment's name as the report shows it",
                },
            ),
            TableSpec(
                "segment_summary",
                "One row per segment: size, share and profile (the segmenter's summary_).",
                {
                    "segment": "segment number",
                    "name": "the segment's name",
                    "customers": "customers in the segment",
                },
            ),
        ),
    ),
    NotebookIO(
        "02_churn_drivers",
        data=("customers",),
        reads=(
            Read(
                "segments",
                required=False,
                instead="retention curves group customers by the strongest categorical driver",
            ),
        ),
        writes=(
            TableSpec(
                "churn_scores",
                "One row per current customer: churn probability and expected remaining lifetime.",
                {
                    "customer_id": "the customer",
                    "churn_probability": "probability of churning within the label window",
                    "expected_remaining_lifetime_months": "expected months still a customer, within the horizon",
                },
            ),
            TableSpec(
                "churn_drivers",
                "One row per model term: odds ratio (logistic) and hazard ratio (Cox) with intervals.",
                {
                    "term": "model term (a driver, or one level of a categorical driver)",
                    "driver": "the driver the term belongs to",
                    "odds_ratio": "odds ratio from the logistic driver model",
                    "hazard_ratio": "hazard ratio from the Cox model",
                },
            ),
        ),
    ),
    NotebookIO(
        "03_cx_drivers",
        data_any=("surveys", "interactions", "referrals"),
        reads=(
            Read(
                "segments",
                required=False,
                instead="scores, friction and the funnel are not broken down by segment",
            ),
            Read("churn_drivers", required=False, instead="the churn model is fitted here the same way"),
        ),
        writes=(
            TableSpec(
                "driver_importance",
                "One row per touchpoint rating: relative weight (share of R²) and rank with bootstrap "
                "intervals, model effect per point, current score.",
                {
                    "term": "the rating column",
                    "label": "the rating's name",
                    "share": "percent of the explained variation (R²)",
                    "share_low": "lower end of its 95% bootstrap interval",
                    "share_high": "upper end",
                    "rank": "importance rank (1 = most important)",
                    "mean_rating": "current mean rating",
                    "target": "the survey column explained",
                },
            ),
            TableSpec(
                "friction_effects",
                "One row per friction driver: effect on the survey answer and the churn model's ratios, "
                "with intervals.",
                {
                    "driver": "the friction driver (the churn model's driver name)",
                    "label": "its name",
                    "nps_effect": "change of the answer, in points per nps_unit",
                    "nps_ci_low": "lower end of its 95% interval",
                    "nps_ci_high": "upper end",
                    "hazard_ratio": "the churn Cox model's hazard ratio",
                    "hr_ci_low": "lower end of its 95% interval",
                    "hr_ci_high": "upper end",
                },
            ),
            TableSpec(
                "referral_rates",
                "One row per NPS class of the latest answer: referrals per customer-month with intervals.",
                {
                    "nps_class": "promoter, passive, detractor or no_answer",
                    "estimate": "referrals per customer-month",
                    "ci_low": "lower end of its 95% interval",
                    "ci_high": "upper end",
                    "rate_ratio": "rate ratio vs detractors",
                },
            ),
            TableSpec(
                "referred_value",
                "Spend per active month and 12-month retention of referred vs other customers.",
                {
                    "metric": "spend_per_month or retained_12m",
                    "group": "referred, other or difference",
                    "estimate": "the value",
                    "ci_low": "lower end of its 95% interval",
                    "ci_high": "upper end",
                },
            ),
            TableSpec(
                "scores_by_group",
                "One row per shown group: NPS and CSAT with intervals (groups below experience.min_answers "
                "and those hidden with them are left out).",
                {
                    "variable": "the grouping variable",
                    "group": "the group",
                    "answers": "customers' latest answers counted",
                    "nps": "NPS (-100 to 100)",
                    "nps_low": "lower end of its 95% interval",
                    "nps_high": "upper end",
                },
            ),
        ),
    ),
    NotebookIO(
        "04_customer_value",
        data=("customers",),
        reads=(Read("segments", required=False, instead="value is not broken down by segment"),),
        writes=(
            TableSpec(
                "customer_value",
                "One row per customer valued (and method): expected lifetime value on margin over the horizon, "
                "discounted, with its 95% interval from parameter uncertainty. Per customer: run data only, "
                "never in a report.",
                {
                    "customer_id": "the customer",
                    "clv": "expected value on margin over analysis.horizon_months, discounted",
                    "clv_low": "lower end of its 95% interval",
                    "clv_high": "upper end",
                    "method": "what the value rests on: repeat buying and spend, or survival (contractual)",
                },
            ),
            TableSpec(
                "value_by_group",
                "One row per group of each group variable (and 'all'): customers, total and mean value with "
                "95% intervals.",
                {
                    "variable": "the group variable (all: the whole base)",
                    "group": "the group",
                    "customers": "customers valued",
                    "total": "total value",
                    "total_low": "lower end of its 95% interval",
                    "total_high": "upper end",
                    "mean": "value per customer",
                },
            ),
            TableSpec(
                "value_parameters",
                "One row per parameter of each value model: estimate and standard error.",
                {
                    "model": "bgnbd, pareto_nbd, gamma_gamma, pareto_nbd_covariates, ...",
                    "parameter": "the parameter",
                    "estimate": "its estimate",
                    "se": "its standard error",
                },
            ),
            TableSpec(
                "value_covariance",
                "One row per pair of parameters of one value model: their covariance.",
                {
                    "model": "the model",
                    "parameter": "first parameter",
                    "other": "second parameter",
                    "covariance": "covariance of the two estimates",
                },
            ),
        ),
    ),
    NotebookIO(
        "05_revenue_impact",
        data=("customers",),
        revenue=True,
        reads=(
            Read("segments", required=False, instead="the revenue case is not broken down by segment"),
            Read(
                "friction_effects",
                required=False,
                instead="the friction what-ifs use the churn model fitted here",
            ),
        ),
        writes=(
            TableSpec(
                "impact_summary",
                "One row per headline figure of the revenue case (levers, costs, NPV, ROI, payback, inputs, "
                "KPIs): value, 95% interval and the strength of evidence it rests on.",
                {
                    "figure": "code of the figure (e.g. margin_retention, npv, input_hazard_ratio)",
                    "lever": "loyalty, retention, word_of_mouth, total, input",
                    "unit": "money, customers, ratio, share, months",
                    "value": "central value",
                    "low": "lower end of its 95% interval",
                    "high": "upper end",
                    "evidence": "randomised, quasi_experimental, observational or assumption",
                },
            ),
            TableSpec(
                "impact_inputs",
                "One row per uncertain input of the revenue case: value, interval or range, distribution and "
                "source.",
                {
                    "name": "the input",
                    "value": "central value",
                    "low": "lower end of its interval or range",
                    "high": "upper end",
                    "evidence": "what it rests on",
                    "source": "the model, table or config key it comes from",
                },
            ),
        ),
    ),
    NotebookIO(
        "06_executive_summary",
        data=("customers",),
        reads=(
            Read(
                "impact_summary", required=False, instead="the summary says why the revenue case is missing"
            ),
            Read("impact_inputs", required=False, instead="no assumptions are listed"),
            Read("segment_summary", required=False, instead="the summary says why there are no segments"),
            Read("churn_drivers", required=False, instead="no churn drivers are shown"),
            Read("driver_importance", required=False, instead="no satisfaction drivers are shown"),
            Read("value_by_group", required=False, instead="segments are shown without their value"),
            Read("scores_by_group", required=False, instead="segments are shown without their NPS"),
        ),
    ),
)


def catalog_entry(notebook: str) -> NotebookIO | None:
    """The catalog entry of a notebook (stem or file name), or None for a notebook it does not list."""
    stem = Path(notebook).stem
    return next((entry for entry in CATALOG if entry.notebook == stem), None)


def table_spec(name: str) -> tuple[str, TableSpec]:
    """The producing notebook and declaration of a catalog table.

    Raises
    ------
    ValueError
        When the catalog lists no such table (naming the tables it lists).
    """
    for entry in CATALOG:
        for spec in entry.writes:
            if spec.name == name:
                return entry.notebook, spec
    known = ", ".join(spec.name for entry in CATALOG for spec in entry.writes)
    raise ValueError(
        f"table '{name}' is not in the run catalog (cxlib/run/_catalog.py lists {known}); "
        "declare it there, with the notebook that writes it and its columns, before handing it on"
    )


def describe_catalog() -> str:
    """The catalog as text: per notebook, the tables it writes (with columns) and reads.

    Examples
    --------
    >>> print(describe_catalog().splitlines()[0])
    00_data_overview: writes no table, reads no table
    """
    lines = []
    for entry in CATALOG:
        writes = ", ".join(spec.name for spec in entry.writes) or "no table"
        reads = ", ".join(r.table + ("" if r.required else " (optional)") for r in entry.reads) or "no table"
        lines.append(f"{entry.notebook}: writes {writes}, reads {reads}")
        for spec in entry.writes:
            lines.append(f"  {spec.name}: {spec.description}")
            lines.extend(f"    {column}: {meaning}" for column, meaning in spec.columns.items())
    return "\n".join(lines)


# ---- the run's record of what it produced ------------------------------------------------------------


def _record_path(run_dir: str | Path) -> Path:
    return Path(run_dir) / PRODUCED


def produced(run_dir: str | Path) -> dict[str, dict]:
    """Tables produced in the run folder's current run: name -> notebook, rows, columns, time written."""
    path = _record_path(run_dir)
    if not path.is_file():
        return {}
    return json.loads(path.read_text(encoding="utf-8"))["tables"]


def start_run(run_dir: str | Path) -> str:
    """Begin a new run in ``run_dir``: tables written before it no longer count as produced.

    The runner calls this for every run; call it by hand before running notebooks one by one in a
    folder that holds an earlier session's tables.

    Returns
    -------
    str
        The new run's id.
    """
    run_id = uuid.uuid4().hex
    path = _record_path(run_dir)
    path.parent.mkdir(parents=True, exist_ok=True)
    record = {"run_id": run_id, "started": dt.datetime.now().isoformat(timespec="seconds"), "tables": {}}
    path.write_text(json.dumps(record, indent=2) + "\n", encoding="utf-8")
    return run_id


def record_produced(run_dir: str | Path, name: str, notebook: str, rows: int, columns: list[str]) -> None:
    """Record that this run produced table ``name`` (a run folder without a record starts one)."""
    path = _record_path(run_dir)
    if not path.is_file():
        start_run(run_dir)
    record = json.loads(path.read_text(encoding="utf-8"))
    record["tables"][name] = {
        "notebook": notebook,
        "rows": int(rows),
        "columns": [str(c) for c in columns],
        "written": dt.datetime.now().isoformat(timespec="seconds"),
    }
    tmp = path.with_suffix(".json.tmp")
    tmp.write_text(json.dumps(record, indent=2) + "\n", encoding="utf-8")
    tmp.replace(path)


def check_writable(name: str, columns: Iterable, notebook: str | None = None) -> str:
    """Check a table may be saved: listed in the catalog, by this notebook, with its columns.

    Parameters
    ----------
    name : str
        Table name.
    columns : iterable of str
        The table's columns.
    notebook : str, optional
        The writing notebook's stem; when given, it must be the one the catalog lists.

    Returns
    -------
    str
        The producing notebook's stem.

    Raises
    ------
    ValueError
        For a table the catalog does not list, listed for another notebook, or lacking a
        declared column.
    """
    producer, spec = table_spec(name)
    if notebook is not None and Path(notebook).stem != producer:
        raise ValueError(
            f"table '{name}' is declared as written by {producer}, not {Path(notebook).stem}; "
            "each table has one producer in the run catalog (cxlib/run/_catalog.py)"
        )
    missing = [column for column in spec.columns if column not in set(map(str, columns))]
    if missing:
        raise ValueError(
            f"table '{name}' lacks the column(s) {', '.join(missing)} that the run catalog promises its "
            f"readers; add them or change the declaration in cxlib/run/_catalog.py"
        )
    return producer


def missing_input_message(name: str, run_dir: str | Path) -> str:
    """Why a table is not available in this run, and how to produce it."""
    producer, _ = table_spec(name)
    readers = [entry.notebook[:2] for entry in CATALOG if any(r.table == name for r in entry.reads)]
    found = (
        f" (the {name}.parquet there is from an earlier run, so it is not used)"
        if (Path(run_dir) / f"{name}.parquet").is_file()
        else ""
    )
    return (
        f"table '{name}' was not produced in this run{found}: it is written by {producer}. "
        f"Run `cx run --only {','.join([producer[:2], *readers])}` (or the whole suite), "
        f"or run {producer}.ipynb first with the same run_dir"
    )


def check_inputs(selected: list[str], skipped: Iterable[str] = ()) -> tuple[list[str], list[str]]:
    """Check before a run that each selected notebook can get its inputs from one before it.

    Parameters
    ----------
    selected : list of str
        Notebook stems in run order.
    skipped : iterable of str
        Selected notebooks that will not run (e.g. their data table is not configured).

    Returns
    -------
    problems : list of str
        One line per required input no earlier notebook of this run produces.
    notes : list of str
        ``"<notebook>: ..."`` lines for optional inputs that will be missing, saying what is used instead.
    """
    skipped = set(skipped)
    available: set[str] = set()
    problems, notes = [], []
    for stem in selected:
        entry = catalog_entry(stem)
        if entry is None:
            continue
        for read in entry.reads:
            if read.table in available:
                continue
            producer, _ = table_spec(read.table)
            why = (
                f"{producer} is skipped in this run"
                if producer in skipped
                else f"{producer} is not part of this run"
                if producer not in selected
                else f"{producer} runs after it"
            )
            if read.required:
                problems.append(
                    f"{stem} needs the table '{read.table}', written by {producer}, and {why}; "
                    f"run `cx run --only {producer[:2]},{stem[:2]}` or the whole suite"
                )
            else:
                notes.append(f"{stem} ran without the table '{read.table}' ({why}); instead, {read.instead}.")
        if stem not in skipped:
            available.update(spec.name for spec in entry.writes)
    return problems, notes

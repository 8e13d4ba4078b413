"""What the executive summary reads: the run's summaries and tables, and the figures it shows.

The summary recomputes nothing. It reads the machine-readable outputs the earlier notebooks of the
run wrote (their summaries, :func:`cxlib.run.load_summaries`, and the catalog tables,
:func:`cxlib.run.load_table`), and which input tables the validated data hold, so it can say why a
part is missing. :func:`headline_figures` lists every number the page shows with its interval, its
period, the strength of evidence it rests on and where it comes from ("notebook/table:row"), so a
test can check each against its source.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from cxlib.run._artifacts import load_summaries, load_table
from cxlib.run._catalog import CATALOG

#: This notebook's stem.
NOTEBOOK = "06_executive_summary"
#: Catalog tables the summary reads (all optional: a part without its table says why).
READS = (
    "impact_summary",
    "impact_inputs",
    "segment_summary",
    "churn_drivers",
    "driver_importance",
    "value_by_group",
    "scores_by_group",
)
#: The revenue case's money figures the summary shows, in page order.
MONEY_FIGURES = (
    "npv",
    "roi",
    "payback_month",
    "p_roi_positive",
    "margin_total",
    "cost",
    "margin_loyalty",
    "margin_retention",
    "margin_word_of_mouth",
)
#: The headline KPIs of notebook 00 the tiles show.
KPI_FIGURES = (
    "customers",
    "active_customers",
    "net_revenue_12m",
    "churn_rate_12m",
    "churn_rate_snapshot",
    "lapse_rate",
    "nps",
)
#: The churn KPI notebook 00 reports, by churn definition (contractual, snapshot, inactivity).
CHURN_FIGURES = ("churn_rate_12m", "churn_rate_snapshot", "lapse_rate")
#: Columns of :func:`headline_figures`.
FIGURE_COLUMNS = ["figure", "value", "low", "high", "unit", "evidence", "period", "source"]


@dataclass(frozen=True)
class ExecutiveInputs:
    """Everything the executive summary is built from (see :func:`executive_inputs`).

    Attributes
    ----------
    summaries : dict
        Notebook stem -> its saved summary (``headline``, ``metrics``); only notebooks that ran.
    tables : dict
        Catalog table name -> table, for the tables of :data:`READS` this run produced.
    present : frozenset of str
        Input tables the validated data hold (``customers``, ``transactions``, ...).
    ran : tuple of str
        Notebooks of the run catalog with a summary, in run order (this one excluded).
    missing : dict
        Notebook stem -> the input tables it needs and the data lack (an empty tuple: the data
        would allow it, but it was not part of this run or did not finish), for every catalog
        notebook that did not run.
    settings : dict
        The money settings (:func:`cxlib.value.money_settings`), the ``as_of`` date and
        ``monthly_revenue`` (the config's revenue column, or None).
    """

    summaries: dict[str, dict]
    tables: dict[str, pd.DataFrame]
    present: frozenset[str]
    ran: tuple[str, ...]
    missing: dict[str, tuple[str, ...]] = field(default_factory=dict)
    settings: dict = field(default_factory=dict)

    def metrics(self, notebook: str) -> dict:
        """The saved metrics of ``notebook`` (empty when it did not run)."""
        return self.summaries.get(notebook, {}).get("metrics", {}) or {}

    def table(self, name: str) -> pd.DataFrame | None:
        """A catalog table of this run, or None."""
        return self.tables.get(name)

    @property
    def has_case(self) -> bool:
        """Whether notebook 05 built the revenue case (its summary table is there)."""
        table = self.table("impact_summary")
        return table is not None and bool({"npv", "margin_total"} & set(table["figure"]))


def executive_inputs(
    run_dir: str | Path,
    config,
    data_tables: Iterable[str] | Mapping,
    as_of=None,
) -> ExecutiveInputs:
    """Read what the earlier notebooks of this run wrote, and what the data hold.

    Parameters
    ----------
    run_dir : str or Path
        The run folder.
    config : Config
        The run's config (money settings; the revenue column).
    data_tables : iterable of str or mapping
        The validated data's tables (``load_run_data(config, run_dir).tables``): their names say
        which optional inputs were supplied.
    as_of : Timestamp, optional
        The data's as-of date (``load_run_data(...).as_of``), for the periods of the figures.

    Returns
    -------
    ExecutiveInputs

    Examples
    --------
    >>> data = load_run_data(config, run_dir)  # doctest: +SKIP
    >>> inputs = executive_inputs(run_dir, config, data.tables, data.as_of)  # doctest: +SKIP
    """
    from cxlib.value._study import money_settings

    present = frozenset(data_tables)
    summaries = {k: v for k, v in load_summaries(run_dir).items() if k != NOTEBOOK}
    tables = {}
    for name in READS:
        table = load_table(run_dir, name, required=False)
        if table is not None:
            tables[name] = table
    settings = dict(money_settings(config))
    settings["as_of"] = None if as_of is None else pd.Timestamp(as_of)
    settings["monthly_revenue"] = config.values.get("value", {}).get("monthly_revenue")
    notebooks = [entry.notebook for entry in CATALOG if entry.notebook != NOTEBOOK]
    ran = tuple(stem for stem in notebooks if stem in summaries)
    missing = {
        stem: missing_inputs(stem, present, settings["monthly_revenue"])
        for stem in notebooks
        if stem not in ran
    }
    return ExecutiveInputs(summaries, tables, present, ran, missing, settings)


def missing_inputs(
    notebook: str, present: Iterable[str], monthly_revenue: str | None = None
) -> tuple[str, ...]:
    """Input tables a catalog notebook needs that the data lack (what the runner skips it for).

    Parameters
    ----------
    notebook : str
        Notebook stem.
    present : iterable of str
        Input tables supplied.
    monthly_revenue : str, optional
        The config's revenue column (``value.monthly_revenue``): revenue without transactions.

    Returns
    -------
    tuple of str
        Table names; "a or b" when it needs any one of several; ``"revenue"`` when it needs
        transactions or a revenue column.

    Examples
    --------
    >>> missing_inputs("03_cx_drivers", {"customers"})
    ('surveys or interactions or referrals',)
    >>> missing_inputs("05_revenue_impact", {"customers"})
    ('revenue',)
    """
    present = set(present)
    entry = next((e for e in CATALOG if e.notebook == notebook), None)
    if entry is None:
        return ()
    out = [name for name in entry.data if name not in present]
    if entry.data_any and not present & set(entry.data_any):
        out.append(" or ".join(entry.data_any))
    if entry.revenue and "transactions" not in present and not monthly_revenue:
        out.append("revenue")
    return tuple(out)


# ---- the figures ----------------------------------------------------------------------------------


def _kpi_period(row: dict, as_of) -> str:
    days = row.get("window_days")
    if days is None or (isinstance(days, float) and np.isnan(days)):
        return f"as of {as_of:%d %b %Y}" if as_of is not None else "at the data's end"
    days = int(days)
    return "last 12 months" if days == 365 else f"last {days} days"


def _number(value) -> float:
    return float("nan") if value is None else float(value)


def kpi_rows(inputs: ExecutiveInputs) -> list[dict]:
    """Figure rows of the headline KPIs of notebook 00 (customers, revenue, churn, NPS)."""
    rows = []
    for kpi in inputs.metrics("00_data_overview").get("kpis", []):
        if kpi.get("kpi") not in KPI_FIGURES:
            continue
        rows.append(
            {
                "figure": kpi["kpi"],
                "value": _number(kpi.get("value")),
                "low": _number(kpi.get("low")),
                "high": _number(kpi.get("high")),
                "unit": "money" if kpi.get("unit") == "currency" else kpi.get("unit"),
                "evidence": None,
                "period": _kpi_period(kpi, inputs.settings.get("as_of")),
                "source": f"00_data_overview/kpis:{kpi['kpi']}",
            }
        )
    return rows


def value_rows(inputs: ExecutiveInputs) -> list[dict]:
    """Figure rows of notebook 04's customer value: the total and the mean per customer."""
    metrics = inputs.metrics("04_customer_value")
    if "clv_total" not in metrics:
        return []
    period = f"next {int(metrics.get('horizon_months', inputs.settings.get('horizon_months', 0)))} months"
    return [
        {
            "figure": f"clv_{key}",
            "value": _number(metrics.get(f"clv_{key}")),
            "low": _number(metrics.get(f"clv_{key}_low")),
            "high": _number(metrics.get(f"clv_{key}_high")),
            "unit": "money",
            "evidence": None,
            "period": period,
            "source": f"04_customer_value/summary:clv_{key}",
        }
        for key in ("total", "mean")
    ]


def money_rows(inputs: ExecutiveInputs) -> list[dict]:
    """Figure rows of the revenue case (notebook 05's ``impact_summary``), in page order."""
    table = inputs.table("impact_summary")
    if table is None:
        return []
    table = table.drop_duplicates("figure").set_index("figure")
    period = f"next {inputs.settings.get('horizon_months')} months"
    return [
        {
            "figure": figure,
            "value": float(table.loc[figure, "value"]),
            "low": float(table.loc[figure, "low"]),
            "high": float(table.loc[figure, "high"]),
            "unit": table.loc[figure, "unit"],
            "evidence": table.loc[figure, "evidence"],
            "period": period,
            "source": f"05_revenue_impact/impact_summary:{figure}",
        }
        for figure in MONEY_FIGURES
        if figure in table.index
    ]


def headline_figures(inputs: ExecutiveInputs) -> pd.DataFrame:
    """Every number the executive summary shows, with its interval, period, evidence and source.

    Parameters
    ----------
    inputs : ExecutiveInputs

    Returns
    -------
    DataFrame
        :data:`FIGURE_COLUMNS`: ``figure`` (a code: ``customers``, ``net_revenue_12m``,
        ``churn_rate_12m``, ``nps``, ``clv_total``, ``npv``, ``margin_retention``, ...), ``value``,
        ``low`` and ``high`` (95% interval; NaN for an observed total), ``unit`` (money,
        customers, share, points, ratio, months, odds ratio, percent), ``evidence`` (the revenue
        case's evidence code; None for observed figures and model estimates), ``period`` and
        ``source`` ("notebook/table:row").

    Examples
    --------
    >>> headline_figures(inputs).set_index("figure").loc["npv", "source"]  # doctest: +SKIP
    '05_revenue_impact/impact_summary:npv'
    """
    from cxlib.executive._selection import segment_rows, strongest_churn_driver, top_satisfaction_drivers

    rows = kpi_rows(inputs) + value_rows(inputs) + money_rows(inputs)
    segments = segment_rows(inputs)
    if len(segments) and segments["share_of_revenue"].notna().any():
        top = segments.loc[segments["share_of_revenue"].idxmax()]
        rows.append(
            {
                "figure": "top_segment_revenue_share",
                "value": float(top["share_of_revenue"]),
                "low": np.nan,
                "high": np.nan,
                "unit": "share",
                "evidence": None,
                "period": "all purchases to date",
                "source": f"01_segmentation/segment_summary:{top['segment']}",
            }
        )
    driver = strongest_churn_driver(inputs.table("churn_drivers"))
    if driver is not None:
        rows.append(
            {
                "figure": "top_churn_driver_odds_ratio",
                "value": float(driver["odds_ratio"]),
                "low": float(driver["or_ci_low"]),
                "high": float(driver["or_ci_high"]),
                "unit": "odds ratio",
                "evidence": "observational",
                "period": None,
                "source": f"02_churn_drivers/churn_drivers:{driver['term']}",
            }
        )
    satisfaction = top_satisfaction_drivers(inputs.table("driver_importance"), top=1)
    if len(satisfaction):
        top = satisfaction.iloc[0]
        rows.append(
            {
                "figure": "top_satisfaction_driver_share",
                "value": float(top["share"]),
                "low": float(top["share_low"]),
                "high": float(top["share_high"]),
                "unit": "percent",
                "evidence": "observational",
                "period": None,
                "source": f"03_cx_drivers/driver_importance:{top['term']}",
            }
        )
    return pd.DataFrame(rows, columns=FIGURE_COLUMNS)


def waterfall_table(inputs: ExecutiveInputs) -> pd.DataFrame:
    """The steps of the money waterfall: each lever's margin, minus the cost, to the NPV.

    Without costs the last step is the total margin. Each step has its 95% interval signed like
    its value (the cost's is the cost's interval, negated) and its evidence code.

    Returns
    -------
    DataFrame
        ``step`` (loyalty, retention, word_of_mouth, cost, npv or margin_total), ``value``,
        ``low``, ``high``, ``evidence``; empty without the revenue case.
    """
    figures = {row["figure"]: row for row in money_rows(inputs)}
    rows = [
        {**_step(figures[f"margin_{lever}"]), "step": lever}
        for lever in ("loyalty", "retention", "word_of_mouth")
        if f"margin_{lever}" in figures
    ]
    if "cost" in figures and "npv" in figures:
        cost = figures["cost"]
        rows.append(
            {
                "step": "cost",
                "value": -cost["value"],
                "low": -cost["high"],
                "high": -cost["low"],
                "evidence": cost["evidence"],
            }
        )
        rows.append({**_step(figures["npv"]), "step": "npv"})
    elif "margin_total" in figures:
        rows.append({**_step(figures["margin_total"]), "step": "margin_total"})
    return pd.DataFrame(rows, columns=["step", "value", "low", "high", "evidence"])


def _step(row: dict) -> dict:
    return {key: row[key] for key in ("value", "low", "high", "evidence")}

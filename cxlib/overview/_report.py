"""Reader-facing text of the data overview: KPI labels and bases, display tables, findings as sentences.

Everything here presents results computed in :mod:`cxlib.overview._kpis` and
:mod:`cxlib.overview._data_overview`; no figure is computed here, so a message catalogue can
replace the words without touching a number. Text from the data or the config (company,
currency, category values) is escaped with :func:`cxlib.report.md_text` in Markdown and by
:func:`cxlib.report.styled` in tables.

The ``*_report`` functions return what a notebook section shows besides its chart, ready for
``display(*parts)``: tables (pandas Stylers) and Markdown, or one plain sentence saying what is
not available and why.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from IPython.display import Markdown

from cxlib.overview._data_overview import MIX_COLUMNS, DataOverview
from cxlib.report._dropped import describe_dropped_rows
from cxlib.report._html import money_format, styled
from cxlib.report._messages import variable_label
from cxlib.report._safe_text import md_text
from cxlib.report._sentences import all_equal, describe_hidden_groups, describe_pooling, groups_to_show

#: Display name of each KPI of :func:`cxlib.overview.headline_kpis`.
KPI_LABELS = {
    "customers": "Customers (all time)",
    "active_customers": "Active customers",
    "net_revenue_12m": "Net revenue, last 12 months",
    "revenue_per_buyer": "Revenue per buying customer",
    "repeat_rate": "Repeat rate",
    "churn_rate_12m": "Churn rate, last 12 months",
    "churn_rate_snapshot": "Churn rate (snapshot)",
    "lapse_rate": "Lapse rate (no purchase)",
    "nps": "NPS",
    "csat": "CSAT (1-5)",
    "satisfied_share": "Satisfied (CSAT 4-5)",
}

_SURVEY_BASIS = (
    "latest answer of {respondents:,.0f} respondents ({response_rate:.0%} of customers); "
    "respondents self-select; 95% CI"
)

#: How each KPI was obtained, or why it has no interval; filled from the KPI's row.
KPI_BASIS = {
    "customers": "census of the customer table",
    "active_customers": "bought in the last {window_days:.0f} days (census)",
    "net_revenue_12m": "census total, refunds subtracted; no sampling error",
    "revenue_per_buyer": "mean over {n:,.0f} customers who bought in 12 months; 95% CI",
    "repeat_rate": "share of 12-month buyers with 2+ orders; 95% Wilson CI",
    "churn_rate_12m": "cancellations among {n:,.0f} customers active a year ago; 95% Wilson CI",
    "churn_rate_snapshot": "share of customers marked churned; 95% Wilson CI",
    "lapse_rate": "customers who bought before a year ago with no purchase in the last {window_days:.0f} days",
    "nps": _SURVEY_BASIS,
    "csat": _SURVEY_BASIS,
    "satisfied_share": "share of respondents; 95% Wilson CI",
}

#: The churn KPIs, of which :func:`cxlib.overview.headline_kpis` gives one.
CHURN_KPIS = ("churn_rate_12m", "churn_rate_snapshot", "lapse_rate")

_HEALTH_FORMATS = {"rows": "{:,.0f}", "customers": "{:,.0f}", "missing_cells": "{:.1%}"}
_CHURN_FORMATS = {"churn_rate": "{:.1%}", "churn_low": "{:.1%}", "churn_high": "{:.1%}"}
_TOUCHPOINT_FORMATS = {
    "events": "{:,.0f}",
    "customers": "{:,.0f}",
    "per_1000_active": "{:,.1f}",
    "per_1000_customers": "{:,.1f}",
    "median_wait_minutes": "{:.1f}",
    "resolved_share": "{:.0%}",
}


def format_value(value: float, unit: str, currency: str = "EUR") -> str:
    """One figure as display text in its unit (the currency is placed as given).

    Examples
    --------
    >>> format_value(0.1234, "share"), format_value(1953290.4, "currency"), format_value(-4.2, "points")
    ('12.3%', '1,953,290 EUR', '-4')
    """
    if value is None or (isinstance(value, float) and np.isnan(value)):
        return "–"
    if unit == "share":
        return f"{value:.1%}"
    if unit == "currency":
        return f"{value:,.0f} {currency}" if abs(value) >= 100 else f"{value:,.2f} {currency}"
    if unit == "points":
        return f"{value:+.0f}"
    if unit == "score":
        return f"{value:.2f}"
    return f"{value:,.0f}"


def kpi_basis(row: pd.Series) -> str:
    """How a KPI of :func:`cxlib.overview.headline_kpis` was obtained, filled from its row."""
    return KPI_BASIS[row["kpi"]].format(**row.to_dict())


def format_kpis(kpis: pd.DataFrame, currency: str = "EUR") -> pd.DataFrame:
    """KPI table as display text: label, value, 95% interval, and how each figure was obtained.

    Parameters
    ----------
    kpis : DataFrame
        From :func:`cxlib.overview.headline_kpis`.
    currency : str

    Returns
    -------
    DataFrame
        Columns ``KPI``, ``Value``, ``95% interval``, ``Basis`` (plain text: escape it where it is
        placed, as :func:`kpi_table` does).
    """
    rows = []
    for _, row in kpis.iterrows():
        interval = (
            "–"
            if pd.isna(row["low"])
            else f"{format_value(row['low'], row['unit'], currency)} to {format_value(row['high'], row['unit'], currency)}"
        )
        rows.append(
            {
                "KPI": KPI_LABELS[row["kpi"]],
                "Value": format_value(row["value"], row["unit"], currency),
                "95% interval": interval,
                "Basis": kpi_basis(row),
            }
        )
    return pd.DataFrame(rows, columns=["KPI", "Value", "95% interval", "Basis"])


def kpi_table(kpis: pd.DataFrame, currency: str = "EUR"):
    """:func:`format_kpis` as a report table (escaped Styler)."""
    return styled(format_kpis(kpis, currency))


def _findings(kpis: pd.DataFrame, currency: str, bold: str = "**") -> list[str]:
    """The findings on the headline KPIs, one sentence each, most important first (Markdown)."""
    currency = md_text(currency)
    k = kpis.set_index("kpi")

    def fmt(name: str, column: str = "value") -> str:
        return format_value(k.loc[name, column], k.loc[name, "unit"], currency)

    sentences = []
    if "net_revenue_12m" in k.index:
        sentences.append(
            f"{bold}{fmt('active_customers')} customers are active{bold} "
            f"(bought in the last {k.loc['active_customers', 'window_days']:.0f} days); net revenue over the "
            f"last 12 months was {bold}{fmt('net_revenue_12m')}{bold} after refunds."
        )
        sentences.append(
            f"A buying customer spent {fmt('revenue_per_buyer')} on average "
            f"(95% CI {fmt('revenue_per_buyer', 'low')} to {fmt('revenue_per_buyer', 'high')}), and "
            f"{fmt('repeat_rate')} of buyers came back for a second order."
        )
    churn = next((name for name in CHURN_KPIS if name in k.index), None)
    if churn is not None and pd.isna(k.loc[churn, "value"]):  # e.g. less than a year of data
        sentences.append(f"{KPI_LABELS[churn]}: not available, the data do not reach back far enough.")
    elif churn is not None:
        sentences.append(
            f"{KPI_LABELS[churn]}: {bold}{fmt(churn)}{bold} (95% CI {fmt(churn, 'low')} to {fmt(churn, 'high')})."
        )
    if "nps" in k.index:
        sentences.append(
            f"NPS stands at {bold}{fmt('nps')}{bold} (95% CI {fmt('nps', 'low')} to {fmt('nps', 'high')}); "
            "survey respondents choose themselves, so read it as the view of those who answer."
        )
    return sentences


def describe_kpis(kpis: pd.DataFrame, currency: str = "EUR") -> str:
    """Findings as sentences built from the KPI table (Markdown; the currency is escaped for it).

    Parameters
    ----------
    kpis : DataFrame
        From :func:`cxlib.overview.headline_kpis`; the active window is read from its
        ``window_days``.
    currency : str

    Returns
    -------
    str
        Markdown, key figures in bold.

    Examples
    --------
    >>> describe_kpis(headline_kpis(data, active_days=30), "EUR")  # doctest: +SKIP
    '**2,097 customers are active** (bought in the last 30 days); ...'
    """
    return " ".join(_findings(kpis, currency))


def headline_sentence(kpis: pd.DataFrame, currency: str = "EUR") -> str:
    """The first finding of :func:`describe_kpis`, without bold: the overview's line in the report index."""
    findings = _findings(kpis, currency, bold="")
    return findings[0] if findings else "No headline figures: the data has no transactions and no churn data."


def describe_findings(overview: DataOverview) -> str:
    """The report's findings, shown at its top: the headline KPIs, then what validation flagged (Markdown list).

    Parameters
    ----------
    overview : DataOverview
        From :func:`cxlib.overview.data_overview`.

    Returns
    -------
    str
        One list item per finding of :func:`describe_kpis`, key figures in bold, and one saying
        how many validation warnings the data-health section lists, if any.
    """
    items = _findings(overview.kpis, overview.currency) or [
        headline_sentence(overview.kpis, overview.currency)
    ]
    warnings = len(overview.warnings)
    if warnings:
        items.append(
            f"Validation flagged {warnings} {'thing' if warnings == 1 else 'things'} in the data worth a look "
            "before relying on these figures; see *Is the data fit to analyse?*"
        )
    return "\n".join(f"- {item}" for item in items)


def describe_saved(headline: str) -> str:
    """A sentence saying the headline figures were saved for the report index (Markdown)."""
    return f"Saved this run's headline figures for the report index: *{headline}*"


def describe_data(overview: DataOverview) -> str:
    """Whose data, as of when, and that every table passed validation (Markdown)."""
    return f"**{md_text(overview.company)}**, data as of **{overview.as_of:%d %B %Y}**. " + (
        "The table passed validation."
        if len(overview.tables) == 1
        else f"All {len(overview.tables)} tables passed validation."
    )


def health_table(overview: DataOverview):
    """The data-health table (:func:`cxlib.overview.data_health`) as a report table."""
    return styled(overview.health, _HEALTH_FORMATS)


def health_report(overview: DataOverview) -> list:
    """Is the data fit to analyse: whose data as of when, the data-health table, warnings and loading notes.

    Returns
    -------
    list
        Markdown (:func:`describe_data`), the table (:func:`health_table`), Markdown
        (:func:`describe_loading`), then, when loading dropped rows, Markdown comparing them with
        the rows kept (:func:`cxlib.report.describe_dropped_rows`), and the derived columns
        (:func:`describe_derived`).
    """
    parts = [Markdown(describe_data(overview)), health_table(overview), Markdown(describe_loading(overview))]
    dropped = describe_dropped_rows(getattr(overview, "dropped", None))
    derived = describe_derived(overview)
    return parts + [Markdown(text) for text in (dropped, derived) if text]


def describe_derived(overview: DataOverview) -> str:
    """Which columns are derived rather than recorded, flagged in the data-health section (Markdown)."""
    derived = getattr(overview, "derived_columns", {}) or {}
    if not derived:
        return ""
    items = "\n".join(
        f"- {md_text(column)}: derived from {md_text(source)}, not recorded in the data"
        for column, source in derived.items()
    )
    return (
        "**Derived columns** (not recorded in the data: dates built on them, such as a table's first and "
        "last date above, are approximate):\n\n" + items
    )


def kpi_report(overview: DataOverview) -> list:
    """The headline KPIs as a table (:func:`kpi_table`); the sentences on them open the report (:func:`describe_findings`)."""
    return [kpi_table(overview.kpis, overview.currency)]


def describe_loading(data) -> str:
    """Markdown listing the warnings of validation first, then what loading did to the raw files.

    Warnings flag plausible but suspicious data (extreme amounts, a gap in the data before the
    as-of date, dates read in an order that some values do not prove, ids with spaces); notes say
    what loading changed (duplicates dropped, refunds flagged, missing optional values). Text that
    quotes the data is escaped (:func:`cxlib.report.md_text`), so a value in a file cannot become
    markup in the report.

    Parameters
    ----------
    data : CustomerData or DataOverview
        Anything with ``notes`` and (optionally) ``warnings``: the data from
        :func:`cxlib.run.load_run_data`, or the overview built from it.

    Returns
    -------
    str
        Markdown.

    Examples
    --------
    >>> from cxlib.data._load import CustomerData
    >>> print(describe_loading(CustomerData({}, None, warnings=["transactions.amount: check row 4"])))
    **Check before relying on the figures** (validation warnings):
    <BLANKLINE>
    - transactions.amount: check row 4
    <BLANKLINE>
    Loading needed no clean-up.
    """
    parts = []
    warnings = getattr(data, "warnings", [])
    if warnings:
        parts.append(
            "**Check before relying on the figures** (validation warnings):\n\n"
            + "\n".join(f"- {md_text(w)}" for w in warnings)
        )
    if data.notes:
        parts.append(
            "What loading did to the raw files (the files themselves are never changed):\n\n"
            + "\n".join(f"- {md_text(note)}" for note in data.notes)
        )
    else:
        parts.append("Loading needed no clean-up.")
    return "\n\n".join(parts)


def _not_supplied(table: str, what: str = "") -> list:
    return [Markdown(f"*Not available: the config supplies no {table} table{what}.*")]


def _table_and_pooling(table: pd.DataFrame, formats: dict) -> list:
    pooling = describe_pooling(table)
    return [styled(table, formats)] + ([Markdown(pooling)] if pooling else [])


def customer_mix_report(overview: DataOverview) -> list:
    """Customers and churn by plan (or acquisition channel, or region), and which small groups were pooled.

    Derived signup dates are stated first (no acquisition trend is drawn from them). A long table
    keeps the largest and the most different groups (:func:`cxlib.report.groups_to_show`) and says
    how many it leaves out; when every group has the same churn rate, one sentence says so instead.

    Returns
    -------
    list
        Markdown and a table and, when groups were pooled, a sentence saying which; or a sentence
        saying why there is no such table.
    """
    parts = [Markdown(derived)] if (derived := describe_signups(overview)) else []
    if overview.customer_mix is None:
        columns = " or ".join(c.replace("_", " ") for c in MIX_COLUMNS)
        reason = (
            f"the customers table has no {columns} column"
            if overview.mix_column is None
            else "the customers table has no churn date or churn flag"
        )
        return parts + [Markdown(f"*Churn by customer group is not shown: {reason}.*")]
    mix, variable = overview.customer_mix, variable_label(overview.mix_column)
    if all_equal(mix["churn_rate"]):
        return parts + [
            Markdown(
                f"All {len(mix):,} {md_text(variable)} groups have the same churn rate "
                f"({mix['churn_rate'].iloc[0]:.1%}), so no table by {md_text(variable.lower())} is shown."
            )
        ]
    shown = groups_to_show(mix, "churn_rate", "customers")
    formats = {"customers": "{:,.0f}", "share": "{:.1%}", **_CHURN_FORMATS}
    hidden = describe_hidden_groups(len(shown), len(mix), variable)
    return parts + _table_and_pooling(shown, formats) + ([Markdown(hidden)] if hidden else [])


def describe_signups(overview: DataOverview) -> str:
    """Why no new-customer trend is shown when signup dates are derived; else empty (Markdown)."""
    source = (getattr(overview, "derived_columns", {}) or {}).get("customers.signup_date")
    if source is None:
        return ""
    return (
        f"*Sign-up dates are derived from {md_text(source)}, not recorded, so no acquisition trend "
        "(new customers by month) is shown.*"
    )


def revenue_report(overview: DataOverview) -> list:
    """Nothing besides the monthly revenue chart, or a sentence saying there are no transactions."""
    return [] if overview.monthly is not None else _not_supplied("transactions")


def channel_report(overview: DataOverview) -> list:
    """Orders, customers and revenue by order channel, and which small channels were pooled.

    Returns
    -------
    list
        A table and the pooling sentence; or a sentence saying that all orders come through one
        channel, or that there are no transactions.
    """
    if overview.channels is None:
        return _not_supplied("transactions")
    if len(overview.channels) <= 1:
        return [Markdown("*All orders come through a single channel (or the data has no channel column).*")]
    formats = {
        "orders": "{:,.0f}",
        "customers": "{:,.0f}",
        "net_revenue": money_format(overview.currency),
        "revenue_share": "{:.1%}",
        "average_order_value": money_format(overview.currency, 2),
    }
    return _table_and_pooling(overview.channels, formats)


def touchpoint_report(overview: DataOverview) -> list:
    """Touchpoint events by kind and channel per 1,000 active customers, and which small groups were pooled.

    Without transactions "active" cannot be defined: the rates are per 1,000 customers of the
    customer table, and a sentence says so.
    """
    if overview.touchpoints is None:
        return _not_supplied("interactions")
    # kinds read as in the chart: "cart abandoned", not "cart_abandoned"
    table = overview.touchpoints.assign(kind=overview.touchpoints["kind"].astype(str).str.replace("_", " "))
    parts = _table_and_pooling(table, _TOUCHPOINT_FORMATS)
    if overview.touchpoint_base == "active":
        return parts
    base = (
        f"*Rates are per 1,000 customers of the customer table ({overview.active_customers:,}): without "
        "transactions no customer can be called active.*"
    )
    return [Markdown(base)] + parts


def score_report(overview: DataOverview) -> list:
    """Nothing besides the NPS (or CSAT) chart, or a sentence saying there are no such answers."""
    if overview.kpis["kpi"].isin(["nps", "satisfied_share"]).any():
        return []
    return [Markdown("*Not available: the config supplies no surveys with NPS or CSAT.*")]


#: Each overview section's question, and the tables it needs to be asked (any one of them).
SECTION_QUESTIONS = {
    "kpis": ("How big is the business, and how loyal are its customers?", ("customers",)),
    "customers": ("Who are the customers, and which groups leave most?", ("customers",)),
    "revenue": ("Is revenue growing, and how seasonal is it?", ("transactions",)),
    "channels": ("Where do customers buy?", ("transactions",)),
    "touchpoints": ("Where do customers meet friction?", ("interactions",)),
    "scores": ("How do customers rate us?", ("surveys",)),
}

#: A section's heading when the data cannot answer its question.
_SECTION_ABSENT = {
    "revenue": "Revenue: not available",
    "channels": "Order channels: not available",
    "touchpoints": "Touchpoints: not available",
    "scores": "Survey scores: not available",
}


def section_heading(overview: DataOverview, section: str) -> str:
    """The Markdown heading of an overview section: its question when the data can answer it.

    The KPI section also asks how satisfied customers are when the surveys give NPS or CSAT; a
    section whose table is absent is headed "...: not available" (its report says why).

    Examples
    --------
    >>> section_heading(overview, "touchpoints")  # doctest: +SKIP
    '## Touchpoints: not available'
    """
    question, tables = SECTION_QUESTIONS[section]
    if not any(overview.has(table) for table in tables):
        return f"## {_SECTION_ABSENT[section]}"
    if section == "kpis" and overview.kpis["kpi"].isin(["nps", "csat"]).any():
        question = "How big is the business, and how loyal and satisfied are its customers?"
    return f"## {question}"


def report_intro(overview: DataOverview) -> str:
    """What this report answers, from the tables the config supplies (Markdown).

    Examples
    --------
    >>> report_intro(overview)  # doctest: +SKIP
    'This report reads the customers table. It answers: is the data fit to analyse? ...'
    """
    tables = ("customers", "transactions", "interactions", "surveys", "programme", "referrals")
    given = [t for t in tables if overview.has(t)]
    satisfied = " and satisfied" if overview.kpis["kpi"].isin(["nps", "csat"]).any() else ""
    questions = [
        "is the data fit to analyse?",
        f"how big is the business, and how loyal{satisfied} are its customers?",
        "which groups leave most?",
    ]
    for section in ("revenue", "channels", "touchpoints", "scores"):
        question, needs = SECTION_QUESTIONS[section]
        if any(overview.has(t) for t in needs):
            questions.append(question[0].lower() + question[1:])
    names = " and ".join([", ".join(given[:-1]), given[-1]]) if len(given) > 1 else given[0]
    what = "table" if len(given) == 1 else "tables"
    listed = "\n".join(f"- {q[0].upper()}{q[1:]}" for q in questions)
    return f"This report reads the {md_text(names)} {what} and answers:\n\n{listed}"

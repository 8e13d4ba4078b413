"""The executive summary's first half: the recommendation and the money, and the KPI tiles.

Every function takes :class:`~cxlib.executive.ExecutiveInputs` and returns what the notebook
displays (Markdown, HTML, styled tables, closed figures). Conclusion first: the verdict is
:func:`cxlib.impact.decision`, the same rule as the revenue-impact report's, so the two can never
disagree. Text from the data or the config (currency, company, segment and driver names) is
escaped: :func:`cxlib.report.md_text` in Markdown, :func:`cxlib.report.escape_text` in HTML,
:func:`cxlib.report.styled` in tables. Where an optional input table is absent the affected part
says so plainly (:data:`ABSENT`) and nothing else speaks of it.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from IPython.display import HTML, Markdown

from cxlib.executive._inputs import CHURN_FIGURES, ExecutiveInputs, headline_figures, waterfall_table
from cxlib.executive._report_methods import PAGE_BREAK
from cxlib.impact._economics import decision
from cxlib.impact._evidence import EVIDENCE_LABELS
from cxlib.impact._report import safe_money, verdict_text
from cxlib.report import closed_figure, escape_text, md_text, styled

#: What the page says when an optional input table is absent (one plain sentence each).
ABSENT = {
    "transactions": "No transaction data was supplied: revenue and the behavioural segments are not available.",
    "surveys": "No survey data was supplied: NPS and the satisfaction drivers are not available.",
    "interactions": (
        "No interaction data was supplied: service contacts and complaints could not be among the churn drivers."
    ),
    "programme": (
        "No programme data was supplied, so no pilot measured the effects: the case rests on the config's "
        "assumptions and on observed associations."
    ),
    "referrals": "No referral data was supplied, so the word-of-mouth lever is left out.",
}
#: Reader's names of the notebooks (links and reasons).
NOTEBOOK_NAMES = {
    "00_data_overview": "data overview",
    "01_segmentation": "segmentation",
    "02_churn_drivers": "churn analysis",
    "03_cx_drivers": "customer-experience analysis",
    "04_customer_value": "customer-value analysis",
    "05_revenue_impact": "revenue-impact analysis",
}
#: The money figures' names in the table of section 1.
MONEY_NAMES = {
    "npv": "Net present value (margin after costs)",
    "roi": "Return on investment",
    "payback_month": "Payback",
    "p_roi_positive": "Chance it returns more than it costs",
    "margin_total": "Margin added, before costs",
    "cost": "Cost",
}


def compact(styler):
    """A report table in small print, so the page holds more of the story."""
    return styler.set_table_attributes('style="font-size:0.8rem"')


def investment(inputs: ExecutiveInputs) -> str:
    """What the page calls the investment: the *programme* when the data hold its pilot, else the *initiative*."""
    return "programme" if "programme" in inputs.present else "initiative"


def money(inputs: ExecutiveInputs, markdown: bool = True, currency: bool = True):
    """Money to three significant figures with the config's currency (for Markdown, or plain text).

    Plain text is escaped where it is placed (:func:`cxlib.report.styled`, :func:`cxlib.report.escape_text`);
    without ``currency`` the amount stands alone (the tile's label names the currency).
    """
    code = inputs.settings.get("currency", "") if currency else ""
    fmt = safe_money(md_text(code) if markdown else code)
    return (lambda amount: fmt(amount).strip()) if not currency else fmt


def figure_row(inputs: ExecutiveInputs, figure: str) -> pd.Series | None:
    """One row of :func:`headline_figures`, or None."""
    table = headline_figures(inputs).set_index("figure")
    return table.loc[figure] if figure in table.index else None


def _payback(value: float, horizon) -> str:
    return f"month {value:.0f}" if np.isfinite(value) else f"after month {horizon}"


def figure_text(
    inputs: ExecutiveInputs, row: pd.Series, markdown: bool = True, currency: bool = True
) -> tuple[str, str]:
    """A figure's value and its 95% interval as text (``("1.23 million EUR", "0.80 ... to 1.70 ...")``)."""
    unit, value, low, high = row["unit"], row["value"], row["low"], row["high"]
    horizon = inputs.settings.get("horizon_months")
    if unit == "money":
        fmt = money(inputs, markdown, currency)
        return fmt(value), (f"{fmt(low)} to {fmt(high)}" if np.isfinite(low) or np.isfinite(high) else "")
    if unit in ("ratio", "share"):
        shown = f"{value:.0%}" if unit == "ratio" or abs(value) >= 0.1 else f"{value:.1%}"
        spread = (
            f"{low:.0%} to {high:.0%}"
            if unit == "ratio"
            else (f"{low:.1%} to {high:.1%}" if np.isfinite(low) else "")
        )
        return shown, (spread if np.isfinite(low) else "")
    if unit == "months":
        same = low == high or not (np.isfinite(low) or np.isfinite(high))
        return _payback(value, horizon), (
            "" if same else f"{_payback(low, horizon)} to {_payback(high, horizon)}"
        )
    if unit == "points":
        return f"{value:.0f}", (f"{low:.0f} to {high:.0f}" if np.isfinite(low) else "")
    return f"{value:,.0f}", (f"{low:,.0f} to {high:,.0f}" if np.isfinite(low) else "")


# ---- 1. the recommendation and the money --------------------------------------------------------


def why_no_case(inputs: ExecutiveInputs) -> str:
    """Why the revenue case is missing, in one sentence (Markdown)."""
    missing = inputs.missing.get("05_revenue_impact")
    if missing is None:  # it ran, and built nothing
        return (
            "The revenue case could not be built: the revenue-impact analysis ran, but these data do not support "
            "it (its report says why)."
        )
    if "revenue" in missing:
        return (
            "The revenue case could not be built: no revenue data was supplied (neither a transactions table nor a "
            "monthly revenue column, `value.monthly_revenue`), so the revenue-impact analysis did not run."
        )
    if missing:
        return (
            f"The revenue case could not be built: the revenue-impact analysis needs the {' and '.join(missing)} "
            "table, which was not supplied."
        )
    return (
        "The revenue case could not be built: the revenue-impact analysis (notebook 05) was not part of this run; "
        "run the whole suite (`cx run`) to include it."
    )


def recommendation(inputs: ExecutiveInputs) -> str:
    """The verdict and the money with intervals and evidence, first thing on the page (Markdown)."""
    lines = ["## Recommendation", ""]
    if not inputs.has_case:
        return "\n".join([*lines, why_no_case(inputs)])
    fmt = money(inputs)
    horizon = inputs.settings.get("horizon_months")
    noun = investment(inputs)
    p = figure_row(inputs, "p_roi_positive")
    npv = figure_row(inputs, "npv")
    code = decision(float(p["value"]) if p is not None else float("nan"), npv is not None)
    if code == "no_costs":
        total = figure_row(inputs, "margin_total")
        lines.append(
            f"The {noun} is expected to add **{fmt(total['value'])}** of margin over the next {horizon} months "
            f"(95% interval {fmt(total['low'])} to {fmt(total['high'])}; rests on "
            f"{_article(EVIDENCE_LABELS[total['evidence']])}). {verdict_text(code)} It pays if it costs less than "
            "this (`impact.cost_fixed`, `impact.cost_per_customer_year`)."
        )
    else:
        roi, payback = figure_row(inputs, "roi"), figure_row(inputs, "payback_month")
        pays = (
            f" It pays back in {_payback(payback['value'], horizon)}."
            if payback is not None and np.isfinite(payback["value"])
            else f" It does not pay back within {horizon} months at the central inputs."
        )
        where = (
            " The revenue-impact report ranks the groups by return." if code == "fund_where_it_pays" else ""
        )
        lines.append(
            f"{verdict_text(code, noun)}{where} Over the next {horizon} months the {noun} is expected to "
            f"{net_words(npv['value'], fmt)} net on margin after its costs (95% interval {fmt(npv['low'])} to "
            f"{fmt(npv['high'])}; rests on {_article(EVIDENCE_LABELS[npv['evidence']])}): a return on investment of "
            f"{roi['value']:.0%} ({roi['low']:.0%} to {roi['high']:.0%}). It returns more than it costs "
            f"{share_of_simulations(p['value'])}.{pays}"
        )
    notes = [ABSENT[name] for name in ("programme", "referrals") if name not in inputs.present]
    if "surveys" not in inputs.present and "referrals" in inputs.present:
        notes.append("No survey data was supplied, so the word-of-mouth lever is left out.")
    if notes:
        lines += ["", " ".join(notes)]
    return "\n".join(lines)


def net_words(value: float, fmt) -> str:
    """The net amount as a verb: *return* 59,300 EUR, or *lose* 134,000 EUR for a loss (Markdown)."""
    return f"return **{fmt(value)}**" if value >= 0 else f"lose **{fmt(-value)}**"


def share_of_simulations(p: float) -> str:
    """How often it pays: *in 60% of the simulations*, *in none of the simulations*, *in every simulation*."""
    if p <= 0:
        return "in none of the simulations"
    if p >= 1:
        return "in every simulation"
    return f"in {p:.0%} of the simulations" if 0.005 <= p <= 0.995 else f"in {p:.1%} of the simulations"


def _article(label: str) -> str:
    return ("an " if label[0] in "aeiou" else "a ") + label


def money_table(inputs: ExecutiveInputs) -> pd.DataFrame:
    """The case's key figures: value, 95% interval and what each rests on."""
    rows = []
    for figure, name in MONEY_NAMES.items():
        row = figure_row(inputs, figure)
        if row is None:
            continue
        value, spread = figure_text(inputs, row, markdown=False)
        if figure == "p_roi_positive":
            value, spread = f"{row['value']:.0%}", "share of the simulations"
        rows.append(
            {
                "Figure": name,
                "Value": value,
                "95% interval": spread,
                "Rests on": EVIDENCE_LABELS.get(row["evidence"], ""),
            }
        )
    return pd.DataFrame(rows, columns=["Figure", "Value", "95% interval", "Rests on"])


#: The levers of the revenue case, in the order 05 reports them.
LEVER_NAMES = {
    "loyalty": "More revenue per loyal customer",
    "retention": "Revenue protected by lower churn and longer lifetimes",
    "word_of_mouth": "New customers won by word of mouth",
    "total": "Total",
}


def lever_table(inputs: ExecutiveInputs) -> pd.DataFrame:
    """Revenue and margin added by each lever, each with its 95% interval and evidence (05's ``impact_summary``)."""
    summary = inputs.table("impact_summary")
    columns = ["Lever", "Revenue added", "Margin added", "Rests on"]
    if summary is None:
        return pd.DataFrame(columns=columns)
    rows = summary.set_index("figure")
    fmt = money(inputs, markdown=False)

    def cell(figure: str) -> str:
        row = rows.loc[figure]
        return f"{fmt(row['value'])} ({fmt(row['low'])} to {fmt(row['high'])})"

    out = []
    for lever, name in LEVER_NAMES.items():
        if f"margin_{lever}" not in rows.index or f"revenue_{lever}" not in rows.index:
            continue
        out.append(
            {
                "Lever": name,
                "Revenue added": cell(f"revenue_{lever}"),
                "Margin added": cell(f"margin_{lever}"),
                "Rests on": EVIDENCE_LABELS.get(rows.loc[f"margin_{lever}", "evidence"], ""),
            }
        )
    return pd.DataFrame(out, columns=columns)


def waterfall_title(inputs: ExecutiveInputs) -> str:
    """The waterfall's title, stating the finding (plain text: charts are images)."""
    from cxlib.impact._plots import STEP_LABELS

    steps = waterfall_table(inputs)
    levers = steps[~steps["step"].isin(("cost", "npv", "margin_total"))]
    currency = inputs.settings.get("currency", "")
    fmt = safe_money(currency)
    biggest = STEP_LABELS[levers.loc[levers["value"].idxmax(), "step"]].replace("\n", " ").lower()
    end = steps.iloc[-1]
    if end["step"] == "npv":
        return f"Net value {fmt(end['value'])} after costs; largest lever: {biggest}"
    return f"{fmt(end['value'])} of margin before costs; largest lever: {biggest}"


def money_section(inputs: ExecutiveInputs) -> list:
    """Section 1, on the first printed page: the verdict and the money, with the waterfall by lever."""
    out = [Markdown(recommendation(inputs))]
    if not inputs.has_case:
        return out
    from cxlib.executive._plots import plot_money_waterfall

    out.append(
        closed_figure(
            plot_money_waterfall(
                waterfall_table(inputs), inputs.settings.get("currency", ""), waterfall_title(inputs)
            )
        )
    )
    return out


def money_details(inputs: ExecutiveInputs) -> list:
    """The supporting detail starts a new printed page: every money figure with its interval and evidence.

    The first page holds the story (verdict, waterfall, key figures, findings); this table, the
    segments, drivers, assumptions and links follow it.
    """
    if not inputs.has_case:  # the first page said why there is no case
        return [HTML(PAGE_BREAK)]
    out = [HTML(PAGE_BREAK), Markdown("## The money in detail")]
    caption = (
        f"The {investment(inputs)} over the next {inputs.settings.get('horizon_months')} months, present value on "
        "margin (95% intervals)"
    )
    out.append(compact(styled(money_table(inputs), caption=caption)))
    levers = lever_table(inputs)
    if len(levers):
        out.append(
            compact(
                styled(levers, caption="Revenue and margin added by lever, present value (95% intervals)")
            )
        )
    return out


# ---- 2. KPI tiles ---------------------------------------------------------------------------------

#: Tile grid: five in a row on a page (about 180 mm printed), wrapping on narrower screens.
_GRID = (
    "display:grid;grid-template-columns:repeat(auto-fit,minmax(7rem,1fr));gap:0.5rem;"
    "margin:0.6rem 0 1rem 0;break-inside:avoid"
)
_TILE = (
    "border:1px solid #d0d7de;border-radius:6px;padding:0.5rem 0.6rem;background:#f8fafc;break-inside:avoid"
)
_LABEL = "font-size:0.72rem;text-transform:uppercase;letter-spacing:0.04em;color:#57606a"
_VALUE = "font-size:1.15rem;font-weight:bold;color:#1f2328;margin:0.15rem 0;line-height:1.2"
_SMALL = "font-size:0.74rem;color:#57606a;line-height:1.3"


def _tile(label: str, value: str, lines: list[str]) -> str:
    """One tile (every argument already HTML-escaped); its first line, the period, is darker."""
    small = "".join(
        f'<div style="{_SMALL}{";color:#1f2328" if number == 0 else ""}">{line}</div>'
        for number, line in enumerate(lines)
        if line
    )
    return (
        f'<div style="{_TILE}"><div style="{_LABEL}">{label}</div>'
        f'<div style="{_VALUE}">{value}</div>{small}</div>'
    )


def kpi_tiles(inputs: ExecutiveInputs) -> HTML:
    """Section 2: customers, revenue, churn, NPS and customer value as tiles, each with period and interval.

    A figure whose input table was not supplied gets no tile: a plain sentence under the tiles
    says what is missing (:data:`ABSENT`).
    """
    figures = headline_figures(inputs).set_index("figure")
    currency = escape_text(inputs.settings.get("currency", ""))
    tiles, notes = [], []

    def text(figure: str) -> tuple[str, str]:
        value, spread = figure_text(inputs, figures.loc[figure], markdown=False, currency=False)
        return escape_text(value), escape_text(f"95% CI {spread}" if spread else "observed total")

    def period(figure: str) -> str:
        return escape_text(figures.loc[figure, "period"])

    if "customers" in figures.index:
        value, spread = text("customers")
        lines = [period("customers"), spread]
        if "active_customers" in figures.index:
            active = figures.loc["active_customers"]
            lines.append(escape_text(f"{active['value']:,.0f} active in the {active['period']}"))
        tiles.append(_tile("Customers", value, lines))
    if "net_revenue_12m" in figures.index:
        value, spread = text("net_revenue_12m")
        lines = [f"{period('net_revenue_12m')}, net of refunds", spread]
        tiles.append(_tile(f"Revenue ({currency})", value, lines))
    elif "transactions" not in inputs.present:
        notes.append("No transaction data was supplied: revenue is not available.")
    churn = next((f for f in CHURN_FIGURES if f in figures.index), None)
    if churn is not None:
        value, spread = text(churn)
        what = {
            "churn_rate_12m": f"of customers, {period(churn)}",
            "churn_rate_snapshot": f"of customers churned, {period(churn)}",
            "lapse_rate": f"of earlier buyers lapsed: no purchase in the {period(churn)}",
        }[churn]
        tiles.append(_tile("Churn", value, [what, spread]))
    if "nps" in figures.index:
        value, spread = text("nps")
        tiles.append(_tile("NPS", value, [f"{period('nps')}, latest answers", spread]))
    elif "surveys" not in inputs.present:
        notes.append("No survey data was supplied: NPS is not available.")
    elif "00_data_overview" in inputs.ran:
        notes.append("The surveys hold no NPS answers in the last 12 months, so NPS is not shown.")
    if "clv_total" in figures.index:
        value, spread = text("clv_total")
        lines = [f"{period('clv_total')}, margin; a model estimate", spread]
        tiles.append(_tile(f"CLV ({currency})", value, lines))
    if "00_data_overview" not in inputs.ran:
        notes.append(
            "The data overview (notebook 00) was not part of this run, so its figures are not shown."
        )
    if "04_customer_value" not in inputs.ran:
        notes.append("The customer-value analysis (notebook 04) was not part of this run.")
    elif "clv_total" not in figures.index:
        notes.append(
            "No transaction data was supplied: customer value in money is not available."
            if "transactions" not in inputs.present
            else "Customer value in money is not available: the data hold no revenue per customer."
        )
    html = f'<div style="{_GRID}">{"".join(tiles)}</div>' if tiles else ""
    html += "".join(f'<p style="{_SMALL}">{escape_text(note)}</p>' for note in notes)
    return HTML(html)

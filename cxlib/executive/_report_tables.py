"""The executive summary's second half: segments, top drivers, assumptions and links to the reports.

Tables go through :func:`cxlib.report.styled` (every cell escaped); sentences escape names from the
data with :func:`cxlib.report.md_text`. A group a source table suppressed as too small is never shown.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from IPython.display import HTML

from cxlib.executive._inputs import ExecutiveInputs
from cxlib.executive._report import ABSENT, NOTEBOOK_NAMES, compact, investment, money
from cxlib.executive._selection import (
    assumption_rows,
    clear_churn_drivers,
    segment_rows,
    top_satisfaction_drivers,
    value_method,
)
from cxlib.report import escape_text, md_plain, styled

#: Small print under a table.
NOTE_STYLE = "font-size:0.8rem;color:#57606a;margin-top:0.3rem"
#: Catalog notebooks listed among the detailed reports, in run order.
REPORTS = tuple(NOTEBOOK_NAMES)


def section(title: str, *parts: str, whole: bool = True) -> HTML:
    """One section: heading, then parts (HTML, already escaped); printing keeps it on one page if ``whole``."""
    style = ' style="break-inside:avoid"' if whole else ""
    return HTML(f"<section{style}><h2>{escape_text(title)}</h2>{''.join(parts)}</section>")


def paragraph(text: str, small: bool = False) -> str:
    """Plain text as an HTML paragraph (escaped); ``small`` for notes under a table."""
    return f'<p style="{NOTE_STYLE}">{escape_text(text)}</p>' if small else f"<p>{escape_text(text)}</p>"


def _interval(value: float, low: float, high: float, fmt) -> str:
    if not np.isfinite(value):
        return "–"
    return (
        f"{fmt(value)} ({fmt(low)} to {fmt(high)})" if np.isfinite(low) and np.isfinite(high) else fmt(value)
    )


def why_not_run(inputs: ExecutiveInputs, notebook: str) -> str:
    """Why a notebook did not run, as a clause: "not run: its input table (transactions) was not supplied"."""
    missing = inputs.missing.get(notebook, ())
    if not missing:
        return f"not part of this run (notebook {notebook[:2]})"
    needs = ", ".join(
        "transactions or a revenue column" if m == "revenue" else m.replace(" or ", ", ", m.count(" or ") - 1)
        for m in missing
    )
    plural = len(missing) > 1 or " or " in needs or "," in needs
    return f"not run: its input {'tables' if plural else 'table'} ({needs}) {'were' if plural else 'was'} not supplied"


def _not_run(inputs: ExecutiveInputs, notebook: str) -> str:
    """Why a notebook's part is missing, in one sentence (plain text)."""
    return f"The {NOTEBOOK_NAMES[notebook]} was {why_not_run(inputs, notebook)}."


# ---- 4. segments ----------------------------------------------------------------------------------


def segment_table(inputs: ExecutiveInputs) -> pd.DataFrame:
    """One row per segment, formatted: shares, churn, NPS and value per customer with intervals."""
    rows = segment_rows(inputs)
    fmt = money(inputs, markdown=False, currency=False)
    currency = inputs.settings.get("currency", "")
    table = pd.DataFrame(
        {
            "Segment": rows["segment"],
            "Customers": [
                f"{c:,.0f} ({s:.0%})"
                for c, s in zip(rows["customers"], rows["share_of_customers"], strict=True)
            ],
            "Share of revenue": rows["share_of_revenue"].map(lambda v: f"{v:.0%}" if np.isfinite(v) else "–"),
            "Churn rate": rows["churn_rate"].map(lambda v: f"{v:.1%}" if np.isfinite(v) else "–"),
        }
    )
    if rows["nps"].notna().any():
        table["NPS"] = [
            _interval(v, lo, hi, lambda x: f"{x:.0f}")
            for v, lo, hi in zip(rows["nps"], rows["nps_low"], rows["nps_high"], strict=True)
        ]
    if rows["clv_mean"].notna().any():
        table[f"Value per customer ({currency})"] = [
            _interval(v, lo, hi, fmt)
            for v, lo, hi in zip(rows["clv_mean"], rows["clv_mean_low"], rows["clv_mean_high"], strict=True)
        ]
    return table


def segment_section(inputs: ExecutiveInputs) -> list:
    """Section 4: the segments table, or why there is none."""
    if "01_segmentation" not in inputs.ran or inputs.table("segment_summary") is None:
        reason = (
            ABSENT["transactions"]
            if "transactions" not in inputs.present
            else _not_run(inputs, "01_segmentation")
        )
        return [section("Segments", paragraph(reason))]
    table = segment_table(inputs)
    notes = []
    if "NPS" in table and (table["NPS"] == "–").any():
        notes.append(
            "A dash: too few survey answers in the segment to show its NPS (the segmentation report's rule)."
        )
    if table.columns[-1].startswith("Value per customer"):
        method = value_method(inputs)
        horizon = inputs.settings.get("horizon_months")
        notes.append(
            f"Value per customer: expected margin over the next {horizon} months"
            + (f" ({method})." if method else ".")
        )
    caption = "Segments: share of net revenue from all purchases to date, share churned to date" + (
        ", NPS (95% interval)" if "NPS" in table else ""
    )
    styled_table = compact(
        styled(
            table,
            caption=caption,
        )
    ).to_html()
    return [section("Segments", styled_table, paragraph(" ".join(notes), small=True) if notes else "")]


# ---- 5. drivers -----------------------------------------------------------------------------------


def churn_driver_table(inputs: ExecutiveInputs) -> pd.DataFrame:
    """The top three clear churn drivers: odds ratio with its 95% CI and Holm-adjusted p-value."""
    rows = clear_churn_drivers(inputs.table("churn_drivers"))
    return pd.DataFrame(
        {
            "Churn driver": rows["label"].astype(str),
            "Compared": rows["unit"].astype(str),
            "Odds ratio (95% CI)": [
                f"{v:.2f} ({lo:.2f} to {hi:.2f})"
                for v, lo, hi in zip(rows["odds_ratio"], rows["or_ci_low"], rows["or_ci_high"], strict=True)
            ],
            "Holm p": rows["p_holm"].map(lambda p: "< 0.001" if p < 0.001 else f"{p:.3f}"),
        }
    )


def satisfaction_driver_table(inputs: ExecutiveInputs) -> pd.DataFrame:
    """The top three satisfaction drivers: share of the explained variation with its interval."""
    rows = top_satisfaction_drivers(inputs.table("driver_importance"))
    table = pd.DataFrame(
        {
            "Rating": rows["label"].astype(str),
            "Share of explained variation (95% interval)": [
                f"{v:.0f}% ({lo:.0f}% to {hi:.0f}%)"
                for v, lo, hi in zip(rows["share"], rows["share_low"], rows["share_high"], strict=True)
            ],
        }
    )
    if "mean_rating" in rows:
        table["Mean rating today"] = rows["mean_rating"].map(lambda v: f"{v:.1f}" if np.isfinite(v) else "–")
    return table


def side_by_side(tables: list) -> str:
    """Styled tables next to each other, wrapping under each other when the page is narrow (HTML)."""
    cells = "".join(f'<div style="flex:0 1 auto;min-width:0">{table.to_html()}</div>' for table in tables)
    return f'<div style="display:flex;flex-wrap:wrap;gap:0 2rem;align-items:flex-start">{cells}</div>'


def driver_section(inputs: ExecutiveInputs) -> list:
    """Section 5: the top churn and satisfaction drivers side by side, or why they are missing."""
    from cxlib.executive._findings import target_name

    tables, notes = [], []
    if "02_churn_drivers" not in inputs.ran or inputs.table("churn_drivers") is None:
        notes.append(_not_run(inputs, "02_churn_drivers"))
    elif len(churn := churn_driver_table(inputs)):
        tables.append(compact(styled(churn, caption="Churn: the clearest drivers (Holm-adjusted p < 0.05)")))
    else:
        notes.append("No churn driver is clearly linked to churn (Holm-adjusted p < 0.05).")
    if "interactions" not in inputs.present:
        notes.append(ABSENT["interactions"])
    importance = inputs.table("driver_importance")
    if "surveys" not in inputs.present:
        notes.append(ABSENT["surveys"])
    elif importance is not None and len(importance):
        target = importance["target"].iloc[0] if "target" in importance else None
        caption = f"Satisfaction: what matters most to {target_name(target)}"
        tables.append(compact(styled(satisfaction_driver_table(inputs), caption=caption)))
    elif "03_cx_drivers" not in inputs.ran:
        notes.append(_not_run(inputs, "03_cx_drivers"))
    else:
        notes.append("The survey holds no touchpoint ratings, so no satisfaction drivers were estimated.")
    intro = (
        "Associations in the data, adjusted for the other drivers: where to look first, not proof that changing a "
        "driver changes the outcome."
    )
    parts = [paragraph(intro)] if tables else []
    parts += [side_by_side(tables)] if tables else []
    parts += [paragraph(" ".join(notes))] if notes else []
    return [section("Top drivers", *parts)]


# ---- 6. assumptions -------------------------------------------------------------------------------


def _input_value(value: float, unit: str, fmt) -> str:
    if unit == "money":
        return fmt(value)
    if unit == "share":
        return f"{value:.0%}" if abs(value) >= 0.1 or value == 0 else f"{value:.1%}"
    return f"{value:.3g}"


def assumption_table(inputs: ExecutiveInputs) -> pd.DataFrame:
    """Every input labelled an assumption: its value, range and where it comes from."""
    from cxlib.impact._report_more import INPUT_NAMES

    rows = assumption_rows(inputs)
    fmt = money(inputs, markdown=False)
    noun = investment(inputs)
    return pd.DataFrame(
        {
            "Assumption": [INPUT_NAMES.get(name, name).format(p=noun) for name in rows["name"]],
            "Value": [_input_value(v, u, fmt) for v, u in zip(rows["value"], rows["unit"], strict=True)],
            "Range": [
                "fixed" if lo == hi else f"{_input_value(lo, u, fmt)} to {_input_value(hi, u, fmt)}"
                for lo, hi, u in zip(rows["low"], rows["high"], rows["unit"], strict=True)
            ],
            "Source": rows["source"].astype(str),
        }
    )


def assumption_section(inputs: ExecutiveInputs) -> list:
    """Section 6: the assumptions the money rests on, with their ranges and sources."""
    if not inputs.has_case:
        return [
            section(
                "Assumptions", paragraph("None: the revenue case was not built, so it makes no assumptions.")
            )
        ]
    table = assumption_table(inputs)
    extrapolated = paragraph(_PILOT_EXTRAPOLATION) if _rests_on_pilot(inputs) else ""
    if not len(table):
        text = "No input of the revenue case is set by assumption: each is estimated from the data."
        return [section("Assumptions", paragraph(text), extrapolated)]
    intro = "The inputs of the revenue case that are set, not measured; the simulations draw each across its range."
    return [
        section(
            "Assumptions",
            paragraph(intro),
            compact(styled(table, caption="Assumptions of the revenue case")).to_html(),
            extrapolated,
        )
    ]


#: The assumption behind every figure a pilot measured (notebook 05 lists it too).
_PILOT_EXTRAPOLATION = (
    "Also assumed: the pilot measured its effects over its own months on its own members; the case assumes they "
    "last the whole horizon and hold for every enrolled customer. The simulations do not vary this."
)


def _rests_on_pilot(inputs: ExecutiveInputs) -> bool:
    """True when a lever of the revenue case rests on the pilot (randomised or quasi-experimental)."""
    summary = inputs.table("impact_summary")
    if summary is None:
        return False
    levers = summary[summary["figure"].isin(["margin_loyalty", "margin_retention"])]
    return bool(levers["evidence"].isin(["randomised", "quasi_experimental"]).any())


# ---- 7. links -------------------------------------------------------------------------------------


def report_titles() -> dict[str, str]:
    """Each numbered notebook's title (its first heading), from the suite's notebooks folder."""
    import nbformat

    from cxlib.report import notebook_title
    from cxlib.run import discover_notebooks

    return {
        path.stem: notebook_title(nbformat.read(path, as_version=4), path.stem)
        for path in discover_notebooks()
    }


def links_section(inputs: ExecutiveInputs, titles: dict[str, str] | None = None) -> HTML:
    """Section 7: a relative link to each detailed report with its headline; those not run say why."""
    titles = report_titles() if titles is None else titles
    items = []
    for notebook in REPORTS:
        title = escape_text(titles.get(notebook, NOTEBOOK_NAMES[notebook].capitalize()))
        if notebook in inputs.summaries:
            headline = escape_text(md_plain(inputs.summaries[notebook].get("headline", "")))
            items.append(f'<li><a href="{notebook}.html">{title}</a>: {headline}</li>')
        else:
            items.append(f"<li>{title} ({escape_text(why_not_run(inputs, notebook))}).</li>")
    return section(
        "The detailed reports",
        f'<ul style="font-size:0.8rem;line-height:1.35">{"".join(items)}</ul>',
        whole=False,  # a list may run on to the next page rather than leave one nearly empty
    )

"""Sentences on the rows loading dropped and the drivers' missing values (Markdown).

Built from :func:`cxlib.data.dropped_outcomes` and :func:`cxlib.churn.missing_values`: how many
rows were dropped and why, whether the dropped customers churned differently from those kept
(rates with 95% intervals and Fisher's exact test), the share of sales in dropped transactions,
and per driver how many values are missing, how the models handle them and the churn rate with
and without them. Both return an empty string when there is nothing to say, so a report never
mentions drops or missing values the data do not have. Column names come from the config and
are escaped with :func:`cxlib.report.md_text`.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from cxlib.report._messages import variable_label
from cxlib.report._safe_text import md_text
from cxlib.stats._design import MISSING_SUFFIX, feature_label

#: Below this p-value a difference in churn rates is called clear.
_ALPHA = 0.05


def _cell(value) -> str:
    """Text from the data or the config in a Markdown table cell (a ``|`` would end the cell)."""
    return md_text(value).replace("|", "\\|")


def _rate(rate: float, low: float, high: float) -> str:
    return f"{rate:.1%} (95% CI {low:.1%}–{high:.1%})"


def _p_text(p_value: float) -> str:
    if not np.isfinite(p_value):
        return "p not computable"
    return "p < 0.001" if p_value < 0.001 else f"p = {p_value:.3f}"


def _compared(rate: float, other: float, p_value: float, who: str) -> str:
    """'a clear difference (p = 0.001): ... churn more' or 'no clear difference (p = 0.41)'."""
    if np.isfinite(p_value) and p_value < _ALPHA and rate != other:
        more = "more" if rate > other else "less"
        return f"a clear difference (Fisher's exact test, {_p_text(p_value)}): {who} churn {more}"
    return f"no clear difference (Fisher's exact test, {_p_text(p_value)})"


def _why(row: pd.Series) -> str:
    if row["reason"] == "duplicate":
        return "exact duplicate rows (each repeats an earlier row in every column)"
    names = " or ".join(md_text(variable_label(c).lower()) for c in row["columns"])
    sources = [s for s in row.get("sources", ()) if s not in row["columns"]]
    read = f", read from {', '.join(md_text(s) for s in sources)}" if sources else ""
    return f"rows with no {names} (`drop_missing`{read})"


def _dropped_sentence(row: pd.Series) -> str:
    table = md_text(row["table"])
    text = (
        f"- **{table}**: {int(row['rows']):,} {_why(row)} dropped, {row['share']:.1%} of the "
        f"{int(row['rows'] + row['kept_rows']):,} rows read."
    )
    if np.isfinite(row["sales_share"]):
        text += f" They held {row['sales_share']:.1%} of sales ({row['amount']:,.0f} in amounts)."
    if np.isfinite(row["churn_rate"]):
        known = int(row["churn_known"])
        of = "" if known == row["rows"] else f" (the {known:,} whose churn the row records)"
        text += (
            f" The dropped customers{of} churned at {_rate(row['churn_rate'], row['ci_low'], row['ci_high'])}, "
            f"the {int(row['kept_known']):,} customers kept at "
            f"{_rate(row['kept_churn_rate'], row['kept_ci_low'], row['kept_ci_high'])}: "
            + _compared(row["churn_rate"], row["kept_churn_rate"], row["p_value"], "the dropped customers")
            + "."
        )
        if np.isfinite(row["p_value"]) and row["p_value"] < _ALPHA:
            text += " Rates and models describe the kept customers only."
    elif row["table"] == "customers" and row["reason"] != "duplicate":
        text += " Whether they churned cannot be read from the dropped rows, so it is not compared."
    return text


def describe_dropped_rows(table: pd.DataFrame) -> str:
    """Markdown on each drop of rows: how many, why, and how the dropped rows differ from the kept.

    Parameters
    ----------
    table : DataFrame
        :func:`cxlib.data.dropped_outcomes`.

    Returns
    -------
    str
        A heading line and one bullet per drop; empty when nothing was dropped.

    Examples
    --------
    >>> describe_dropped_rows(pd.DataFrame(columns=["table"]))
    ''
    """
    if table is None or table.empty:
        return ""
    lines = [_dropped_sentence(row) for _, row in table.iterrows()]
    return "**Rows dropped while loading** (the files themselves are never changed):\n\n" + "\n".join(lines)


def _method(row: pd.Series) -> str:
    if row["method"] == "level":
        return "a level of its own ('unknown')"
    fill = f"filled with the {row['statistic']} ({row['fill']:,.3g})"
    if row["method"] == "indicator":
        return fill + f" plus a yes/no term '{_cell(feature_label(row['feature'] + MISSING_SUFFIX))}'"
    return fill + ", too few for a term of their own"


def describe_missing_values(table: pd.DataFrame) -> str:
    """Markdown on the drivers' missing values: the methods, then a table of counts and churn rates.

    Parameters
    ----------
    table : DataFrame
        :func:`cxlib.churn.missing_values`.

    Returns
    -------
    str
        A paragraph and a Markdown table (driver, values missing, how the interpretable models
        handle them, churn rate of customers missing it and of the others with 95% intervals,
        Fisher's p); empty when no driver has a missing value.

    Examples
    --------
    >>> describe_missing_values(pd.DataFrame(columns=["feature"]))
    ''
    """
    if table is None or table.empty:
        return ""
    numeric = table["kind"].eq("numeric").any()
    intro = (
        "**Missing values in the drivers.** The logistic and survival models fill a missing number "
        "with the driver's median (a yes/no driver with its most common value) and, when enough "
        "customers miss it, add a yes/no term '*driver*: missing', so that churn going with a "
        "missing value is modelled rather than hidden in the fill; "
        if numeric
        else "**Missing values in the drivers.** "
    )
    intro += (
        "a missing category is a level of its own, 'unknown'. "
        if (table["kind"] == "categorical").any()
        else ""
    )
    if numeric:
        intro += "Boosting keeps missing numbers missing and learns at each split where they go."
    header = (
        "| Driver | Values missing | How the logistic and survival models handle them | "
        "Churn rate, value missing (95% CI) | Churn rate, value present (95% CI) | "
        "Difference (Fisher's exact test) |\n"
        "|---|---|---|---|---|---|"
    )
    rows = [
        f"| {_cell(feature_label(row['feature']))} | {int(row['missing']):,} of {int(row['rows']):,} "
        f"({row['share']:.1%}) | {_method(row)} | "
        f"{_rate(row['churn_rate_missing'], row['ci_low_missing'], row['ci_high_missing'])} | "
        f"{_rate(row['churn_rate_present'], row['ci_low_present'], row['ci_high_present'])} | "
        f"{_p_text(row['p_value'])} |"
        for _, row in table.iterrows()
    ]
    return intro.strip() + "\n\n" + header + "\n" + "\n".join(rows)

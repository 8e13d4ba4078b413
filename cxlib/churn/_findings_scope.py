"""Sentences that say what the churn report is built on: only the tables and columns the data give.

The churn notebook's introduction, the key-driver comparison and the retention tables are worded
here from the panel (which drivers it has, and from which tables), so a churn snapshot with a
contract, services and charges is never told about complaints, waits or surveys it does not have.
Derived signup dates and a tenure capped by the data window are flagged where tenure is used.
Markdown: names from the data and the config are escaped with :func:`cxlib.report.md_text`.

Examples
--------
>>> display(Markdown(report_intro(panel, data)))  # doctest: +SKIP
"""

from __future__ import annotations

from IPython.display import Markdown

from cxlib.churn._findings import describe_retention
from cxlib.churn._models import ChurnDrivers
from cxlib.churn._panel import ChurnPanel
from cxlib.churn._report import Retention, format_retention
from cxlib.data._load import FIRST_ORDER
from cxlib.report._messages import variable_label
from cxlib.report._safe_text import md_text
from cxlib.report._sentences import MAX_NAMED, all_equal, describe_hidden_groups, groups_to_show
from cxlib.stats._design import feature_label

#: Driver features by the table they come from, with the reader's word for what they record.
DRIVER_SOURCES = {
    "transactions": (
        {
            "orders_per_month_12m": "order frequency",
            "mean_order_value": "order value",
            "days_since_last_order": "days since the last order",
            "refunded_order_share": "refunds",
        },
        "purchases",
    ),
    "interactions": (
        {
            "support_contacts": "support contacts",
            "complaints": "complaints",
            "unresolved_complaint": "unresolved complaints",
            "long_wait": "long support waits",
            "cart_abandonments": "abandoned carts",
        },
        "service experience",
    ),
    "surveys": ({"satisfaction_z": "survey satisfaction", "no_survey": "not answering surveys"}, "surveys"),
    "programme": ({"programme_treatment": "the retention programme"}, "programme"),
}


def _joined(items: list[str]) -> str:
    if len(items) <= 1:
        return "".join(items)
    return ", ".join(items[:-1]) + " and " + items[-1]


def driver_sources(panel: ChurnPanel) -> list[str]:
    """What the panel's drivers record, grouped by source, as plain phrases (not escaped).

    Examples
    --------
    >>> driver_sources(panel)  # doctest: +SKIP
    ['tenure', 'customer attributes (Plan, InternetService, ... and 12 more)']
    """
    features = panel.numeric + panel.categorical
    parts = ["tenure"] if "tenure_months" in features else []
    from_tables = {name for columns, _ in DRIVER_SOURCES.values() for name in columns}
    attributes = [f for f in features if f != "tenure_months" and f not in from_tables]
    if attributes:
        named = [feature_label(f) for f in attributes[:MAX_NAMED]]
        more = len(attributes) - MAX_NAMED
        parts.append(
            "customer attributes (" + ", ".join(named) + (f" and {more} more" if more > 0 else "") + ")"
        )
    for columns, what in DRIVER_SOURCES.values():
        present = [word for name, word in columns.items() if name in features]
        if present:
            parts.append(f"{what} ({_joined(present)})")
    return parts


def report_intro(panel: ChurnPanel, data) -> str:
    """What the churn report links to leaving, from the drivers the data give (Markdown).

    Names only the kinds of driver the panel has (tenure, customer attributes, purchases, service
    experience, surveys, the programme); flags signup dates that loading derived and a tenure the
    data window caps (:func:`cxlib.churn.tenure_cap`).

    Parameters
    ----------
    panel : ChurnPanel
    data : CustomerData
        Its ``derived_columns`` say whether signup dates were derived.

    Returns
    -------
    str
        Markdown.
    """
    sources = driver_sources(panel)
    what = _joined(sources) if sources else "no driver (every candidate is constant)"
    text = f"This report links what the data record about each customer, {md_text(what)}, to their leaving."
    derived = getattr(data, "derived_columns", {}).get("customers.signup_date")
    if derived == FIRST_ORDER:
        text += (
            f" Sign-up dates are {md_text(derived)}, not recorded sign-ups: tenure and the retention "
            "curves count from it."
        )
    elif derived is not None:
        text += f" Sign-up dates are derived from {md_text(derived)}, counted back from the as-of date, not recorded."
    cap = tenure_cap_sentence(panel)
    return text + (f" {cap}" if cap else "")


def tenure_cap_sentence(panel: ChurnPanel) -> str:
    """That tenure is capped by the data window at N months, or empty when it is not (Markdown)."""
    if panel.tenure_cap_months is None or "tenure_months" not in panel.numeric:
        return ""
    return (
        f"Tenure is capped by the data window at {panel.tenure_cap_months:.0f} months: no customer can "
        "show a longer one, so a tenure effect partly reflects when customers entered the data, not "
        "how long they have stayed."
    )


def tenure_flag(panel: ChurnPanel, drivers: ChurnDrivers, top: int = 3) -> str:
    """A findings item flagging a capped tenure when tenure is among the ``top`` drivers, else empty.

    Returns
    -------
    str
        Markdown list item starting with a newline (to append to the findings), or "".
    """
    named = drivers.drivers_["driver"].head(top).tolist()
    sentence = tenure_cap_sentence(panel)
    if not sentence or "tenure_months" not in named:
        return ""
    return f"\n- {sentence}"


def describe_key_driver(retention: Retention) -> str:
    """Why the key driver's curves cover the follow-up after the cut-off or whole lifetimes (Markdown)."""
    column = retention.group_col
    if column is None:
        return "No further customer attribute ranks among the drivers, so all customers are shown together."
    name = md_text(variable_label(column))
    if retention.after_cutoff:
        return (
            f"{name}, the strongest yes/no driver, is compared only over the follow-up after the cut-off, "
            "because comparing whole lifetimes would credit long-lived customers with more time to acquire it."
        )
    return (
        f"{name}, the strongest further customer attribute among the drivers, is compared over whole tenure."
    )


def retention_report(retention: Retention, max_groups: int | None = None) -> list:
    """The retention table (long ones trimmed) and its caveats, ready for ``display(*parts)``.

    A table of more groups than :data:`cxlib.report.MAX_GROUPS` keeps the largest and the most
    different (by retention at the first horizon) and says how many are left out; when every group
    has the same retention and median, one sentence says so instead of the table.

    Returns
    -------
    list
        A table (DataFrame) or a Markdown sentence, then Markdown: grouping notes and caveats.
    """
    summary = retention.curves.summary_
    notes = Markdown(describe_retention(retention))
    first = next((c for c in summary.columns if c.startswith("retention_") and c.count("_") == 1), None)
    variable = variable_label(summary["group_col"].iloc[0] if len(summary) else None)
    values = summary[first].fillna(-1.0) if first is not None else summary["median_months"]
    if all_equal(values) and all_equal(summary["median_months"].replace(float("inf"), -1.0)):
        months = first.split("_")[1][:-1] if first is not None else ""
        still = (
            ""
            if first is None or summary[first].isna().all()
            else f"{summary[first].iloc[0]:.0%} still customers after {months} months, "
        )
        return [
            Markdown(
                f"All {len(summary):,} {md_text(variable)} groups retain customers alike ({still}the same "
                "median lifetime), so no table by group is shown."
            ),
            notes,
        ]
    kwargs = {} if max_groups is None else {"max_groups": max_groups}
    shown = groups_to_show(summary, first or "median_months", "customers", **kwargs)
    hidden = describe_hidden_groups(len(shown), len(summary), variable)
    parts = [format_retention(shown.reset_index(drop=True)), notes]
    return parts + ([Markdown(hidden)] if hidden else [])

"""Reader-facing text for the overview's data-health section: what loading did, and what to check."""

from __future__ import annotations

from cxlib.report._safe_text import md_text


def describe_loading(data) -> str:
    """Markdown listing the warnings of validation first, then what loading did to the raw files.

    Warnings flag plausible but suspicious data (extreme amounts, a gap in the data before the
    as-of date, dates read in an order that some values do not prove, ids with spaces); notes say
    what loading changed (duplicates dropped, refunds flagged, missing optional values). Text that
    quotes the data is escaped (:func:`cxlib.report._safe_text.md_text`), so a value in a file cannot become markup in the report.

    Parameters
    ----------
    data : CustomerData
        From :func:`cxlib.data._load.load_data`.

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

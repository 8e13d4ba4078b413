"""Find sentences of a report that speak of data the report was not given (issue 10).

:func:`absent_data_sentences` is the one checker: unit tests run it over the text of report parts,
end-to-end tests over the HTML of a run (:func:`report_text` turns a report page into text). A
sentence saying that something is absent ("Not available: the config supplies no interactions
table", "so no acquisition trend is shown") is what a report should say, and is not flagged.
"""

from __future__ import annotations

import html
import re
from pathlib import Path

#: What each optional table records, as patterns a sentence about it would match.
TOPICS = {
    "interactions": (
        r"\bcomplain\w*|\bwaits?\b|\bwaiting\b|\bresolv\w*|\bresolution\b|\bcontacts?\b|\bfriction\b"
        r"|\btouchpoints?\b|\bcart abandon\w*|\babandoned carts?\b"
    ),
    "surveys": (
        r"\bnps\b|\bcsat\b|\bsurvey\w*|\bsatisf\w*|\bratings?\b|\brate us\b|\bpromoters?\b|\bdetractors?\b"
        r"|\brespondents?\b"
    ),
    # "referrals", not "referral": that is also an acquisition channel a customers table may name
    "referrals": r"\breferrals\b|\breferred\b|\breferrers?\b",
    "programme": r"\bprogrammes?\b|\bprograms?\b",
}

#: Words that need either of two tables: "experience" is what interactions or surveys record.
EITHER = ((frozenset({"interactions", "surveys"}), r"\bexperiences?\b"),)

#: Columns of present tables that some sentences need: (table.column, pattern).
COLUMN_TOPICS = (
    ("interactions.wait_minutes", r"\bwaits?\b|\bwaiting\b"),
    ("interactions.resolved", r"\bresolv\w*|\bresolution\b|\bunresolved\b"),
)

#: Sentences about acquisition over time, which derived signup dates cannot support.
ACQUISITION = (
    r"\bnew customers (peaked|per month|by month|grew|rose|fell)|\bacquisition (trend|peak)s?\b"
    r"|\bsign-?ups? (peaked|grew|rose|fell|by month|per month)|\bpeak(ed)? (in|at) .* new customers"
)

#: A sentence stating that something is absent or not shown says what it should. Narrow on purpose:
#: "Customers without complaints stay longer" is still flagged when there are no interactions.
ABSENCE = re.compile(
    r"\bnot available\b|\bsupplies no\b|\bno (\w+ ){0,3}(tables?|data|trends?|answers?|columns?)\b"
    r"|\bnot (shown|supplied|recorded|drawn)\b|\bwithout (\w+ ){0,2}(tables?|data|transactions|interactions|surveys)\b",
    re.IGNORECASE,
)


def sentences(text: str) -> list[str]:
    """Split text into sentences and lines (headings, list items and table cells count as one)."""
    parts = re.split(r"(?<=[.!?])\s+|\n+", text)
    return [p.strip() for p in parts if p and p.strip()]


def _explained(word: str, columns: set[str]) -> bool:
    """Whether a given column's name explains ``word`` (a ``Complain`` flag for "complaints")."""
    stem = word.lower()[:5]
    return any(stem in re.sub(r"[^a-z]", "", c.split(".")[-1].lower()) for c in columns)


def _offends(rule: re.Pattern, sentence: str, columns: set[str]) -> bool:
    return any(not _explained(m.group(0), columns) for m in rule.finditer(sentence))


def absent_data_sentences(text: str, present_tables: set[str], present_columns: set[str]) -> list[str]:
    """Sentences of ``text`` that speak of data the report was not given.

    Parameters
    ----------
    text : str
        Report text (Markdown, or HTML turned into text by :func:`report_text`).
    present_tables : set of str
        Canonical tables given, e.g. ``{"customers"}`` for a churn snapshot.
    present_columns : set of str
        Columns given, as ``"table.column"`` (``"customers.signup_date"`` only when the data
        recorded it: leave it out when loading derived it) or as file column names. Column rules for
        a table apply only when some column of that table is listed. A word is not flagged when a
        given column's name holds its first five letters (a ``Complain`` flag explains
        "complaints", ``SatisfactionScore`` "satisfaction").

    Returns
    -------
    list of str
        Each offending sentence, in order: complaints, waits, resolution or contacts without
        interactions (waits without ``interactions.wait_minutes``, resolution without
        ``interactions.resolved``); NPS, CSAT, surveys, satisfaction or ratings without surveys;
        referrals or the programme without their tables; acquisition trends or peaks when
        ``customers.signup_date`` is not a recorded column.
    """
    rules = [re.compile(p, re.IGNORECASE) for t, p in TOPICS.items() if t not in present_tables]
    rules += [re.compile(p, re.IGNORECASE) for tables, p in EITHER if not tables & set(present_tables)]
    described = {c.split(".", 1)[0] for c in present_columns}
    rules += [
        re.compile(p, re.IGNORECASE)
        for column, p in COLUMN_TOPICS
        if column.split(".", 1)[0] in present_tables
        and column.split(".", 1)[0] in described
        and column not in present_columns
    ]
    if "customers.signup_date" not in present_columns:
        rules.append(re.compile(ACQUISITION, re.IGNORECASE))
    return [
        s
        for s in sentences(text)
        if any(_offends(r, s, present_columns) for r in rules) and not ABSENCE.search(s)
    ]


def report_text(path: str | Path) -> str:
    """The visible text of a report page: no markup, styles, scripts or embedded images."""
    page = Path(path).read_text(encoding="utf-8")
    page = re.sub(r"<(style|script)\b.*?</\1>", " ", page, flags=re.S | re.I)
    page = re.sub(r"<img\b[^>]*>", " ", page, flags=re.I)
    page = re.sub(r"</(p|div|h\d|li|tr|td|th|pre)>|<br\s*/?>", "\n", page, flags=re.I)
    page = html.unescape(re.sub(r"<[^>]+>", " ", page))
    return re.sub(r"[ \t]+", " ", page)


def html_text(markup: str) -> str:
    """The visible text of report markup, one block per line (images, styles and scripts removed)."""
    markup = re.sub(r"data:image/[a-z]+;base64,[A-Za-z0-9+/=]+", "", markup)
    markup = re.sub(r"(?is)<(style|script)\b.*?</\1>", "", markup)
    markup = re.sub(r"\s+", " ", markup)  # line breaks inside a paragraph are not sentence ends
    markup = re.sub(
        r"(?i)<(br|/p|/h\d|/li|/tr|/div|/caption|/figcaption|/th|/td|/summary)\b[^>]*>", "\n", markup
    )
    text = html.unescape(re.sub(r"<[^>]+>", "", markup))
    lines = (" ".join(line.replace("\u00b6", "").split()) for line in text.splitlines())
    return "\n".join(line for line in lines if line)


def parts_text(intro: str, sections, study, findings: str, headline: str) -> str:
    """A capability's report as a reader sees it: every sentence and table cell, figures by their titles.

    ``sections`` are the capability's ``*_report(study)`` functions, in report order.
    """
    from IPython.display import Markdown

    parts = [Markdown(intro)]
    for report in sections:
        parts += report(study)
    parts.append(Markdown(findings))
    text = []
    for part in parts:
        if isinstance(part, Markdown):
            text.append(part.data)
        elif hasattr(part, "to_html"):
            text.append(part.to_html())
        else:  # a figure: its titles and axis labels
            for ax in part.axes:
                text += [ax.get_title(), ax.get_xlabel(), ax.get_ylabel()]
    text.append(headline)
    return "\n".join(text)

"""Find report sentences that speak of data the run was not given (a minimal stand-in).

A report on a bank's churn snapshot must not talk about complaints, waits, surveys or referrals:
those need the interactions, surveys, referrals or programme tables (or a column of that name), and
an acquisition trend needs sign-up dates that were given, not derived from a tenure.

This is the minimal version written for ``tests/test_foreign_exports.py``; the lead reconciles it
with the fuller one written alongside the report-text fixes. Keep the signature.
"""

from __future__ import annotations

import html
import re

#: (word pattern, tables any one of which makes the words legitimate, column stems that do too: a
#: word is legitimate when a given column's name holds a stem the word holds too, e.g. a ``Complain``
#: flag for "complaints"; an empty stem in the word means any word of the rule).
RULES: tuple[tuple[str, frozenset, tuple], ...] = (
    (
        r"complain\w*|waits?\b|waiting|wait times?|resolution|unresolved|resolved|contacts?\b|friction"
        r"|support contacts?|service contacts?",
        frozenset({"interactions"}),
        ("complain", "wait", "resol", "contact"),
    ),
    (
        r"\bnps\b|net promoter|promoters?|detractors?|csat|surveys?|satisf\w*|ratings?\b|rate us",
        frozenset({"surveys"}),
        ("nps", "csat", "satisf", "rating", "survey"),
    ),
    (r"experiences?\b", frozenset({"interactions", "surveys"}), ("experience",)),
    (r"referr\w*|word of mouth", frozenset({"referrals"}), ("referr",)),
    (r"programme|pilot|treatment group|control group", frozenset({"programme"}), ("programme",)),
    (
        r"new customers (peaked|rose|fell)|sign-?ups? (peaked|rose|fell)|acquisition (peak|trend)"
        r"|acquired (most|fewest)|peak(ed)? (in|at) \d",
        frozenset(),
        (("signup_date", ""),),
    ),
)

#: Sentences that say the data is absent are what a report should say, not an offence.
STATES_ABSENCE = re.compile(
    r"not available|supplies no|has no|have no|is not shown|are not shown|without (the )?\w+ table"
    r"|no (interactions|surveys|referrals|programme)",
    re.IGNORECASE,
)


def html_text(markup: str) -> str:
    """The visible text of a report, one block per line (images, styles and scripts removed)."""
    markup = re.sub(r"data:image/[a-z]+;base64,[A-Za-z0-9+/=]+", "", markup)
    markup = re.sub(r"(?is)<(style|script)\b.*?</\1>", "", markup)
    markup = re.sub(r"\s+", " ", markup)  # line breaks inside a paragraph are not sentence ends
    markup = re.sub(
        r"(?i)<(br|/p|/h\d|/li|/tr|/div|/caption|/figcaption|/th|/td|/summary)\b[^>]*>", "\n", markup
    )
    text = html.unescape(re.sub(r"<[^>]+>", "", markup))
    lines = (" ".join(line.replace("\u00b6", "").split()) for line in text.splitlines())
    return "\n".join(line for line in lines if line)


def _explains(stem, word: str, columns: list[str]) -> bool:
    column_stem, word_stem = stem if isinstance(stem, tuple) else (stem, stem)
    return word_stem in word.lower() and any(column_stem in c for c in columns)


def _sentences(text: str) -> list[str]:
    out = []
    for line in text.splitlines():
        out += [s.strip() for s in re.split(r"(?<=[.?!])\s+(?=[A-Z0-9])", line) if s.strip()]
    return out


def absent_data_sentences(text: str, present_tables: set[str], present_columns: set[str]) -> list[str]:
    """Sentences of ``text`` that speak of tables or columns the data does not have.

    Parameters
    ----------
    text : str
        A report's visible text (see :func:`html_text`).
    present_tables : set of str
        Canonical tables the config supplies (``customers``, ``transactions``, ``interactions``...).
    present_columns : set of str
        Columns given in those tables (file columns and canonical names); a derived
        ``signup_date`` (from a tenure or a first order) is not given.

    Returns
    -------
    list of str
        The offending sentences, in order, each once.

    Examples
    --------
    >>> absent_data_sentences("Complaints double churn. Age matters.", {"customers"}, {"Age"})
    ['Complaints double churn.']
    """
    columns = [c.lower() for c in present_columns]
    found: list[str] = []
    for sentence in _sentences(text):
        if STATES_ABSENCE.search(sentence):
            continue
        for pattern, tables, stems in RULES:
            if tables & set(present_tables):
                continue
            words = [m.group(0) for m in re.finditer(rf"(?i)\b(?:{pattern})", sentence)]
            # a word is legitimate when the data has a column of that name (e.g. a Complain flag)
            unexplained = [w for w in words if not any(_explains(stem, w, columns) for stem in stems)]
            if unexplained and sentence not in found:
                found.append(sentence)
    return found

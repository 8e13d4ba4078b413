"""Strength of evidence: what a money figure rests on, from a randomised pilot down to an assumption.

Every figure the impact capability reports carries one of four labels (:data:`EVIDENCE`), strongest
first. A figure computed from several inputs carries the weakest of their labels
(:func:`weakest`): a lever that multiplies a randomised effect by an assumed share rests on an
assumption. The labels are data (short codes); the report words them (:data:`EVIDENCE_LABELS`).

Examples
--------
>>> weakest(["randomised", "assumption", "observational"])
'assumption'
>>> EVIDENCE_LABELS["quasi_experimental"]
'quasi-experiment'
"""

from __future__ import annotations

from collections.abc import Iterable

#: Evidence codes, strongest first.
EVIDENCE = ("randomised", "quasi_experimental", "observational", "assumption")
#: How reports name each code.
EVIDENCE_LABELS = {
    "randomised": "randomised pilot",
    "quasi_experimental": "quasi-experiment",
    "observational": "observed association",
    "assumption": "assumption",
}


def check_evidence(code: str) -> str:
    """Return ``code`` when it is one of :data:`EVIDENCE`; raise ValueError otherwise."""
    if code not in EVIDENCE:
        raise ValueError(f"unknown evidence {code!r}: expected one of {', '.join(EVIDENCE)}")
    return code


def weakest(codes: Iterable[str]) -> str:
    """The weakest evidence among ``codes`` (a figure is as strong as its weakest input).

    Raises
    ------
    ValueError
        When ``codes`` is empty or holds an unknown code.
    """
    codes = [check_evidence(c) for c in codes]
    if not codes:
        raise ValueError("weakest() needs at least one evidence code")
    return max(codes, key=EVIDENCE.index)

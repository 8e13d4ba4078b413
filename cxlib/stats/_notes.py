"""Notes: what limits a result, as data (a code and its values), never as a sentence.

Computing modules (models, features, panels) describe a caveat or a choice they made as a
:class:`Note`: a short code naming the kind of fact and the values it needs (numbers, column
names, levels from the data, lists of them, dates). The reader-facing sentence is built from it
by the message catalogue, :func:`cxlib.report.render`, so one place holds every wording and can
be translated without touching the computation (statsmodels keeps its notes apart from the
numbers in the same spirit).

Examples
--------
>>> note = Note("design.constant", {"term": "long_wait"})
>>> note.code, note["term"]
('design.constant', 'long_wait')
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class Note:
    """A fact that limits a result: a message code and the values its sentence needs.

    Parameters
    ----------
    code : str
        Names the kind of fact, e.g. ``"design.constant"``; every code has a template in
        :data:`cxlib.report.MESSAGES`.
    values : dict
        What the sentence needs: numbers, column and level names, lists of them, dates. No prose:
        wording (and grammar such as singular or plural) is the catalogue's.

    Examples
    --------
    >>> Note("segment.k_forced", {"k": 3, "best_k": 4})
    Note(code='segment.k_forced', values={'k': 3, 'best_k': 4})
    """

    code: str
    values: dict[str, Any] = field(default_factory=dict, hash=False)

    def __getitem__(self, name: str) -> Any:
        """One of the note's values, e.g. ``note["term"]``."""
        return self.values[name]

"""Where a run publishes, and the checks on those paths that need no version store.

:class:`Destination` names the report link (``--out``), the run-data link (``--run-data``) and
the hidden version store beside them (see :mod:`cxlib.run._publish`). :func:`check_separate` refuses
overlapping folders; :func:`earlier_suite_layout` recognises a report folder that a cx-suite
version without manifests wrote.
"""

from __future__ import annotations

import json
import os
import shlex
from dataclasses import dataclass
from pathlib import Path

from cxlib.exceptions import ReportFolderError

CURRENT = "current"
REPORT, RUN_DATA = "report", "run-data"
#: Keys of ``run.json`` that every cx-suite version wrote, before manifests existed too.
_RUN_RECORD_KEYS = {"fingerprints", "reports"}


@dataclass(frozen=True)
class Destination:
    """Where a run publishes: the report link, the run-data link and the version store.

    Parameters
    ----------
    out : Path
        The report folder the user opens (``out/index.html``); a symlink into the store.
    run_data : Path
        The folder of per-customer tables and executed notebooks, for analysts.
    store : Path
        Hidden sibling of ``out`` holding the versions.
    """

    out: Path
    run_data: Path
    store: Path

    @classmethod
    def for_out(cls, out: str | Path, run_data: str | Path | None = None) -> Destination:
        """The destination of ``--out`` (and ``--run-data``, default: ``<out>-data`` beside it).

        Examples
        --------
        >>> Destination.for_out("/tmp/reports").run_data
        PosixPath('/tmp/reports-data')
        """
        out = _absolute(out)
        run_data = _absolute(run_data) if run_data is not None else out.with_name(f"{out.name}-data")
        return cls(out=out, run_data=run_data, store=out.with_name(f".{out.name}.cx-versions"))

    def links(self) -> tuple[tuple[Path, str], ...]:
        """Each user-facing link with the part of a version it shows."""
        return ((self.out, REPORT), (self.run_data, RUN_DATA))

    def link_target(self, link: Path, part: str) -> str:
        """The relative target the suite writes into ``link``."""
        return os.path.relpath(self.store / CURRENT / part, link.parent)


def _absolute(path: str | Path) -> Path:
    """Absolute path with the parent resolved but the last component not followed (it may be a link)."""
    path = Path(path).expanduser()
    if path.name in ("", ".."):  # ".", "/", "a/..": no last component to keep
        return path.resolve()
    return path.parent.resolve() / path.name


def _overlap(first: Path, second: Path) -> bool:
    return first == second or first in second.parents or second in first.parents


def check_separate(dest: Destination) -> None:
    """Refuse a run-data folder equal to, inside or around the report folder (or the version store).

    Both are compared as given (parents resolved) and with every link followed, so
    ``--run-data reports/data`` is refused also when ``reports`` is the link an earlier run made.

    Raises
    ------
    ReportFolderError
        Naming both folders and how to choose them.
    """
    pairs = [
        (dest.out, dest.run_data),
        (dest.out.resolve(), dest.run_data.resolve()),
        (dest.store, dest.run_data),
    ]
    if any(_overlap(first, second) for first, second in pairs):
        raise ReportFolderError(
            f"the report folder (--out {dest.out}) and the run-data folder (--run-data {dest.run_data}) "
            "overlap: they must be two distinct folders, neither inside the other (nor inside "
            f"{dest.store}), so per-customer tables never land in the reports; nothing was run or "
            f"changed. Leave out --run-data to use {dest.out.with_name(dest.out.name + '-data')}."
        )


def earlier_suite_layout(folder: Path) -> str | None:
    """A hint when ``folder`` looks like reports an earlier cx-suite version wrote, else None.

    Earlier versions wrote ``index.html``, ``run.json``, ``run/``, ``notebooks/`` and
    ``NN_name.html`` straight into the report folder, without a manifest. Such a folder is still
    refused (nothing proves every file in it is the suite's), but the message says what it is.

    Examples
    --------
    >>> earlier_suite_layout(Path("/nonexistent")) is None
    True
    """
    try:
        record = json.loads((folder / "run.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    if not (isinstance(record, dict) and _RUN_RECORD_KEYS <= record.keys()):
        return None
    aside = shlex.quote(str(folder.with_name(f"{folder.name}-old")))
    return (
        f"{folder} looks like reports from an earlier cx-suite version, which wrote no manifest, so "
        f"cx-suite cannot tell its files from yours; move the folder aside (mv {shlex.quote(str(folder))} "
        f"{aside}) and keep what you need, or remove it (rm -r {shlex.quote(str(folder))}) if nothing "
        "of yours is inside (its run/ folder holds per-customer tables: do not send it)"
    )

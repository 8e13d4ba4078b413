"""Publish a run's outputs in one atomic step, and never touch a file the suite did not write.

Layout (for ``--out reports``, run-data folder ``reports-data``)::

    reports            -> .reports.cx-versions/current/report      (symlink: what the user opens)
    reports-data       -> .reports.cx-versions/current/run-data    (symlink: per-customer tables, for analysts)
    .reports.cx-versions/                                          (the version store, hidden)
        cx-suite-store.txt      marker: this folder belongs to cx-suite
        current -> v-20251231-101500-000000                        (the one switch)
        v-20251231-101500-000000/
            cx-manifest.json    every file of this version with its SHA-256
            report/             index.html, NN_name.html, run.json (aggregates only)
            run-data/           tables notebooks hand on, summaries, executed notebooks
        staging-*/              a run being built (removed by the next run if the run was killed)
        failed-run -> failed-20251231-101500-000000    the last failed run, for debugging
        failed-20251231-101500-000000/                  with its own cx-manifest.json

A run builds everything in ``staging-*``, writes the manifest, renames the folder to ``v-*`` and
then switches ``current`` with one :func:`os.replace` of a symlink, which is atomic on POSIX: a
kill at any moment leaves either the previous complete set or the new one visible through
``reports``. Leftovers of killed runs (staging folders, versions no longer current) are removed
by the next run. A failed run is kept for debugging, with a manifest too, until the next run.
Wherever the suite deletes (old versions, failed runs, ``cx clean``), it deletes only files listed
in that folder's manifest with an unchanged hash; anything else (a notebook the user edited while
debugging, a file they saved there) stays, and one log line says what was kept. Staging folders
have no manifest yet; only the run writes there and nothing points users at them, so a killed or
interrupted run's staging folder is removed whole. The paths themselves
(:class:`~cxlib.run._destination.Destination`) live in :mod:`cxlib.run._destination`.
"""

from __future__ import annotations

import datetime as dt
import fcntl
import json
import os
import re
import shutil
from collections.abc import Callable
from pathlib import Path

from cxlib.data._readers import sha256
from cxlib.exceptions import ReportFolderError
from cxlib.run._destination import (
    CURRENT,
    REPORT,
    RUN_DATA,
    Destination,
    check_separate,
    earlier_suite_layout,
)

MANIFEST = "cx-manifest.json"
MARKER = "cx-suite-store.txt"
LOCK = ".lock"
FAILED = "failed-run"
_VERSION = re.compile(r"v-\d{8}-\d{6}-\d{6}")
_STAGING = re.compile(r"staging-\d{8}-\d{6}-\d{6}")
_FAILED = re.compile(r"failed-\d{8}-\d{6}-\d{6}")
_MARKER_TEXT = (
    "This folder belongs to cx-suite: it holds the versions of a report folder (see README.md,\n"
    "'What a run does'). `cx clean --out <report folder>` removes it; do not put files here.\n"
)


def _checkpoint(stage: str) -> None:
    """Called at each publishing stage; a no-op (tests replace it to kill the run there)."""


def _files(folder: Path) -> list[Path]:
    return sorted(p for p in folder.rglob("*") if p.is_file() or p.is_symlink()) if folder.is_dir() else []


def fingerprint(path: Path) -> str:
    """What the manifest records for a path: a file's SHA-256, or ``link:<target>`` for a symlink.

    A symlink is never hashed through: a link to a folder, a dangling link and a link to a file
    all differ from what the suite wrote unless the manifest lists that very link.
    """
    return f"link:{os.readlink(path)}" if path.is_symlink() else sha256(path)


def write_manifest(version: Path) -> dict[str, str]:
    """Record every file of a built version with its fingerprint in ``cx-manifest.json``."""
    files = {
        p.relative_to(version).as_posix(): fingerprint(p)
        for part in (REPORT, RUN_DATA)
        for p in _files(version / part)
    }
    tmp = version / f"{MANIFEST}.tmp"
    tmp.write_text(json.dumps({"written_by": "cx-suite", "files": files}, indent=1) + "\n", encoding="utf-8")
    os.replace(tmp, version / MANIFEST)
    return files


def _manifest_files(version: Path) -> dict[str, str]:
    try:
        return json.loads((version / MANIFEST).read_text(encoding="utf-8"))["files"]
    except (OSError, ValueError, KeyError, TypeError):
        return {}


def foreign_files(version: Path) -> list[str]:
    """Files of a version that its manifest does not list, or whose content changed since publishing."""
    listed = _manifest_files(version)
    return [
        rel
        for part in (REPORT, RUN_DATA)
        for p in _files(version / part)
        if listed.get(rel := p.relative_to(version).as_posix()) != fingerprint(p)
    ]


def _empty_folder(path: Path) -> bool:
    return path.is_dir() and not path.is_symlink() and not any(path.iterdir())


def _current_version(dest: Destination) -> Path | None:
    current = dest.store / CURRENT
    return dest.store / os.readlink(current) if current.is_symlink() else None


def _shown(names: list[str], limit: int = 10) -> str:
    more = f" and {len(names) - limit} more" if len(names) > limit else ""
    return ", ".join(names[:limit]) + more


def check_destination(dest: Destination, action: str = "publish to") -> None:
    """Refuse, before anything runs, a destination holding anything the suite did not write.

    A new or empty folder is fine. A folder the suite published is fine as long as every file in
    it is listed in its manifest with an unchanged SHA-256.

    Parameters
    ----------
    dest : Destination
        The report folder, run-data folder and version store.
    action : str
        What is refused, for the message ("publish to", "clean").

    Raises
    ------
    ReportFolderError
        Naming every file or folder that publishing could otherwise replace, or when the report
        and run-data folders overlap (see :func:`check_separate`).
    """
    check_separate(dest)
    problems = []
    version = _current_version(dest)
    for link, part in dest.links():
        if link.is_symlink():
            if os.readlink(link) != dest.link_target(link, part):
                problems.append(f"{link} is a link to {os.readlink(link)}, which cx-suite did not make")
            elif version is not None:
                changed = [
                    str(link / Path(rel).relative_to(part))
                    for rel in foreign_files(version)
                    if rel.startswith(f"{part}/")
                ]
                if changed:
                    problems.append(
                        f"files that cx-suite did not write, or that changed since it published them: {_shown(changed)}"
                    )
        elif link.is_dir():
            entries = [p.relative_to(link).as_posix() for p in _files(link)]
            entries += [p.relative_to(link).as_posix() for p in link.rglob("*") if _empty_folder(p)]
            if entries:
                problems.append(
                    earlier_suite_layout(link)
                    or f"{link} holds files cx-suite did not write ({_shown(entries)})"
                )
        elif link.exists():
            problems.append(f"{link} is a file, not a folder")
    if dest.store.exists() and not (dest.store / MARKER).is_file():
        problems.append(f"{dest.store} exists but is not a cx-suite version store")
    if problems:
        raise ReportFolderError(
            f"refusing to {action} {dest.out}: "
            + "; ".join(problems)
            + ". A run replaces only files it wrote itself (listed with their SHA-256 in its manifest), "
            "so nothing was run or changed; move those files elsewhere or choose another --out "
            "(and --run-data) folder."
        )


class Store:
    """The locked version store of one destination, for the duration of a run.

    Parameters
    ----------
    dest : Destination
        Where the run publishes.
    log : callable
        Receives progress lines.
    """

    def __init__(self, dest: Destination, log: Callable[[str], None] = lambda message: None):
        self.dest = dest
        self.log = log
        self.published = False  # True once the switch to the new version has happened
        self._lock = None

    def __enter__(self) -> Store:
        self.dest.store.mkdir(parents=True, exist_ok=True)
        marker = self.dest.store / MARKER
        if not marker.is_file():
            marker.write_text(_MARKER_TEXT, encoding="utf-8")
        self._lock = open(self.dest.store / LOCK, "w")  # noqa: SIM115 - held until __exit__
        try:
            fcntl.flock(self._lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            self._lock.close()
            raise ReportFolderError(
                f"another cx run is publishing to {self.dest.out}; wait for it to finish"
            ) from None
        return self

    def __exit__(self, *exc) -> None:
        self._lock.close()

    def clean_leftovers(self) -> None:
        """Remove what killed runs left: staging folders, versions that are not current, stray links."""
        current = _current_version(self.dest)
        for entry in sorted(self.dest.store.iterdir()):
            if _STAGING.fullmatch(entry.name) and entry.is_dir() and not entry.is_symlink():
                shutil.rmtree(entry)
            elif _VERSION.fullmatch(entry.name) and entry != current and entry.is_dir():
                self.remove_version(entry)
            elif entry.name.startswith(f"{CURRENT}.new") and entry.is_symlink():
                entry.unlink()

    def new_staging(self) -> Path:
        """A fresh staging folder with its ``report`` and ``run-data`` parts."""
        staging = self.dest.store / f"staging-{dt.datetime.now():%Y%m%d-%H%M%S-%f}"
        for part in (REPORT, RUN_DATA):
            (staging / part).mkdir(parents=True)
        return staging

    def keep_failed(self, staging: Path) -> Path:
        """Keep a failed run for debugging, with a manifest, behind the ``failed-run`` link.

        The previous failed run is removed by the manifest rule (:meth:`remove_version`), so a
        notebook the user edited there, or a file they saved, stays where it is.

        Returns
        -------
        Path
            Where the failed run's files are.
        """
        write_manifest(staging)
        failed = self.dest.store / f"failed-{staging.name.removeprefix('staging-')}"
        staging.rename(failed)
        self.remove_failed(keep=failed)
        link = self.dest.store / FAILED
        if link.is_symlink() or not link.exists():
            _ensure_link(link, failed.name)
            return link
        return failed  # a failed-run folder some older suite left: not ours to replace

    def remove_failed(self, keep: Path | None = None) -> None:
        """Remove failed runs but ``keep`` (manifest rule); drop ``failed-run`` once it points nowhere."""
        for entry in sorted(self.dest.store.iterdir()):
            if _FAILED.fullmatch(entry.name) and entry != keep and entry.is_dir() and not entry.is_symlink():
                self.remove_version(entry)
        link = self.dest.store / FAILED
        if link.is_symlink() and not link.exists():
            link.unlink()

    def publish(self, staging: Path) -> Path:
        """Make ``staging`` the current version in one atomic switch, then remove the previous one.

        Returns
        -------
        Path
            The published version folder.
        """
        write_manifest(staging)
        version = self.dest.store / f"v-{staging.name.removeprefix('staging-')}"
        staging.rename(version)
        _checkpoint("staged")
        previous = _current_version(self.dest)
        switch = self.dest.store / f"{CURRENT}.new"
        if switch.is_symlink():
            switch.unlink()
        os.symlink(version.name, switch)
        _checkpoint("before-switch")
        os.replace(switch, self.dest.store / CURRENT)  # the publishing step: atomic
        self.published = True
        _checkpoint("after-switch")
        for link, part in self.dest.links():
            _ensure_link(link, self.dest.link_target(link, part))
        if previous is not None and previous != version and previous.is_dir():
            self.remove_version(previous)
        self.remove_failed()
        return version

    def remove_version(self, version: Path) -> None:
        """Delete a version's (or failed run's) files its manifest lists unchanged; keep anything else."""
        listed = _manifest_files(version)
        kept, deleted = [], 0
        for path in _files(version):
            rel = path.relative_to(version).as_posix()
            if rel == MANIFEST:
                continue
            if listed.get(rel) == fingerprint(path):
                path.unlink()  # a listed link: only the link goes, never what it points to
                deleted += 1
                if deleted == 1:
                    _checkpoint("cleanup")
            else:
                kept.append(rel)
        if not kept:
            (version / MANIFEST).unlink(missing_ok=True)
        for folder, _, _ in os.walk(version, topdown=False):
            try:
                os.rmdir(folder)
            except OSError:
                pass
        if kept:
            self.log(
                f"kept {len(kept)} file(s) in {version} that cx-suite did not write or that changed "
                f"since it wrote them: {_shown(kept, 3)}"
            )

    def remove_all(self) -> None:
        """Remove the links and every version (``cx clean``); files the suite did not write stay."""
        for link, part in self.dest.links():
            if link.is_symlink() and os.readlink(link) == self.dest.link_target(link, part):
                link.unlink()
        current = self.dest.store / CURRENT
        if current.is_symlink():
            current.unlink()
        self.clean_leftovers()
        self.remove_failed()
        for name in (MARKER, LOCK):
            (self.dest.store / name).unlink(missing_ok=True)
        try:
            self.dest.store.rmdir()
        except OSError:
            self.log(f"kept {self.dest.store}: it still holds files cx-suite did not write")


def _ensure_link(link: Path, target: str) -> None:
    """Point ``link`` at ``target``; an empty folder in its place (a new --out) is replaced."""
    if link.is_symlink() and os.readlink(link) == target:
        return
    if link.is_dir() and not link.is_symlink():
        link.rmdir()  # empty: check_destination refused anything else
    link.parent.mkdir(parents=True, exist_ok=True)
    tmp = link.with_name(f".{link.name}.cx-link")
    if tmp.is_symlink():
        tmp.unlink()
    os.symlink(target, tmp)
    os.replace(tmp, link)

"""Write the synthetic demo to a folder, replacing only a folder an earlier demo wrote.

The generator itself is :mod:`cxlib.data._synth`; this module puts its tables, ``ground_truth.json`` and
the per-customer truth on disk, atomically (a temporary folder renamed into place), and refuses a
folder holding anything :func:`write_demo` did not write.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

from cxlib.data._synth import generate
from cxlib.exceptions import DemoFolderError

#: What ``ground_truth.json`` names as its generator: today's public name, and the name written by
#: versions before the subpackage layout (so a demo folder they wrote can still be replaced).
GENERATOR_NAMES = ("cxlib.data.generate", "cxlib.synth.generate")


def write_demo(
    out_dir: str | Path, n_customers: int = 50_000, seed: int = 42, pilot: str = "randomised"
) -> Path:
    """Generate the demo and write its tables, ``ground_truth.json`` and per-customer truth.

    Files are written to a temporary folder first and renamed into place, so an interrupted
    run never leaves a half-written demo.

    Parameters
    ----------
    out_dir : str or Path
        Folder to create; an existing one is replaced only if it holds nothing but an earlier
        demo's files (else :class:`~cxlib.exceptions.DemoFolderError`, before anything is written).
    n_customers, seed : int
        See :func:`generate`.
    pilot : {"randomised", "targeted"}
        See :func:`generate`.

    Returns
    -------
    Path
        The folder written.
    """
    out_dir = Path(out_dir)
    tmp, old = (out_dir.with_name(out_dir.name + suffix) for suffix in (".tmp", ".old"))
    for folder in (out_dir, tmp, old):
        _check_ours(folder)
    demo = generate(n_customers=n_customers, seed=seed, pilot=pilot)
    _rmtree(tmp)  # left by a killed run: checked above to hold only the generator's files
    _rmtree(old)
    tmp.mkdir(parents=True)
    for name, table in demo.tables.items():
        table.to_csv(tmp / f"{name}.csv", index=False)
    demo.customer_truth.to_csv(tmp / "ground_truth_customers.csv", index=False, date_format="%Y-%m-%d")
    (tmp / "ground_truth.json").write_text(json.dumps(demo.truth, indent=2) + "\n", encoding="utf-8")
    if out_dir.exists():
        out_dir.rename(old)
        tmp.rename(out_dir)
        _rmtree(old)
    else:
        tmp.rename(out_dir)
    return out_dir


#: Files :func:`write_demo` writes; a folder holding anything else is not replaced.
DEMO_FILES = frozenset(
    [
        f"{name}.csv"
        for name in ("customers", "transactions", "interactions", "surveys", "programme", "referrals")
    ]
    + ["ground_truth.json", "ground_truth_customers.csv"]
)


def _check_ours(folder: Path) -> None:
    """Refuse to replace a folder unless it is empty or holds only files a demo run wrote."""
    if not folder.exists():
        return
    if not folder.is_dir():
        raise DemoFolderError(f"{folder} is a file; give cx synth a folder for --out")
    entries = sorted(folder.iterdir())
    foreign = [p.name for p in entries if p.name not in DEMO_FILES or p.is_symlink() or not p.is_file()]
    if entries and not foreign and not _written_by_synth(folder / "ground_truth.json"):
        foreign = [p.name for p in entries]  # the generator's file names, but not its ground truth
    if foreign:
        shown = ", ".join(foreign[:5]) + (f" and {len(foreign) - 5} more" if len(foreign) > 5 else "")
        raise DemoFolderError(
            f"{folder} holds files cx synth did not write ({shown}); the demo replaces its folder, so "
            "give --out a new or empty folder, or one an earlier cx synth wrote"
        )


def _written_by_synth(truth: Path) -> bool:
    try:
        return json.loads(truth.read_text(encoding="utf-8")).get("generator") in GENERATOR_NAMES
    except (OSError, ValueError, AttributeError):
        return False


def _rmtree(path: Path) -> None:
    shutil.rmtree(path, ignore_errors=True)

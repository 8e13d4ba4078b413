"""Stored outputs that nbval compares: the findings cells of each notebook, run on the small demo.

Notebooks are kept without outputs, except cells tagged ``nbval-check-output``: their text
outputs (the findings sentences, every figure in them) are stored from a run on the notebook's
default parameters (the 3,000-customer demo, seed 42), so `make test`'s nbval pass checks that
the notebooks still print the same findings, not only that they run. Refresh after a deliberate
change of results with ``make nbval-outputs``; the diff shows what changed.

Run: ``python -m cxlib.run.nbcheck [notebook ...]``
"""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path

import nbformat
import papermill

from cxlib.run._runner import discover_notebooks

#: The nbval tag: compare this cell's outputs even under ``--nbval-lax``.
CHECK_TAG = "nbval-check-output"
#: Output kinds that may be stored: text only (images and styled tables carry random ids).
TEXT_TYPES = {"text/plain", "text/markdown"}


def checked_cells(notebook: nbformat.NotebookNode) -> list[nbformat.NotebookNode]:
    """Code cells tagged :data:`CHECK_TAG`."""
    return [c for c in notebook.cells if c.cell_type == "code" and CHECK_TAG in c.metadata.get("tags", [])]


def _text_only(outputs: list) -> list:
    kept = []
    for output in outputs:
        if output.get("output_type") in ("display_data", "execute_result"):
            data = {k: v for k, v in output["data"].items() if k in TEXT_TYPES}
            if set(output["data"]) - TEXT_TYPES:
                raise ValueError(
                    f"a checked cell shows {sorted(set(output['data']) - TEXT_TYPES)}: text only"
                )
            kept.append(nbformat.v4.new_output("display_data", data=data))
        elif output.get("output_type") == "stream":
            kept.append(output)
    return kept


def store_checked_outputs(path: Path) -> int:
    """Run ``path`` on its default parameters and store the tagged cells' text outputs in it.

    Returns
    -------
    int
        Number of cells whose outputs were stored.
    """
    source = nbformat.read(path, as_version=4)
    tagged = {c.id for c in checked_cells(source)}
    if not tagged:
        return 0
    with tempfile.TemporaryDirectory() as tmp:
        executed = Path(tmp) / path.name
        papermill.execute_notebook(
            str(path),
            str(executed),
            cwd=str(path.parent),
            progress_bar=False,
            kernel_name="python3",
            extra_arguments=["--IPKernelApp.log_level=ERROR"],
        )
        outputs = {c.id: c.get("outputs", []) for c in nbformat.read(executed, as_version=4).cells}
    code = [c for c in source.cells if c.cell_type == "code"]
    for number, cell in enumerate(code, start=1):
        cell.outputs = _text_only(outputs[cell.id]) if cell.id in tagged else []
        # nbval compares only cells that look run (an execution count); the others stay blank
        cell.execution_count = number if cell.id in tagged else None
    nbformat.write(source, path)
    return len(tagged)


def main(argv: list[str] | None = None) -> int:
    """Store the checked outputs of the given notebooks (default: every numbered notebook)."""
    paths = [Path(p) for p in (argv if argv is not None else sys.argv[1:])] or discover_notebooks()
    for path in paths:
        sys.stdout.write(f"{path.name}: stored outputs of {store_checked_outputs(path)} checked cell(s)\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

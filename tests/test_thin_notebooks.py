"""Notebooks narrate and call cxlib; the logic lives in the library where tests reach it (issue 9).

Each numbered notebook has at most :data:`MAX_CODE_LINES` lines of code (non-blank, non-comment),
imports only public names (no ``cxlib.<pkg>._private`` module), does not branch on which tables or
columns exist (the library decides and the report says so), and does not cut headline strings out
of Markdown it built itself.
"""

from __future__ import annotations

import ast
import json
from pathlib import Path

import pytest

NOTEBOOKS = sorted((Path(__file__).resolve().parents[1] / "notebooks").glob("[0-9][0-9]_*.ipynb"))
#: "At most about 60 code lines" per notebook; 61 since notebook 02 shows effect curves (issue 10, part 5).
MAX_CODE_LINES = 61


def _code(path: Path) -> list[str]:
    """Python source of each code cell, IPython magics (``%matplotlib inline``) left out."""
    cells = json.loads(path.read_text())["cells"]
    sources = ["".join(c["source"]) for c in cells if c["cell_type"] == "code"]
    return [
        "\n".join(line for line in s.splitlines() if not line.lstrip().startswith(("%", "!")))
        for s in sources
    ]


def _lines(path: Path) -> list[str]:
    return [
        line
        for cell in _code(path)
        for line in cell.splitlines()
        if line.strip() and not line.strip().startswith(("#", "%"))
    ]


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_notebook_is_thin(path):
    lines = _lines(path)
    assert len(lines) <= MAX_CODE_LINES, f"{path.name}: {len(lines)} code lines (at most {MAX_CODE_LINES})"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_notebook_uses_only_the_public_api(path):
    private = []
    for cell in _code(path):
        for node in ast.walk(ast.parse(cell)):
            modules = []
            if isinstance(node, ast.ImportFrom) and node.module:
                modules = [node.module] + [f"{node.module}.{a.name}" for a in node.names]
            elif isinstance(node, ast.Import):
                modules = [a.name for a in node.names]
            private += [
                m for m in modules if m.startswith("cxlib") and any(p.startswith("_") for p in m.split("."))
            ]
    assert not private, f"{path.name} imports private modules: {private}"


#: Calls whose result, tested in an ``if``, means "branch on which tables or columns exist".
_EXISTENCE = ("has", "load_table", "isna", "empty")


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_notebook_does_not_branch_on_which_data_exist(path):
    found = []
    for cell in _code(path):
        for node in ast.walk(ast.parse(cell)):
            if isinstance(node, (ast.If, ast.IfExp)):
                test = ast.unparse(node.test)
                if (
                    " in data" in test
                    or "is None" in test
                    or "is not None" in test
                    or any(f".{name}" in test for name in _EXISTENCE)
                ):
                    found.append(test)
    assert not found, f"{path.name} branches on the data: {found}"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_notebook_does_not_cut_strings_out_of_its_own_markdown(path):
    source = "\n".join(_code(path))
    for pattern in ('.replace("**"', ".replace('**'", '.split(". ")', ".split('. ')"):
        assert pattern not in source, f"{path.name} uses {pattern}: build the sentence in the report module"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_notebook_has_one_parameters_cell(path):
    cells = [c for c in json.loads(path.read_text())["cells"] if c["cell_type"] == "code"]
    tagged = [c for c in cells if "parameters" in c.get("metadata", {}).get("tags", [])]
    assert len(tagged) == 1, f"{path.name}: papermill needs exactly one cell tagged 'parameters'"

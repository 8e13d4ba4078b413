"""Re-export names defined in private modules, imported on first use (PEP 562).

Each subpackage's ``__init__`` holds a map of its public names to the private module defining
them. ``python -m cxlib._lazy`` regenerates those maps after a public name is added, removed or
moved; ``tests/test_packaging.py`` checks they are current.
"""

from __future__ import annotations

import ast
import importlib
import sys
from pathlib import Path

#: The capability subpackages whose ``__init__`` is generated.
SUBPACKAGES = (
    "data",
    "features",
    "engine",
    "stats",
    "overview",
    "segment",
    "churn",
    "experience",
    "value",
    "impact",
    "executive",
    "report",
    "run",
)


def lazy_module(package: str, where: dict[str, str]):
    """Return ``__getattr__``, ``__dir__`` and ``__all__`` for a package whose names live in submodules.

    Parameters
    ----------
    package : str
        The package's ``__name__``.
    where : dict
        Public name -> the submodule (relative to ``package``) that defines it.
    """

    def __getattr__(name: str):
        if name in where:
            return getattr(importlib.import_module(f"{package}.{where[name]}"), name)
        raise AttributeError(f"module '{package}' has no attribute '{name}'")

    def __dir__() -> list[str]:
        return sorted(where)

    return __getattr__, __dir__, sorted(where)


def public_names(folder: Path) -> dict[str, str]:
    """Public name -> private module for every top-level def, class or assignment in ``folder/_*.py``.

    Names starting with ``_`` stay private; modules without a leading ``_`` (scripts such as
    ``nbcheck``) are not re-exported.
    """
    where: dict[str, str] = {}
    for path in sorted(Path(folder).glob("_*.py")):
        if path.name == "__init__.py":
            continue
        for node in ast.parse(path.read_text()).body:
            if isinstance(node, (ast.FunctionDef, ast.ClassDef)):
                names = [node.name]
            elif isinstance(node, ast.Assign):
                names = [t.id for t in node.targets if isinstance(t, ast.Name)]
            elif isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name):
                names = [node.target.id]
            else:
                names = []
            where.update({n: path.stem for n in names if not n.startswith("_")})
    return dict(sorted(where.items()))


def write_init(folder: Path) -> None:
    """Rewrite the ``_WHERE`` map of ``folder/__init__.py`` from :func:`public_names` (docstring kept)."""
    init = Path(folder) / "__init__.py"
    text = init.read_text()
    start, end = text.index("_WHERE = {"), text.index("}\n", text.index("_WHERE = {")) + 2
    lines = "".join(f'    "{n}": "{m}",\n' for n, m in public_names(folder).items())
    init.write_text(text[:start] + "_WHERE = {\n" + lines + "}\n" + text[end:])


if __name__ == "__main__":
    root = Path(__file__).resolve().parent
    for package in sys.argv[1:] or SUBPACKAGES:
        write_init(root / package)

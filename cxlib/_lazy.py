"""Re-export names defined in private modules, imported on first use (PEP 562)."""

from __future__ import annotations

import importlib


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

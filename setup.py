"""Build step that ships the notebooks inside the package; all metadata is in pyproject.toml.

The numbered notebooks live in the top-level ``notebooks/`` folder, where people open them in
JupyterLab and where nbval and ``python -m cxlib.run.nbcheck`` check them. A wheel (``pip install .``)
carries a copy of them as ``cxlib/notebooks/``, so that ``cx run`` works without a clone; an
editable install reads the folder itself (see ``cxlib.run._runner.default_notebooks_folder``).
"""

from pathlib import Path

from setuptools import setup
from setuptools.command.build_py import build_py

NOTEBOOKS = Path(__file__).resolve().parent / "notebooks"


class BuildWithNotebooks(build_py):
    """``build_py`` plus a copy of ``notebooks/*.ipynb`` into ``cxlib/notebooks/`` (not for editable installs)."""

    def run(self):
        """Build the package as usual, then add the notebooks."""
        super().run()
        if self.editable_mode:
            return
        notebooks = sorted(NOTEBOOKS.glob("[0-9][0-9]_*.ipynb"))
        if not notebooks:
            raise SystemExit(
                f"no numbered notebooks (00_*.ipynb ...) in {NOTEBOOKS}: nothing for `cx run` to run"
            )
        target = Path(self.build_lib) / "cxlib" / "notebooks"
        self.mkpath(str(target))
        for notebook in notebooks:
            self.copy_file(str(notebook), str(target / notebook.name))


setup(cmdclass={"build_py": BuildWithNotebooks})

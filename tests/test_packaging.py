"""The two commands, CI and the conda file stay consistent with pyproject.toml."""

import tomllib

import pytest
import yaml

from .conftest import ROOT


def test_environment_yml_installs_the_package_from_pyproject():
    env = yaml.safe_load((ROOT / "environment.yml").read_text())
    pyproject = tomllib.loads((ROOT / "pyproject.toml").read_text())
    conda_deps = env["dependencies"]
    python = next(d for d in conda_deps if isinstance(d, str) and d.startswith("python="))
    version = python.split("=")[1]
    assert pyproject["project"]["requires-python"].startswith(">=3.11") and version.startswith("3.1")
    pip = next(d["pip"] for d in conda_deps if isinstance(d, dict))
    # every dependency comes from pyproject.toml, pinned by the same lock file make uses: they cannot drift
    assert pip == ["-e .[dev]", "-c requirements.lock"]
    assert "-c requirements.lock" in (ROOT / "Makefile").read_text()
    # and no package is pinned in both places
    strings = [d for d in conda_deps if isinstance(d, str)]
    assert set(strings) <= {python, "pip"}


def test_readme_shows_the_two_commands_and_ci_calls_make_test():
    readme = (ROOT / "README.md").read_text()
    assert "make report" in readme and "make test" in readme
    assert "make test" in (ROOT / ".ci" / "run").read_text()


def test_every_notebook_has_a_parameters_cell_and_stores_only_checked_text_outputs():
    """Outputs are stored only for the findings cells nbval compares, and only as text."""
    import nbformat

    from cxlib.run.nbcheck import CHECK_TAG, TEXT_TYPES

    for path in sorted((ROOT / "notebooks").glob("*.ipynb")):
        notebook = nbformat.read(path, as_version=4)
        tags = [c.metadata.get("tags", []) for c in notebook.cells]
        assert any("parameters" in t for t in tags), path.name
        code = [c for c in notebook.cells if c.cell_type == "code"]
        checked = [c for c in code if CHECK_TAG in c.metadata.get("tags", [])]
        assert checked, f"{path.name}: no findings cell is checked by nbval"
        assert all(c.get("outputs") for c in checked), f"{path.name}: run `make nbval-outputs`"
        assert all(not c.get("outputs") for c in code if c not in checked), (
            f"{path.name} has unchecked outputs"
        )
        kinds = {k for c in checked for o in c.outputs for k in o.get("data", {})}
        assert kinds <= TEXT_TYPES, path.name
        assert notebook.metadata["kernelspec"]["name"] == "python3"


def test_papermill_understands_every_parameter():
    """papermill silently skips lines it cannot parse (e.g. `x: int | None = None`), so -p x=… would be refused."""
    import ast

    import nbformat
    import papermill

    for path in sorted((ROOT / "notebooks").glob("*.ipynb")):
        cell = next(
            c for c in nbformat.read(path, as_version=4).cells if "parameters" in c.metadata.get("tags", [])
        )
        assigned = [
            node.target.id if isinstance(node, ast.AnnAssign) else node.targets[0].id
            for node in ast.parse(cell.source).body
            if isinstance(node, ast.Assign | ast.AnnAssign)
        ]
        assert list(papermill.inspect_notebook(str(path))) == assigned, path.name
        assert {"config_path", "run_dir"} <= set(assigned), path.name


def test_public_api_names_resolve():
    import cxlib

    assert sorted(cxlib._WHERE) == sorted(cxlib.__all__)
    for name in cxlib.__all__:
        assert getattr(cxlib, name).__doc__, f"{name} has no docstring"


def test_lock_file_satisfies_the_ranges_in_pyproject():
    from packaging.requirements import Requirement

    pyproject = tomllib.loads((ROOT / "pyproject.toml").read_text())
    locked = {}
    for line in (ROOT / "requirements.lock").read_text().splitlines():
        if line and not line.startswith("#"):
            name, version = line.split("==")
            locked[name.lower().replace("_", "-")] = version
    for spec in pyproject["project"]["dependencies"] + pyproject["project"]["optional-dependencies"]["dev"]:
        requirement = Requirement(spec)
        name = requirement.name.lower().replace("_", "-")
        assert name in locked, f"{name} is not in requirements.lock"
        assert requirement.specifier.contains(locked[name]), (
            f"{name}=={locked[name]} is outside {requirement.specifier}"
        )


SUBPACKAGES = ("data", "features", "engine", "stats", "overview", "segment", "churn", "report", "run")


@pytest.mark.parametrize("package", SUBPACKAGES)
def test_each_subpackage_re_exports_exactly_the_public_names_of_its_private_modules(package):
    """A public ``__init__`` over private modules: every public name resolves, none is missing."""
    import importlib

    from cxlib._lazy import public_names

    module = importlib.import_module(f"cxlib.{package}")
    assert module._WHERE == public_names(ROOT / "cxlib" / package), "regenerate with python -m cxlib._lazy"
    for name in module.__all__:
        assert getattr(module, name) is not None
    with pytest.raises(AttributeError, match="has no attribute"):
        module.not_a_name  # noqa: B018


def test_every_file_the_makefile_names_exists():
    """A moved module must not leave a Makefile rule pointing at nothing (make would stop)."""
    import re

    text = (ROOT / "Makefile").read_text()
    named = set(re.findall(r"(?<![\w/.])((?:cxlib|configs|notebooks|benchmarks)/[\w/.-]+\.\w+)", text))
    assert named, "the pattern found no paths in the Makefile"
    missing = sorted(p for p in named if not (ROOT / p).exists())
    assert not missing, f"Makefile names files that do not exist: {missing}"

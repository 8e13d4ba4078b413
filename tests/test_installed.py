"""The suite works installed as a package, not only from a clone.

A source distribution, and from it a wheel, are built from a copy of the sources; the wheel is
installed (not editable) into a fresh virtual environment, and ``cx run`` is started from a folder
outside the clone on a user config pointing at the small demo. The environment borrows the
dependencies already installed in the project's .venv through a ``.pth`` file, so nothing is
downloaded but the build backend (pip builds the wheel in an isolated environment because the
.venv's setuptools is older than pyproject.toml's ``build-system`` asks and has no ``wheel``; pip's
cache serves it after ``make install``).
"""

import json
import os
import shutil
import subprocess
import sys
import sysconfig
from pathlib import Path

import yaml

from .conftest import ROOT, SMALL_CONFIG

#: What a source distribution is made from (MANIFEST.in adds the notebooks).
SOURCES = ("pyproject.toml", "setup.py", "MANIFEST.in", "README.md", "cxlib", "notebooks")


def _run(args, **kw):
    result = subprocess.run(args, capture_output=True, text=True, **kw)
    assert result.returncode == 0, f"{args[:4]} failed:\n{result.stdout[-3000:]}\n{result.stderr[-3000:]}"
    return result


def _installed_venv(tmp_path: Path) -> Path:
    """A venv with cx-suite installed from a freshly built wheel; its python."""
    source = tmp_path / "source"  # a copy: the build writes build/ and *.egg-info next to the sources
    source.mkdir()
    for name in SOURCES:
        if (ROOT / name).is_dir():
            shutil.copytree(ROOT / name, source / name, ignore=shutil.ignore_patterns("__pycache__"))
        else:
            shutil.copy2(ROOT / name, source / name)
    # source distribution first (as `python -m build` does), so MANIFEST.in is checked too, then the wheel
    sdist = [sys.executable, "-c", "from setuptools import build_meta as b; print(b.build_sdist('sdist'))"]
    (sdist_name,) = _run(sdist, cwd=source).stdout.split()[-1:]
    _run(
        [
            sys.executable,
            "-m",
            "pip",
            "wheel",
            "--no-deps",
            "--quiet",
            "-w",
            tmp_path / "dist",
            source / "sdist" / sdist_name,
        ]
    )
    (wheel,) = (tmp_path / "dist").glob("cx_suite-*.whl")

    venv = tmp_path / "venv"
    _run([sys.executable, "-m", "venv", "--without-pip", venv])
    python = venv / "bin" / "python"
    # installed before the dependencies are visible, so pip cannot see (or touch) the .venv's editable cx-suite
    _run([sys.executable, "-m", "pip", "--python", python, "install", "--no-deps", "--quiet", wheel])
    site_packages = _run([python, "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"]).stdout
    # the .venv's packages come after the venv's own; a path listed in a .pth file is not scanned for
    # .pth files itself, so the .venv's editable install (a .pth finder) does not reach this venv
    borrowed = dict.fromkeys([sysconfig.get_paths()["purelib"], sysconfig.get_paths()["platlib"]])
    (Path(site_packages.strip()) / "cx_project_dependencies.pth").write_text("\n".join(borrowed) + "\n")
    return python


def test_cx_run_works_from_an_installed_wheel_outside_the_clone(tmp_path, small_demo_dir):
    python = _installed_venv(tmp_path)
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "PYTHONHOME", "VIRTUAL_ENV")}
    # the borrowed packages' data files (nbconvert's templates, the kernel spec) are under the .venv's
    # share/jupyter; an ordinary install puts them in its own environment, where Jupyter looks by default
    env["JUPYTER_PATH"] = str(Path(sys.prefix) / "share" / "jupyter")

    probe = _run(
        [
            python,
            "-c",
            "import json, sys, cxlib, cxlib.run._runner as r; "
            "from jupyter_client.kernelspec import KernelSpecManager as K; "
            "print(json.dumps({'cxlib': cxlib.__file__, 'notebooks': [str(p) for p in r.discover_notebooks()], "
            "'path': sys.path, 'kernel': K().get_kernel_spec('python3').argv[0], 'python': sys.executable}))",
        ],
        cwd=elsewhere,
        env=env,
    )
    found = json.loads(probe.stdout)
    venv = python.parent.parent
    assert Path(found["cxlib"]).is_relative_to(venv), found["cxlib"]
    # the clone is not on sys.path, and the only cxlib importable is the installed one
    assert str(ROOT) not in found["path"]  # ("" is the folder the probe ran in, outside the clone)
    entries = [elsewhere / p for p in found["path"]]  # "" (the probe's folder) becomes `elsewhere`
    other_copies = [p for p in entries if (p / "cxlib").exists() and not p.is_relative_to(venv)]
    assert not other_copies, other_copies
    # the notebooks' kernel is this venv's python too ("python" stands for the running interpreter)
    assert found["kernel"] in ("python", "python3", found["python"]), found["kernel"]
    shipped = [Path(p) for p in found["notebooks"]]
    assert [p.name for p in shipped] == sorted(
        p.name for p in (ROOT / "notebooks").glob("[0-9][0-9]_*.ipynb")
    )
    assert all(p.is_relative_to(venv) for p in shipped)
    assert all(p.read_bytes() == (ROOT / "notebooks" / p.name).read_bytes() for p in shipped)

    config = yaml.safe_load(SMALL_CONFIG.read_text())
    config["data"]["dir"] = str(small_demo_dir)
    (elsewhere / "my_company.yaml").write_text(yaml.safe_dump(config))
    run = _run(
        # two notebooks (the first and the last) prove the installed package runs them; every notebook
        # runs from the clone in the end-to-end tests, and all of them are shipped (checked above)
        [venv / "bin" / "cx", "run", "--config", "my_company.yaml", "--out", "my_reports", "--only", "00,05"],
        cwd=elsewhere,
        env=env,
    )

    reports = elsewhere / "my_reports"
    assert "reports written to" in run.stdout + run.stderr
    assert (reports / "index.html").is_file()
    record = json.loads((reports / "run.json").read_text())
    written = [r["html"] for r in record["reports"]]
    assert written == [f"{p.stem}.html" for p in shipped if p.stem.startswith(("00_", "05_"))]
    assert all((reports / name).stat().st_size > 10_000 for name in written)
    assert (elsewhere / "my_reports-data" / "notebooks").is_dir()
    assert not (ROOT / "cxlib" / "notebooks").exists()  # the build wrote nothing into the clone

"""How long `make report` takes on the default demo (install excluded), and its peak memory.

Runs `cx run --config configs/demo.yaml` into a temporary folder (the demo data must exist:
`make demo`), timing the whole run and each notebook, and reading the peak resident memory of
the runner and of the notebook kernels from the OS.

    .venv/bin/python benchmarks/bench_report.py
"""

import json
import os
import platform
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        out = str(Path(tmp) / "reports")  # cx run makes it a link to a version beside it
        started = time.perf_counter()
        subprocess.run(
            [
                str(Path(sys.executable).parent / "cx"),
                "run",
                "--config",
                str(ROOT / "configs" / "demo.yaml"),
                "--out",
                out,
            ],
            check=True,
            stdout=subprocess.DEVNULL,
        )
        wall = time.perf_counter() - started
        manifest = json.loads((Path(out) / "run.json").read_text())
    peak_mb = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024  # largest single process
    print(f"machine: {platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}")
    print(
        f"make report on configs/demo.yaml (50,000 customers): {wall:.1f} s wall, peak RSS {peak_mb:,.0f} MB"
    )
    for report in manifest["reports"]:
        print(f"  {report['notebook']}: {report['seconds']:.1f} s")


if __name__ == "__main__":
    main()

"""Memory: fail early when the input is too large for this machine, and record what a run used.

Two things a user with big data needs before and after a run:

- :func:`check_memory` estimates, from the input files' sizes alone (nothing is read), how much
  memory a run will need, and stops with a clear message (estimate against what the machine has
  available) instead of letting the operating system kill the run half way.
- :class:`MemoryWatch` samples the resident memory of this process and every process it started
  (the notebook kernels) a few times a second; the runner records the peak of the whole run and of
  each notebook in ``run.json`` and in its log.

Why psutil: it is the field-standard, portable way to read process trees' memory (Linux, macOS,
Windows); the ipykernel stack already depends on it.
"""

from __future__ import annotations

import threading
from contextlib import contextmanager
from dataclasses import dataclass

import psutil

#: Memory a run needs per byte of CSV input, measured with ``benchmarks/bench_scale.py`` (the
#: demo at 1,000,000 customers: 1.2 GB of CSV, whole-suite peak in ``benchmarks/README.md``),
#: rounded up. A Parquet file counts as the CSV it would be (:data:`CSV_BYTES_PER_FIELD`).
BYTES_PER_INPUT_BYTE = 8.0
#: Bytes a field takes in a CSV file, on average (the demo's transactions: about 7), used to count a
#: Parquet file as the CSV it would be: its encoded size says little about memory (a column of
#: zeros takes a few hundred bytes).
CSV_BYTES_PER_FIELD = 8
#: Memory every run needs whatever the data (interpreter, libraries, one notebook kernel).
BASE_BYTES = 600 * 2**20
GIB = 2**30


@dataclass(frozen=True)
class MemoryEstimate:
    """What a run is expected to need, and what the machine has.

    Attributes
    ----------
    input_bytes : int
        Size of the configured input files (as CSV for Parquet: :func:`input_bytes`).
    needed_bytes : int
        Estimated peak memory of a run.
    available_bytes : int
        Memory available now (``psutil.virtual_memory().available``).
    """

    input_bytes: int
    needed_bytes: int
    available_bytes: int

    @property
    def fits(self) -> bool:
        """Whether the estimate is within the available memory."""
        return self.needed_bytes <= self.available_bytes


def input_bytes(paths) -> int:
    """Total size of the input files as CSV: a Parquet file counts rows x columns x 8 bytes.

    Parameters
    ----------
    paths : iterable of Path
        Files that exist (others are skipped: validation reports them).

    Returns
    -------
    int
    """
    total = 0
    for path in paths:
        if not path.is_file():
            continue
        if path.suffix.lower() in {".parquet", ".pq"}:
            import pyarrow.parquet as pq

            meta = pq.ParquetFile(path).metadata  # the footer only: nothing else is read
            total += meta.num_rows * meta.num_columns * CSV_BYTES_PER_FIELD
        else:
            total += path.stat().st_size
    return total


def estimate_memory(config, available: int | None = None) -> MemoryEstimate:
    """Estimate a run's peak memory from the configured input files' sizes.

    Parameters
    ----------
    config : Config
        From :func:`cxlib.data.load_config`.
    available : int, optional
        Bytes available; default: what the machine has available now.

    Returns
    -------
    MemoryEstimate
    """
    from cxlib.data._config import TABLES

    paths = [config.table_path(t) for t in TABLES if config.table_spec(t) is not None]
    size = input_bytes([p for p in paths if p is not None])
    needed = BASE_BYTES + int(BYTES_PER_INPUT_BYTE * size)
    if available is None:
        available = psutil.virtual_memory().available
    return MemoryEstimate(size, needed, int(available))


def check_memory(config, available: int | None = None) -> MemoryEstimate:
    """Stop before reading anything when the input is too large for the memory available.

    Parameters
    ----------
    config : Config
    available : int, optional
        Bytes available; default: what the machine has available now.

    Returns
    -------
    MemoryEstimate
        When the run is expected to fit.

    Raises
    ------
    InsufficientMemoryError
        When the estimate exceeds the available memory; the message gives both figures and
        what to do.
    """
    from cxlib.exceptions import InsufficientMemoryError

    estimate = estimate_memory(config, available)
    if not estimate.fits:
        raise InsufficientMemoryError(
            f"the input files ({estimate.input_bytes / GIB:.1f} GB) need an estimated "
            f"{estimate.needed_bytes / GIB:.1f} GB of memory for a run, but only "
            f"{estimate.available_bytes / GIB:.1f} GB is available; run on a machine with more "
            "memory, close other programs, restrict the data (fewer months or customers), or set "
            "data.engine: spark to run the feature tables on a cluster. To run anyway: "
            "cx run --no-memory-check"
        )
    return estimate


def tree_rss(process: psutil.Process, include_self: bool = True) -> int:
    """Resident memory of a process (unless ``include_self`` is false) and all its descendants, in bytes.

    Processes that end while they are read are skipped.
    """
    total = 0
    try:
        family = [process] * include_self + process.children(recursive=True)
    except psutil.Error:
        return 0
    for member in family:
        try:
            total += member.memory_info().rss
        except psutil.Error:
            continue
    return total


class MemoryWatch:
    """Sample this process tree's resident memory in a background thread; keep the peaks.

    Use as a context manager around a run; :meth:`step` measures one part of it.

    Parameters
    ----------
    interval : float
        Seconds between samples (a spike shorter than this can be missed; the figure is a
        lower bound of the true peak).
    include_self : bool
        Count this process too (the runner: yes); false counts only the processes it started
        (a benchmark timing commands).

    Examples
    --------
    >>> with MemoryWatch() as watch:
    ...     with watch.step() as step:
    ...         data = bytearray(10**7)
    >>> watch.peak >= step.peak > 0
    True
    """

    def __init__(self, interval: float = 0.2, include_self: bool = True):
        self.interval = interval
        self.include_self = include_self
        self.peak = 0
        self._process = psutil.Process()
        self._steps: list[_Step] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._sample_loop, daemon=True)

    def _sample(self) -> int:
        rss = tree_rss(self._process, self.include_self)
        self.peak = max(self.peak, rss)
        for step in self._steps:
            step.peak = max(step.peak, rss)
        return rss

    def _sample_loop(self) -> None:
        while not self._stop.wait(self.interval):
            self._sample()

    def __enter__(self) -> MemoryWatch:
        self._sample()
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        self._thread.join()
        self._sample()

    @contextmanager
    def step(self):
        """Measure the peak while the block runs (yields an object with ``.peak`` in bytes)."""
        step = _Step()
        self._steps.append(step)
        self._sample()
        try:
            yield step
        finally:
            self._sample()
            self._steps.remove(step)


@dataclass
class _Step:
    peak: int = 0


def megabytes(n_bytes: int) -> int:
    """Bytes as whole megabytes (MiB), as the run record states them."""
    return round(n_bytes / 2**20)


def release_memory() -> None:
    """Give the memory of freed objects back to the system, so the process's size shrinks.

    Freeing a table does not shrink a process: the allocators keep the pages for reuse. The
    runner holds no rows while its notebooks run, but without this its size would stay at
    validation's (about a third of it on the 1M-customer demo) and add to every kernel's. This
    collects garbage, returns Arrow's unused pool memory and, on glibc (Linux), trims the C heap
    (``malloc_trim``); elsewhere only the first two.
    """
    import ctypes
    import gc

    gc.collect()
    try:
        import pyarrow as pa

        pa.default_memory_pool().release_unused()
    except ImportError:  # pragma: no cover - pyarrow is a dependency
        pass
    try:
        ctypes.CDLL("libc.so.6").malloc_trim(0)
    except (OSError, AttributeError):  # not glibc: nothing more to give back
        pass

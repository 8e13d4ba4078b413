"""Notebook kernels that never write to the user's terminal and never outlive an interrupted run.

- jupyter_client interrupts a kernel (SIGINT) before every shutdown, even a normal one; when that
  lands while the kernel is handling a message, ipykernel logs ``[IPKernelApp] ERROR |
  KeyboardInterrupt caught in kernel.`` to its stderr, which it inherited from the runner, so the
  line once showed on the terminal of a successful run (a race: not reproducible on a rerun).
  :class:`QuietKernelManager` gives the kernel process a log file for its own stdout and stderr;
  what cells print still reaches the notebook, where the runner checks it.
- On SIGINT or SIGTERM, :class:`signals_raise` turns the signal into :class:`RunInterrupted`.
  Raised inside papermill's asyncio loop, it would leave half-run tasks behind ("Task exception was
  never retrieved" on the terminal at exit), so :func:`run_interruptibly` runs papermill in a worker
  thread: the signal lands in the main thread, which stops the kernels (:func:`stop_kernels`); the
  worker then sees a dead kernel, cleans up normally, and the main thread re-raises.
"""

from __future__ import annotations

import os
import signal
import threading
import time
from collections.abc import Callable
from typing import Any

from jupyter_client.manager import AsyncKernelManager

from cxlib.exceptions import RunInterrupted

_RUNNING: list = []  # Popen objects of kernels this process started
_GUARD = threading.Lock()


class QuietKernelManager(AsyncKernelManager):
    """An ``AsyncKernelManager`` whose kernel writes its own output to ``kernel_log``, not the terminal."""

    kernel_log: str = os.devnull

    async def _async_launch_kernel(self, kernel_cmd: list[str], **kw: Any) -> None:
        with open(self.kernel_log, "ab") as log:  # the kernel keeps its own copy of the descriptor
            kw.update(stdout=log, stderr=log)
            await super()._async_launch_kernel(kernel_cmd, **kw)
        process = getattr(self.provisioner, "process", None)
        if process is not None:
            with _GUARD:
                _RUNNING.append(process)


def kernel_manager_class(log_path: str | os.PathLike) -> type[QuietKernelManager]:
    """A :class:`QuietKernelManager` subclass logging to ``log_path`` (papermill takes a class)."""
    return type("QuietKernelManagerForRun", (QuietKernelManager,), {"kernel_log": os.fspath(log_path)})


def stop_kernels(grace_seconds: float = 5.0) -> None:
    """Stop every kernel this process started that is still running: SIGTERM, then SIGKILL."""
    with _GUARD:
        running = [p for p in _RUNNING if p.poll() is None]
        _RUNNING[:] = running
    for process in running:
        _signal_group(process.pid, signal.SIGTERM)
    deadline = time.monotonic() + grace_seconds
    while any(p.poll() is None for p in running) and time.monotonic() < deadline:
        time.sleep(0.05)
    for process in running:
        if process.poll() is None:
            _signal_group(process.pid, signal.SIGKILL)
            process.wait()


def _signal_group(pid: int, signum: int) -> None:
    try:
        os.killpg(pid, signum)  # kernels start in their own session: the group id is the pid
    except ProcessLookupError:
        pass


def run_interruptibly(task: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
    """Run ``task`` in a worker thread; on an interrupt in the main thread, stop the kernels and re-raise.

    Returns
    -------
    Any
        What ``task`` returned; an exception it raised is raised here.
    """
    outcome: dict[str, Any] = {}

    def work() -> None:
        try:
            outcome["value"] = task(*args, **kwargs)
        except BaseException as err:  # handed to the main thread
            outcome["error"] = err

    worker = threading.Thread(target=work, name="cx-notebook", daemon=True)
    worker.start()
    try:
        while worker.is_alive():
            worker.join(0.1)
    except BaseException:
        stop_kernels()
        worker.join(30)
        raise
    if "error" in outcome:
        raise outcome["error"]
    return outcome["value"]


class signals_raise:  # noqa: N801 - used as a context manager, reads like one
    """Within the block, SIGINT and SIGTERM raise :class:`RunInterrupted` (main thread only)."""

    def __enter__(self) -> signals_raise:
        self._previous = {}
        if threading.current_thread() is threading.main_thread():
            for signum in (signal.SIGINT, signal.SIGTERM):
                self._previous[signum] = signal.signal(signum, _raise_interrupted)
        return self

    def __exit__(self, *exc) -> None:
        for signum, handler in self._previous.items():
            signal.signal(signum, handler)


def _raise_interrupted(signum: int, frame) -> None:
    for other in (signal.SIGINT, signal.SIGTERM):  # one signal is enough: cleaning up must not be cut short
        signal.signal(other, signal.SIG_IGN)
    raise RunInterrupted(signum)

"""Drive headless Chromium through its DevTools protocol with nothing but the standard library.

Chromium is started with ``--remote-debugging-pipe``: JSON messages separated by NUL bytes on
file descriptors 3 and 4, no websocket client, no Playwright or Selenium (which download their
own browsers and cannot be installed offline), only the Chromium of the system's packages
(``make browser``). The protocol is what Puppeteer and Playwright speak themselves. Every request
a page makes is paused (``Fetch`` domain) and any but a local one is refused unsent. The checks
built on it are in :mod:`cxlib.report._browser`.
"""

from __future__ import annotations

import fcntl
import json
import os
import select
import shutil
import signal
import subprocess
import sys
import tempfile
import time

#: Debian's package name comes first; the others are what other systems call it.
CHROMIUM_NAMES = ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable")
#: Flags that work headless as root with no network, profile or GPU. The host resolver rule is a
#: second lock behind request interception: a name that slipped through could not be resolved.
CHROMIUM_FLAGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--no-default-browser-check",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-extensions",
    "--host-resolver-rules=MAP * ~NOTFOUND",
    "--hide-scrollbars",
    "--remote-debugging-pipe",
)
#: URL schemes a report may load: itself, files beside it and inline data.
LOCAL_SCHEMES = ("file:", "data:", "about:", "blob:")
#: Seconds a page may take to load, and Chromium to answer any command.
LOAD_TIMEOUT = 60.0


def chromium_path() -> str | None:
    """Find the Chromium executable.

    Returns
    -------
    str or None
        The first of :data:`CHROMIUM_NAMES` found on ``PATH``, or None when none is installed
        (``make browser`` installs Debian's ``chromium``).

    Examples
    --------
    >>> path = chromium_path()  # '/usr/bin/chromium' on the project's images
    """
    for name in CHROMIUM_NAMES:
        found = shutil.which(name)
        if found:
            return found
    return None


_TRAMPOLINE = (
    "import os, sys; read, write = int(sys.argv[1]), int(sys.argv[2]); "
    "os.dup2(read, 3); os.dup2(write, 4); os.close(read); os.close(write); "
    "os.execv(sys.argv[3], sys.argv[3:])"
)


def _above_nine(fd: int) -> int:
    """A copy of ``fd`` numbered 10 or more (the original is closed)."""
    moved = fcntl.fcntl(fd, fcntl.F_DUPFD_CLOEXEC, 10)
    os.close(fd)
    return moved


class _DevTools:
    """One Chromium process and its DevTools pipe: commands out, results and events back."""

    def __init__(self, chromium: str, profile: str) -> None:
        to_browser_read, self._to_browser = os.pipe()
        self._from_browser, from_browser_write = os.pipe()
        # the child's ends move above 9 first, so that none of them is already 3 or 4
        to_browser_read, from_browser_write = (
            _above_nine(fd) for fd in (to_browser_read, from_browser_write)
        )
        # Chromium reads commands on fd 3 and writes on fd 4. subprocess cannot place a descriptor
        # at a given number (save in preexec_fn, unsafe with threads) and sh refuses numbers above
        # 9, so a one-line Python trampoline moves the pipe ends there and becomes Chromium.
        command = [chromium, *CHROMIUM_FLAGS, f"--user-data-dir={profile}", "about:blank"]
        try:
            self.process = subprocess.Popen(
                [sys.executable, "-c", _TRAMPOLINE, str(to_browser_read), str(from_browser_write), *command],
                pass_fds=(to_browser_read, from_browser_write),
                stdin=subprocess.DEVNULL,
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
                # its own process group: a Ctrl-C in the terminal reaches the run, which closes the
                # browser, and a browser that will not close is killed with its helpers
                start_new_session=True,
            )
        except BaseException:
            for fd in (self._to_browser, self._from_browser):
                os.close(fd)
            raise
        finally:
            os.close(to_browser_read)
            os.close(from_browser_write)
        self._buffer = b""
        self._next_id = 0
        self.events: list[dict] = []
        #: (session, URL) of each request refused: every request is paused, and any but a local
        #: one is failed unsent.
        self.refused: list[tuple[str | None, str]] = []

    def send(self, method: str, params: dict | None = None, session: str | None = None) -> dict:
        """Send one command and return its result; events arriving meanwhile are kept."""
        waiting = self._post(method, params, session)
        deadline = time.monotonic() + LOAD_TIMEOUT
        while True:
            reply = self._next(deadline)
            if reply.get("id") == waiting:
                if "error" in reply:
                    raise RuntimeError(f"chromium refused {method}: {reply['error']}")
                return reply.get("result", {})

    def wait_for(self, method: str, session: str, deadline: float, since: int = 0) -> None:
        """Collect events until ``method`` arrives for ``session`` among ``events[since:]`` (all are kept)."""
        while not any(
            event.get("method") == method and event.get("sessionId") == session
            for event in self.events[since:]
        ):
            self._next(deadline)

    def drain(self, seconds: float) -> None:
        """Collect the events that arrive within ``seconds``."""
        deadline = time.monotonic() + seconds
        try:
            while True:
                self._next(deadline)
        except TimeoutError:
            pass

    def _post(self, method: str, params: dict | None, session: str | None) -> int:
        self._next_id += 1
        message = {"id": self._next_id, "method": method, "params": params or {}}
        if session:
            message["sessionId"] = session
        os.write(self._to_browser, json.dumps(message).encode() + b"\0")
        return self._next_id

    def _next(self, deadline: float) -> dict:
        """The next message; a paused request is answered here, other events are kept.

        A page waits on each paused request, so it is answered at once (in :attr:`events` only
        the other events go); the answers' own replies are not waited for.
        """
        message = self._receive(deadline)
        if message.get("method") == "Fetch.requestPaused":
            request, session = message["params"], message.get("sessionId")
            url = request["request"]["url"]
            if url.startswith(LOCAL_SCHEMES):
                self._post("Fetch.continueRequest", {"requestId": request["requestId"]}, session)
            else:
                self.refused.append((session, url))
                answer = {"requestId": request["requestId"], "errorReason": "BlockedByClient"}
                self._post("Fetch.failRequest", answer, session)
        elif "method" in message:
            self.events.append(message)
        return message

    def _receive(self, deadline: float) -> dict:
        # a screenshot or PDF arrives as one message of many megabytes: chunks are gathered in a
        # list and only the new chunk is searched for the separator (not the whole buffer again)
        end = self._buffer.find(b"\0")
        if end < 0:
            chunks = [self._buffer]
            while True:
                remaining = deadline - time.monotonic()
                if remaining <= 0 or not select.select([self._from_browser], [], [], remaining)[0]:
                    self._buffer = b"".join(chunks)
                    raise TimeoutError("chromium did not answer in time")
                chunk = os.read(self._from_browser, 1 << 20)
                if not chunk:
                    self._buffer = b"".join(chunks)
                    try:
                        code = self.process.wait(timeout=5)
                    except subprocess.TimeoutExpired:
                        code = None
                    raise RuntimeError(f"chromium exited (code {code})")
                chunks.append(chunk)
                if b"\0" in chunk:
                    break
            self._buffer = b"".join(chunks)
            end = self._buffer.find(b"\0")
        message, self._buffer = self._buffer[:end], self._buffer[end + 1 :]
        return json.loads(message)

    def close(self) -> None:
        """Ask the browser to close; kill its whole process group if it does not within 10 s."""
        try:
            os.write(self._to_browser, json.dumps({"id": 0, "method": "Browser.close"}).encode() + b"\0")
            self.process.wait(timeout=10)
        except (OSError, subprocess.TimeoutExpired):
            try:
                os.killpg(self.process.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
            self.process.wait()
        finally:
            os.close(self._to_browser)
            os.close(self._from_browser)


class _Chromium:
    """A headless Chromium with a fresh profile for the block, closed after it."""

    def __init__(self, chromium: str | None) -> None:
        self.chromium = chromium or chromium_path()
        if not self.chromium:
            raise FileNotFoundError(
                f"no Chromium found (looked for {', '.join(CHROMIUM_NAMES)} on PATH); install it with `make browser`"
            )

    def __enter__(self) -> _DevTools:
        self._profile = tempfile.TemporaryDirectory(prefix="cx-chromium-")
        try:
            self._devtools = _DevTools(self.chromium, self._profile.name)
        except BaseException:
            self._profile.cleanup()
            raise
        return self._devtools

    def __exit__(self, *exc) -> None:
        try:
            self._devtools.close()
        finally:
            self._profile.cleanup()

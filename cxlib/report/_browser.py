"""Open a local HTML report in headless Chromium and check it as a reader's browser sees it.

Chromium is driven through its DevTools protocol over ``--remote-debugging-pipe`` (JSON messages
separated by NUL bytes on file descriptors 3 and 4), with nothing but the standard library: no
websocket client, no Playwright or Selenium (which download their own browsers and cannot be
installed offline), only the Chromium of the system's packages (``make browser``). The protocol
is what Puppeteer and Playwright speak themselves, so the checks see exactly what a browser
reports: console errors, uncaught exceptions, every request the page makes (paused with the
``Fetch`` domain, so a request for the network is recorded and refused, never sent) and each
image's ``naturalWidth`` after the page has loaded.
"""

from __future__ import annotations

import base64
import fcntl
import json
import os
import select
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

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
#: A4 in inches (210 x 297 mm), as ``Page.printToPDF`` takes it.
A4_INCHES = (210 / 25.4, 297 / 25.4)
#: Print margin on every side, in millimetres.
PRINT_MARGIN_MM = 15
#: Browser window for the screenshot (CSS pixels); the height grows to the page's.
WINDOW = (1280, 900)
#: Seconds the page may take to load, and to settle after its load event (late script, images).
LOAD_TIMEOUT = 60.0
SETTLE_SECONDS = 0.3

# Images that did not load: not complete, or complete with no pixels (a broken or blocked source).
_BROKEN_IMAGES = """JSON.stringify(Array.from(document.images)
  .filter(image => !image.complete || image.naturalWidth === 0)
  .map(image => image.getAttribute('src') === null ? image.outerHTML.slice(0, 120)
                : image.getAttribute('src').slice(0, 120)))"""


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


@dataclass
class PageCheck:
    """What headless Chromium saw when it opened one page.

    Attributes
    ----------
    path : Path
        The page opened.
    console_errors : list of str
        Console messages of level error (``console.error``, ``console.assert``, failed resource
        loads logged by the browser) and uncaught exceptions, each as its text.
    failed_images : list of str
        Source (first 120 characters) of each ``<img>`` that did not load or has
        ``naturalWidth`` 0.
    network_requests : list of str
        URLs the page requested other than ``file:``, ``data:``, ``about:`` and ``blob:``; each
        was refused before it left the machine.
    screenshot : Path or None
        The full-page PNG written, if one was asked for.
    pdf : Path or None
        The A4 PDF written, if one was asked for.
    """

    path: Path
    console_errors: list[str] = field(default_factory=list)
    failed_images: list[str] = field(default_factory=list)
    network_requests: list[str] = field(default_factory=list)
    screenshot: Path | None = None
    pdf: Path | None = None

    @property
    def ok(self) -> bool:
        """True when the page logged no error, every image loaded and nothing went to the network."""
        return not (self.console_errors or self.failed_images or self.network_requests)


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
        self.process = subprocess.Popen(
            [sys.executable, "-c", _TRAMPOLINE, str(to_browser_read), str(from_browser_write), *command],
            pass_fds=(to_browser_read, from_browser_write),
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        os.close(to_browser_read)
        os.close(from_browser_write)
        self._buffer = b""
        self._next_id = 0
        self.events: list[dict] = []
        #: URLs refused: every request is paused, and any but a local one is failed unsent.
        self.refused: list[str] = []

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

    def wait_for(self, method: str, deadline: float) -> None:
        """Collect events until ``method`` arrives (kept with the others)."""
        while not any(event.get("method") == method for event in self.events):
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
                self.refused.append(url)
                answer = {"requestId": request["requestId"], "errorReason": "BlockedByClient"}
                self._post("Fetch.failRequest", answer, session)
        elif "method" in message:
            self.events.append(message)
        return message

    def _receive(self, deadline: float) -> dict:
        while b"\0" not in self._buffer:
            remaining = deadline - time.monotonic()
            if remaining <= 0 or not select.select([self._from_browser], [], [], remaining)[0]:
                raise TimeoutError("chromium did not answer in time")
            chunk = os.read(self._from_browser, 1 << 20)
            if not chunk:
                raise RuntimeError(f"chromium exited (code {self.process.poll()})")
            self._buffer += chunk
        message, self._buffer = self._buffer.split(b"\0", 1)
        return json.loads(message)

    def close(self) -> None:
        try:
            os.write(self._to_browser, json.dumps({"id": 0, "method": "Browser.close"}).encode() + b"\0")
            self.process.wait(timeout=10)
        except (OSError, subprocess.TimeoutExpired):
            self.process.kill()
            self.process.wait()
        finally:
            os.close(self._to_browser)
            os.close(self._from_browser)


def _console_text(event: dict) -> str | None:
    """The text of an error-level console message or uncaught exception, else None."""
    method, params = event.get("method"), event.get("params", {})
    if method == "Runtime.consoleAPICalled" and params.get("type") in ("error", "assert"):
        return " ".join(
            str(argument.get("value", argument.get("description", ""))) for argument in params.get("args", [])
        )
    if method == "Runtime.exceptionThrown":
        details = params.get("exceptionDetails", {})
        return details.get("exception", {}).get("description") or details.get("text", "exception")
    if method == "Log.entryAdded" and params.get("entry", {}).get("level") == "error":
        entry = params["entry"]
        return f"{entry.get('text', '')} {entry.get('url', '')}".strip()
    return None


def inspect_page(
    html_path: str | Path,
    chromium: str | None = None,
    screenshot: str | Path | None = None,
    pdf: str | Path | None = None,
) -> PageCheck:
    """Open a local HTML file in headless Chromium and report what a reader's browser would see.

    Every request the page makes is paused (DevTools ``Fetch`` domain): ``file:`` and ``data:``
    requests continue, any other is recorded and failed before it is sent, so a report that
    reaches for the network is caught without the machine needing one. After the load event and
    a short settle the page's images are read (``complete`` and ``naturalWidth``), then the
    screenshot and PDF are taken from the same loaded page.

    Parameters
    ----------
    html_path : str or Path
        The HTML file; relative references resolve beside it, as they would for a reader.
    chromium : str, optional
        Chromium executable; default :func:`chromium_path`.
    screenshot : str or Path, optional
        Where to write a full-page PNG (window 1280 CSS pixels wide, screen media).
    pdf : str or Path, optional
        Where to write an A4 PDF of the page as printed (print media, backgrounds printed,
        15 mm margins), the way a reader's "Print to PDF" makes it.

    Returns
    -------
    PageCheck
        Console errors and uncaught exceptions, images not loaded, network requests refused,
        and the paths of the files written.

    Raises
    ------
    FileNotFoundError
        When the page or Chromium is missing (install it with ``make browser``).
    TimeoutError
        When the page does not load within :data:`LOAD_TIMEOUT` seconds.

    Examples
    --------
    >>> check = inspect_page("reports/00_data_overview.html", pdf="summary.pdf")  # doctest: +SKIP
    >>> check.ok  # doctest: +SKIP
    True
    """
    page = Path(html_path).resolve()
    if not page.is_file():
        raise FileNotFoundError(f"{page}: no such page to open")
    chromium = chromium or chromium_path()
    if not chromium:
        raise FileNotFoundError(
            f"no Chromium found (looked for {', '.join(CHROMIUM_NAMES)} on PATH); install it with `make browser`"
        )
    check = PageCheck(path=page)
    with tempfile.TemporaryDirectory(prefix="cx-chromium-") as profile:
        browser = _DevTools(chromium, profile)
        try:
            target = browser.send("Target.createTarget", {"url": "about:blank"})["targetId"]
            session = browser.send("Target.attachToTarget", {"targetId": target, "flatten": True})[
                "sessionId"
            ]
            for domain in ("Runtime", "Log", "Page"):
                browser.send(f"{domain}.enable", session=session)
            browser.send("Fetch.enable", {"patterns": [{"urlPattern": "*"}]}, session=session)
            browser.send(
                "Emulation.setDeviceMetricsOverride",
                {"width": WINDOW[0], "height": WINDOW[1], "deviceScaleFactor": 1, "mobile": False},
                session=session,
            )
            browser.send("Page.navigate", {"url": page.as_uri()}, session=session)
            try:
                browser.wait_for("Page.loadEventFired", time.monotonic() + LOAD_TIMEOUT)
            except TimeoutError:
                raise TimeoutError(f"{page.name} did not load within {LOAD_TIMEOUT:.0f} s") from None
            browser.drain(SETTLE_SECONDS)
            broken = browser.send(
                "Runtime.evaluate", {"expression": _BROKEN_IMAGES, "returnByValue": True}, session=session
            )
            check.failed_images = json.loads(broken["result"]["value"])
            if screenshot:
                check.screenshot = _write_screenshot(browser, session, Path(screenshot))
            if pdf:
                check.pdf = _write_pdf(browser, session, Path(pdf))
            browser.drain(0)
            check.network_requests = list(browser.refused)
            check.console_errors = [text for text in map(_console_text, browser.events) if text is not None]
        finally:
            browser.close()
    return check


def _write_screenshot(browser: _DevTools, session: str, path: Path) -> Path:
    """Write a PNG of the whole page, however long, at the window's width."""
    metrics = browser.send("Page.getLayoutMetrics", session=session)
    size = metrics.get("cssContentSize") or metrics["contentSize"]
    clip = {"x": 0, "y": 0, "width": WINDOW[0], "height": max(size["height"], WINDOW[1]), "scale": 1}
    shot = browser.send(
        "Page.captureScreenshot",
        {"format": "png", "captureBeyondViewport": True, "clip": clip},
        session=session,
    )
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(base64.b64decode(shot["data"]))
    return path


def _write_pdf(browser: _DevTools, session: str, path: Path) -> Path:
    """Write the page as printed on A4 with backgrounds and :data:`PRINT_MARGIN_MM` margins."""
    margin = PRINT_MARGIN_MM / 25.4
    printed = browser.send(
        "Page.printToPDF",
        {
            "paperWidth": A4_INCHES[0],
            "paperHeight": A4_INCHES[1],
            "marginTop": margin,
            "marginBottom": margin,
            "marginLeft": margin,
            "marginRight": margin,
            "printBackground": True,
            "preferCSSPageSize": False,
        },
        session=session,
    )
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(base64.b64decode(printed["data"]))
    return path

"""Open a local HTML report in headless Chromium and check it as a reader's browser sees it.

Chromium is driven through its DevTools protocol over ``--remote-debugging-pipe`` (JSON messages
separated by NUL bytes on file descriptors 3 and 4), with nothing but the standard library: no
websocket client, no Playwright or Selenium (which download their own browsers and cannot be
installed offline), only the Chromium of the system's packages (``make browser``). The protocol
is what Puppeteer and Playwright speak themselves, so the checks see exactly what a browser
reports: console errors, uncaught exceptions, every request the page makes (paused with the
``Fetch`` domain, so a request for the network is recorded and refused, never sent) and each
image's ``naturalWidth`` after the page has loaded. A second look in print emulation at the A4
content width finds what a printed page would cut off, and :func:`pdf_pages` reads the page sizes
of the PDF Chromium writes.
"""

from __future__ import annotations

import base64
import fcntl
import json
import os
import re
import select
import shutil
import signal
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
#: A4 in PostScript points (595.3 x 841.9), as a PDF's ``/MediaBox`` gives it.
A4_POINTS = (A4_INCHES[0] * 72, A4_INCHES[1] * 72)
#: Print margin on every side, in millimetres, unless the page's CSS sets its own (``@page``).
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
# Left and right margins of the page's own ``@page`` rule (including those in a matching @media
# block), in CSS pixels; null where the CSS sets none.
_PAGE_MARGINS = """JSON.stringify((() => {
  const margins = {left: null, right: null};
  const visit = rules => {
    for (const rule of rules) {
      if (rule instanceof CSSPageRule && !rule.selectorText) {
        margins.left = rule.style.marginLeft || margins.left;
        margins.right = rule.style.marginRight || margins.right;
      } else if (rule instanceof CSSMediaRule && window.matchMedia(rule.media.mediaText).matches) {
        visit(rule.cssRules);
      }
    }
  };
  for (const sheet of document.styleSheets) {
    try { visit(sheet.cssRules); } catch (error) { /* a sheet from elsewhere: not readable */ }
  }
  const pixels = length => {
    if (!length) return null;
    const probe = document.createElement('div');
    probe.style.cssText = 'position:absolute;visibility:hidden;width:' + length;
    document.documentElement.appendChild(probe);
    const width = probe.getBoundingClientRect().width;
    probe.remove();
    return width;
  };
  return [pixels(margins.left), pixels(margins.right)];
})())"""
# What a page laid out at the printed width cuts off: (1) content of an element that clips it
# (overflow-x hidden/auto/scroll/clip) wider than its box; (2) outside any clipping box, the
# element where content leaves a box that fits the page: its own box is wider than the page, or
# its text is (inline children count as its text, so a long <pre> line names the <pre>); (3)
# images wider than the page. Anything left over that makes the document wider than the page is
# reported for <html>.
_CUT_OFF = """JSON.stringify((() => {
  const page = document.documentElement.clientWidth;
  const clips = value => ['hidden', 'auto', 'scroll', 'clip'].includes(value);
  const inline = el => getComputedStyle(el).display.startsWith('inline')
    && !['IMG', 'SVG', 'svg', 'CANVAS', 'VIDEO', 'IFRAME'].includes(el.tagName);
  const describe = (el, why) => {
    const classes = (el.getAttribute('class') || '').trim().split(/\\s+/).filter(Boolean).join('.');
    const text = (el.innerText || el.textContent || el.getAttribute('alt') || el.getAttribute('src') || '')
      .replace(/\\s+/g, ' ').trim().slice(0, 60);
    return el.tagName.toLowerCase() + (classes ? '.' + classes : '') + ' "' + text + '": ' + why;
  };
  const reported = new Map();
  const report = (el, why) => { if (!reported.has(el)) reported.set(el, describe(el, why)); };
  const underClip = new Set();
  const elements = document.body ? [document.body, ...document.body.querySelectorAll('*')] : [];
  const extent = el => {
    const box = el.getBoundingClientRect();
    return Math.max(box.right, box.left + el.scrollWidth);
  };
  for (const el of elements) {
    const parent = el.parentElement;
    const style = getComputedStyle(el);
    if (parent && parent !== document.documentElement
        && (underClip.has(parent) || clips(getComputedStyle(parent).overflowX))) underClip.add(el);
    if (style.display === 'none' || el.getClientRects().length === 0) continue;
    if (clips(style.overflowX) && el.scrollWidth > el.clientWidth + 1) {
      report(el, 'clipped (' + el.scrollWidth + ' px of content in a ' + el.clientWidth + ' px box, overflow-x '
        + style.overflowX + ')');
    }
    if (underClip.has(el) || inline(el) || extent(el) <= page + 1) continue;
    const box = el.getBoundingClientRect();
    const parentFits = !parent || parent === document.documentElement
      || parent.getBoundingClientRect().right <= page + 1;
    const childSticksOut = Array.from(el.children).some(child => !inline(child)
      && child.getClientRects().length > 0 && extent(child) > page + 1);
    if (parentFits && (box.right > page + 1 || !childSticksOut)) {
      report(el, 'runs ' + Math.round(extent(el) - page) + ' px past the ' + page + ' px wide page');
    }
  }
  for (const image of document.images) {
    const width = image.getBoundingClientRect().width;
    if (width > page + 1) report(image, 'image ' + Math.round(width) + ' px wide on a ' + page + ' px wide page');
  }
  const documentWidth = document.documentElement.scrollWidth;
  if (reported.size === 0 && documentWidth > page + 1) {
    report(document.documentElement, 'the page is ' + documentWidth + ' px wide, the paper ' + page + ' px');
  }
  return Array.from(reported.values());
})())"""


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
    cut_off : list of str
        What printing on A4 would cut off (print media, laid out at the A4 content width): each
        as ``tag.class "first 60 characters of its text": why``. Empty when the check found
        nothing or was not asked for.
    screenshot : Path or None
        The full-page PNG written, if one was asked for.
    pdf : Path or None
        The A4 PDF written, if one was asked for.
    """

    path: Path
    console_errors: list[str] = field(default_factory=list)
    failed_images: list[str] = field(default_factory=list)
    network_requests: list[str] = field(default_factory=list)
    cut_off: list[str] = field(default_factory=list)
    screenshot: Path | None = None
    pdf: Path | None = None

    @property
    def ok(self) -> bool:
        """True when the page logged no error, every image loaded and nothing went to the network.

        What printing would cut off is not part of it (a wide table scrolls on screen); see
        :attr:`cut_off`.
        """
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
    print_check: bool = True,
) -> PageCheck:
    """Open a local HTML file in headless Chromium and report what a reader's browser would see.

    Every request the page makes is paused (DevTools ``Fetch`` domain): ``file:`` and ``data:``
    requests continue, any other is recorded and failed before it is sent, so a report that
    reaches for the network is caught without the machine needing one. After the load event and
    a short settle the page's images are read (``complete`` and ``naturalWidth``), then the
    screenshot and PDF are taken from the same loaded page, and last the page is laid out as
    printed (print media, the A4 width less the page's margins) to find what paper would cut off:
    content wider than a box that clips it (overflow-x hidden, auto, scroll or clip), content or
    boxes running past the page's right edge, and images wider than the page.

    Parameters
    ----------
    html_path : str or Path
        The HTML file; relative references resolve beside it, as they would for a reader.
    chromium : str, optional
        Chromium executable; default :func:`chromium_path`.
    screenshot : str or Path, optional
        Where to write a full-page PNG (window 1280 CSS pixels wide, screen media).
    pdf : str or Path, optional
        Where to write an A4 PDF of the page as printed (print media, backgrounds printed, the
        margins of the page's ``@page`` rule, else :data:`PRINT_MARGIN_MM`), the way a reader's
        "Print to PDF" makes it.
    print_check : bool
        Whether to look for what printing cuts off (:attr:`PageCheck.cut_off`).

    Both files are written under a temporary name and renamed when complete, so a browser that
    fails leaves either the whole file or none.

    Returns
    -------
    PageCheck
        Console errors and uncaught exceptions, images not loaded, network requests refused,
        what printing cuts off, and the paths of the files written.

    Raises
    ------
    FileNotFoundError
        When the page or Chromium is missing (install it with ``make browser``).
    TimeoutError
        When the page does not load, or Chromium does not answer, within :data:`LOAD_TIMEOUT` seconds.
    RuntimeError
        When Chromium exits early or refuses a command.

    Examples
    --------
    >>> check = inspect_page("reports/06_executive_summary.html", pdf="summary.pdf")  # doctest: +SKIP
    >>> check.ok, check.cut_off  # doctest: +SKIP
    (True, [])
    """
    page = _existing(html_path)
    with _Chromium(chromium) as browser:
        return _inspect(browser, page, screenshot, pdf, print_check)


def inspect_pages(
    html_paths: list[str | Path], chromium: str | None = None, print_check: bool = True
) -> list[PageCheck]:
    """Check several pages as :func:`inspect_page` does, in one browser (each in a new tab).

    Starting and closing Chromium takes most of a second each; a report folder's pages share one.

    Parameters
    ----------
    html_paths : list of str or Path
        The HTML files.
    chromium : str, optional
        Chromium executable; default :func:`chromium_path`.
    print_check : bool
        Whether to look for what printing cuts off (:attr:`PageCheck.cut_off`).

    Returns
    -------
    list of PageCheck
        One per page, in the order given.

    Examples
    --------
    >>> checks = inspect_pages(sorted(Path("reports").glob("*.html")))  # doctest: +SKIP
    >>> all(check.ok for check in checks)  # doctest: +SKIP
    True
    """
    pages = [_existing(path) for path in html_paths]
    with _Chromium(chromium) as browser:
        return [_inspect(browser, page, None, None, print_check) for page in pages]


def _existing(html_path: str | Path) -> Path:
    page = Path(html_path).resolve()
    if not page.is_file():
        raise FileNotFoundError(f"{page}: no such page to open")
    return page


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


def _inspect(
    browser: _DevTools, page: Path, screenshot: str | Path | None, pdf: str | Path | None, print_check: bool
) -> PageCheck:
    """Open ``page`` in a new tab of ``browser``, check it and write the files asked for; close the tab."""
    check = PageCheck(path=page)
    target = browser.send("Target.createTarget", {"url": "about:blank"})["targetId"]
    session = browser.send("Target.attachToTarget", {"targetId": target, "flatten": True})["sessionId"]
    first_event = len(browser.events)
    for domain in ("Runtime", "Log", "Page"):
        browser.send(f"{domain}.enable", session=session)
    browser.send("Fetch.enable", {"patterns": [{"urlPattern": "*"}]}, session=session)
    _set_width(browser, session, WINDOW[0])
    navigated = browser.send("Page.navigate", {"url": page.as_uri()}, session=session)
    if navigated.get("errorText"):
        raise RuntimeError(f"chromium could not open {page.name}: {navigated['errorText']}")
    # only a load event after the navigation began counts (not about:blank's, late)
    since = len(browser.events)
    try:
        browser.wait_for("Page.loadEventFired", session, time.monotonic() + LOAD_TIMEOUT, since)
    except TimeoutError:
        raise TimeoutError(f"{page.name} did not load within {LOAD_TIMEOUT:.0f} s") from None
    browser.drain(SETTLE_SECONDS)
    check.failed_images = _evaluate(browser, session, _BROKEN_IMAGES)
    if screenshot:
        check.screenshot = _write_screenshot(browser, session, Path(screenshot))
    if pdf:
        check.pdf = _write_pdf(browser, session, Path(pdf))
    if print_check:
        check.cut_off = _cut_off_in_print(browser, session)
    browser.drain(0)
    check.network_requests = [url for refused_in, url in browser.refused if refused_in == session]
    events = [event for event in browser.events[first_event:] if event.get("sessionId") == session]
    check.console_errors = [text for text in map(_console_text, events) if text is not None]
    browser.send("Target.closeTarget", {"targetId": target})
    return check


def _evaluate(browser: _DevTools, session: str, expression: str):
    """The value of a script that returns JSON text, parsed; a script that throws is an error."""
    result = browser.send(
        "Runtime.evaluate", {"expression": expression, "returnByValue": True}, session=session
    )
    if "exceptionDetails" in result:
        raise RuntimeError(f"a check's script failed in the page: {result['exceptionDetails'].get('text')}")
    return json.loads(result["result"]["value"])


def _set_width(browser: _DevTools, session: str, width: int) -> None:
    browser.send(
        "Emulation.setDeviceMetricsOverride",
        {"width": width, "height": WINDOW[1], "deviceScaleFactor": 1, "mobile": False},
        session=session,
    )


def _cut_off_in_print(browser: _DevTools, session: str) -> list[str]:
    """Lay the page out as printed on A4 and list what the paper would cut off.

    The width is A4's 210 mm at 96 CSS pixels per inch less the left and right margins of the
    page's ``@page`` rule (else :data:`PRINT_MARGIN_MM` each), as Chromium prints at scale 1; a
    page whose ``@page`` asks for another paper size or landscape is still checked on A4 portrait.
    Content a little too wide that Chromium would shrink to fit when printing is reported too:
    shrunken text is what the check is there to prevent.
    """
    browser.send("Emulation.setEmulatedMedia", {"media": "print"}, session=session)
    default = PRINT_MARGIN_MM / 25.4 * 96
    left, right = _evaluate(browser, session, _PAGE_MARGINS)
    width = A4_INCHES[0] * 96 - (default if left is None else left) - (default if right is None else right)
    _set_width(browser, session, max(1, int(width)))
    return _evaluate(browser, session, _CUT_OFF)


def _write_atomically(path: Path, data: bytes) -> Path:
    """Write ``data`` to ``path`` through a temporary file beside it, renamed when complete."""
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_name(f".{path.name}.{os.getpid()}.partial")
    try:
        partial.write_bytes(data)
        os.replace(partial, path)
    finally:
        partial.unlink(missing_ok=True)
    return path


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
    return _write_atomically(path, base64.b64decode(shot["data"]))


def _write_pdf(browser: _DevTools, session: str, path: Path) -> Path:
    """Write the page as printed on A4 with backgrounds.

    Paper and margins are the page's own ``@page`` rule where it has one (``preferCSSPageSize``),
    else A4 with :data:`PRINT_MARGIN_MM` margins.
    """
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
            "preferCSSPageSize": True,
        },
        session=session,
    )
    return _write_atomically(path, base64.b64decode(printed["data"]))


_OBJECT = re.compile(rb"(\d+)\s+(\d+)\s+obj\b")
_NUMBER = rb"\s*(-?[\d.]+)"
_MEDIA_BOX = re.compile(rb"/MediaBox\s*\[" + _NUMBER * 4 + rb"\s*\]")
_REFERENCE = rb"\s+(\d+)\s+\d+\s+R"


def _pdf_objects(document: bytes) -> dict[int, bytes]:
    """Object number -> the object's text before any stream (streams are skipped by their length)."""
    objects, position = {}, 0
    while match := _OBJECT.search(document, position):
        start = match.end()
        end = document.find(b"endobj", start)
        if end < 0:
            break
        stream = re.search(rb">>\s*stream\r?\n", document[start:end])
        if stream:
            body = document[start : start + stream.start() + 2]
            length = re.search(rb"/Length\s+(\d+)(?!\s+\d+\s+R)", body)
            after = start + stream.end() + int(length.group(1)) if length else start + stream.end()
            end = document.find(b"endobj", document.find(b"endstream", after))
        else:
            body = document[start:end]
        objects[int(match.group(1))] = body
        position = end + len(b"endobj")
    return objects


def pdf_pages(path: str | Path) -> list[tuple[float, float]]:
    """Width and height in points of every page of a PDF, in page order.

    Reads the page tree (``/Type /Pages`` and its ``/Kids``) and each page's ``/MediaBox``,
    inherited from its parents where the page has none, with the standard library only. It reads
    PDFs whose page objects are plain (not packed in compressed object streams), as Chromium's
    (Skia's) are; the streams themselves may be compressed.

    Parameters
    ----------
    path : str or Path
        The PDF file.

    Returns
    -------
    list of (float, float)
        One ``(width, height)`` per page; A4 is about ``(595.3, 841.9)`` (:data:`A4_POINTS`).

    Raises
    ------
    ValueError
        When the file is not a PDF or its page tree cannot be read this way.

    Examples
    --------
    >>> pdf_pages("06_executive_summary.pdf")  # doctest: +SKIP
    [(595.92, 841.92), (595.92, 841.92)]
    """
    document = Path(path).read_bytes()
    if not document.startswith(b"%PDF-"):
        raise ValueError(f"{Path(path).name} is not a PDF")
    objects = _pdf_objects(document)
    kind = {number: re.search(rb"/Type\s*/(Pages|Page)\b", body) for number, body in objects.items()}
    roots = [
        number
        for number, found in kind.items()
        if found and found.group(1) == b"Pages" and not re.search(rb"/Parent" + _REFERENCE, objects[number])
    ]
    if len(roots) != 1:
        raise ValueError(
            f"{Path(path).name}: found {len(roots)} page trees, not one (compressed object streams?)"
        )
    pages: list[tuple[float, float]] = []

    def visit(number: int, inherited: tuple[float, float] | None, depth: int = 0) -> None:
        body = objects.get(number)
        if body is None or depth > 64:
            raise ValueError(f"{Path(path).name}: page tree refers to a missing object {number}")
        box = _MEDIA_BOX.search(body)
        size = inherited
        if box:
            left, bottom, right, top = (float(value) for value in box.groups())
            size = (abs(right - left), abs(top - bottom))
        if kind.get(number) and kind[number].group(1) == b"Page":
            if size is None:
                raise ValueError(f"{Path(path).name}: page object {number} has no /MediaBox")
            pages.append(size)
            return
        kids = re.search(rb"/Kids\s*\[([^\]]*)\]", body)
        for kid in re.findall(rb"(\d+)\s+\d+\s+R", kids.group(1) if kids else b""):
            visit(int(kid), size, depth + 1)

    visit(roots[0], None)
    return pages

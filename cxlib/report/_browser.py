"""Open a local HTML report in headless Chromium and check it as a reader's browser sees it.

Chromium is driven over its DevTools pipe (:mod:`cxlib.report._devtools`, standard library only),
so the checks see exactly what a browser reports: console errors, uncaught exceptions, every
request the page makes (paused with the ``Fetch`` domain, so a request for the network is
recorded and refused, never sent) and each image's ``naturalWidth`` after the page has loaded. A
second look in print emulation at the A4 content width finds what a printed page would cut off.
The same loaded page gives the screenshot and the PDF (:func:`cxlib.report._pdf.pdf_pages` reads
its page sizes).
"""

from __future__ import annotations

import base64
import json
import os
import time
from dataclasses import dataclass, field
from pathlib import Path

from cxlib.report._devtools import LOAD_TIMEOUT, _Chromium, _DevTools, chromium_path

__all__ = ["PageCheck", "chromium_path", "inspect_page", "inspect_pages"]

#: A4 in inches (210 x 297 mm), as ``Page.printToPDF`` takes it.
A4_INCHES = (210 / 25.4, 297 / 25.4)
#: Print margin on every side, in millimetres, unless the page's CSS sets its own (``@page``).
PRINT_MARGIN_MM = 15
#: Browser window for the screenshot (CSS pixels); the height grows to the page's.
WINDOW = (1280, 900)
#: Seconds a page may take to settle after its load event (late script, images).
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
# Before printing: drop the href of every link that does not go to the web (http, https), to mail or
# within the page (#...); Chromium would print a relative link as a file:// URI, dead once the
# report is published and naming a local folder. The link text stays. Returns how many were dropped.
_DROP_LOCAL_LINKS = """JSON.stringify((() => {
  let dropped = 0;
  for (const link of document.querySelectorAll('a[href], area[href]')) {
    const href = link.getAttribute('href').trim();
    if (href.startsWith('#')) continue;
    let protocol = null;
    try { protocol = new URL(href, document.baseURI).protocol; } catch (error) { /* unparsable */ }
    if (['http:', 'https:', 'mailto:'].includes(protocol)) continue;
    link.removeAttribute('href');
    dropped += 1;
  }
  return dropped;
})())"""


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
        "Print to PDF" makes it. Links other than ``http(s):``, ``mailto:`` and ``#...`` are
        printed as plain text (no dead ``file://`` targets); the HTML file is not changed.
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
    else A4 with :data:`PRINT_MARGIN_MM` margins. Links other than ``http(s):``, ``mailto:`` and
    ``#...`` lose their target first (their text stays): printed, a relative link would become a
    ``file://`` URI into the local folder. Only the loaded page changes, not the HTML file.
    """
    _evaluate(browser, session, _DROP_LOCAL_LINKS)
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

"""Open report pages in headless Chromium and look for script that came from the data.

A copy of each page gets a first ``<script>`` that replaces ``alert``/``confirm``/``prompt`` with
a recorder writing every call into an attribute of ``<html>``; Chromium runs the page (events
such as an image's ``onerror`` included) and dumps the DOM, which is then read for the recorded
dialogs and for markup that would run script: ``<script>`` elements and ``on*`` handlers that
call a dialog, ``javascript:`` links, and the ``<img src=x>`` a payload would inject.
"""

from __future__ import annotations

import re
import subprocess
import tempfile
from dataclasses import dataclass, field
from html.parser import HTMLParser
from pathlib import Path

from cxlib.report import _devtools as devtools

#: cx-suite's own headless flags (no network, profile or GPU), without the DevTools pipe that
#: ``--dump-dom`` does not use, and with time for the page's scripts and events to run.
CHROMIUM_FLAGS = (
    *(flag for flag in devtools.CHROMIUM_FLAGS if flag != "--remote-debugging-pipe"),
    "--virtual-time-budget=5000",
)
RECORDER_ID = "cx-dialog-recorder"
DIALOG_ATTRIBUTE = "data-cx-dialogs"
RECORDER = (
    f'<script id="{RECORDER_ID}">(function () {{'
    "var calls = [];"
    "function record(kind) {"
    "  return function (message) {"
    "    calls.push(kind + ': ' + String(message));"
    f"    document.documentElement.setAttribute('{DIALOG_ATTRIBUTE}', calls.join(' | '));"
    "    return kind === 'confirm' ? false : null;"
    "  };"
    "}"
    "window.alert = record('alert'); window.confirm = record('confirm'); window.prompt = record('prompt');"
    "})();</script>"
)
DIALOGS = re.compile(r"\b(alert|confirm|prompt)\s*\(")


def with_recorder(page: str) -> str:
    """The page with :data:`RECORDER` as its first script (right after ``<head>``)."""
    head = re.search(r"<head\b[^>]*>", page, re.I)
    if head:
        return page[: head.end()] + RECORDER + page[head.end() :]
    return RECORDER + page


def rendered_dom(page: Path, chromium: str) -> str:
    """The DOM of ``page`` after Chromium has run it, with the dialog recorder in place."""
    with tempfile.TemporaryDirectory() as tmp:
        # beside the original, so relative references resolve as they would for a reader
        copy = page.with_name(f".recorded-{page.name}")
        copy.write_text(with_recorder(page.read_text(encoding="utf-8")), encoding="utf-8")
        try:
            result = subprocess.run(
                [chromium, *CHROMIUM_FLAGS, f"--user-data-dir={tmp}", "--dump-dom", copy.as_uri()],
                capture_output=True,
                text=True,
                timeout=180,
                check=False,
            )
        finally:
            copy.unlink()
    if result.returncode != 0 or "<html" not in result.stdout:
        raise RuntimeError(f"chromium could not render {page.name}: {result.stderr[-2000:]}")
    return result.stdout


@dataclass
class PageFindings:
    """What a page's markup shows: dialogs recorded, live script from the data, and its text."""

    dialogs: list[str] = field(default_factory=list)
    live: list[str] = field(default_factory=list)
    text: str = ""


class _Reader(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.findings = PageFindings()
        self._script: list[str] | None = None
        self._script_id = ""
        self._skip = 0
        self._text: list[str] = []

    def handle_starttag(self, tag, attrs):
        attributes = {name.lower(): value or "" for name, value in attrs}
        if tag == "html" and attributes.get(DIALOG_ATTRIBUTE):
            self.findings.dialogs += attributes[DIALOG_ATTRIBUTE].split(" | ")
        for name, value in attributes.items():
            if name.startswith("on") and DIALOGS.search(value):
                self.findings.live.append(f"<{tag} {name}={value!r}>")
            if value.strip().lower().startswith("javascript:"):
                self.findings.live.append(f"<{tag} {name}={value!r}>")
        if tag == "img" and attributes.get("src") == "x":
            self.findings.live.append("<img src=x> injected")
        if tag == "script":
            self._script, self._script_id = [], attributes.get("id", "")
        elif tag == "style":
            self._skip += 1

    def handle_endtag(self, tag):
        if tag == "script" and self._script is not None:
            body = "".join(self._script)
            if self._script_id != RECORDER_ID and DIALOGS.search(body):
                self.findings.live.append(f"<script>{body[:80]}</script>")
            self._script = None
        elif tag == "style" and self._skip:
            self._skip -= 1

    def handle_data(self, data):
        if self._script is not None:
            self._script.append(data)
        elif not self._skip:
            self._text.append(data)

    def close(self):
        super().close()
        self.findings.text = re.sub(r"\s+", " ", "".join(self._text))


def read_page(markup: str) -> PageFindings:
    """Dialogs recorded in ``markup``, elements that would run a dialog, and the visible text."""
    reader = _Reader()
    reader.feed(markup)
    reader.close()
    return reader.findings

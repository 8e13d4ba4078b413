"""Read the page sizes of a PDF, such as the ones headless Chromium prints, with the standard library."""

from __future__ import annotations

import re
from pathlib import Path

#: A4 in PostScript points (595.3 x 841.9), as a PDF's ``/MediaBox`` gives it.
A4_POINTS = (210 / 25.4 * 72, 297 / 25.4 * 72)

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

"""Find customer ids in files and text, for the tests that prove reports carry no personal data."""

from __future__ import annotations

import gzip
import io
import re
import zipfile

import pandas as pd


def decoded_forms(path):
    """A file's bytes, plus the content of what it may pack: Parquet tables, gzip, zip (xlsx, ...)."""
    raw = path.read_bytes()
    yield raw
    if raw[:4] == b"PAR1":
        yield pd.read_parquet(path).to_csv().encode()
    if raw[:2] == b"\x1f\x8b":
        yield gzip.decompress(raw)
    if raw[:4] == b"PK\x03\x04":
        with zipfile.ZipFile(io.BytesIO(raw)) as archive:
            yield from (archive.read(name) for name in archive.namelist())


def ids_in(blob: bytes, ids: set[bytes]) -> set[bytes]:
    """Which ``ids`` occur anywhere in ``blob`` (as substrings; fast for thousands of ids)."""
    found = set()
    for length in {len(i) for i in ids}:
        for first in {i[:1] for i in ids if len(i) == length}:
            for match in re.finditer(re.escape(first), blob):
                if blob[match.start() : match.start() + length] in ids:
                    found.add(blob[match.start() : match.start() + length])
    return found


def ids_in_folder(folder, ids: set[bytes]) -> dict[str, set[bytes]]:
    """Every file under ``folder`` (all extensions, binary and packed forms too) holding any of ``ids``."""
    leaks = {}
    for path in sorted(p for p in folder.rglob("*") if p.is_file()):
        for blob in decoded_forms(path):
            found = ids_in(blob, ids)
            if found:
                leaks.setdefault(str(path.relative_to(folder)), set()).update(found)
    return leaks

"""Read one input file (CSV, Parquet, Excel) as it is, or say in plain words why it cannot be read.

Readers' own errors (pandas, openpyxl, pyarrow) name internals, not fixes; here each common
failure becomes one sentence naming the file, what is wrong and the config key that fixes it:
an empty file, a folder, a missing Excel sheet (with the sheets the workbook has), a text file
named ``.xlsx``, a text encoding other than UTF-8 (``encoding``), another field separator
(``separator``), a title row or merged cells above the header. A UTF-8 byte-order mark is
accepted. Files are only read.
"""

from __future__ import annotations

import hashlib
import zipfile
from pathlib import Path

import pandas as pd

from cxlib.exceptions import InputFileError

_EXCEL = (".xlsx", ".xlsm", ".xls")
_PARQUET = (".parquet", ".pq")
_SEPARATORS = {";": "';'", "\t": "'\\t' (tab)", "|": "'|'"}


def read_table(path: Path, spec: dict, table: str = "table") -> pd.DataFrame:
    """Read one file; text files as text columns (types are decided later, by the contract).

    Parameters
    ----------
    path : Path
        The file.
    spec : dict
        The table's config entry: ``sheet``, ``encoding``, ``separator`` are used.
    table : str
        Canonical table name, used in messages.

    Returns
    -------
    DataFrame

    Raises
    ------
    InputFileError
        With a message naming the file, the problem and the fix.
    """
    where = f"{table}: {path.name}"
    key = f"data.tables.{table}"
    if path.is_dir():
        raise InputFileError(f"{where} is a folder, not a file; point {key}.path at the file itself.")
    if path.stat().st_size == 0:
        raise InputFileError(f"{where} is empty (0 bytes); export the table again or fix {key}.path.")
    suffix = path.suffix.lower()
    if suffix in _PARQUET:
        return _read_parquet(path, where)
    if suffix in _EXCEL:
        frame = _read_excel(path, spec, where, key)
    else:
        frame = _read_csv(path, spec, where, key)
    _check_header(frame, where)
    return frame


def _read_parquet(path: Path, where: str) -> pd.DataFrame:
    try:
        return pd.read_parquet(path)
    except Exception as err:  # noqa: BLE001 - pyarrow raises several types for a bad file
        raise InputFileError(
            f"{where} is not a readable Parquet file ({type(err).__name__}: {err}); export it again, "
            "or give a .csv or .xlsx file"
        ) from err


def _read_excel(path: Path, spec: dict, where: str, key: str) -> pd.DataFrame:
    if path.suffix.lower() != ".xls" and not zipfile.is_zipfile(path):
        head = path.read_bytes()[:2048]
        looks = "plain text (a CSV saved with an Excel name?)" if _is_text(head) else "no Excel workbook"
        raise InputFileError(
            f"{where} is not an Excel workbook: it holds {looks}; rename it to .csv if it is a CSV, "
            "or open it in Excel and save it as a workbook (.xlsx)."
        )
    try:
        book = pd.ExcelFile(path)
    except Exception as err:  # noqa: BLE001 - openpyxl/xlrd raise several types for a bad workbook
        raise InputFileError(
            f"{where} cannot be opened as an Excel workbook ({type(err).__name__}: {err}); "
            "save it again as .xlsx, or export the sheet as CSV."
        ) from err
    with book:
        sheets = book.sheet_names
        sheet = spec.get("sheet")
        sheet = 0 if sheet is None else sheet
        if (
            isinstance(sheet, int)
            and not 0 <= sheet < len(sheets)
            or isinstance(sheet, str)
            and sheet not in sheets
        ):
            raise InputFileError(
                f"{where} has no sheet {sheet!r}; its sheets are {', '.join(repr(s) for s in sheets)}: "
                f"set {key}.sheet to one of them (a name, or a number counting from 0)."
            )
        return book.parse(sheet, dtype=str)


def _is_text(head: bytes) -> bool:
    return b"\x00" not in head and all(32 <= b or b in (9, 10, 13) for b in head[:512] if b < 128)


def _read_csv(path: Path, spec: dict, where: str, key: str) -> pd.DataFrame:
    encoding = spec.get("encoding") or "utf-8"
    if encoding.lower().replace("_", "-") in ("utf-8", "utf8"):
        encoding = "utf-8-sig"  # a byte-order mark is not part of the first column's name
    separator = spec.get("separator") or ","
    try:
        frame = pd.read_csv(
            path,
            dtype=str,
            sep=separator,
            encoding=encoding,
            compression="infer",
            skipinitialspace=True,
        )
    except UnicodeDecodeError as err:
        line = _first_bad_line(path, encoding)
        raise InputFileError(
            f"{where} is not {spec.get('encoding') or 'UTF-8'} text (byte {err.object[err.start]:#04x} on line "
            f"{line} cannot be read); set {key}.encoding to the file's encoding, e.g. encoding: latin-1 "
            "(Western European exports) or cp1252 (Windows)."
        ) from err
    except pd.errors.EmptyDataError as err:
        raise InputFileError(
            f"{where} has no header row (the file holds only blank lines); export it again."
        ) from err
    except pd.errors.ParserError as err:
        raise InputFileError(
            f"{where} cannot be split into columns with separator {separator!r} ({err}); check "
            f"{key}.separator and that text holding the separator is quoted."
        ) from err
    if frame.shape[1] == 1:
        header = str(frame.columns[0])
        found = [name for sep, name in _SEPARATORS.items() if sep != separator and sep in header]
        if found:
            sep = next(s for s in _SEPARATORS if _SEPARATORS[s] == found[0])
            raise InputFileError(
                f"{where} reads as a single column named {header[:60]!r}: its fields look separated by "
                f"{found[0]}, not {separator!r}; set {key}.separator: {sep!r}."
            )
    return frame


def _first_bad_line(path: Path, encoding: str) -> int:
    """Line number (from 1) of the first line that does not decode (only read after a failure)."""
    import gzip

    opener = gzip.open if path.suffix.lower() == ".gz" else open
    with opener(path, "rb") as handle:
        for number, raw in enumerate(handle, start=1):
            try:
                raw.decode(encoding)
            except UnicodeDecodeError:
                return number
    return 1


def _check_header(frame: pd.DataFrame, where: str) -> None:
    """A title row or merged header cells leave most columns unnamed: say so instead of 'missing column'."""
    names = [str(c) for c in frame.columns]
    unnamed = [c for c in names if c.startswith("Unnamed:")]
    if len(names) > 1 and len(unnamed) * 2 > len(names):
        raise InputFileError(
            f"{where}: {len(unnamed)} of its {len(names)} columns have no name in the first row (a title "
            "row, merged header cells or an empty first row?); the first row must hold the column names, "
            "one per column: remove the rows above the header and unmerge its cells."
        )


def sha256(path: Path) -> str:
    """Hex SHA-256 of a file's bytes."""
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()

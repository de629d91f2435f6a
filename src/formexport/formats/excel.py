"""Excel workbooks (``.xlsx``): the submissions on one sheet, the codebook on a second.

Written with openpyxl in its write-only mode (rows stream into the file). Cells keep their
types: numbers, TRUE/FALSE, Excel dates, and text that stays text (a leading zero, a ``+``, a
leading ``=`` that would otherwise be a formula, ``#N/A`` that would be an error value).
"""

from __future__ import annotations

import re
import warnings
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from formexport.errors import FileFormatError
from formexport.formats import columns
from formexport.reading.codebook import CODEBOOK_COLUMNS, codebook_rows

if TYPE_CHECKING:
    import pandas as pd
    from openpyxl.workbook.workbook import Workbook
    from openpyxl.worksheet._write_only import WriteOnlyWorksheet

SHEET, CODEBOOK_SHEET = "Submissions", "Codebook"
MAX_ROWS = 1_048_576  # rows of a sheet, its header included
MAX_COLUMNS = 16_384
MAX_TEXT = 32_767  # characters in a cell
#: Appended to the header of a date-time column: Excel dates have no time zone.
UTC_SUFFIX = " (UTC)"
_WIDEST = 60
# What the XML of a sheet cannot hold, written as OOXML's _xHHHH_ escape, which Excel reads back
# as the character; and a literal _xHHHH_ in the text, whose "_" is escaped so it stays as typed.
_UNWRITABLE = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")
_LOOKS_ESCAPED = re.compile(r"_(x[0-9A-Fa-f]{4}_)")
# Text openpyxl would store as a formula or an error value rather than as text.
_ERROR_VALUES = frozenset({"#NULL!", "#DIV/0!", "#VALUE!", "#REF!", "#NAME?", "#NUM!", "#N/A"})
_NOTES = {
    columns.LIST: "items joined with '; '",
    columns.MATRIX: "row: answer pairs joined with '; '",
    columns.BOOLEAN: "TRUE / FALSE",
    columns.DATETIME: "date and time in UTC (Excel has no time zones)",
}


class FileFormatWarning(UserWarning):
    """A value was changed to fit the file format: text longer than the 32 767 characters an
    Excel cell holds was cut (Parquet and CSV files keep it whole)."""


def write_xlsx(frame: pd.DataFrame, path: Path) -> None:
    """Write ``frame`` (as :func:`~formexport.load_export` returns it) to an Excel workbook."""
    from openpyxl import Workbook

    if len(frame) + 1 > MAX_ROWS or frame.shape[1] > MAX_COLUMNS:
        raise FileFormatError(
            f"An Excel sheet holds {MAX_ROWS - 1:,} rows and {MAX_COLUMNS:,} columns; this "
            f"export has {len(frame):,} rows and {frame.shape[1]:,} columns. Write a .parquet or "
            ".csv file, or export fewer submissions (since=, status=)."
        )
    kinds = {name: columns.kind_of(frame, name) for name in frame.columns}
    headers = [header(frame, name, kind) for name, kind in kinds.items()]
    book = Workbook(write_only=True)
    sheet = book.create_sheet(SHEET)
    _lay_out(sheet, headers, rows=len(frame))
    sheet.append([_text_cell(sheet, excel_text(text)) for text in headers])
    cut: dict[str, int] = {}
    cells = [_cells(sheet, frame[name], kind, cut, name) for name, kind in kinds.items()]
    for row in zip(*cells, strict=True):
        sheet.append(row)
    _add_codebook(book, frame, headers, kinds, cut)
    _describe_workbook(book, frame)
    book.save(path)
    if cut:
        counts = ", ".join(f"{name!r} ({count})" for name, count in cut.items())
        warnings.warn(
            f"Text longer than the {MAX_TEXT:,} characters an Excel cell holds was cut in "
            f"{counts}; a .parquet or .csv file keeps it whole.",
            FileFormatWarning,
            stacklevel=2,
        )


def header(frame: pd.DataFrame, name: str, kind: str) -> str:
    """The column's header in the sheet: its name, and ``(UTC)`` after a date-time's."""
    import pandas as pd

    zoned = isinstance(frame[name].dtype, pd.DatetimeTZDtype)
    return f"{name}{UTC_SUFFIX}" if kind == columns.DATETIME and zoned else str(name)


def excel_text(text: str) -> str:
    """``text`` as a cell's XML holds it: CR-LF and CR become the LF Excel breaks lines with;
    characters XML cannot carry, and a literal ``_xHHHH_``, are escaped the way Excel reads.

    >>> excel_text("a\\r\\nb\\x01 _x0041_")
    'a\\nb_x0001_ _x005F_x0041_'
    """
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    text = _LOOKS_ESCAPED.sub(r"_x005F_\1", text)
    return _UNWRITABLE.sub(lambda found: f"_x{ord(found.group()):04X}_", text)


def _fitted(text: str) -> tuple[str, bool]:
    """The cell's text, and whether it had to be cut to fit a cell (escapes count too)."""
    kept = text[:MAX_TEXT]
    written = excel_text(kept)
    while len(written) > MAX_TEXT:
        # A character takes at most 7 written ones (_xHHHH_): never cut more than needed.
        kept = kept[: len(kept) - max(1, (len(written) - MAX_TEXT) // 7)]
        written = excel_text(kept)
    return written, len(kept) < len(text)


def _text_cell(sheet: WriteOnlyWorksheet, text: str) -> Any:
    """A text cell; a cell object where openpyxl would make a formula or an error of it."""
    if not (text.startswith("=") or text in _ERROR_VALUES):
        return text
    from openpyxl.cell import WriteOnlyCell

    cell = WriteOnlyCell(sheet, value=text)
    cell.data_type = "s"
    return cell


def _cells(
    sheet: WriteOnlyWorksheet, series: pd.Series[Any], kind: str, cut: dict[str, int], name: str
) -> list[Any]:
    """The column's cells: Python values openpyxl writes with their Excel type."""
    import pandas as pd

    if kind in (columns.INTEGER, columns.NUMBER, columns.BOOLEAN):
        return [None if pd.isna(value) else value for value in series.astype(object)]
    if kind == columns.DATE:
        return [None if pd.isna(value) else value.date() for value in series]
    if kind == columns.DATETIME:
        return [
            None if pd.isna(value) else value.to_pydatetime() for value in columns.in_utc(series)
        ]
    out: list[Any] = []
    for text in columns.text_cells(series, kind):
        if text is None:
            out.append(None)
            continue
        written, was_cut = _fitted(text)
        if was_cut:
            cut[name] = cut.get(name, 0) + 1
        out.append(_text_cell(sheet, written))
    return out


def _lay_out(sheet: WriteOnlyWorksheet, headers: Sequence[str], *, rows: int) -> None:
    """Header row frozen, a filter on every column, columns as wide as their headers."""
    from openpyxl.utils import get_column_letter

    sheet.freeze_panes = "A2"
    laid: Any = sheet  # openpyxl's stubs omit what write-only sheets share with others
    if headers:
        laid.auto_filter.ref = f"A1:{get_column_letter(len(headers))}{rows + 1}"
    for index, text in enumerate(headers, start=1):
        width = min(max(len(text) + 4, 10), _WIDEST)
        laid.column_dimensions[get_column_letter(index)].width = width


def _add_codebook(
    book: Workbook,
    frame: pd.DataFrame,
    headers: Sequence[str],
    kinds: dict[str, str],
    cut: dict[str, int],
) -> None:
    """The second sheet: one row per column of the first, from ``frame.attrs["columns"]``."""
    sheet = book.create_sheet(CODEBOOK_SHEET)
    titles = ["column", *CODEBOOK_COLUMNS[1:], "in this workbook"]
    _lay_out(sheet, titles, rows=len(headers))
    sheet.append(titles)
    variables = columns.variables(frame)
    rows = codebook_rows({name: columns.described(frame, name) for name in frame.columns})
    for row, text, (name, kind) in zip(rows, headers, kinds.items(), strict=True):
        row["variable"] = variables[name]
        values = [text, *(row[key] for key in CODEBOOK_COLUMNS[1:])]
        sheet.append([_codebook_cell(sheet, value) for value in values] + [_note(kind, cut, name)])


def _codebook_cell(sheet: WriteOnlyWorksheet, value: Any) -> Any:
    if isinstance(value, list):
        value = columns.LIST_SEPARATOR.join(value) or None
    return _text_cell(sheet, excel_text(value)) if isinstance(value, str) else value


def _note(kind: str, cut: dict[str, int], name: str) -> str | None:
    notes: Iterable[str | None] = (
        _NOTES.get(kind),
        f"{cut[name]} texts cut at {MAX_TEXT:,} characters" if name in cut else None,
    )
    return "; ".join(note for note in notes if note) or None


def _describe_workbook(book: Workbook, frame: pd.DataFrame) -> None:
    """Where the data comes from, in the workbook's properties (File > Info in Excel)."""
    attrs = frame.attrs
    book.properties.creator = "formexport"
    if attrs.get("form_slug"):
        book.properties.title = str(attrs["form_slug"])
    if attrs.get("form_id") is not None:
        when = f", exported {attrs['exported_at']}" if attrs.get("exported_at") else ""
        book.properties.description = f"OpnForm form {attrs['form_id']}{when}"

"""Is this file an OpnForm export? Told from its first bytes and its header, before reading.

A file an analyst hands over may be anything saved under a ``.csv`` name: the sign-in page a
browser saved instead of the download, an error in JSON, a workbook, a CSV that pandas or Excel
wrote again. Each gets a :class:`~formexport.errors.CsvFormatError` that says what the file looks
like and how to get the export itself. An OpnForm export starts with an ``id`` column, quoted by
the writer of exports answered at once and bare in the server job's ``fputcsv`` file, after an
optional byte-order mark; an export without submissions is the single empty cell ``""``.
"""

from __future__ import annotations

import codecs
import re
from collections.abc import Sequence

from formexport.errors import CsvFormatError

#: Bytes read to tell what a file is.
SNIFF_SIZE = 4096
GET_THE_CSV = (
    "Download the CSV again from the form's Submissions page in OpnForm, or with "
    "formexport.download_export(form, path)."
)
# Magic numbers of files saved under a .csv name by mistake, and what to do with each.
_MAGIC = (
    (b"PK\x03\x04", "a ZIP archive, such as an Excel workbook (.xlsx)", "pandas.read_excel"),
    (b"PAR1", "a Parquet file", "pandas.read_parquet"),
    (b"\xd0\xcf\x11\xe0", "an old Excel workbook (.xls)", "pandas.read_excel"),
)
_HTML = re.compile(rb"^\s*<(!doctype\s+html|html|head|body|\?xml|!--)", re.IGNORECASE)
_EMPTY_EXPORT = re.compile(rb'^""\r?\n?$')
_UTF16_BOMS = (codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)


def check_start(start: bytes, name: str) -> None:
    """Raise :class:`CsvFormatError` when the first bytes of ``name`` are no OpnForm export.

    ``start`` is the file's first :data:`SNIFF_SIZE` bytes (all of a shorter file).
    """
    body = start.removeprefix(codecs.BOM_UTF8)
    if not body.strip():
        raise CsvFormatError(
            f"{name} is empty: it holds no export, not even the header that every OpnForm "
            f"export has. {GET_THE_CSV}"
        )
    for magic, what, reader in _MAGIC:
        if body.startswith(magic):
            raise CsvFormatError(
                f"{name} is {what}, not a CSV export: read it with {reader}, or download the "
                "export as CSV from OpnForm (formexport.download_export(form, path))."
            )
    if _HTML.match(body):
        raise CsvFormatError(
            f"{name} looks like an HTML page (a sign-in or error page saved in place of the "
            f"export?), not a CSV export. {GET_THE_CSV}"
        )
    if body.lstrip()[:1] in (b"{", b"["):
        raise CsvFormatError(
            f"{name} looks like JSON (an answer of the API, perhaps an error), not a CSV "
            f"export. {GET_THE_CSV}"
        )
    _check_text(start, name)


def _check_text(start: bytes, name: str) -> None:
    if start.startswith(_UTF16_BOMS):
        raise CsvFormatError(
            f"{name} is UTF-16 text (saved again by Excel as Unicode text?); OpnForm writes "
            f"UTF-8. {GET_THE_CSV}"
        )
    # The sniffed bytes may end inside a character: only what comes before it must decode.
    text = codecs.getincrementaldecoder("utf-8")()
    try:
        text.decode(start, final=len(start) < SNIFF_SIZE)
    except UnicodeDecodeError as exc:
        raise CsvFormatError(
            f"{name} is not UTF-8 text (byte {exc.start} is not; saved again by Excel or "
            f"another program in another encoding?), while OpnForm writes UTF-8. {GET_THE_CSV}"
        ) from exc


def check_header(header: Sequence[str], start: bytes, name: str) -> None:
    """Raise :class:`CsvFormatError` unless the header is an OpnForm export's (``id`` first),
    or the file is what OpnForm writes for an export without submissions (``start``: its first
    bytes)."""
    if header[:1] == ["id"]:
        return
    if not header and _EMPTY_EXPORT.match(start.removeprefix(codecs.BOM_UTF8)):
        return
    shown = ", ".join(repr(column) for column in header[:4])
    more = ", ..." if len(header) > 4 else ""
    hint = _why_not_export(header)
    raise CsvFormatError(
        f"{name} is a CSV file but not an OpnForm export: its columns are {shown}{more}, and "
        f"every OpnForm export starts with the column 'id'.{hint} Read another CSV with "
        f"pandas.read_csv; for the export itself: {GET_THE_CSV}"
    )


def _why_not_export(header: Sequence[str]) -> str:
    first = header[0] if header else ""
    if first.startswith(("id;", "id\t")):
        sign = "semicolons" if first.startswith("id;") else "tabs"
        return f" Its columns are separated by {sign}: saved again by Excel?"
    if first in ("", "Unnamed: 0") and "id" in header[1:3]:
        return " Its first column is an unnamed index: written again by pandas' to_csv?"
    return ""

"""OpnForm's two CSV writers, byte for byte: ``FormSubmissionExport`` through Laravel-Excel, and
``FormExportService::generateCsvContent`` (see ``docs/data-types.md``).

* **sync** (Laravel-Excel + PhpSpreadsheet 1.30): BOM, every field quoted, ``TRUE`` for true;
  ``''``, ``0``, ``0.0`` and ``false`` never become cells (empty). Strings go through
  ``DefaultValueBinder``: U+FFFE and U+FFFF become U+FFFD; numeric-looking strings become
  numbers (``+336…`` loses its ``+``; integer strings are compared with PHP_INT_MAX as floats,
  so up to 9223372036854776832 they print as ``9.2233720368548E+18``; ``"7\\n"`` is ``7``);
  a text cell is cut at 32 767 characters and its CR and CRLF become LF; formulas stay as written.
* **async** (PHP ``fputcsv``): minimal quoting, ``1``/empty booleans, values verbatim,
  and the escape-character quirk (a ``"`` right after ``\\`` is not doubled); BOM from
  v2.3.0.

Both end lines with ``\\n``, and both print JSON integers beyond 64 bits as floats (``json_decode``
made them floats): ``1.844674407371E+19``.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from typing import BinaryIO

from formexport.sandbox.platform.php import PHP_INT_MAX, php_float, php_str
from formexport.sandbox.writers.cells import CellValue

BOM = "\ufeff"
# DataType::MAX_STRING_LENGTH: longer text cells are cut (in characters).
MAX_TEXT_LENGTH = 32_767
# StringHelper::sanitizeUTF8 replaces these two noncharacters.
_NONCHARACTERS = str.maketrans({"\ufffe": "\ufffd", "\uffff": "\ufffd"})
# DefaultValueBinder::dataTypeForValue; PCRE "$" also matches before a final "\n".
_NUMERIC = re.compile(r"^[+-]?(\d+\.?\d*|\d*\.?\d+)([Ee][-+]?[0-2]?\d{1,3})?$", re.ASCII)
_special = re.compile(r'[,"\\\n\r\t ]').search
_FLUSH_ROWS = 500
_FIELD_CACHE = 200_000


# --- sync writer -------------------------------------------------------------------


def sync_text(value: CellValue) -> str:
    """The text PhpSpreadsheet writes for one cell value (before quoting).

    Examples
    --------
    >>> [sync_text(v) for v in (True, False, 0, 0.0, "", "+33612345678", "1.50", "0123")]
    ['TRUE', '', '', '', '', '33612345678', '1.5', '0123']
    >>> sync_text("a\\r\\nb"), sync_text("9223372036854775808"), sync_text("7\\n")
    ('a\\nb', '9.2233720368548E+18', '7')
    """
    if value is None or value is False or value == "":
        return ""
    if value is True:
        return "TRUE"
    if isinstance(value, (int, float)):
        return php_str(value) if value else ""
    text = value.translate(_NONCHARACTERS)
    if len(text) > 1 and text[0] == "=":
        return text  # a formula: kept as written, never computed
    number = _number_text(text)
    if number is not None:
        return number
    # DataType::checkString: cut, then CR and CRLF to LF.
    return text[:MAX_TEXT_LENGTH].replace("\r\n", "\n").replace("\r", "\n")


def _number_text(text: str) -> str | None:
    """How a numeric-looking string prints once the value binder made it a number; None
    when it stays text (``DefaultValueBinder::dataTypeForValue``)."""
    if not _NUMERIC.match(text):
        return None
    digits = text.lstrip("+-")
    if len(digits) > 1 and digits[0] == "0" and digits[1] != ".":
        return None  # leading zeros stay text
    # `$value > PHP_INT_MAX` compares a numeric string with an int as floats.
    if "." not in text and float(text) > float(PHP_INT_MAX):
        return None
    if not any(c in text for c in ".eE"):
        return php_str(int(text))  # `0 + $value`: a float past 64 bits
    return php_float(float(text))


def sync_line(values: Iterable[str]) -> str:
    """One line with every field enclosed and quotes doubled."""
    return ",".join('"' + v.replace('"', '""') + '"' for v in values) + "\n"


def sync_csv(header: Sequence[str], rows: Iterable[Sequence[CellValue]]) -> bytes:
    """The whole body of a synchronous export.

    With no rows there are no headings either, and PhpSpreadsheet's empty sheet gives
    a single empty cell: ``<BOM>""\\n``.
    """
    lines = [BOM]
    if not header:
        lines.append(sync_line([""]))
    else:
        lines.append(sync_line(sync_text(h) for h in header))
        lines.extend(sync_line(sync_text(v) for v in row) for row in rows)
    return "".join(lines).encode("utf-8", "replace")


# --- async writer ------------------------------------------------------------------


def fputcsv_field(value: CellValue) -> str:
    """One field as PHP ``fputcsv`` writes it (delimiter ``,``, enclosure ``"``, escape ``\\``).

    Examples
    --------
    >>> fputcsv_field("Jane Smith"), fputcsv_field(True), fputcsv_field(0)
    ('"Jane Smith"', '1', '0')
    """
    text = value if value.__class__ is str else php_str(value)
    if not _special(text):
        return text
    if "\\" not in text:
        return '"' + text.replace('"', '""') + '"'
    out = ['"']
    escaped = False
    for char in text:
        if char == "\\":
            escaped = True
        elif not escaped and char == '"':
            out.append('"')
        else:
            escaped = False
        out.append(char)
    out.append('"')
    return "".join(out)


def async_line(values: Iterable[CellValue], cache: dict[str, str] | None = None) -> str:
    """One ``fputcsv`` line; ``cache`` remembers fields already quoted (values repeat)."""
    if cache is None:
        return ",".join(map(fputcsv_field, values)) + "\n"
    out = []
    for value in values:
        text = value if value.__class__ is str else php_str(value)
        field = cache.get(text)
        if field is None:
            field = fputcsv_field(text)
            if len(cache) < _FIELD_CACHE:
                cache[text] = field
        out.append(field)
    return ",".join(out) + "\n"


def write_async_csv(
    stream: BinaryIO,
    header: Sequence[str],
    rows: Iterable[Sequence[CellValue]],
    *,
    bom: bool,
) -> None:
    """Write an async export file (header, rows) to a binary stream, in batches."""
    buffer = [BOM] if bom else []
    buffer.append(async_line(header))
    cache: dict[str, str] = {}
    for row in rows:
        buffer.append(async_line(row, cache))
        if len(buffer) >= _FLUSH_ROWS:
            stream.write("".join(buffer).encode("utf-8", "replace"))
            buffer.clear()
    stream.write("".join(buffer).encode("utf-8", "replace"))

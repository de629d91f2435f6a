"""OpnForm's two CSV writers (reference notes section 2.1).

* **sync** (Laravel-Excel + PhpSpreadsheet): BOM, every field quoted, ``TRUE`` for true;
  ``''``, ``0``, ``0.0`` and ``false`` never become cells (empty); numeric-looking strings
  are converted to numbers by the default value binder (``+336…`` loses its ``+``).
* **async** (PHP ``fputcsv``): minimal quoting, ``1``/empty booleans, values verbatim,
  and the escape-character quirk (a ``"`` right after ``\\`` is not doubled); BOM from
  v2.3.0.

Both end lines with ``\\n``.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from typing import BinaryIO

from formexport.sandbox.platform.php import php_float, php_str
from formexport.sandbox.writers.cells import CellValue

BOM = "\ufeff"
_PHP_INT_MAX = 2**63 - 1
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
    """
    if value is None or value is False or value == "":
        return ""
    if value is True:
        return "TRUE"
    if isinstance(value, int):
        return str(value) if value else ""
    if isinstance(value, float):
        return php_float(value) if value else ""
    return _bound_string(value)


def _bound_string(text: str) -> str:
    """A string cell after the default value binder (numeric strings become numbers)."""
    if not _NUMERIC.match(text):
        return text
    digits = text.lstrip("+-")
    if len(digits) > 1 and digits[0] == "0" and digits[1] != ".":
        return text  # leading zeros stay text
    is_integer = not any(c in text for c in ".eE")
    if "." not in text and float(text) > _PHP_INT_MAX:
        return text  # above PHP_INT_MAX stays text
    if is_integer:
        number = int(text)
        if -_PHP_INT_MAX - 1 <= number <= _PHP_INT_MAX:
            return str(number)
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

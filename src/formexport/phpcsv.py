"""Reading PHP ``fputcsv`` output (OpnForm's background writer) exactly.

``fputcsv`` uses ``\\`` as an escape character: a ``"`` right after a backslash is written once
instead of doubled, and a field that *ends* with a backslash is followed by its closing quote, so
``\\"`` means either "a quote in the text" or "the field ends here". Standard CSV readers (Arrow's
included) then shift or merge cells; PHP's own ``fgetcsv`` gets it wrong too.

Files without the two bytes ``\\"`` are standard CSV and are read as they are. Otherwise each
record holding ``\\"`` is re-read here, trying both meanings where they differ and keeping the one
that gives the header's number of fields, and the file is rewritten as standard CSV (every field
quoted, quotes doubled) before Arrow reads it.
"""

from __future__ import annotations

import io
import tempfile
from collections.abc import Iterable, Iterator
from pathlib import Path

from formexport.errors import CsvFormatError

_MARK = b'\\"'
_CHUNK = 1 << 20
# A record still incomplete after this many characters is not CSV as OpnForm writes it.
_MAX_RECORD = 64 << 20


def has_escaped_quotes(source: Path | bytes) -> bool:
    """Whether the file holds ``\\"`` anywhere (scanned in chunks, memory stays flat)."""
    if isinstance(source, bytes):
        return _MARK in source
    with source.open("rb") as stream:
        tail = b""
        while chunk := stream.read(_CHUNK):
            if _MARK in tail + chunk:
                return True
            tail = chunk[-1:]
    return False


# Where to resume reading a record: position, fields so far, and the text of an open quoted
# field (None between fields).
_State = tuple[int, list[str], list[str] | None]


def parse_record(text: str, count: int) -> list[str] | None:
    """The ``count`` fields of one whole record (``fputcsv`` rules), or None if it is not one.

    Reads left to right; at each ambiguous ``\\"`` it first takes "the field ends here" and
    keeps "a quote in the text" to come back to if that reading fails.
    """
    alternatives: list[_State] = [(0, [], None)]
    while alternatives:
        fields = _read(text, count, alternatives.pop(), alternatives)
        if fields is not None:
            return fields
    return None


def _read(text: str, count: int, state: _State, alternatives: list[_State]) -> list[str] | None:
    pos, fields, buffer = state[0], list(state[1]), state[2]
    end = len(text)
    while True:
        if buffer is None and text.startswith('"', pos):
            buffer, pos = [], pos + 1
        if buffer is None:
            stop = pos
            while stop < end and text[stop] not in ",\n":
                stop += 1
            if '"' in text[pos:stop]:
                return None  # fputcsv quotes every field holding a quote
            fields.append(text[pos:stop])
            pos = stop
        else:
            pos = _close_quoted(text, pos, fields, buffer, alternatives)
            if pos < 0:
                return None
            buffer = None
        # After a field: a comma and another field, or the end of the record.
        if pos >= end or text[pos] == "\n":
            whole = pos >= end - 1
            return fields if whole and len(fields) == count else None
        if text[pos] != "," or len(fields) >= count:
            return None
        pos += 1


def _close_quoted(
    text: str, pos: int, fields: list[str], buffer: list[str], alternatives: list[_State]
) -> int:
    """Read an open quoted field into ``fields``; the position after its closing quote, or -1."""
    end = len(text)
    while pos < end:
        char = text[pos]
        if char != '"':
            buffer.append(char)
            pos += 1
        elif buffer and buffer[-1] == "\\":
            alternatives.append((pos + 1, list(fields), [*buffer, '"']))
            break
        elif text.startswith('"', pos + 1):
            buffer.append('"')
            pos += 2
        else:
            break
    if pos >= end:
        return -1
    fields.append("".join(buffer))
    return pos + 1


def _standard(fields: Iterable[str]) -> str:
    return ",".join('"' + f.replace('"', '""') + '"' for f in fields) + "\n"


def standard_records(lines: Iterable[str], count: int) -> Iterator[str]:
    """Records rewritten as standard CSV; records without ``\\"`` pass through unchanged."""
    record = ""
    for line in lines:
        record += line
        if '\\"' not in record:
            if record.count('"') % 2 == 0:
                yield record
                record = ""
            continue
        fields = parse_record(record, count)
        if fields is not None:
            yield _standard(fields)
            record = ""
        elif len(record) > _MAX_RECORD:
            raise CsvFormatError("The export has a record that is not CSV as OpnForm writes it.")
    if record:
        fields = parse_record(record if record.endswith("\n") else record + "\n", count)
        if fields is None:
            raise CsvFormatError("The export ends inside a quoted field.")
        yield _standard(fields)


def _count_fields(header_line: str) -> int:
    fields = parse_record(header_line, header_line.count(",") + 1)
    if fields is not None:
        return len(fields)
    # Commas inside quoted header names: try fewer fields.
    for count in range(header_line.count(","), 0, -1):
        if parse_record(header_line, count) is not None:
            return count
    raise CsvFormatError("The export's header row is not valid CSV.")


def to_standard(source: Path | bytes, scratch: Path | None = None) -> Path | bytes:
    """A standard-CSV copy of a ``fputcsv`` export (bytes in, bytes out; a file for a file)."""
    raw = io.BytesIO(source) if isinstance(source, bytes) else source.open("rb")
    with io.TextIOWrapper(raw, encoding="utf-8-sig", newline="") as text:
        lines = _lines(text)
        header = next(lines, "")
        count = _count_fields(header) if header else 0
        records = standard_records(_chain(header, lines), count)
        if isinstance(source, bytes):
            return "".join(records).encode("utf-8")
        folder = scratch or source.parent
        with tempfile.NamedTemporaryFile(
            "w", encoding="utf-8", newline="", dir=folder, suffix=".csv", delete=False
        ) as out:
            out.writelines(records)
        return Path(out.name)


def _lines(text: io.TextIOWrapper) -> Iterator[str]:
    # Split on "\n" only: "\r" inside a value is data.
    pending = ""
    while chunk := text.read(_CHUNK):
        pending += chunk
        *complete, pending = pending.split("\n")
        for line in complete:
            yield line + "\n"
    if pending:
        yield pending


def _chain(first: str, rest: Iterator[str]) -> Iterator[str]:
    yield first
    yield from rest

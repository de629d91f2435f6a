"""Reading PHP ``fputcsv`` output (OpnForm's background writer) exactly.

``fputcsv`` uses ``\\`` as an escape character: a ``"`` right after a backslash is written once
instead of doubled, and a field that *ends* with a backslash is followed by its closing quote, so
``\\"`` means either "a quote in the text" or "the field ends here". Standard CSV readers (Arrow's
included) then shift or merge cells; PHP's own ``fgetcsv`` gets it wrong too.

:func:`parse_record` reads one record by ``fputcsv``'s rules: at each ``\\"`` it first takes "the
field ends here" and falls back to "a quote in the text" when that reading does not give the
header's number of fields. Files without the two bytes ``\\"`` are standard CSV and are read as
they are; :func:`to_standard` rewrites the others as standard CSV with few steps in Python:

* a ``\\"`` followed by anything but ``,``, a line end or the end of the file can only be a quote
  in the text: one substitution over the file doubles its quote (``\\""``). A record holding only
  these has a single reading, which a standard reader then finds;
* a ``\\"`` before ``,`` or a line end is read as "the field ends here" by a standard reader too.
  Its record is found by counting quotes back to the last line end after an even number of
  them, and one regular expression checks that this reading is a whole record of the header's
  number of fields; when it is not, the record is read by :func:`parse_record` and written with
  every field quoted.

Every file OpnForm can write is read as :func:`parse_record` reads it, record by record. A file
no ``fputcsv`` writes (a quote inside an unquoted field, say) may be read on instead of
rejected, as standard CSV always was.
"""

from __future__ import annotations

import codecs
import itertools
import re
import tempfile
from collections.abc import Iterable, Iterator
from functools import cache
from pathlib import Path
from typing import IO

from formexport.errors import CsvFormatError

_MARK = b'\\"'
_CHUNK = 1 << 20
# Files are rewritten this many bytes at a time (memory stays flat).
_BLOCK = 8 << 20
# A record still incomplete after this many characters is not CSV as OpnForm writes it.
_MAX_RECORD = 64 << 20
# A \" that cannot end its field: a quote in the text, doubled for standard readers.
_QUOTE_IN_TEXT = re.compile(rb'\\"(?=[^,\n])')
# A \" that may end its field (left as it is: a standard reader ends the field there).
_FIELD_END = re.compile(rb'\\"[,\n]')
# Standard CSV, strictly: every quote opens or closes a field or is doubled inside one.
_FIELD = rb'(?:"[^"]*(?:""[^"]*)*"|[^,\n"]*)'
# Any field parse_record accepts: inside quotes, a quote after a backslash may be text, one
# elsewhere is doubled; the closing quote may follow a backslash.
_ANY_FIELD = rb'(?:"(?:[^"]|(?<!\\)""|(?<=\\)")*"|[^,\n"]*)'


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


def _count_fields(header_line: str) -> int:
    fields = parse_record(header_line, header_line.count(",") + 1)
    if fields is not None:
        return len(fields)
    # Commas inside quoted header names: try fewer fields.
    for count in range(header_line.count(","), 0, -1):
        if parse_record(header_line, count) is not None:
            return count
    raise CsvFormatError("The export's header row is not valid CSV.")


def _decode(data: bytes) -> str:
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise CsvFormatError(f"The export is not UTF-8 text: {exc}") from exc


def _original(data: bytes) -> bytes:
    """Undo the doubling of quotes in the text (the file as ``fputcsv`` wrote it)."""
    return data.replace(b'\\""', b'\\"')


@cache
def _record(count: int, field: bytes) -> re.Pattern[bytes]:
    """A whole record of ``count`` fields, line end included."""
    return re.compile(field + rb"(?:," + field + rb"){%d}\n" % (count - 1))


def _last_boundary(data: bytes, start: int, end: int) -> int:
    """Where the last record starting in ``data[start:end]`` starts, for standard CSV: after the
    last line end preceded by an even number of quotes since ``start`` (a record start)."""
    cut = data.rfind(b"\n", start, end)
    odd = data.count(b'"', start, cut) & 1 if cut >= 0 else 0
    while cut >= 0:
        if not odd:
            return cut + 1
        line_end = data.rfind(b"\n", start, cut)
        odd ^= data.count(b'"', max(line_end, start), cut) & 1
        cut = line_end
    return start


class _Rewriter:
    """Standard CSV from a ``fputcsv`` export whose quotes in the text are already doubled
    (:data:`_QUOTE_IN_TEXT`), fed in pieces that start at record boundaries."""

    def __init__(self, count: int) -> None:
        self.count = count

    def rewrite(self, data: bytes, final: bool, start: int = 0) -> tuple[list[bytes], int]:
        """Pieces of standard CSV for the whole records of ``data[start:]`` up to some record's
        end, and that end (``len(data)`` when ``final``)."""
        out: list[bytes] = []
        copied = pos = start  # data[:copied] is in out; pos is the start of a record
        for found in _FIELD_END.finditer(data, start):
            if found.start() < pos:
                continue  # in a record already read
            start = _last_boundary(data, pos, found.start())
            end = self._standard_end(data, start)
            if end < 0:
                out.append(data[copied:start])
                done = self._exact(data, start, final)
                if done is None:
                    return out, start
                text, end = done
                out.append(text)
                copied = end
            pos = end
        end = _last_boundary(data, pos, len(data))
        out.append(data[copied:end])
        if final and end < len(data):
            # A last record without a line end, or the file ends inside a quoted field.
            done = self._exact(data, end, final)
            assert done is not None
            out.append(done[0])
            end = len(data)
        return out, end

    def _standard_end(self, data: bytes, start: int) -> int:
        """The end of the record at ``start`` when a standard reader reads it as
        :func:`parse_record` does, else -1."""
        match = _record(self.count, _FIELD).match(data, start) if self.count else None
        if match is None:
            return -1
        end = match.end()
        # parse_record reads line by line: with a quote in the text at an earlier \", (rather
        # than a field end) the record may end at an earlier line end.
        inner = data.rfind(b"\n", start, end - 1)
        if inner < 0 or data.find(b'\\",', start, inner) < 0:
            return end
        text = _original(data[start:end])
        possible = _record(self.count, _ANY_FIELD)
        line_end = text.find(b"\n")
        while line_end < len(text) - 1:
            if possible.fullmatch(text, 0, line_end + 1):
                return -1
            line_end = text.find(b"\n", line_end + 1)
        return end

    def _exact(self, data: bytes, start: int, final: bool) -> tuple[bytes, int] | None:
        """The record at ``start`` read line by line with :func:`parse_record`, and its end; None
        when it may run past ``data`` (not ``final``)."""
        cursor, size = start, len(data)
        while cursor < size:
            line_end = data.find(b"\n", cursor)
            if line_end < 0 and not final:
                return None
            cursor = size if line_end < 0 else line_end + 1
            record = _decode(_original(data[start:cursor]))
            if '\\"' not in record:
                if record.count('"') % 2 == 0:
                    return data[start:cursor], cursor
                continue
            fields = parse_record(record, self.count)
            if fields is not None:
                return _standard(fields).encode("utf-8"), cursor
            if len(record) > _MAX_RECORD:
                raise CsvFormatError(
                    "The export has a record that is not CSV as OpnForm writes it."
                )
        if not final:
            return None
        record = _decode(_original(data[start:]))
        fields = parse_record(record if record.endswith("\n") else record + "\n", self.count)
        if fields is None:
            raise CsvFormatError("The export ends inside a quoted field.")
        return _standard(fields).encode("utf-8"), size


def _header_count(header: bytes) -> int:
    return _count_fields(_decode(header)) if header else 0


def to_standard(source: Path | bytes, scratch: Path | None = None) -> Path | bytes:
    """A standard-CSV copy of a ``fputcsv`` export (bytes in, bytes out; a file for a file).

    The byte-order mark is dropped.
    """
    if isinstance(source, bytes):
        start = len(codecs.BOM_UTF8) if source.startswith(codecs.BOM_UTF8) else 0
        line_end = source.find(b"\n")
        header = source[start:] if line_end < 0 else source[start : line_end + 1]
        rewriter = _Rewriter(_header_count(header))
        pieces, _ = rewriter.rewrite(_QUOTE_IN_TEXT.sub(rb'\\""', source), True, start)
        return b"".join(pieces)
    folder = scratch or source.parent
    with tempfile.NamedTemporaryFile("wb", dir=folder, suffix=".csv", delete=False) as out:
        try:
            _rewrite_file(source, out)
        except BaseException:
            out.close()
            Path(out.name).unlink(missing_ok=True)
            raise
    return Path(out.name)


def _rewrite_file(source: Path, out: IO[bytes]) -> None:
    with source.open("rb") as stream:
        out.writelines(standard_pieces(iter(lambda: stream.read(_BLOCK), b"")))


def standard_pieces(chunks: Iterable[bytes]) -> Iterator[bytes]:
    """Standard CSV, piece by piece, from the chunks of a ``fputcsv`` export as they come.

    Memory stays within a few chunks (plus the longest record); the byte-order mark is dropped.
    Raises :class:`~formexport.errors.CsvFormatError` for a file no ``fputcsv`` writes.
    """
    rewriter: _Rewriter | None = None
    raw = pending = b""  # pending: whole lines, quotes in the text doubled
    for block in itertools.chain(filter(None, chunks), [b""]):
        raw += block
        if rewriter is None:
            if block and b"\n" not in raw:
                continue  # the header row is still incomplete
            raw = _strip_bom(raw)
            line_end = raw.find(b"\n")
            rewriter = _Rewriter(_header_count(raw if line_end < 0 else raw[: line_end + 1]))
        # A \" at the end of what was read may still turn out to end its field.
        cut = len(raw) if not block else raw.rfind(b"\n") + 1
        pending += _QUOTE_IN_TEXT.sub(rb'\\""', raw[:cut])
        raw = raw[cut:]
        pieces, used = rewriter.rewrite(pending, final=not block)
        yield from pieces
        pending = pending[used:]


def _strip_bom(data: bytes) -> bytes:
    return data[len(codecs.BOM_UTF8) :] if data.startswith(codecs.BOM_UTF8) else data

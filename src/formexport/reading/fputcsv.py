"""Reading PHP ``fputcsv`` output (OpnForm's background writer) exactly.

``fputcsv`` uses ``\\`` as an escape character: a ``"`` right after a backslash is written once
instead of doubled, and a field that *ends* with a backslash is followed by its closing quote, so
``\\"`` means either "a quote in the text" or "the field ends here". Standard CSV readers (Arrow's
included) then shift or merge cells; PHP's own ``fgetcsv`` gets it wrong too.

The export is rewritten as standard CSV by inserting the missing second quote after every ``\\"``
that is a quote in the text; nothing else changes, so the rewrite is the file's own bytes, cut
where a quote goes in, and it streams (:func:`standard_pieces`). Which ``\\"`` are text:

* one followed by anything but ``,`` or a line end: always (a closing quote is followed by one);
* one followed by ``,`` or a line end, when reading it as text breaks a rule of the writer within
  the same quoted field: the next quote that is neither doubled nor after a backslash would
  then have to close the field, yet is followed by something else. One regular expression
  checks this, so most exports never leave byte searches;
* otherwise the exact reader (:mod:`formexport.reading.fputcsv_readings`) follows both readings,
  and every later one they fork into, from the record's start until one is left.

Every byte string ``fputcsv`` writes for rows of strings reads back to those strings. Time is
linear in the file; memory stays within a few chunks plus the longest record (and the longest
stretch that two readings share, a record or two in practice). A file no reading explains
raises :class:`~formexport.errors.CsvFormatError` naming the record and the byte where the last
reading failed; a file or bytes that fail are read again by the exact reader alone, which names
the first damaged record. Where no ``\\"`` is in doubt, the bytes are handed on as they are, for
Arrow to check.
"""

from __future__ import annotations

import bisect
import codecs
import io
import itertools
import re
import shutil
import tempfile
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

from formexport.errors import CsvFormatError
from formexport.reading.chunks import ChunkReader
from formexport.reading.fputcsv_readings import (
    Reading,
    Readings,
    Unreadable,
    doubled_positions,
    first_damage,
)

_MARK = b'\\"'
_CHUNK = 1 << 20
# Spans of at least this many bytes have their quotes counted by NumPy.
_LONG_SPAN = 64 << 10
# Past this many backslashes in a chunk, a search for the two bytes is the faster one.
_BACKSLASHES_LOOKED_AT = 1000
# Files are rewritten this many bytes at a time (memory stays flat).
_BLOCK = 8 << 20
# A record still incomplete after this many bytes is not CSV as OpnForm writes it.
_MAX_RECORD = 64 << 20
_BOM = codecs.BOM_UTF8
# Inside quotes from the byte after a \" read as text: a character, a doubled quote (never
# right after a backslash), or a backslash with the quote it escapes. Possessive: no other
# split of these could let the closing quote that follows match, and runs of plain text are
# then skipped at C speed.
_TEXT_AFTER = rb'(?:[^"\\]++|(?<!\\)""|\\(?:"(?![,\n]))?)*+'
# Each \" of the file: <text> when a byte follows that no closing quote is followed by;
# <closing> when it is followed by , or a line end and reading it as text meets, before the
# field could end, a quote that is neither doubled nor after a backslash nor closing; neither
# group when only the exact reader can tell.
_MARKS = re.compile(
    rb'\\"(?:(?P<text>)(?=[^,\n])|(?P<closing>)(?=[,\n]' + _TEXT_AFTER + rb'(?<!\\)"[^",\n]))?'
)
_TEXT = 1
# What reading a \" in doubt as text found.
_CLOSING, _EXACT, _WAIT = range(3)


def has_escaped_quotes(source: Path | bytes) -> bool:
    """Whether the file holds ``\\"`` anywhere (scanned in chunks, memory stays flat)."""
    if isinstance(source, bytes):
        return _holds_mark(source)
    with source.open("rb") as stream:
        tail = b""
        while chunk := stream.read(_CHUNK):
            if _MARK in tail + chunk[:1] or _holds_mark(chunk):
                return True
            tail = chunk[-1:]
    return False


def _holds_mark(data: bytes) -> bool:
    """``_MARK in data``, faster where backslashes are rare (as in most text): a search for one
    byte runs several times faster than one for two."""
    index = data.find(b"\\")
    for _ in range(_BACKSLASHES_LOOKED_AT):
        if index < 0:
            return False
        if data[index + 1 : index + 2] == b'"':
            return True
        index = data.find(b"\\", index + 1)
    return _MARK in data[index:]


class _RecordsNotCounted(Exception):
    """A reading failed where the record number is unknown (records were not counted)."""


class _Rewriter:
    """Standard CSV from a ``fputcsv`` export fed in chunks: :meth:`feed` returns the pieces
    settled so far (slices of the input and inserted quotes)."""

    def __init__(self, count_records: bool) -> None:
        self.count_records = count_records
        self.data = b""  # the input from file position `base` on
        self.base = 0
        self.kept = 0  # a record's start: the exact reader may start here, so bytes are kept
        self.examined, self.examined_odd = 0, 0  # quotes from `kept` to there: odd or even
        self.emitted = 0  # standard CSV is handed on up to here
        self.scan = 0  # every \" before here is settled
        self.waiting: int | None = None  # reading the \" at `scan` as text: at this byte
        self.doubled: list[int] = []  # after `kept`: a quote goes in before these positions
        self.record: int | None = 1  # the number of the record at `kept` (the header is 1)
        self.width = 0  # the header's field count
        self.readings: Readings | None = None
        self.started = False
        self.chunk, self.chunk_start = b"", 0  # handed on whole when nothing in it changes
        self.out: list[bytes | memoryview] = []

    def feed(self, chunk: bytes, final: bool) -> list[bytes | memoryview]:
        """Add ``chunk`` (the last one when ``final``); the standard CSV settled so far."""
        self._append(chunk)
        if not self.started and not self._start(final):
            return []
        while True:
            if self.readings is not None:
                settled = self._advance(final)
                if settled is None:
                    break
                self._settle(settled)
            elif self._scan(final):
                continue
            elif final and self._ends_in_quotes():
                self._read_exactly(self.base + len(self.data), self.base + len(self.data))
            else:
                break
        self._emit(self.base + len(self.data) if final else self.scan)
        if not final and self.readings is None:
            self._keep_from(self._record_start(self.scan))
        self._check_record_size()
        out, self.out = self.out, []
        return out

    def _append(self, chunk: bytes) -> None:
        kept = self.kept - self.base
        if kept >= len(self.data):
            self.data, self.base = chunk, self.kept
        elif chunk:
            self.data, self.base = self.data[kept:] + chunk, self.kept
        self.chunk, self.chunk_start = chunk, self.base + len(self.data) - len(chunk)

    def _start(self, final: bool) -> bool:
        """Skip the byte-order mark and read the header exactly."""
        if len(self.data) < len(_BOM) and not final:
            return False
        start = len(_BOM) if self.data.startswith(_BOM) else 0
        self.kept = self.emitted = self.scan = self.examined = start
        self.readings = Readings(start, 0, start)
        self.started = True
        return True

    # --- byte searches -----------------------------------------------------------------

    def _scan(self, final: bool) -> bool:
        """Settle the ``\\"`` after :attr:`scan`; True when the exact reader took over."""
        if self.waiting is not None and (outcome := self._text_reading(final)) != _CLOSING:
            return outcome == _EXACT
        data, base = self.data, self.base
        for mark in _MARKS.finditer(data, self.scan - base):
            kind = mark.lastindex
            if kind == _TEXT:
                self.doubled.append(base + mark.end())
            elif kind is None:
                self.scan = base + mark.start()
                if mark.end() == len(data) and not final:
                    return False  # the next byte decides
                self.waiting = self.scan + 3
                if (outcome := self._text_reading(final)) != _CLOSING:
                    return outcome == _EXACT
        # A last backslash may start a \" that the next chunk ends.
        held = not final and data.endswith(b"\\")
        self.scan = max(self.scan, base + len(data) - held)
        return False

    def _text_reading(self, final: bool) -> int:
        """Settle the ``\\"`` at :attr:`scan` (before a comma or a line end) by reading it as
        a quote in the text as far as :data:`_MARKS` does, resumed where the chunk ended: it
        needs the field's next quote. :data:`_CLOSING` when that reading breaks there,
        :data:`_EXACT` when the exact reader took over, :data:`_WAIT` for more bytes."""
        assert self.waiting is not None
        data, base, index = self.data, self.base, self.waiting - self.base
        while (quote := data.find(b'"', index)) >= 0 and quote + 1 < len(data):
            after = data[quote + 1 : quote + 2]
            if after in (b",", b"\n"):
                break  # closing the field, or another \" in doubt
            if data[quote - 1 : quote] == b"\\":
                index = quote + 1  # a quote in the text
            elif after == b'"':
                index = quote + 2  # a doubled quote
            else:
                self.waiting, self.scan = None, self.scan + 2
                return _CLOSING
        else:
            if not final:
                self.waiting = base + (len(data) if quote < 0 else quote)
                return _WAIT
        self.waiting = None
        self._read_exactly(self.scan, self.scan + 1)
        return _EXACT

    def _quotes(self, start: int, end: int) -> int:
        """Quotes in the standard CSV of ``[start, end)`` (input positions after :attr:`kept`)."""
        doubled = self.doubled
        inserted = bisect.bisect_right(doubled, end) - bisect.bisect_right(doubled, start)
        return _count_quotes(self.data, start - self.base, end - self.base) + inserted

    def _record_start(self, limit: int) -> int:
        """The start of the record that holds ``limit``: after the last line feed before it
        with an even number of quotes since :attr:`kept`. Line feeds before :attr:`examined`
        were all inside quotes, so each byte is looked at once."""
        base, floor = self.base, max(self.examined, self.kept)
        odd = (self.examined_odd ^ self._quotes(floor, limit)) & 1
        self.examined, self.examined_odd = limit, odd
        cut = self.data.rfind(b"\n", floor - base, limit - base)
        while cut >= 0:
            odd ^= self._quotes(base + cut, limit) & 1  # at the line feed itself
            if not odd:
                return base + cut + 1
            limit = base + cut
            cut = self.data.rfind(b"\n", floor - base, cut)
        return self.kept

    def _ends_in_quotes(self) -> bool:
        return bool(self._quotes(self.kept, self.base + len(self.data)) & 1)

    # --- the exact reader --------------------------------------------------------------

    def _read_exactly(self, limit: int, after: int) -> None:
        """Follow every reading from the start of the record holding ``limit``, until one
        is left past ``after``."""
        start = self._record_start(limit)
        self._emit(start)
        self._keep_from(start)
        self.readings = Readings(start, self.width, after)

    def _advance(self, final: bool) -> Reading | None:
        assert self.readings is not None
        try:
            return self.readings.advance(self.data, self.base, final)
        except Unreadable as exc:
            if self.record is None:
                raise _RecordsNotCounted from None
            raise self._error(exc) from None

    def _settle(self, reading: Reading) -> None:
        self.readings = None
        self.width = reading.width
        # The quotes it doubles up to `emitted` are the ones the byte searches doubled.
        self.doubled = doubled_positions(reading)
        self.scan = reading.pos
        self._keep_from(reading.pos, records=reading.records)

    def _error(self, exc: Unreadable) -> CsvFormatError:
        assert self.record is not None
        return damaged(exc, self.record + exc.records)

    # --- output and bookkeeping --------------------------------------------------------

    def _emit(self, until: int) -> None:
        """Hand on the standard CSV of ``[emitted, until)``."""
        if until <= self.emitted:
            return
        doubled, base = self.doubled, self.base
        first, last = (bisect.bisect_right(doubled, p) for p in (self.emitted, until))
        whole = (self.emitted, until) == (self.chunk_start, self.chunk_start + len(self.chunk))
        if first == last and whole:
            self.out.append(self.chunk)
        else:
            view, start = memoryview(self.data), self.emitted - base
            for position in doubled[first:last]:
                self.out += (view[start : position - base], b'"')
                start = position - base
            self.out.append(view[start : until - base])
        self.emitted = until

    def _keep_from(self, start: int, records: int | None = None) -> None:
        """Move :attr:`kept` on to the record starting at ``start`` (``records`` after the
        old one, counted when not given)."""
        if start <= self.kept:
            return
        if records is None and self.record is not None and self.count_records:
            records = self._count_records(self.kept, start)
        self.record = None if records is None or self.record is None else self.record + records
        self.kept = self.examined = start
        self.examined_odd = 0
        del self.doubled[: bisect.bisect_right(self.doubled, min(start, self.emitted))]

    def _count_records(self, start: int, end: int) -> int:
        """Records in ``[start, end)`` (both record starts): line feeds after an even number of
        quotes, counted with NumPy (a stream's records are numbered for its errors)."""
        import numpy as np

        view = np.frombuffer(self.data, np.uint8, end - start, start - self.base)
        line_ends = np.flatnonzero(view == ord("\n"))
        quotes = np.searchsorted(np.flatnonzero(view == ord('"')), line_ends)
        first, last = (bisect.bisect_right(self.doubled, p) for p in (start, end))
        if first < last:
            inserted = np.asarray(self.doubled[first:last]) - start
            quotes += np.searchsorted(inserted, line_ends, side="right")
        return int(line_ends.size - np.count_nonzero(quotes & 1))

    def _check_record_size(self) -> None:
        if len(self.data) - (self.kept - self.base) > _MAX_RECORD:
            where = f"record {self.record}" if self.record is not None else "a record"
            raise CsvFormatError(
                f"The export is not CSV as OpnForm writes it: {where}, which starts at byte "
                f"{self.kept}, is longer than {_MAX_RECORD >> 20} MiB (an unclosed quote?)."
            )


def _count_quotes(data: bytes, start: int, end: int) -> int:
    """``data.count(b'"', start, end)``; NumPy counts long spans several times faster."""
    if end - start < _LONG_SPAN:
        return data.count(b'"', start, end)
    import numpy as np

    return int(np.count_nonzero(np.frombuffer(data, np.uint8, end - start, start) == ord('"')))


def _pieces(chunks: Iterable[bytes], count_records: bool) -> Iterator[bytes]:
    """The standard CSV settled after each chunk, in one piece (a chunk with nothing to
    rewrite is handed on as it is)."""
    rewriter = _Rewriter(count_records)
    for chunk in itertools.chain(filter(None, chunks), [b""]):
        pieces = rewriter.feed(chunk, final=not chunk)
        if len(pieces) == 1 and isinstance(pieces[0], bytes):
            yield pieces[0]
        elif pieces:
            yield b"".join(pieces)


def damaged(exc: Unreadable, record: int) -> CsvFormatError:
    """The error for a file no reading explains, ``record`` being the number of the record
    where the reading that got furthest failed."""
    return CsvFormatError(
        f"The export is not CSV as OpnForm's background writer (PHP fputcsv) writes it: "
        f"in record {record} (the header is record 1), which starts at byte "
        f"{exc.record_start}, {exc.reason} at byte {exc.offset}. Download the export "
        "again; if the same error comes back, the file was damaged on the server."
    )


def _exact_on_failure(chunks: Callable[[], Iterable[bytes]]) -> Iterator[bytes]:
    """The pieces, without counting records. On a failure the file is read again by the exact
    reader alone, from its start: that names the first damaged record (the byte searches may
    only notice a quote left open at the file's end)."""
    try:
        yield from _pieces(chunks(), count_records=False)
    except (_RecordsNotCounted, CsvFormatError) as exc:
        damage = first_damage(chunks())
        if damage is not None:
            raise damaged(damage, 1 + damage.records) from None
        if isinstance(exc, CsvFormatError):
            raise
        raise CsvFormatError("The export is not CSV as OpnForm writes it.") from None


def to_standard(source: Path | bytes, scratch: Path | None = None) -> Path | bytes:
    """A standard-CSV copy of a ``fputcsv`` export (bytes in, bytes out; a file for a file).

    The copy is what :class:`StandardCopy` reads, kept: the byte-order mark is dropped. Raises
    :class:`~formexport.errors.CsvFormatError` for a file no ``fputcsv`` writes.
    """
    if isinstance(source, bytes):
        with StandardCopy(source).open() as standard, io.BytesIO() as copy:
            shutil.copyfileobj(standard, copy, _BLOCK)
            return copy.getvalue()
    folder = scratch or source.parent
    with tempfile.NamedTemporaryFile("wb", dir=folder, suffix=".csv", delete=False) as out:
        try:
            with StandardCopy(source).open() as standard:
                shutil.copyfileobj(standard, out, _BLOCK)
        except BaseException:
            out.close()
            Path(out.name).unlink(missing_ok=True)
            raise
    return Path(out.name)


def _file_blocks(source: Path, size: int = _BLOCK) -> Iterator[bytes]:
    with source.open("rb") as stream:
        yield from iter(lambda: stream.read(size), b"")


@dataclass(frozen=True)
class StandardCopy:
    """A ``fputcsv`` export as standard CSV, rewritten on the way each time it is opened.

    It reads like the file itself, as often as needed, with no copy on disk; Arrow's reading
    thread runs the rewrite while its other threads parse the blocks already handed on.
    """

    original: Path | bytes

    def open(self) -> ChunkReader:
        """A binary file of the standard CSV, byte-order mark dropped; reading it raises
        :class:`~formexport.errors.CsvFormatError` where no ``fputcsv`` wrote the bytes."""
        return ChunkReader(iter(_exact_on_failure(self._chunks)))

    def _chunks(self) -> Iterable[bytes]:
        # Chunks small enough that parsing starts early and blocks overlap the rewrite.
        if isinstance(self.original, Path):
            return _file_blocks(self.original, _CHUNK)
        data = self.original
        return (data[start : start + _CHUNK] for start in range(0, len(data), _CHUNK))


class DamageNotLocated(CsvFormatError):
    """A stream is not what ``fputcsv`` writes, at a record it did not number: read the whole
    file (:class:`StandardCopy`), which names it."""


def arriving_pieces(chunks: Iterable[bytes]) -> Iterator[bytes]:
    """:func:`standard_pieces` for a download that is also written to a file: faster, since
    records are not counted as they pass.

    Raises :class:`DamageNotLocated` where the bytes are not what ``fputcsv`` writes; the
    finished file, read again, names the damaged record.
    """
    try:
        yield from _pieces(chunks, count_records=False)
    except _RecordsNotCounted:
        raise DamageNotLocated(
            "The export is not CSV as OpnForm's background writer (PHP fputcsv) writes it; "
            "the downloaded file, read again, names the damaged record."
        ) from None


def standard_pieces(chunks: Iterable[bytes]) -> Iterator[bytes]:
    """Standard CSV, piece by piece, from the chunks of a ``fputcsv`` export as they come.

    Memory stays within a few chunks (plus the longest record); the byte-order mark is dropped.
    Raises :class:`~formexport.errors.CsvFormatError` (naming the record and the byte) for a
    file no ``fputcsv`` writes.
    """
    return _pieces(chunks, count_records=True)

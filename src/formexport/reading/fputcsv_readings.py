"""Every reading of PHP ``fputcsv`` output, followed at once: the exact reader.

``fputcsv`` (delimiter ``,``, enclosure ``"``, escape ``\\``) quotes a field exactly when it
holds ``,`` ``"`` ``\\`` space, tab, CR or LF, and inside the quotes doubles every ``"`` except
one right after a ``\\``. So ``\\"`` followed by ``,`` or a line end is either a quote in the
text or the field's last backslash and its closing quote; only what follows can tell.

:class:`Readings` follows every reading of the bytes as the threads of a small automaton. A
thread is a position and a state: at a field's start, inside a quoted field or inside a bare
one, the fields read in the current record and the header's field count. A thread dies where
the bytes break a rule the writer keeps:

* a bare field holds none of the characters above (so no quote either);
* a quoted field holds at least one of them (the writer never quotes without need), and in it
  a quote not right after a backslash is doubled or closes the field;
* every record has the header's number of fields, and ends with a line feed (or the file).

Threads that meet in one state are merged (no two row lists written by ``fputcsv`` give the same
bytes, so two pasts reaching one state only happen in files it did not write). When a single
thread is left past the ``\\"`` that forked the reading, at a record's start, the reading is
settled: the quotes it read as text are the ones a standard CSV reader needs doubled. Threads
advance field by field with byte searches, each byte is read once per live thread, and there are
rarely more than two.
"""

from __future__ import annotations

import dataclasses
import re
from dataclasses import dataclass
from functools import cache

from formexport.errors import CsvFormatError

# Thread states.
_FIELD, _QUOTED, _BARE, _DONE = range(4)
_COMMA, _LF, _QUOTE, _BACKSLASH = b",", b"\n", b'"', b"\\"
# A bare field: nothing that would have made fputcsv quote it.
_BARE_TEXT = re.compile(rb'[^,"\\\n\r\t ]*')
# What makes fputcsv quote a field.
_NEEDS_QUOTES = re.compile(rb'[,"\\\n\r\t ]')
# A field without backslashes: bare, or quoted with something in it that needs the quotes.
_PLAIN_FIELD = rb'(?:"(?=[^",\\\n\r\t ]*(?:[,\n\r\t ]|""))(?:[^"\\]|"")*"|[^,"\\\n\r\t ]*)'

# Positions (before the byte at that position) where a quote read as text gets a second quote,
# newest first: a linked list, so that forked threads share their past.
Doubled = tuple[int, "Doubled"] | None


class Unreadable(CsvFormatError):
    """No reading of the bytes is ``fputcsv`` output (details in the attributes)."""

    def __init__(self, offset: int, records: int, record_start: int, reason: str) -> None:
        super().__init__(reason)
        self.offset = offset
        self.records = records  # records completed since the start of the readings
        self.record_start = record_start
        self.reason = reason


@dataclass(slots=True)
class Reading:
    """One reading of the bytes so far: a thread of the automaton."""

    pos: int  # the next byte to read
    state: int
    fields: int  # fields completed in the current record
    width: int  # the header's field count; 0 while the header is read
    records: int  # records completed since the readings started
    record_start: int
    needs_quotes: bool  # the open quoted field holds a character fputcsv quotes for
    doubled: Doubled = None

    def key(self) -> tuple[int, int, int, int, bool]:
        return self.pos, self.state, self.fields, self.width, self.needs_quotes


def doubled_positions(thread: Reading) -> list[int]:
    """Where the thread's reading inserts a quote, in file order."""
    out = []
    link = thread.doubled
    while link is not None:
        out.append(link[0])
        link = link[1]
    out.reverse()
    return out


class Readings:
    """The possible readings of a ``fputcsv`` export from a record's start.

    Parameters
    ----------
    start : int
        Where a record starts (a position in the file).
    width : int
        The header's field count, 0 when the record at ``start`` is the header.
    after : int
        The reading settles only past this position (the ``\\"`` that made it ambiguous).
    """

    def __init__(self, start: int, width: int, after: int) -> None:
        self.threads = [Reading(start, _FIELD, 0, width, 0, start, False)]
        self.after = after
        self._failure: Unreadable | None = None

    def advance(self, data: bytes, base: int, final: bool) -> Reading | None:
        """The settled reading, or None when it needs bytes past ``data`` (which starts at
        file position ``base``). Raises :class:`Unreadable` when no reading is left."""
        while True:
            if not self.threads:
                assert self._failure is not None
                raise self._failure
            first = self.threads[0]
            if len(self.threads) == 1 and self._settled(first):
                return first
            thread = min(self.threads, key=lambda t: (t.state == _DONE, t.pos))
            if thread.state == _DONE:
                return thread  # several readings of the whole file: not fputcsv output
            self.threads.remove(thread)
            following = self._step(thread, data, base, final)
            if following is None:
                self.threads.append(thread)
                return None
            known = {t.key() for t in self.threads}
            self.threads.extend(t for t in following if t.key() not in known)

    def _settled(self, thread: Reading) -> bool:
        at_record_start = thread.state == _FIELD and thread.fields == 0 and thread.width > 0
        return thread.state == _DONE or (at_record_start and thread.pos > self.after)

    def _fail(self, thread: Reading, offset: int, reason: str) -> list[Reading]:
        # The reading that got furthest explains the failure best.
        if self._failure is None or offset >= self._failure.offset:
            self._failure = Unreadable(offset, thread.records, thread.record_start, reason)
        return []

    # --- one field of one thread ---------------------------------------------------------

    def _step(self, thread: Reading, data: bytes, base: int, final: bool) -> list[Reading] | None:
        if thread.state == _FIELD and thread.fields == 0 and thread.width:
            _skip_plain_records(thread, data, base)
        if thread.state == _FIELD:
            index = thread.pos - base
            if index == len(data):
                if not final:
                    return None
                if thread.fields == 0:  # the file ends where a record would start
                    thread.state = _DONE
                    return [thread]
                return self._field_end(thread, thread.pos, None)
            if data[index : index + 1] == _QUOTE:
                thread.state, thread.pos, thread.needs_quotes = _QUOTED, thread.pos + 1, False
            else:
                thread.state = _BARE
        if thread.state == _BARE:
            return self._bare(thread, data, base, final)
        return self._quoted(thread, data, base, final)

    def _bare(self, thread: Reading, data: bytes, base: int, final: bool) -> list[Reading] | None:
        match = _BARE_TEXT.match(data, thread.pos - base)
        assert match is not None  # the pattern matches the empty string
        end = match.end()
        if end == len(data):
            thread.pos = base + end
            return self._field_end(thread, base + end, None) if final else None
        after = data[end : end + 1]
        if after not in (_COMMA, _LF):
            reason = "a quote" if after == _QUOTE else f"the character {after!r}"
            return self._fail(thread, base + end, f"an unquoted field holds {reason}")
        return self._field_end(thread, base + end, after)

    def _quoted(self, thread: Reading, data: bytes, base: int, final: bool) -> list[Reading] | None:
        index = thread.pos - base
        while True:
            quote = data.find(_QUOTE, index)
            stop = len(data) if quote < 0 else quote
            if not thread.needs_quotes and _NEEDS_QUOTES.search(data, index, stop):
                thread.needs_quotes = True
            if quote < 0 or (quote + 1 == len(data) and not final):
                if final:
                    return self._fail(thread, base + len(data), "the file ends inside quotes")
                thread.pos = base + stop  # read on from here when more bytes come
                return None
            after = data[quote + 1 : quote + 2] or None
            if data[quote - 1 : quote] == _BACKSLASH:
                if after in (_COMMA, _LF):
                    return [
                        self._quote_in_text(thread, base + quote),
                        *self._close(thread, base + quote, after),
                    ]
                if after is None:
                    return self._close(thread, base + quote, after)
                thread.doubled = (base + quote + 1, thread.doubled)  # \" then more text
                index = quote + 1
            elif after == _QUOTE:
                index = quote + 2  # a doubled quote
            else:
                return self._close(thread, base + quote, after)
            thread.needs_quotes = True

    @staticmethod
    def _quote_in_text(thread: Reading, quote: int) -> Reading:
        """The reading where the ``\\"`` at ``quote`` is text and the field goes on."""
        return dataclasses.replace(
            thread, pos=quote + 1, needs_quotes=True, doubled=(quote + 1, thread.doubled)
        )

    def _close(self, thread: Reading, quote: int, after: bytes | None) -> list[Reading]:
        if after not in (_COMMA, _LF, None):
            return self._fail(thread, quote, "a quote inside quotes is neither doubled nor last")
        if not thread.needs_quotes:
            return self._fail(thread, quote, "a field is quoted though nothing in it needs quotes")
        return self._field_end(thread, quote + 1, after)

    def _field_end(self, thread: Reading, at: int, after: bytes | None) -> list[Reading]:
        """The field ends at ``at``, before ``after`` (a comma, a line feed, or the file's end)."""
        fields = thread.fields + 1
        if after == _COMMA:
            if thread.width and fields >= thread.width:
                return self._fail(thread, at, f"a record has more than {thread.width} fields")
            thread.state, thread.fields, thread.pos = _FIELD, fields, at + 1
            return [thread]
        if thread.width and fields != thread.width:
            reason = f"a record has {fields} fields where the header has {thread.width}"
            return self._fail(thread, at, reason)
        start = at if after is None else at + 1
        thread.state = _DONE if after is None else _FIELD
        thread.pos, thread.fields, thread.width = start, 0, thread.width or fields
        thread.records += 1
        thread.record_start = start
        return [thread]


@cache
def _plain_record(width: int) -> re.Pattern[bytes]:
    return re.compile(_PLAIN_FIELD + rb"(?:," + _PLAIN_FIELD + rb"){%d}\n" % (width - 1))


def _skip_plain_records(thread: Reading, data: bytes, base: int) -> None:
    """Read whole records without backslashes at C speed: they have one reading only (while
    another reading lives on, the records between can be many)."""
    pattern, index, start = _plain_record(thread.width), thread.pos - base, thread.pos
    while (record := pattern.match(data, index)) is not None:
        index = record.end()
        thread.records += 1
    if base + index != start:
        thread.pos = thread.record_start = base + index

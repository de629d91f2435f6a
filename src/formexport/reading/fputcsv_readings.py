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
bytes, so two pasts reaching one state only happen in files it did not write; one is kept by a
fixed rule, the one whose list of quotes read as text sorts first). The reading settles at the
first record start, past the ``\\"`` that forked it, where every other thread has already died:
from there on one reading is left, and the quotes it read as text are the ones a standard CSV
reader needs doubled. Where that is depends on the bytes alone, never on how they arrive in
chunks or on the order threads are advanced in. Threads advance field by field with byte
searches (whole records without a backslash at once), each byte is read once per live thread,
and there are rarely more than two.
"""

from __future__ import annotations

import codecs
import dataclasses
import itertools
import re
from collections.abc import Iterable
from dataclasses import dataclass
from functools import cache

from formexport.errors import CsvFormatError

# Thread states.
_FIELD, _QUOTED, _BARE, _DONE = range(4)
# A position no reading settles past: the readings go on to the file's end.
_NEVER = 1 << 62
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
    # Record starts on its path where the reading may settle (copies of the thread there).
    starts: list[Reading] = dataclasses.field(default_factory=list)

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
        self.ended: list[Reading] = []  # dead threads whose record starts may still settle
        self.last_end = after  # where the furthest dead thread ended
        self._failure: Unreadable | None = None

    def advance(self, data: bytes, base: int, final: bool) -> Reading | None:
        """The settled reading, or None when it needs bytes past ``data`` (which starts at
        file position ``base``). Raises :class:`Unreadable` when no reading is left."""
        while (settled := self._settlement()) is None:
            alive = [t for t in self.threads if t.state != _DONE]
            if not alive:
                return self._whole_file_reading()
            thread = min(alive, key=lambda t: t.pos)
            self.threads.remove(thread)
            following = self._step(thread, data, base, final, self._beyond(thread))
            if following is None:
                self.threads.append(thread)
                return None
            for successor in following:
                self._add(successor)
        return settled

    def _beyond(self, thread: Reading) -> int:
        """Where the other threads are or ended: ``thread`` may settle only past it."""
        return max([self.last_end, *(t.pos for t in self.threads if t is not thread)])

    def _add(self, thread: Reading) -> None:
        at_start = thread.state == _DONE or (thread.state == _FIELD and thread.fields == 0)
        if at_start and thread.width and thread.pos > self._beyond(thread):
            thread.starts.append(dataclasses.replace(thread, starts=[]))
        twin = next((t for t in self.threads if t.key() == thread.key()), None)
        if twin is None:
            self.threads.append(thread)
            return
        # Two pasts for one state: keep one, the same one whatever the order they came in.
        kept, merged = sorted((twin, thread), key=doubled_positions)
        self.threads[self.threads.index(twin)] = kept
        self._end(merged, merged.pos)

    def _end(self, thread: Reading, at: int) -> None:
        """``thread`` ended at ``at``: no record start it does not pass through, up to there,
        can settle any more (so ended threads never need to be asked again)."""
        self.last_end = max(self.last_end, at)
        own = {id(s) for s in thread.starts}
        for other in (*self.threads, *self.ended):
            other.starts = [s for s in other.starts if s.pos > at or id(s) in own]
        self.ended = [t for t in self.ended if t.starts]
        if thread.starts:
            self.ended.append(thread)

    def _settlement(self) -> Reading | None:
        """The first record start where one reading is left: every live thread passes
        through it, and every other one ended before it (see :meth:`_end`)."""
        if not self.threads:
            candidates = [s for t in self.ended for s in t.starts]
        else:
            shared = set.intersection(*({id(s) for s in t.starts} for t in self.threads))
            candidates = [s for s in self.threads[0].starts if id(s) in shared]
        return min(candidates, key=lambda s: s.pos, default=None)

    def _whole_file_reading(self) -> Reading:
        """Every thread read to the end or died: a finished one, or the failure."""
        finished = sorted(self.threads, key=doubled_positions)
        if finished:
            return finished[0]  # more than one: not fputcsv output, read one way
        assert self._failure is not None
        raise self._failure

    def _fail(self, thread: Reading, offset: int, reason: str) -> list[Reading]:
        self._end(thread, offset)
        # The reading that got furthest explains the failure best.
        failure = Unreadable(offset, thread.records, thread.record_start, reason)
        rank = (offset, reason, thread.records, thread.record_start)
        if self._failure is None or rank > self._rank(self._failure):
            self._failure = failure
        return []

    @staticmethod
    def _rank(failure: Unreadable) -> tuple[int, str, int, int]:
        return failure.offset, failure.reason, failure.records, failure.record_start

    # --- one field of one thread ---------------------------------------------------------

    def _step(
        self, thread: Reading, data: bytes, base: int, final: bool, beyond: int
    ) -> list[Reading] | None:
        at_start = thread.state == _FIELD and thread.fields == 0 and thread.width
        if at_start and _skip_plain_records(thread, data, base, beyond):
            return [thread]
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
        doubled = (quote + 1, thread.doubled)
        return dataclasses.replace(
            thread, pos=quote + 1, needs_quotes=True, doubled=doubled, starts=list(thread.starts)
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


def _skip_plain_records(thread: Reading, data: bytes, base: int, beyond: int) -> bool:
    """Read whole records without backslashes at C speed (they have one reading only), up to
    the first record start past ``beyond``; whether any was read."""
    pattern, start = _plain_record(thread.width), thread.pos
    while thread.pos <= beyond and (record := pattern.match(data, thread.pos - base)):
        thread.pos = thread.record_start = base + record.end()
        thread.records += 1
    return thread.pos != start


def first_damage(blocks: Iterable[bytes]) -> Unreadable | None:
    """Where the exact reader alone, following every reading from the file's start (after a
    byte-order mark) to its end, finds that none fits: the first damage, exactly. None when the
    bytes are ``fputcsv`` output. The bytes kept start where the slowest reading is."""
    readings: Readings | None = None
    data, base = b"", 0
    for block in itertools.chain(filter(None, blocks), [b""]):
        positions = [t.pos for t in readings.threads] if readings else [base]
        keep = max(min(positions, default=base) - 1 - base, 0)
        data, base = data[keep:] + block, base + keep
        if readings is None:
            if len(data) < len(codecs.BOM_UTF8) and block:
                continue
            start = len(codecs.BOM_UTF8) if data.startswith(codecs.BOM_UTF8) else 0
            readings = Readings(start, 0, after=_NEVER)
        try:
            if readings.advance(data, base, final=not block) is not None:
                return None
        except Unreadable as exc:
            return exc
    return None

"""The export's ``id`` column: OpnForm's Hashids back to the numeric submission ids.

OpnForm encodes ``submission.id`` with the ``hashids`` package defaults (no salt, no minimum
length), so PyPI ``hashids`` decodes it: ``jR`` → 1, ``Mj3`` → 123. For these settings a hashid
is a "lottery" character (``alphabet[id % 100 % 44]``) followed by the id's base-44 digits in an
alphabet fixed by that character. The 44 digit alphabets are built once with the package's own
functions, checked against ``Hashids.decode`` when first used (and dropped if a future release
ever disagrees), and a whole column is decoded with array operations: digit values from a lookup
table, then the lottery and shortest-spelling checks that make a hashid valid.

The synchronous writer turns a hashid that looks like a number (``3e2``) into that number
(``300``). Such a cell is read as itself when that is a valid hashid, and otherwise through the
spellings that print as that number; the JSON submission ids, when known, settle it, and else
the reading nearest the export's other ids is taken. These cells, rare, are read one by one.
"""

from __future__ import annotations

import re
from collections.abc import Collection
from dataclasses import dataclass
from functools import cache
from typing import Any

from hashids import Hashids

_CHECK = (*range(1, 300), 999, 1000, 1001, 65535, 10**6, 10**9, 2**40)
_INTEGER = re.compile(r"^\d+$")
_MAX_ID = 2**63
_FLOAT = re.compile(r"^\d+(\.\d+)?(E[+-]\d+)?$")
# Cells the synchronous writer may have printed as numbers (ASCII digits; others go the slow way).
_NUMERIC_PATTERN = r"^[0-9]+(\.[0-9]+)?(E[+-][0-9]+)?$"
# 44**12 > 2**63: a hashid with more digits is not a database id.
_MAX_DIGITS = 12


@cache
def _library() -> Hashids:
    return Hashids()


@dataclass(frozen=True)
class _Alphabets:
    """The lottery characters and, for each, the alphabet of the digits that follow it."""

    lottery: str
    digits: dict[str, str]

    def decode(self, text: str) -> int | None:
        table = self.digits.get(text[:1])
        if table is None or len(text) < 2:
            return None
        size = len(table)
        number = 0
        for char in text[1:]:
            value = table.find(char)
            if value < 0:
                return None
            number = number * size + value
        # A hashid is valid only if it encodes back to itself (the package's own rule): the
        # right lottery character, and no leading zero digit.
        valid = self.lottery[number % 100 % size] == text[0]
        return number if valid and (len(text) == 2 or table[0] != text[1]) else None


@cache
def _alphabets() -> _Alphabets | None:
    """The package's alphabets for one number, or None if they cannot be used."""
    try:
        import hashids

        library: Any = _library()
        alphabet: str = library._alphabet
        size = len(alphabet)
        digits = {c: hashids._reorder(alphabet, (c + alphabet)[:size]) for c in alphabet}
    except (AttributeError, TypeError):
        return None
    found = _Alphabets(alphabet, digits)
    if any(found.decode(library.encode(n)) != n for n in _CHECK):
        return None
    return found


@cache
def _lookup() -> tuple[Any, Any] | None:
    """Lottery index per byte, and digit value at ``256 * lottery index + byte``; -1 for none."""
    import numpy as np

    found = _alphabets()
    if found is None:
        return None
    lottery = np.full(256, -1, np.int16)
    digits = np.full((len(found.lottery), 256), -1, np.int8)
    for index, char in enumerate(found.lottery):
        lottery[ord(char)] = index
        for value, digit in enumerate(found.digits[char]):
            digits[index, ord(digit)] = value
    return lottery, digits.ravel()


def decode_array(values: Any) -> tuple[Any, Any] | None:
    """Every cell of an Arrow string array decoded at once: NumPy arrays of the submission ids
    and of where they are valid ids below 2**63 (None if the fast tables cannot be used)."""
    import numpy as np

    lookup = _lookup()
    if lookup is None:
        return None
    lottery, digit_values = lookup
    base = len(digit_values) // 256
    starts, ends, data = _cells(values)
    count = ends - starts - 1
    which = lottery[data[starts]]
    ok = (count >= 1) & (count <= _MAX_DIGITS) & (which >= 0)
    # Places up to the longest cell only: ids of one export are mostly of one length.
    width = max(1, int(count.max(initial=0, where=ok)))
    # The last ``width`` bytes of each cell, by place: its digits end-aligned, and the bytes
    # before them (its lottery character, other cells) left out as leading zeros.
    window = np.lib.stride_tricks.sliding_window_view(data, width)
    tails = np.ascontiguousarray(window[np.where(ok, ends - width, 0)].T)
    codes = tails + (np.maximum(which, 0).astype(np.uint16) << 8)
    digits = digit_values.take(codes)
    first = width - count
    number = np.zeros(len(ok), np.int64)
    for place, digit in enumerate(digits):
        counted = first <= place
        ok &= (digit >= 0) | ~counted
        if place < width - 1:
            # The shortest spelling only: no leading zero digit (a lone digit may be zero).
            ok &= ~((first == place) & (digit == 0))
        value = np.where(counted, digit, 0).astype(np.int64)
        if place == _MAX_DIGITS - 1:
            # Past 2**63 - 1 is not a database id (and would not fit); below base**11 it fits.
            ok &= number <= (_MAX_ID - 1 - value) // base
        number = number * base + value
    number[~ok] = 0
    ok &= which == number % 100 % base
    return number, ok


def _cells(values: Any) -> tuple[Any, Any, Any]:
    """Where each cell starts and ends in the returned bytes (both 0 for a missing cell), which
    begin with _MAX_DIGITS zero bytes (every cell has that many before its end) and end with
    one (every cell, even an empty one, starts at a byte)."""
    import numpy as np
    import pyarrow as pa

    if values.type != pa.large_string():
        values = values.cast(pa.large_string())
    _, offset_buffer, data_buffer = values.buffers()
    offsets = np.frombuffer(offset_buffer, np.int64)[values.offset :][: len(values) + 1]
    first, last = (int(offsets[0]), int(offsets[-1])) if len(values) else (0, 0)
    data = np.zeros(_MAX_DIGITS + last - first + 1, np.uint8)
    if data_buffer is not None:
        data[_MAX_DIGITS:-1] = np.frombuffer(data_buffer, np.uint8)[first:last]
    valid = values.is_valid().to_numpy(zero_copy_only=False)
    starts = np.where(valid, offsets[:-1] - first + _MAX_DIGITS, 0)
    ends = np.where(valid, offsets[1:] - first + _MAX_DIGITS, 0)
    return starts, ends, data


def decode_one(text: str) -> int | None:
    """The submission id of one hashid, or None when it is not a valid one."""
    fast = _alphabets()
    if fast is not None:
        return fast.decode(text)
    numbers = _library().decode(text)
    return int(numbers[0]) if len(numbers) == 1 else None


def _spellings(number_text: str) -> list[str]:
    """Hashids the synchronous writer may have printed as ``number_text``."""
    if _FLOAT.match(number_text) and not _INTEGER.match(number_text):
        value = float(number_text)
    elif _INTEGER.match(number_text):
        value = float(int(number_text))
    else:
        return []
    found = []
    for exponent in range(0, 100):
        mantissa = value / 10**exponent
        if mantissa < 1:
            break
        if mantissa != int(mantissa):
            continue
        for letter in "eE":
            for power in (str(exponent), f"{exponent:02d}"):
                found.append(f"{int(mantissa)}{letter}{power}")
    return found


def readings(text: str | None, *, coerced: bool, known: Collection[int] | None = None) -> set[int]:
    """Every submission id an ``id`` cell may stand for (one, almost always).

    Parameters
    ----------
    text : str or None
        The cell.
    coerced : bool
        True for the synchronous writer, which prints numeric-looking hashids as numbers.
    known : collection of int, optional
        Submission ids known to exist (from the JSON list): when some readings are among them,
        the others are dropped.
    """
    if not text:
        return set()
    direct = decode_one(text)
    if not coerced or not (_INTEGER.match(text) or _FLOAT.match(text)):
        found = {direct} if direct is not None else set()
    elif direct is not None and known is None:
        # Digits-only hashids are printed unchanged, and are far likelier than a spelling
        # such as "163e0"; over the first 300 000 ids this rule never picks a wrong one.
        found = {direct}
    else:
        found = {n for s in [text, *_spellings(text)] if (n := decode_one(s)) is not None}
    # Submission ids are database integers: a longer "hashid" is something else.
    found = {n for n in found if n < _MAX_ID}
    if known is None:
        return found
    # Known ids settle between readings. A submission the JSON list did not hold (deleted, or
    # added, between the export and the listing) is read as if nothing were known: never lost.
    return {n for n in found if n in known} or readings(text, coerced=coerced)


def decode(text: str | None, *, coerced: bool, known: Collection[int] | None = None) -> int | None:
    """The submission id behind an ``id`` cell, or None when there is not exactly one."""
    found = readings(text, coerced=coerced, known=known)
    return found.pop() if len(found) == 1 else None


class IdColumn:
    """The ``id`` column as served, plus the decoded ``submission_id``.

    Parameters
    ----------
    coerced : bool
        True for the synchronous writer (numeric-looking hashids were printed as numbers).
    known : collection of int, optional
        Existing submission ids (from the JSON list), to settle ambiguous cells.
    """

    def __init__(self, *, coerced: bool, known: Collection[int] | None = None) -> None:
        self.coerced, self.known = coerced, known
        self.undecoded: list[str] = []

    def types(self) -> list[Any]:
        """Arrow types: the id text and the 64-bit submission id."""
        import pyarrow as pa

        return [pa.string(), pa.int64()]

    def convert(self, values: Any) -> list[Any]:
        """Arrays for one block of ``id`` cells."""
        import numpy as np
        import pyarrow as pa
        import pyarrow.compute as pc

        decoded = decode_array(values)
        if decoded is None:
            numbers, ok = np.zeros(len(values), np.int64), np.zeros(len(values), bool)
            slow = np.ones(len(values), bool)
        else:
            numbers, ok = decoded
            slow = np.zeros(len(values), bool)
            if self.coerced:
                # Hashids the synchronous writer may have printed as numbers have other readings.
                looks_numeric = pc.or_(
                    pc.match_substring_regex(values, _NUMERIC_PATTERN),
                    pc.invert(pc.string_is_ascii(values)),
                )
                slow = pc.fill_null(looks_numeric, False).to_numpy(zero_copy_only=False)
        ok &= ~slow
        if slow.any():
            numbers, ok = self._read_slowly(values, slow, numbers, ok)
        present = pc.fill_null(pc.not_equal(values, pa.scalar("")), False)
        missing = ~ok & present.to_numpy(zero_copy_only=False)
        if missing.any():
            self.undecoded.extend(values.filter(pa.array(missing)).to_pylist())
        return [values, pa.array(numbers, pa.int64(), mask=~ok)]

    def _read_slowly(self, values: Any, slow: Any, numbers: Any, ok: Any) -> tuple[Any, Any]:
        """Read the cells marked ``slow`` one by one, with every reading they may have."""
        import numpy as np

        numbers, ok = numbers.copy(), ok.copy()
        where = np.flatnonzero(slow)
        texts = values.take(where).to_pylist()
        found = [readings(t, coerced=self.coerced, known=self.known) for t in texts]
        several = []
        for index, options in zip(where.tolist(), found, strict=True):
            if len(options) == 1:
                numbers[index], ok[index] = next(iter(options)), True
            elif options:
                several.append((index, options))
        if several:
            # Submissions of one export have neighbouring ids: take the nearest reading.
            single = np.sort(numbers[ok])
            middle = int(single[len(single) // 2]) if len(single) else 0
            for index, options in several:
                numbers[index] = min(options, key=lambda n: (abs(n - middle), n))
                ok[index] = True
        return numbers, ok

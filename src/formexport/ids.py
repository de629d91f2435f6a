"""The export's ``id`` column: OpnForm's Hashids back to the numeric submission ids.

OpnForm encodes ``submission.id`` with the ``hashids`` package defaults (no salt, no minimum
length), so PyPI ``hashids`` decodes it: ``jR`` → 1, ``Mj3`` → 123. The package rebuilds its
alphabet on every call (about 35 µs); for these settings that alphabet depends only on the
first character, so each of the 49 possible alphabets is built once with the package's own
functions and kept. The shortcut is checked against ``Hashids.decode`` when first used and
dropped if a future release ever disagrees.

The synchronous writer turns a hashid that looks like a number (``3e2``) into that number
(``300``). Such a cell is read as itself when that is a valid hashid, and otherwise through the
spellings that print as that number; the JSON submission ids, when known, settle it, and else
the reading nearest the export's other ids is taken.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Collection
from functools import cache
from typing import Any

from hashids import Hashids

_CHECK = (*range(1, 300), 999, 1000, 1001, 65535, 10**6, 10**9, 2**40)
_INTEGER = re.compile(r"^\d+$")
_MAX_ID = 2**63
_FLOAT = re.compile(r"^\d+(\.\d+)?(E[+-]\d+)?$")


@cache
def _library() -> Hashids:
    return Hashids()


@cache
def _fast_decoder() -> Callable[[str], int | None] | None:
    """A per-first-character cache of the package's alphabets, or None if it cannot be used."""
    try:
        import hashids

        library: Any = _library()
        alphabet: str = library._alphabet
        size = len(alphabet)
        tables = {c: hashids._reorder(alphabet, (c + alphabet)[:size]) for c in alphabet}
        unhash = hashids._unhash
    except (AttributeError, TypeError):
        return None

    def decode(text: str) -> int | None:
        table = tables.get(text[:1])
        if table is None or len(text) < 2:
            return None
        try:
            number = int(unhash(text[1:], table))
        except ValueError:
            return None
        # A hashid is valid only if it encodes back to itself (the package's own rule).
        lottery = alphabet[number % 100 % size]
        valid = lottery == text[0] and _encode_tail(number, tables[lottery]) == text[1:]
        return number if valid else None

    if any(decode(library.encode(n)) != n for n in _CHECK):
        return None
    return decode


def _encode_tail(number: int, table: str) -> str:
    size = len(table)
    digits = ""
    while True:
        digits = table[number % size] + digits
        number //= size
        if not number:
            return digits


def decode_one(text: str) -> int | None:
    """The submission id of one hashid, or None when it is not a valid one."""
    fast = _fast_decoder()
    if fast is not None:
        return fast(text)
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
        Submission ids known to exist (from the JSON list); other readings are dropped.
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
    return found if known is None else {n for n in found if n in known}


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
        import pyarrow as pa

        cells = values.to_pylist()
        found = [readings(t, coerced=self.coerced, known=self.known) for t in cells]
        numbers = [next(iter(f)) if len(f) == 1 else None for f in found]
        decoded = sorted(n for n in numbers if n is not None)
        middle = decoded[len(decoded) // 2] if decoded else 0
        for index, (text, options) in enumerate(zip(cells, found, strict=True)):
            if len(options) > 1:
                # Submissions of one export have neighbouring ids: take the nearest reading.
                numbers[index] = min(options, key=lambda n: (abs(n - middle), n))
            elif not options and text:
                self.undecoded.append(text)
        return [values, pa.array(numbers, pa.int64())]

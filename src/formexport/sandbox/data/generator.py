"""Deterministic, lazily generated submissions with realistic values per field type.

A :class:`GeneratedBatch` stands for ``count`` submissions without storing them: rows are
built 500 at a time from ``random.Random(f"{seed}:{chunk}")`` when something reads them,
and a few recent chunks are cached. Creation times grow with the id, so "newest first"
is simply "highest id first". A million-row form therefore costs nothing to add; only
an export of it pays for generating (and formatting) the rows.
"""

from __future__ import annotations

import random
import threading
import uuid
from collections import OrderedDict
from collections.abc import Callable
from functools import cache
from typing import Any

from formexport.sandbox.data.fields import Submission, is_layout, option_names

CHUNK = 500
_POOL_SIZE = 4096
_CACHED_CHUNKS = 8
_MISSING: Any = object()

Maker = Callable[[random.Random], Any]

_PEOPLE = (
    ("Jane", "Smith"),
    ("John", "Doe"),
    ("José", "García"),
    ("Zoë", "O'Brien"),
    ("Li", "Wei"),
    ("Mary-Ann", "Jones"),
    ("Amélie", "Dubois"),
    ("Kwame", "Mensah"),
    ("Anna", "Kowalska"),
    ("Ravi", "Patel"),
)
_ASCII = str.maketrans("éèëçöüáí'", "eeecouai ")
_COMMENTS = (
    "Great service!",
    "Line one\nLine two",
    'He said "wow", then left.',
    "   leading spaces",
    "Loved it 😀",
    'Path C:\\temp\\"quoted"',
    "a, b, c",
    "=1+2",
    "1e3",
    "007",
    "Tab\tseparated",
    "Café au lait",
    "",
    "Multi\r\nline with CRLF",
    "Trailing backslash \\",
)
_PHRASES = ("Quick question", "See attached", "N/A", "Thanks a lot", "Looking forward")
_ZIPS = ("01234", "75011", "00501", "10115", "94103", "02139")
_NUMBERS = (0, 1.5, 2, 10, 12.99, 100, 250.0, 0.5, 1999.99, 3)
_SOURCES = ("newsletter", "google", "facebook", "linkedin")
_FILES = (("cv", "pdf"), ("photo", "jpg"), ("report", "docx"), ("scan", "png"))


def _person(rng: random.Random) -> tuple[str, str]:
    return _PEOPLE[int(rng.random() * len(_PEOPLE))]


def _pick(pool: tuple[Any, ...] | list[Any]) -> Maker:
    size = len(pool)
    return lambda rng: pool[int(rng.random() * size)]


def _sometimes(rate: float, maker: Maker) -> Maker:
    """Leave a field unanswered with probability ``rate``."""
    return lambda rng: _MISSING if rng.random() < rate else maker(rng)


def _email(rng: random.Random) -> str:
    first, last = _person(rng)
    local = f"{first}.{last}".translate(_ASCII).replace(" ", "").lower()
    return f"{local}{int(rng.random() * 100)}@example.com"


def _phone(rng: random.Random) -> str:
    digits = f"{int(rng.random() * 10**8):08d}"
    return ("+336", "06", "+1415")[int(rng.random() * 3)] + digits


def _stored_name(rng: random.Random, stem: str, ext: str) -> str:
    """``<stem>_<uuid4>.<ext>``, as OpnForm stores uploads."""
    return f"{stem}_{uuid.UUID(int=rng.getrandbits(128), version=4)}.{ext}"


def _files(rng: random.Random) -> list[str]:
    picks = [_FILES[int(rng.random() * len(_FILES))] for _ in range(1 + (rng.random() < 0.3))]
    return [_stored_name(rng, stem, ext) for stem, ext in picks]


def _date(rng: random.Random, day: int, with_time: bool) -> str:
    hour, minute = (int(rng.random() * 24), int(rng.random() * 4) * 15) if with_time else (0, 0)
    return f"2026-08-{day:02d}T{hour:02d}:{minute:02d}:00+02:00"


def _date_range(rng: random.Random, with_time: bool) -> list[str]:
    start = 1 + int(rng.random() * 25)
    return [_date(rng, start, with_time), _date(rng, start + int(rng.random() * 5), with_time)]


_BUILDERS: dict[str, Maker] = {
    "name": lambda rng: " ".join(_person(rng)),
    "email": _email,
    "phone": _phone,
    "files": _files,
    "signature": lambda rng: _stored_name(rng, "sign", "png"),
    "date": lambda rng: _date(rng, 1 + int(rng.random() * 30), False),
    "date+time": lambda rng: _date(rng, 1 + int(rng.random() * 30), True),
    "range": lambda rng: _date_range(rng, False),
    "range+time": lambda rng: _date_range(rng, True),
}


@cache
def _pool(kind: str) -> tuple[Any, ...]:
    """Values drawn once from a fixed seed; rows pick from them (drawing costs µs per row)."""
    rng = random.Random(f"pool:{kind}")
    return tuple(_BUILDERS[kind](rng) for _ in range(_POOL_SIZE))


def _pooled(kind: str) -> Maker:
    """Pick from a pool, built on first use (not at import)."""
    return lambda rng: _pool(kind)[int(rng.random() * _POOL_SIZE)]


def _date_maker(field: dict[str, Any]) -> Maker:
    kind = "range" if field.get("date_range") else "date"
    return _pooled(kind + ("+time" if field.get("with_time") else ""))


def _choices_maker(field: dict[str, Any], multiple: bool) -> Maker:
    names = option_names(field) or ["Yes", "No"]
    if not multiple:
        return _pick(names)

    def several(rng: random.Random) -> list[str]:
        return [name for name in names if rng.random() < 0.35]

    return several


def _matrix_maker(field: dict[str, Any]) -> Maker:
    rows = [str(r) for r in field.get("rows", ())]
    columns = [str(c) for c in field.get("columns", ())] or ["Yes"]
    pick = _pick(columns)
    return lambda rng: {row: (None if rng.random() < 0.15 else pick(rng)) for row in rows}


def _text_maker(name: str) -> Maker:
    lowered = name.lower()
    if "name" in lowered:
        return _pooled("name")
    if "zip" in lowered or "postal" in lowered:
        return _pick(_ZIPS)
    if any(word in lowered for word in ("comment", "message", "feedback", "note")):
        return _sometimes(0.1, _pick(_COMMENTS))
    return _pick(_PHRASES)


_SIMPLE: dict[str, Maker] = {
    "email": _pooled("email"),
    "phone_number": _pooled("phone"),
    "url": lambda rng: f"https://example.com/p/{int(rng.random() * 1000)}",
    "rich_text": lambda rng: f"<p>Hello <strong>{_person(rng)[0]}</strong></p>",
    "number": _pick(_NUMBERS),
    "rating": lambda rng: 1 + int(rng.random() * 5),
    "scale": lambda rng: 1 + int(rng.random() * 10),
    "slider": lambda rng: int(rng.random() * 101),
    "checkbox": lambda rng: rng.random() < 0.5,
    "toggle_switch": lambda rng: rng.random() < 0.5,
    "files": _sometimes(0.3, _pooled("files")),
    "signature": _sometimes(0.2, _pooled("signature")),
    "barcode": lambda rng: f"{4006381333931 + int(rng.random() * 1000)}",
    "qrcode": lambda rng: f"https://example.com/t/{int(rng.random() * 10**6)}",
    "password": _pick(("hunter2", "s3cr3t!")),
    "payment": lambda rng: f"pi_{rng.getrandbits(48):012x}",
}


def maker_for(field: dict[str, Any]) -> Maker:
    """A function drawing one realistic stored value for a field."""
    kind = str(field.get("type", "text"))
    if kind in ("select", "radio"):
        return _choices_maker(field, multiple=False)
    if kind == "multi_select":
        return _choices_maker(field, multiple=True)
    if kind == "matrix":
        return _matrix_maker(field)
    if kind == "date":
        return _date_maker(field)
    return _SIMPLE.get(kind) or _text_maker(str(field.get("name", "")))


class GeneratedBatch:
    """``count`` submissions of one form, generated on demand from ``seed``.

    Parameters
    ----------
    form_id, first_id, count : int
        The form and the database ids ``first_id .. first_id + count - 1``.
    fields : list of dict
        Blocks that receive values (current and removed fields).
    seed : int
        Same seed, same fields → same rows.
    partial_rate : float
        Share of partial submissions (they answer only the first half of the fields).
    base_time : int
        ``created_at`` of the first row; later rows are spread over ``span`` seconds.
    """

    def __init__(
        self,
        *,
        form_id: int,
        first_id: int,
        count: int,
        fields: list[dict[str, Any]],
        seed: int,
        partial_rate: float,
        base_time: int,
        span: int = 30 * 86400,
    ) -> None:
        self.form_id, self.first_id, self.count = form_id, first_id, count
        self.last_id = first_id + count - 1
        self.step = max(1, span // max(count, 1))
        self._base, self._seed, self._partial_rate = base_time, seed, partial_rate
        self._makers = [(str(f["id"]), maker_for(f)) for f in fields if not is_layout(f)]
        self._chunks: OrderedDict[int, list[Submission]] = OrderedDict()
        self._flags: bytearray | None = None
        self._lock = threading.Lock()

    def index_of(self, submission_id: int) -> int | None:
        """Position of a database id in this batch, or None."""
        index = submission_id - self.first_id
        return index if 0 <= index < self.count else None

    def created_at(self, index: int) -> int:
        """Creation time of row ``index``; strictly increasing with the index."""
        jitter = (index * 2654435761) % self.step if self.step > 1 else 0
        return self._base + index * self.step + jitter

    def flags(self) -> bytearray:
        """One byte per row, 1 for partial submissions (computed once)."""
        with self._lock:
            if self._flags is None:
                flags = bytearray()
                for chunk in range(0, (self.count + CHUNK - 1) // CHUNK):
                    flags += self._chunk_flags(chunk)
                self._flags = flags
            return self._flags

    def row(self, index: int) -> Submission:
        """The submission at ``index`` (0 = oldest)."""
        chunk, offset = divmod(index, CHUNK)
        with self._lock:
            rows = self._chunks.get(chunk)
            if rows is not None:
                self._chunks.move_to_end(chunk)
                return rows[offset]
        rows = self._generate(chunk)
        with self._lock:
            self._chunks[chunk] = rows
            while len(self._chunks) > _CACHED_CHUNKS:
                self._chunks.popitem(last=False)
        return rows[offset]

    def _chunk_size(self, chunk: int) -> int:
        return min(CHUNK, self.count - chunk * CHUNK)

    def _chunk_flags(self, chunk: int) -> bytearray:
        size = self._chunk_size(chunk)
        if self._partial_rate <= 0:
            return bytearray(size)
        rng = random.Random(f"partial:{self._seed}:{chunk}")
        return bytearray(rng.random() < self._partial_rate for _ in range(size))

    def _generate(self, chunk: int) -> list[Submission]:
        rng = random.Random(f"{self._seed}:{chunk}")
        flags = self._chunk_flags(chunk)
        keep_partial = (len(self._makers) + 1) // 2
        rows = []
        for offset, partial in enumerate(flags):
            index = chunk * CHUNK + offset
            makers = self._makers[:keep_partial] if partial else self._makers
            data = {fid: value for fid, make in makers if (value := make(rng)) is not _MISSING}
            rows.append(
                Submission(
                    id=self.first_id + index,
                    form_id=self.form_id,
                    data=data,
                    partial=bool(partial),
                    created_at=self.created_at(index),
                    meta=_attribution(rng),
                    completion_time=None if partial else 20 + int(rng.random() * 880),
                )
            )
        return rows


class Answers:
    """Generated answers to a form's fields, one submission at a time (for rows added later).

    Parameters
    ----------
    fields : list of dict
        Blocks that receive values (current and removed fields).
    seed : int or str
        Same seed, same fields → the same sequence of answers.
    partial_rate : float
        Share of partial submissions (they answer only the first half of the fields).
    """

    def __init__(self, fields: list[dict[str, Any]], seed: int | str, partial_rate: float) -> None:
        self._makers = [(str(f["id"]), maker_for(f)) for f in fields if not is_layout(f)]
        self._rng = random.Random(f"answers:{seed}")
        self._partial_rate = partial_rate
        self._lock = threading.Lock()

    def __call__(self) -> tuple[dict[str, Any], bool, dict[str, Any] | None]:
        """``(data, partial, meta)`` of the next submission."""
        with self._lock:
            rng = self._rng
            partial = self._partial_rate > 0 and rng.random() < self._partial_rate
            makers = self._makers[: (len(self._makers) + 1) // 2] if partial else self._makers
            data = {fid: value for fid, make in makers if (value := make(rng)) is not _MISSING}
            return data, partial, _attribution(rng)


def _attribution(rng: random.Random) -> dict[str, Any] | None:
    if rng.random() >= 0.25:
        return None
    attribution = {"utm_source": _SOURCES[int(rng.random() * len(_SOURCES))]}
    if rng.random() < 0.5:
        attribution["utm_campaign"] = "summer-2026"
    return {"attribution": attribution}

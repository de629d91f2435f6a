"""Sandbox time: the real wall clock plus an offset that tests move forward.

Everything that expires in the emulator (signed links, job status entries, rate-limit
windows, timed job steps) reads :meth:`Clock.now`, so ``clock.advance(7200)`` makes two
hours pass without sleeping. The formatting helpers reproduce the timestamp shapes
OpnForm's PHP code emits.
"""

from __future__ import annotations

import math
import threading
import time
from datetime import datetime, timezone
from functools import lru_cache


class Clock:
    """Real time plus an adjustable offset.

    Examples
    --------
    >>> clock = Clock()
    >>> before = clock.now()
    >>> after = clock.advance(60)
    >>> after - before >= 60
    True
    """

    def __init__(self) -> None:
        self._offset = 0.0
        self._lock = threading.Lock()

    @property
    def offset(self) -> float:
        """Seconds added to the wall clock so far."""
        return self._offset

    def now(self) -> float:
        """The sandbox time, as Unix seconds."""
        return time.time() + self._offset

    def advance(self, seconds: float) -> float:
        """Move the sandbox time forward by ``seconds`` and return the new time.

        Parameters
        ----------
        seconds : float
            A finite, non-negative number of seconds.
        """
        if not math.isfinite(seconds) or seconds < 0:
            raise ValueError(f"seconds must be finite and >= 0, got {seconds!r}")
        with self._lock:
            self._offset += seconds
        return self.now()

    def reset(self) -> None:
        """Go back to the real wall clock."""
        with self._lock:
            self._offset = 0.0


def utc(ts: float) -> datetime:
    """A timezone-aware UTC datetime for Unix seconds."""
    return datetime.fromtimestamp(ts, timezone.utc)


def iso_micro(ts: float) -> str:
    """Carbon ``toISOString()``: ``2026-08-22T10:15:30.123456Z``."""
    return utc(ts).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def iso_model(ts: float) -> str:
    """A model timestamp (stored with second precision): ``…T10:15:30.000000Z``."""
    return iso_micro(math.floor(ts))


def iso_offset(ts: float) -> str:
    """ISO-8601 with an offset, as ``FormListResource`` prints: ``…T10:00:00+00:00``."""
    return utc(math.floor(ts)).isoformat()


@lru_cache(maxsize=4096)
def _day(day: int) -> str:
    return utc(day * 86400).strftime("%Y-%m-%d")


_MINUTES: dict[int, str] = {}


def ymd_hi(ts: float) -> str:
    """The export's ``created_at`` cell: ``Y-m-d H:i`` in UTC (hot: one per exported row)."""
    minutes = int(ts) // 60
    text = _MINUTES.get(minutes)
    if text is None:
        day, minute_of_day = divmod(minutes, 1440)
        text = f"{_day(day)} {minute_of_day // 60:02d}:{minute_of_day % 60:02d}"
        if len(_MINUTES) < 200_000:
            _MINUTES[minutes] = text
    return text


def ymd_his(ts: float) -> str:
    """``Y-m-d H:i:s`` in UTC, as the JSON submissions list prints ``created_at``."""
    return utc(math.floor(ts)).strftime("%Y-%m-%d %H:%M:%S")


def file_stamp(ts: float) -> str:
    """The time part of an export file name: ``Y-m-d-H-i-s``."""
    return utc(math.floor(ts)).strftime("%Y-%m-%d-%H-%M-%S")


def amz_date(ts: float) -> str:
    """An ``X-Amz-Date`` value: ``20260822T101530Z``."""
    return utc(math.floor(ts)).strftime("%Y%m%dT%H%M%SZ")


def http_date(ts: float) -> str:
    """An RFC 7231 date for ``Last-Modified``."""
    return utc(math.floor(ts)).strftime("%a, %d %b %Y %H:%M:%S GMT")


def to_timestamp(value: datetime | str | float) -> float:
    """Unix seconds from a datetime (naive means UTC), an ISO string or a number."""
    if isinstance(value, (int, float)):
        return float(value)
    if isinstance(value, str):
        text = value.strip().replace(" ", "T", 1)
        if text.endswith("Z"):
            text = text[:-1] + "+00:00"
        value = datetime.fromisoformat(text)
    if value.tzinfo is None:
        value = value.replace(tzinfo=timezone.utc)
    return value.timestamp()

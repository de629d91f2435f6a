"""Forms that keep living while they are exported: submissions arriving, old ones deleted.

An :class:`ArrivalFeed` adds a generated submission to a form at a steady rate on a thread of
its own, as respondents would, until it is stopped or has added ``count`` rows. The retention
job is OpnForm's hourly ``forms:purge-expired-submissions``: every form with a
``submission_retention_value`` / ``_unit`` loses the submissions last updated at or before the
cutoff (the emulator's submissions are never edited, so that is their ``created_at``).
"""

from __future__ import annotations

import calendar
import threading
import time
from collections.abc import Callable
from datetime import datetime, timedelta, timezone
from types import TracebackType

#: ``submission_retention_unit`` values (``Form::SUBMISSION_RETENTION_UNITS``).
RETENTION_UNITS = ("day", "week", "month", "year")
#: OpnForm's validation of ``submission_retention_value``.
RETENTION_MAX = 3650


class ArrivalFeed:
    """Calls ``add`` every ``every`` seconds on a daemon thread; keeps the ids it returns.

    Parameters
    ----------
    add : callable
        Stores one submission and returns its id (it takes the backend's lock itself); a
        ``KeyError`` (the form is gone, after a reset) ends the feed.
    every : float
        Seconds between two arrivals, real time (the sandbox clock's offset does not matter).
    count : int, optional
        Stop after this many arrivals; ``None`` runs until :meth:`stop`.

    Notes
    -----
    Used as a context manager, it stops when the block ends.
    """

    def __init__(self, add: Callable[[], int], every: float, count: int | None = None) -> None:
        if not every > 0:
            raise ValueError(f"every must be > 0 seconds, got {every!r}")
        if count is not None and count < 0:
            raise ValueError(f"count must be >= 0, got {count!r}")
        self.every, self.count = float(every), count
        self._add = add
        self._ids: list[int] = []
        self._times: list[float] = []
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="sandbox-arrivals", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        began = time.monotonic()
        arrived = 0
        while self.count is None or arrived < self.count:
            # Paced from the start, so a slow add does not slow the rate down.
            if self._stop.wait(max(0.0, began + (arrived + 1) * self.every - time.monotonic())):
                return
            try:
                submission_id = self._add()
            except KeyError:
                return
            with self._lock:
                self._ids.append(submission_id)
                self._times.append(time.monotonic())
            arrived += 1

    @property
    def running(self) -> bool:
        """Whether more submissions will arrive."""
        return self._thread.is_alive()

    @property
    def ids(self) -> list[int]:
        """Ids of the submissions added so far, oldest first."""
        with self._lock:
            return list(self._ids)

    @property
    def times(self) -> list[float]:
        """When each arrived, as :func:`time.monotonic` seconds (``RecordedRequest.at``'s
        clock: the request log shows which requests they fell between)."""
        with self._lock:
            return list(self._times)

    def stop(self) -> list[int]:
        """Stop adding (waits for an arrival under way); return every id added."""
        self._stop.set()
        self._thread.join()
        return self.ids

    def __enter__(self) -> ArrivalFeed:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.stop()

    def __repr__(self) -> str:
        state = "running" if self.running else "stopped"
        return f"<ArrivalFeed every {self.every:g} s, {len(self.ids)} added, {state}>"


def check_retention(value: int | None, unit: str | None) -> tuple[int, str] | None:
    """OpnForm's validation: both or neither; 1 to 3650 of day, week, month or year."""
    if value is None and unit is None:
        return None
    if value is None or unit is None:
        raise ValueError("submission_retention_value and _unit go together")
    if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= RETENTION_MAX:
        raise ValueError(f"submission_retention_value must be an integer from 1 to {RETENTION_MAX}")
    if unit not in RETENTION_UNITS:
        raise ValueError(f"submission_retention_unit must be one of {', '.join(RETENTION_UNITS)}")
    return value, unit


def retention_cutoff(now: float, value: int, unit: str) -> float:
    """``SubmissionRetentionService::cutoff``: Carbon's ``subDays``, ``subWeeks``,
    ``subMonthsNoOverflow`` and ``subYearsNoOverflow`` (a missing day becomes the month's last)."""
    moment = datetime.fromtimestamp(now, timezone.utc)
    if unit in ("day", "week"):
        return (moment - timedelta(days=value * (7 if unit == "week" else 1))).timestamp()
    months = value * (12 if unit == "year" else 1)
    year, month = divmod(moment.year * 12 + moment.month - 1 - months, 12)
    day = min(moment.day, calendar.monthrange(year, month + 1)[1])
    return moment.replace(year=year, month=month + 1, day=day).timestamp()

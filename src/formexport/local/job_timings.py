"""How long earlier server jobs took on each server, to forecast the end of the next one.

Every server job this machine waited for to the end leaves a :class:`JobTiming`: how many rows
it exported, how long it took from the export request to its completion, how long of that it
was queued, and how long its file took after the last chunk of rows. The status polling
(:mod:`formexport.jobs.poll_schedule`) reads them through :class:`TimingForecast` to ask about a
new job just when it should be done, before the server has said anything about it.

They are kept in ``job_timings.json`` of the private folder (:mod:`formexport.local.folder`,
``0600``), keyed by the server's URL spelled one way
(:func:`~formexport.local.folder.canonical_server`): at most
:data:`~formexport.config.TIMINGS_PER_SERVER` jobs for each of
:data:`~formexport.config.TIMED_SERVERS` servers, none older than
:data:`~formexport.config.TIMING_MAX_AGE`. Only rows and seconds: never a token, a job id, a
form or any exported data.
"""

from __future__ import annotations

import logging
import math
import statistics
import threading
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

from formexport import config
from formexport.local import folder
from formexport.local.convenience_file import ConvenienceFile
from formexport.opnform.models import parse_timestamp

FILE_NAME = "job_timings.json"
FORMAT_VERSION = 1
# A forecast for N rows scales the runs of the earlier jobs closest in size.
_NEAREST = 5
_LOCK = threading.RLock()


@dataclass(frozen=True)
class JobTiming:
    """One finished server job, in seconds of the server's own clock.

    Attributes
    ----------
    rows : int
        Rows it exported.
    seconds : float
        From the export request (``created_at``) to completion.
    queued : float or None
        Of those, the wait for a queue worker, when the statuses showed it.
    tail_share : float or None
        The time from the last chunk of rows to completion (the file being written), as a
        share of the time the chunks took, when the statuses showed it.
    finished : datetime
        When it completed (UTC), to let old timings go.
    """

    rows: int
    seconds: float
    queued: float | None = None
    tail_share: float | None = None
    finished: datetime | None = None

    @property
    def run(self) -> float:
        """Seconds from a worker picking the job up to completion (all of it when unknown)."""
        return max(0.0, self.seconds - (self.queued or 0.0))

    def to_json(self) -> dict[str, Any]:
        """A JSON-ready dict."""
        return {
            "rows": self.rows,
            "seconds": round(self.seconds, 4),
            "queued": None if self.queued is None else round(self.queued, 4),
            "tail_share": None if self.tail_share is None else round(self.tail_share, 4),
            "finished": self.finished.isoformat() if self.finished else None,
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> JobTiming:
        """Read one entry; ``ValueError`` for a damaged one."""
        timing = cls(
            rows=int(data["rows"]),
            seconds=float(data["seconds"]),
            queued=_optional_seconds(data.get("queued")),
            tail_share=_optional_seconds(data.get("tail_share")),
            finished=parse_timestamp(data.get("finished")),
        )
        if timing.rows <= 0 or not (math.isfinite(timing.seconds) and timing.seconds >= 0):
            raise ValueError(f"not a job timing: {data!r}")
        return timing


def _optional_seconds(value: object) -> float | None:
    if value is None:
        return None
    number = float(value)  # type: ignore[arg-type]
    if not (math.isfinite(number) and number >= 0):
        raise ValueError(f"not a number of seconds: {value!r}")
    return number


@dataclass(frozen=True)
class TimingForecast:
    """What the earlier jobs on one server say about the next one.

    Examples
    --------
    >>> earlier = (JobTiming(rows=20_000, seconds=4.0, queued=1.0),)
    >>> forecast = TimingForecast(earlier)
    >>> forecast.queued, forecast.run_seconds(10_000), forecast.seconds(10_000)
    (1.0, 1.5, 2.5)
    """

    timings: tuple[JobTiming, ...]

    @property
    def queued(self) -> float | None:
        """The typical wait for a queue worker (the median of those seen), or None."""
        seen = [t.queued for t in self.timings if t.queued is not None]
        return statistics.median(seen) if seen else None

    @property
    def tail_share(self) -> float | None:
        """The typical time after the last chunk, as a share of the chunks' time, or None."""
        seen = [t.tail_share for t in self.timings if t.tail_share is not None]
        return statistics.median(seen) if seen else None

    def run_seconds(self, rows: int) -> float | None:
        """Seconds a job of ``rows`` rows should run once picked up: the runs of the earlier
        jobs closest in size, each scaled to ``rows`` at its own rows per second, and the
        median of those. None without an earlier job or a number of rows."""
        if rows <= 0 or not self.timings:
            return None
        queued = self.queued
        nearest = sorted(self.timings, key=lambda t: abs(math.log(t.rows / rows)))[:_NEAREST]
        scaled = [_run(t, queued) * rows / t.rows for t in nearest]
        return statistics.median(scaled)

    def seconds(self, rows: int) -> float | None:
        """Seconds from the export request to completion for ``rows`` rows, or None."""
        run = self.run_seconds(rows)
        return None if run is None else (self.queued or 0.0) + run


def _run(timing: JobTiming, queued: float | None) -> float:
    """The run of ``timing``; where its wait in the queue was not seen, the typical one."""
    if timing.queued is not None or queued is None:
        return timing.run
    return max(0.0, timing.seconds - queued)


class JobTimings:
    """The timing file: read whole, changed, written back atomically (it stays small).

    Parameters
    ----------
    root : Path, optional
        The folder; :func:`formexport.local.folder.root_dir` by default.
    """

    def __init__(self, root: Path | None = None) -> None:
        # A damaged or unwritable file only costs one job asked about at the docs' pace.
        self._file = ConvenienceFile(
            (root or folder.root_dir()) / FILE_NAME,
            FORMAT_VERSION,
            what="job timings",
            level=logging.INFO,
        )

    @property
    def path(self) -> Path:
        """Where the timings are kept."""
        return self._file.path

    def of(self, server: str) -> list[JobTiming]:
        """The timings recorded for ``server``, newest first."""
        return self._read().get(folder.canonical_server(server), [])

    def forecast(self, server: str) -> TimingForecast | None:
        """What the earlier jobs on ``server`` say, or None when none was recorded."""
        timings = self.of(server)
        return TimingForecast(tuple(timings)) if timings else None

    def add(self, server: str, timing: JobTiming) -> None:
        """Record a finished job of ``server``; drop the oldest beyond the bounds."""
        key = folder.canonical_server(server)
        now = datetime.now(timezone.utc)
        with _LOCK:
            servers = self._read()
            servers[key] = [timing, *servers.get(key, [])][: config.TIMINGS_PER_SERVER]
            fresh = {
                name: kept
                for name, timings in servers.items()
                if (kept := [t for t in timings if not _too_old(t, now)])
            }
            newest_first = sorted(fresh.items(), key=lambda item: _newest(item[1]), reverse=True)
            self._write(dict(newest_first[: config.TIMED_SERVERS]))

    def clear(self) -> int:
        """Delete the file; return the number of timings it held."""
        with _LOCK:
            count = sum(len(timings) for timings in self._read().values())
            self._file.delete()
        return count

    def _read(self) -> dict[str, list[JobTiming]]:
        return self._file.read(_servers, {})

    def _write(self, servers: dict[str, list[JobTiming]]) -> None:
        timings = {name: [t.to_json() for t in entries] for name, entries in servers.items()}
        self._file.write({"servers": timings})


def _servers(data: dict[str, Any]) -> dict[str, list[JobTiming]]:
    return {
        str(server): [JobTiming.from_json(entry) for entry in entries]
        for server, entries in data["servers"].items()
    }


def _too_old(timing: JobTiming, now: datetime) -> bool:
    if timing.finished is None:
        return False
    return now - timing.finished > timedelta(seconds=config.TIMING_MAX_AGE)


def _newest(timings: list[JobTiming]) -> datetime:
    stamps = [t.finished for t in timings if t.finished is not None]
    return max(stamps, default=datetime.min.replace(tzinfo=timezone.utc))

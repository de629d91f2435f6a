"""When a server job should end: from its own statuses, and from earlier jobs on the server.

OpnForm's export job dates every status it writes (reference notes, section 1.8): ``queued`` by
the export request (``created_at``), ``processing 0`` when a queue worker picks it up, one write
per chunk of 500 rows (``processed_submissions`` of ``total_submissions``, progress up to 90),
95 % while the file is written, then ``completed``. :class:`EndForecast` reads those dates: the
chunks' rate gives the end of the last chunk, and the file takes a share of the chunks' time
after it (the share earlier jobs took, else the tenth the server's own progress gives it).
Before a job shows progress, the timings of earlier jobs on the server
(:class:`~formexport.local.job_timings.TimingForecast`) give its run for its number of rows; while
it shows little, the two are weighed by the share of rows done.

Server dates are only ever subtracted from each other, so a server clock set differently from
this machine's does not matter. They are placed on the caller's clock by the smallest gap seen
between a status arriving here and its ``updated_at`` (an answer cannot arrive before it was
written), or between the export request's answer and the job's ``created_at``.
"""

from __future__ import annotations

from datetime import datetime

from formexport.local.job_timings import JobTiming, TimingForecast
from formexport.opnform.models import ExportStatus, JobState

# Without earlier jobs, the file is taken to need a ninth of the chunks' time: the server's own
# progress gives the chunks 90 % and the file the rest.
DEFAULT_TAIL_SHARE = 1 / 9
# The progress at which the server writes the file (its last step before "completed").
FILE_PROGRESS = 95


class EndForecast:
    """The forecast end of one server job, on the caller's clock.

    Parameters
    ----------
    rows : int, optional
        Rows the job exports, as counted before it started (the server's
        ``total_submissions`` replaces it once sent).
    history : TimingForecast, optional
        What earlier jobs on the same server say.
    accepted_at : float, optional
        The caller's clock when the server answered the export request, for a job started
        here: it places the job's ``created_at`` and lets the history forecast before any status.
    """

    def __init__(
        self,
        *,
        rows: int | None = None,
        history: TimingForecast | None = None,
        accepted_at: float | None = None,
    ) -> None:
        self.rows = rows
        self.history = history
        self.accepted_at = accepted_at
        #: The caller's clock minus the server's, at most (the smallest gap seen).
        self.offset: float | None = None
        #: The caller's clock when the newest status arrived.
        self.seen_at: float | None = None
        self.last: ExportStatus | None = None
        self._created: float | None = None
        self._started: float | None = None
        self._points: list[tuple[int, float]] = []  # (rows processed, server time)
        self._chunks_end: float | None = None

    def observe(self, status: ExportStatus, at: float) -> None:
        """Take in a status that arrived at clock time ``at``."""
        created, updated = _seconds(status.created_at), _seconds(status.updated_at)
        if created is not None:
            self._created = created
            if self.accepted_at is not None:
                self._narrow(self.accepted_at - created)
        if updated is not None:
            self._narrow(at - updated)
        if status.total_submissions:
            self.rows = status.total_submissions
        if status.status == JobState.PROCESSING and updated is not None:
            self._progress(status, updated)
        self.last, self.seen_at = status, at

    def _narrow(self, gap: float) -> None:
        self.offset = gap if self.offset is None else min(self.offset, gap)

    def _progress(self, status: ExportStatus, updated: float) -> None:
        processed = status.processed_submissions
        if status.progress >= FILE_PROGRESS:
            self._chunks_end = updated if self._chunks_end is None else self._chunks_end
        elif processed:
            if not self._points or processed > self._points[-1][0]:
                self._points.append((processed, updated))
        elif status.progress == 0 and self._started is None:
            self._started = updated

    def end(self, now: float) -> float | None:
        """The clock time the job should complete, or None with nothing to go on.

        ``now`` is the caller's clock: a job still queued starts no earlier.
        """
        if self.offset is None:
            return self._end_from_history_only()
        server_end = self._server_end(now - self.offset)
        return None if server_end is None else server_end + self.offset

    def _end_from_history_only(self) -> float | None:
        if self.accepted_at is None or self.history is None or self.rows is None:
            return None
        seconds = self.history.seconds(self.rows)
        return None if seconds is None else self.accepted_at + seconds

    def _server_end(self, server_now: float) -> float | None:
        last = self.last
        if last is None:
            return None
        if last.status == JobState.COMPLETED:
            return _seconds(last.updated_at)
        if last.status == JobState.QUEUED:
            return self._end_once_started(server_now)
        start = self._start()
        if start is None:
            return None
        by_progress = self._end_by_progress(start)
        by_history = self._end_by_history(start)
        if by_progress is None or by_history is None:
            return by_progress if by_progress is not None else by_history
        done = self._share_done()
        return done * by_progress + (1 - done) * by_history

    def _end_once_started(self, server_now: float) -> float | None:
        """A queued job: picked up after the usual wait (or now, if that has passed)."""
        if self.history is None or self.rows is None or self._created is None:
            return None
        run = self.history.run_seconds(self.rows)
        if run is None:
            return None
        return max(self._created + (self.history.queued or 0.0), server_now) + run

    def _start(self) -> float | None:
        """When a worker picked the job up: seen, drawn back from the chunks, or estimated."""
        if self._started is not None:
            return self._started
        drawn = self._start_from_chunks()
        if drawn is not None:
            return drawn
        if self._created is None:
            return None
        queued = self.history.queued if self.history is not None else None
        start = self._created + (queued or 0.0)
        first = self._points[0][1] if self._points else self._chunks_end
        return start if first is None else min(start, first)

    def _start_from_chunks(self) -> float | None:
        """The line through the first and last chunk drawn back to 0 rows (two chunks seen)."""
        if len(self._points) < 2 or self._created is None:
            return None
        (rows_a, at_a), (rows_b, at_b) = self._points[0], self._points[-1]
        if at_b <= at_a:
            return None
        start = at_a - rows_a * (at_b - at_a) / (rows_b - rows_a)
        return min(max(start, self._created), at_a)

    def _end_of_chunks(self, start: float) -> float | None:
        """When the last chunk is (or was) done, at the rate of those seen so far."""
        if self._chunks_end is not None:
            return self._chunks_end
        if not self._points or not self.rows:
            return None
        processed, at = self._points[-1]
        if processed >= self.rows:
            return at
        if at <= start:
            return None
        return at + (self.rows - processed) * (at - start) / processed

    def _end_by_progress(self, start: float) -> float | None:
        chunks_end = self._end_of_chunks(start)
        if chunks_end is None:
            return None
        return chunks_end + self._tail_share() * max(0.0, chunks_end - start)

    def _end_by_history(self, start: float) -> float | None:
        if self.history is None or not self.rows:
            return None
        run = self.history.run_seconds(self.rows)
        return None if run is None else start + run

    def _tail_share(self) -> float:
        share = self.history.tail_share if self.history is not None else None
        return DEFAULT_TAIL_SHARE if share is None else share

    def _share_done(self) -> float:
        if self._chunks_end is not None:
            return 1.0
        if not self._points or not self.rows:
            return 0.0
        return min(1.0, self._points[-1][0] / self.rows)

    def timing(self) -> JobTiming | None:
        """The timing of the completed job, to forecast later ones (None before it completed,
        or when the server sent no dates or counts)."""
        last = self.last
        if last is None or last.status != JobState.COMPLETED:
            return None
        ended = _seconds(last.updated_at)
        rows = last.total_submissions or self.rows
        if ended is None or self._created is None or not rows:
            return None
        start = self._started if self._started is not None else self._start_from_chunks()
        return JobTiming(
            rows=rows,
            seconds=max(0.0, ended - self._created),
            queued=None if start is None else start - self._created,
            tail_share=None if start is None else self._measured_tail(start, ended),
            finished=last.updated_at,
        )

    def _measured_tail(self, start: float, ended: float) -> float | None:
        chunks_end = self._end_of_chunks(start)
        if chunks_end is None or chunks_end <= start:
            return None
        return max(0.0, ended - chunks_end) / (chunks_end - start)


def _seconds(moment: datetime | None) -> float | None:
    return None if moment is None else moment.timestamp()

"""When to ask for a server job's status: just after it should end, within a budget.

OpnForm's docs ask clients to poll every 2-5 seconds, and the server allows 180 status requests
a minute per user. Asked on a fixed clock, a job is noticed up to a whole interval after it
ended. :class:`PollSchedule` asks when the job should end instead (:class:`EndForecast`):

* the server's own progress (rows processed by ``updated_at``) gives the chunks' rate;
* before the first status, the timings of earlier jobs on the same server, kept on this machine
  (:mod:`formexport.local.job_timings`), give a job's run for its rows: a short job is asked
  about once, just after it should be done;
* with neither, one early question (:data:`~formexport.config.POLL_FIRST_ASK` after the job was
  accepted: most small jobs are done by then), then the docs' pace.

Until the forecast end the docs' pace goes on (the progress display moves, the forecast
sharpens), the questions spread so that one comes just after that end. A job not done by then is
asked about again after :data:`~formexport.config.POLL_OVERDUE_WAIT`, doubling up to the pace.

Every question keeps to a **budget**: the n-th status request of a job is not sent before
``(n - 1) * POLL_BUDGET_SECONDS`` after the job was accepted (on average at most one per 2 s of
the job's life, plus one), and never closer to the one before than the server's status limit
allows. The pace shared by every export of the process (:mod:`formexport.opnform.ratelimit`)
stays in charge on top of this, and a ``429`` is waited out as the retry policy says.
"""

from __future__ import annotations

import math
import random
from collections.abc import Callable

from formexport import config
from formexport.jobs.end_forecast import EndForecast
from formexport.local.job_timings import JobTiming, TimingForecast
from formexport.opnform.models import ExportStatus


def poll_interval(elapsed: float, *, jitter: float = 0.0) -> float:
    """The docs' pace: seconds between two status requests of a job ``elapsed`` seconds old.

    2 s for short jobs, growing to 5 s for long ones (8 % of the job's age); ``jitter`` in
    [0, 1] lengthens it by up to 10 % (never shortening it below the docs' minimum).

    Examples
    --------
    >>> poll_interval(0), poll_interval(40), poll_interval(3600)
    (2.0, 3.2, 5.0)
    """
    share = elapsed * config.POLL_INTERVAL_SHARE
    base = min(config.POLL_MAX_INTERVAL, max(config.POLL_MIN_INTERVAL, share))
    return base * (1.0 + config.POLL_JITTER * jitter)


def least_gap() -> float:
    """Seconds between two status requests that keep within the server's status limit."""
    return config.RATE_LIMIT_WINDOW / config.RATE_LIMITS["export-status"]


class PollSchedule:
    """When the next status request of one server job goes.

    Parameters
    ----------
    origin : float
        Clock time the server accepted the job (``accepted=True``), or when waiting began for
        a job picked up again; the budget counts from here.
    accepted : bool
        Whether the job was accepted at ``origin`` (so it is new and queued then): its first
        question waits for the forecast end or :data:`~formexport.config.POLL_FIRST_ASK`. A
        job picked up again is asked about at once.
    rows : int, optional
        Rows the job exports, as counted before it started.
    history : TimingForecast, optional
        What earlier jobs on the same server say.
    jitter : callable, optional
        Numbers in [0, 1) (``random.random``); tests pass a constant.

    Examples
    --------
    A job of 20 000 rows on a server whose earlier job of that size took 0.3 s is asked about
    once, just after 0.3 s:

    >>> from formexport.local.job_timings import JobTiming, TimingForecast
    >>> earlier = TimingForecast((JobTiming(rows=20_000, seconds=0.3),))
    >>> schedule = PollSchedule(100.0, rows=20_000, history=earlier, jitter=lambda: 0.0)
    >>> round(schedule.next_poll(100.0) - 100.0, 3)
    0.359
    """

    def __init__(
        self,
        origin: float,
        *,
        accepted: bool = True,
        rows: int | None = None,
        history: TimingForecast | None = None,
        jitter: Callable[[], float] = random.random,
    ) -> None:
        self.origin = origin
        self.accepted = accepted
        self.forecast = EndForecast(
            rows=rows, history=history, accepted_at=origin if accepted else None
        )
        self.sent: list[float] = []
        self._jitter = jitter
        self._overdue = 0

    def record_sent(self, at: float) -> None:
        """Count a status request that reached the server at clock time ``at`` (a ``429``
        counts: the server counted it)."""
        self.sent.append(at)

    def observe(self, status: ExportStatus, at: float) -> None:
        """Take in a status that arrived at clock time ``at``."""
        self.forecast.observe(status, at)

    def earliest(self) -> float:
        """The first clock time the budget lets the next status request go."""
        at = self.origin + len(self.sent) * config.POLL_BUDGET_SECONDS
        if self.sent:
            at = max(at, self.sent[-1] + least_gap())
        return at

    def next_poll(self, now: float) -> float:
        """Clock time for the next status request (``now`` or earlier: at once)."""
        return max(self._wanted(now), self.earliest())

    def timing(self) -> JobTiming | None:
        """The completed job's timing, for the record of earlier jobs."""
        return self.forecast.timing()

    def _wanted(self, now: float) -> float:
        end = self.forecast.end(now)
        if end is None:
            self._overdue = 0
            if self.sent:
                return now + poll_interval(now - self.origin, jitter=self._jitter())
            if not self.accepted:
                return now
            return self.origin + config.POLL_FIRST_ASK * (1 + config.POLL_JITTER * self._jitter())
        aim = end + self._margin(end)
        if aim > now:
            self._overdue = 0
            return self._toward(now, aim)
        self._overdue += 1
        wait = config.POLL_OVERDUE_WAIT * 2.0 ** (self._overdue - 1)
        return now + min(wait, poll_interval(now - self.origin))

    def _margin(self, end: float) -> float:
        """How long after the forecast end to ask: more the further ahead it looked."""
        seen = self.forecast.seen_at if self.forecast.seen_at is not None else self.origin
        ahead = max(0.0, end - seen)
        margin = config.POLL_END_MARGIN + config.POLL_END_MARGIN_SHARE * ahead
        return margin * (1 + config.POLL_JITTER * self._jitter())

    def _toward(self, now: float, aim: float) -> float:
        """The next question on the way to ``aim``: at the docs' pace, spread so that one falls
        on ``aim`` (and none closer than the docs' 2 s before it)."""
        gap = aim - now
        pace = poll_interval(now - self.origin)
        if gap <= pace:
            return aim
        step = gap / math.ceil(gap / pace)
        if step < config.POLL_MIN_INTERVAL:
            step = gap / max(1, math.floor(gap / config.POLL_MIN_INTERVAL))
        return now + min(gap, step * (1 + config.POLL_JITTER * self._jitter()))

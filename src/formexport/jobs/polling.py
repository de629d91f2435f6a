"""Waiting for an export job: a loop over a status function, with no knowledge of HTTP.

When each status request goes is the schedule's call (:mod:`formexport.jobs.poll_schedule`);
the loop sends it, waits out what the server asks for (``429``, a restart), and turns the end
into a result or a typed error.

A job the server keeps queued for more than ``config.SHOWN_WAIT_SECONDS`` shows on the progress
display as a wait for a server worker, counting the time it has waited; after
``config.QUEUE_STALL_SECONDS`` the display adds that no queue worker may be running.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import replace
from datetime import datetime, timezone

from formexport import config
from formexport.errors import (
    ConnectionFailedError,
    ExportFailedError,
    ExportInterrupted,
    ExportTimeoutError,
    RateLimitError,
)
from formexport.jobs.poll_schedule import PollSchedule
from formexport.opnform.models import ExportStatus, JobState
from formexport.opnform.retry import RetryPolicy
from formexport.waits import Wait, Waiting, WaitReason, log_level

logger = logging.getLogger("formexport")


class JobWaiter:
    """Polls ``fetch`` until the job completes, fails or runs out of time.

    Parameters
    ----------
    fetch : callable
        Returns the job's current :class:`ExportStatus`.
    job_id : str or None
        Named in errors and in the Ctrl-C message.
    form_id : int or None
        The job's form, carried by those errors (for the re-attach hint).
    on_status : callable
        Called with every status received (progress display).
    sleep, clock, jitter : callable, optional
        Override the policy's ``time.sleep``, ``time.monotonic`` and source of numbers in
        [0, 1) (tests inject a fake clock).
    schedule : PollSchedule, optional
        When each status request goes (its times are values of ``clock``); by default a job
        picked up again: asked about at once, then at the docs' pace or its forecast end.
    retry : RetryPolicy, optional
        How a status request that is rate limited or cannot connect is waited out; the
        defaults of :mod:`formexport.config` otherwise.
    """

    def __init__(
        self,
        fetch: Callable[[], ExportStatus],
        *,
        job_id: str | None,
        form_id: int | None = None,
        on_status: Callable[[ExportStatus], None] = lambda status: None,
        sleep: Callable[[float], None] | None = None,
        clock: Callable[[], float] | None = None,
        jitter: Callable[[], float] | None = None,
        schedule: PollSchedule | None = None,
        retry: RetryPolicy | None = None,
    ) -> None:
        policy = retry if retry is not None else RetryPolicy()
        self._retry = replace(
            policy,
            sleep=sleep or policy.sleep,
            clock=clock or policy.clock,
            jitter=jitter or policy.jitter,
        )
        self._fetch = fetch
        self._job_id = job_id
        self._form_id = form_id
        self._on_status = on_status
        self._sleep = self._retry.sleep
        self._clock = self._retry.clock
        self._jitter = self._retry.jitter
        self.schedule = schedule
        self._last: ExportStatus | None = None
        self._queue: Waiting | None = None

    def wait(self, timeout: float | None = None) -> ExportStatus:
        """Return the completed status.

        Raises
        ------
        ExportFailedError
            The server reported ``failed``.
        ExportTimeoutError
            Not finished after ``timeout`` seconds (the job may still finish on the server).
        ExportInterrupted
            Ctrl-C; the job keeps running on the server.
        """
        started = self._clock()
        if self.schedule is None:
            self.schedule = PollSchedule(started, accepted=False, jitter=self._jitter)
        deadline = None if timeout is None else started + timeout
        self._queue = None
        try:
            return self._loop(self.schedule, started, deadline)
        except KeyboardInterrupt as exc:
            if isinstance(exc, ExportInterrupted):
                raise
            raise self._interrupted() from exc

    def _loop(self, schedule: PollSchedule, started: float, deadline: float | None) -> ExportStatus:
        while True:
            self._pause_until(schedule.next_poll(self._clock()), schedule, started, deadline)
            status = self._fetch_patiently(schedule, started, deadline)
            schedule.observe(status, self._clock())
            self._last = status
            self._on_status(status)
            if status.status == JobState.COMPLETED:
                return status
            if status.status == JobState.FAILED:
                raise self._failed(status)
            if deadline is not None and self._clock() >= deadline:
                raise self._timed_out(deadline - started)

    def _pause_until(
        self, at: float, schedule: PollSchedule, started: float, deadline: float | None
    ) -> None:
        """Sleep until clock time ``at``; at the deadline instead, for one last look, when the
        budget allows a request by then (else the wait has timed out)."""
        if deadline is not None and at > deadline:
            if schedule.earliest() > deadline:
                self._sleep_before_poll(max(0.0, deadline - self._clock()), started)
                raise self._timed_out(deadline - started)
            at = deadline
        pause = at - self._clock()
        if pause > 0:
            self._sleep_before_poll(pause, started)

    def _sleep_before_poll(self, seconds: float, started: float) -> None:
        """Sleep ``seconds``; a job queued for a while shows as a wait for a server worker."""
        last = self._last
        if last is None or last.status != JobState.QUEUED:
            self._queue = None
            self._sleep(seconds)
            return
        queued_for = _queued_for(last, self._clock() - started)
        if self._queue is None and queued_for < config.SHOWN_WAIT_SECONDS:
            self._sleep(seconds)  # a moment in the queue is how every job starts
            return
        detail = self._queue_detail(queued_for)
        if self._queue is None:
            start = self._clock() - queued_for
            self._queue = Waiting(
                Wait(WaitReason.QUEUED, detail, clock_start=start),
                sleep=self._sleep,
                clock=self._clock,
            )
        elif detail != self._queue.wait.detail:
            self._queue.wait = replace(self._queue.wait, detail=detail)
        self._queue.sleep(seconds)

    def _queue_detail(self, queued_for: float) -> str:
        """The job, and past ``config.QUEUE_STALL_SECONDS`` what may keep it in the queue."""
        job = f"job {self._job_id[:8]}" if self._job_id else ""
        if queued_for < config.QUEUE_STALL_SECONDS:
            return job
        stalled = (
            "no queue worker may be running: on a self-hosted server, check php artisan "
            "queue:work (the api-worker container)"
        )
        return f"{job}; {stalled}" if job else stalled

    def _fetch_patiently(
        self, schedule: PollSchedule, started: float, deadline: float | None
    ) -> ExportStatus:
        """One status, waiting out 429s and a server that cannot be reached for a moment.

        A 429 is waited out as its ``Retry-After`` says and the status asked again as soon as
        the budget allows (the wait was the server's, not a poll interval); when the wait would
        not fit the deadline, RateLimitError. A server that cannot be connected to mid-job (a
        restart) is asked again after the policy's back-off, ``attempts`` times: giving up
        would leave the job behind. Only requests that reached the server count for the budget.
        """
        refused = failures = 0
        while True:
            sent_at = self._clock()
            try:
                status = self._fetch()
            except RateLimitError as exc:
                schedule.record_sent(sent_at)
                refused += 1
                self._retry.wait_out_rate_limit(
                    exc.retry_after,
                    refused=refused,
                    deadline=deadline,
                    subject=f"Status of export job {self._job_id}",
                )
                self._pause_until(schedule.earliest(), schedule, started, deadline)
                continue
            except ConnectionFailedError:
                failures += 1
                pause = self._retry.backoff(failures)
                late = deadline is not None and self._clock() + pause > deadline
                if failures > self._retry.attempts or late:
                    raise
                wait = self._retry.retry_wait(pause, "the server cannot be reached")
                logger.log(
                    log_level(wait), "The server cannot be reached; asking again in %.1f s", pause
                )
                self._retry.pause(wait)
                continue
            schedule.record_sent(sent_at)
            return status

    def _failed(self, status: ExportStatus) -> ExportFailedError:
        reason = status.error_message or "no reason given"
        return ExportFailedError(
            f"Export job {self._job_id} failed on the server: {reason}.",
            job_id=self._job_id,
            error_message=status.error_message,
        )

    def _interrupted(self) -> ExportInterrupted:
        return ExportInterrupted(
            f"Stopped waiting for export job {self._job_id}; it keeps running on the server.",
            job_id=self._job_id,
            form_id=self._form_id,
        )

    def _timed_out(self, timeout: float) -> ExportTimeoutError:
        last = self._last
        state = last.status_text if last else "no status received"
        hint = ""
        queued_for = _queued_for(last, timeout)
        if queued_for >= config.QUEUE_STALL_SECONDS:
            hint = (
                f" It has been queued for {_duration(queued_for)}, far longer than a working "
                "queue takes: on a self-hosted server, check that a queue worker runs (php "
                "artisan queue:work, the api-worker container)."
            )
        return ExportTimeoutError(
            f"Export job {self._job_id} did not finish within {timeout:.0f} s (last seen: "
            f"{state}).{hint}",
            job_id=self._job_id,
            form_id=self._form_id,
        )


def _queued_for(last: ExportStatus | None, waited: float) -> float:
    """Seconds a job last seen queued has been waiting for a worker (0 if it left the queue).

    At least the whole wait (a job never goes back to the queue), and since its ``created_at``
    when the server says: a job picked up again later may have been queued long before.
    """
    if last is None or last.status != JobState.QUEUED:
        return 0.0
    if last.created_at is None:
        return waited
    return max(waited, (datetime.now(timezone.utc) - last.created_at).total_seconds())


def _duration(seconds: float) -> str:
    if seconds < 120:
        return f"{seconds:.0f} s"
    minutes = seconds / 60
    return f"{minutes:.0f} min" if minutes < 120 else f"{minutes / 60:.0f} h"

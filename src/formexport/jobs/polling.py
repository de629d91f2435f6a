"""Waiting for an export job: a loop over a status function, with no knowledge of HTTP.

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
from formexport.opnform.models import ExportStatus, JobState
from formexport.opnform.retry import RetryPolicy
from formexport.waits import Wait, Waiting, WaitReason, log_level

logger = logging.getLogger("formexport")


def poll_interval(elapsed: float, *, jitter: float = 0.0) -> float:
    """Seconds to wait before the next status request of a job ``elapsed`` seconds old.

    Stays at the docs' 2 s minimum for short jobs and grows to 5 s for long ones, so that
    waiting adds at most about 8 % to a job's time; ``jitter`` in [0, 1] spreads clients
    by lengthening the wait up to 10 % (never shortening it below the docs' minimum).
    """
    # OpnForm's docs ask for a poll every 2-5 s. A short job is asked about every 2 s so that
    # the download starts soon after it ends; a job that has run for a minute will not end in
    # the next 2 s either, so the interval grows with its age (8 % of it) up to the 5 s the
    # docs allow, which keeps a long job far below the 180-a-minute status limit.
    share = elapsed * config.POLL_INTERVAL_SHARE
    base = min(config.POLL_MAX_INTERVAL, max(config.POLL_MIN_INTERVAL, share))
    return base * (1.0 + config.POLL_JITTER * jitter)


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
    first_poll_at : float, optional
        Clock time before which the first status request is not sent (a job just accepted
        is queued; asking at once only spends the rate limit).
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
        first_poll_at: float | None = None,
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
        self._first_poll_at = first_poll_at
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
        deadline = None if timeout is None else started + timeout
        self._queue = None
        try:
            return self._loop(started, deadline)
        except KeyboardInterrupt as exc:
            if isinstance(exc, ExportInterrupted):
                raise
            raise self._interrupted() from exc

    def _loop(self, started: float, deadline: float | None) -> ExportStatus:
        last: ExportStatus | None = None
        if self._first_poll_at is not None:
            # A job just accepted is queued: asking at once only spends the rate limit.
            pause = self._first_poll_at - started
            if deadline is not None:
                pause = min(pause, deadline - started)
            if pause > 0:
                self._sleep(pause)
        while True:
            status = self._fetch_patiently(deadline)
            last = status
            self._on_status(status)
            if status.status == JobState.COMPLETED:
                return status
            if status.status == JobState.FAILED:
                raise self._failed(status)
            now = self._clock()
            if deadline is not None and now >= deadline:
                raise self._timed_out(last, deadline - started)
            interval = poll_interval(now - started, jitter=self._jitter())
            if deadline is not None:
                # One last look exactly at the deadline rather than overshooting it.
                interval = min(interval, deadline - now)
            self._sleep_until_next_poll(status, now - started, interval)

    def _sleep_until_next_poll(self, status: ExportStatus, waited: float, seconds: float) -> None:
        """Sleep ``seconds``; a job queued for a while shows as a wait for a server worker."""
        if status.status != JobState.QUEUED:
            self._queue = None
            self._sleep(seconds)
            return
        queued_for = _queued_for(status, waited)
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

    def _fetch_patiently(self, deadline: float | None) -> ExportStatus:
        """One status, waiting out 429s and a server that cannot be reached for a moment.

        A 429 is waited out as its ``Retry-After`` says and the status asked again at once (the
        wait was the server's, not a poll interval); when the wait would not fit the deadline,
        RateLimitError. A server that cannot be connected to mid-job (a restart) is asked again
        after the policy's back-off, ``attempts`` times: giving up would leave the job behind.
        """
        refused = failures = 0
        while True:
            try:
                return self._fetch()
            except RateLimitError as exc:
                refused += 1
                self._retry.wait_out_rate_limit(
                    exc.retry_after,
                    refused=refused,
                    deadline=deadline,
                    subject=f"Status of export job {self._job_id}",
                )
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

    def _timed_out(self, last: ExportStatus | None, timeout: float) -> ExportTimeoutError:
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

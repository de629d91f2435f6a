"""One retry policy: how long to wait before asking the server again, and when to stop.

Every place that asks again uses it: the API requests
(:class:`~formexport.opnform.endpoints.OpnFormAPI`), status polling
(:class:`~formexport.jobs.polling.JobWaiter`), downloads (:mod:`formexport.transfer.ranges`), and
the transport retries urllib3 makes inside one request
(:func:`formexport.opnform.http.transport_retries`). Three rules:

* **429, rate limited.** Wait what ``Retry-After`` says, at least ``rate_limit_floor``, and
  ``rate_limit_default`` when the header is absent. OpnForm throttles before any work is done,
  so the request may always be sent again; but never past the caller's deadline: when the wait
  would not fit, :class:`~formexport.RateLimitError` at once, naming the wait, rather than a
  sleep that cannot help. After ``rate_limit_attempts`` refusals in a row, the same error.
* **5xx and broken connections.** Exponential back-off (:meth:`RetryPolicy.backoff`), at most
  ``attempts`` repeats. Whether a request may be repeated at all is the caller's call: an
  export request that reached the server may have started a job.
* **No connection at all** (refused, unknown host): the same back-off, ``connect_attempts``
  repeats; a wrong URL or a server that is down is not worth five rounds.

``sleep``, ``clock`` and ``jitter`` are injectable, so tests run every rule on a fake clock.
Every wait goes through :meth:`RetryPolicy.pause`, which shows it on the running export's
progress display with a countdown (:mod:`formexport.waits`).
"""

from __future__ import annotations

import logging
import random
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from formexport import config
from formexport.errors import RateLimitError
from formexport.waits import Wait, WaitReason, log_level, wait_out

logger = logging.getLogger("formexport")

# 2**60 seconds is far beyond any cap; a larger exponent would overflow the float.
_MAX_EXPONENT = 60


@dataclass(frozen=True)
class RetryPolicy:
    """When to ask the server again, and how long to wait first.

    Built without arguments it takes every number from :mod:`formexport.config` as it stands
    at that moment.

    Attributes
    ----------
    attempts : int
        Repeats after a 5xx or a broken connection (``config.HTTP_RETRIES``).
    connect_attempts : int
        Repeats when no connection could be made at all (``config.CONNECT_RETRIES``).
    backoff_factor, backoff_max, backoff_jitter : float
        The back-off formula, see :meth:`backoff` (``config.HTTP_BACKOFF_FACTOR``,
        ``config.BACKOFF_MAX``, ``config.BACKOFF_JITTER``).
    rate_limit_floor, rate_limit_default : float
        The least wait after a 429, and the wait when it carries no ``Retry-After``
        (``config.MIN_RATE_LIMIT_WAIT``, ``config.DEFAULT_RATE_LIMIT_WAIT``).
    rate_limit_attempts : int
        429s in a row waited out before :class:`~formexport.RateLimitError`
        (``config.RATE_LIMIT_RETRIES``).
    sleep, clock, jitter : callable
        ``time.sleep``, ``time.monotonic`` (deadlines are values of this clock) and a source
        of numbers in [0, 1) (``random.random``).

    Examples
    --------
    >>> policy = RetryPolicy(jitter=lambda: 0.0)
    >>> [policy.backoff(n) for n in range(1, 6)]
    [0.5, 1.0, 2.0, 4.0, 8.0]
    >>> policy.rate_limit_wait(None)
    60.0
    """

    attempts: int = field(default_factory=lambda: config.HTTP_RETRIES)
    connect_attempts: int = field(default_factory=lambda: config.CONNECT_RETRIES)
    backoff_factor: float = field(default_factory=lambda: config.HTTP_BACKOFF_FACTOR)
    backoff_max: float = field(default_factory=lambda: config.BACKOFF_MAX)
    backoff_jitter: float = field(default_factory=lambda: config.BACKOFF_JITTER)
    rate_limit_floor: float = field(default_factory=lambda: config.MIN_RATE_LIMIT_WAIT)
    rate_limit_default: float = field(default_factory=lambda: config.DEFAULT_RATE_LIMIT_WAIT)
    rate_limit_attempts: int = field(default_factory=lambda: config.RATE_LIMIT_RETRIES)
    sleep: Callable[[float], None] = time.sleep
    clock: Callable[[], float] = time.monotonic
    jitter: Callable[[], float] = random.random

    def backoff(self, failures: int, retry_after: float | None = None) -> float:
        """Seconds to wait before repeating a request that failed ``failures`` times in a row.

        ``backoff_factor * 2**(failures - 1)``, lengthened by up to ``backoff_jitter`` of
        itself (never shortened), and never above ``backoff_max``: 0.5, 1, 2, 4, 8 s (plus up
        to 20 %) by default. A ``Retry-After`` sent with a 503 wins when it asks for longer.
        """
        if failures < 1:
            return max(0.0, retry_after or 0.0)
        base = self.backoff_factor * 2.0 ** min(failures - 1, _MAX_EXPONENT)
        wait = min(self.backoff_max, base * (1.0 + self.backoff_jitter * self.jitter()))
        return max(wait, retry_after or 0.0)

    def deadline(self, timeout: float | None) -> float | None:
        """The clock value ``timeout`` seconds from now (None: no deadline)."""
        return None if timeout is None else self.clock() + timeout

    def rate_limit_wait(
        self,
        retry_after: float | None,
        *,
        refused: int = 1,
        deadline: float | None = None,
        subject: str = "The request",
    ) -> float:
        """Seconds to wait after the ``refused``-th 429 in a row, whose ``Retry-After`` is given.

        Raises
        ------
        RateLimitError
            When the wait would end after ``deadline`` (a value of ``clock``), at once and
            naming the wait; or after ``rate_limit_attempts`` waits in a row.
        """
        wait = (
            self.rate_limit_default
            if retry_after is None
            else max(retry_after, self.rate_limit_floor)
        )
        if refused > self.rate_limit_attempts:
            raise RateLimitError(
                f"{subject}: the rate limit was reached {refused} times in a row, each waited "
                "out as long as the server asked; retry in a few minutes.",
                retry_after=wait,
            )
        if deadline is not None and self.clock() + wait > deadline:
            left = max(0.0, deadline - self.clock())
            raise RateLimitError(
                f"{subject}: OpnForm's rate limit is reached and the {wait:g} s wait it asks "
                f"for does not fit in the timeout ({left:.0f} s left); retry later or allow a "
                "longer timeout.",
                retry_after=wait,
            )
        return wait

    def wait_out_rate_limit(
        self,
        retry_after: float | None,
        *,
        refused: int = 1,
        deadline: float | None = None,
        subject: str = "The request",
    ) -> None:
        """Sleep for :meth:`rate_limit_wait` (raising as it does), shown or said in a log line."""
        seconds = self.rate_limit_wait(
            retry_after, refused=refused, deadline=deadline, subject=subject
        )
        start = self.clock()
        wait = Wait(
            WaitReason.RETRY_AFTER,
            "the server refused a request: 429 Too Many Requests",
            clock_start=start,
            until=start + seconds,
        )
        logger.log(log_level(wait), "%s: rate limit reached; waiting %g s", subject, seconds)
        self.pause(wait)

    def retry_wait(self, seconds: float, why: str) -> Wait:
        """The wait of ``seconds`` (a :meth:`backoff`) from now before repeating what failed
        because of ``why`` (e.g. ``"the server answered HTTP 503"``)."""
        start = self.clock()
        return Wait(WaitReason.RETRY, why, clock_start=start, until=start + seconds)

    def pause_before_retry(self, seconds: float, why: str) -> None:
        """Sleep through :meth:`retry_wait`."""
        self.pause(self.retry_wait(seconds, why))

    def pause(self, wait: Wait) -> None:
        """Sleep until ``wait`` ends: counted down on the running export's display, if any."""
        wait_out(wait, sleep=self.sleep, clock=self.clock)

"""OpnForm's per-user rate limits, kept by every export of this process together.

OpnForm counts requests per user (token) and server in fixed windows: 10 export requests, 180
status requests and 100 other requests a minute (:data:`formexport.config.RATE_LIMITS`). Five
exports started at once each poll on their own; without a common pace they would go over the
status limit together and be refused with ``429``. A :class:`RequestPace` counts what this
process sent for one token and server and holds a request back until the server would take it.
:func:`shared_pace` gives every :class:`~formexport.opnform.endpoints.OpnFormAPI` of the process
the same one for the same token and server.

The waits follow the one retry policy (:mod:`formexport.opnform.retry`): its clock and sleep,
and its deadline rule: a wait that would end after the caller's deadline raises
:class:`~formexport.RateLimitError` at once instead of sleeping in vain. A ``429`` that comes
anyway (the same user's web-app session shares the limit) holds every request of its kind back
for as long as its ``Retry-After`` says, not only the one refused.
"""

from __future__ import annotations

import hashlib
import logging
import threading
from collections import deque
from collections.abc import Callable, Hashable, Mapping

from formexport import config
from formexport.errors import RateLimitError
from formexport.opnform.retry import RetryPolicy
from formexport.waits import Wait, WaitReason, log_level, wait_out

logger = logging.getLogger("formexport")

WHAT = {
    "export": "export requests",
    "export-status": "status requests",
    "api": "API requests",
    "links": "file requests",
}


def limit_of(method: str, path: str) -> str:
    """The server's limiter for a request: ``"export"``, ``"export-status"`` or ``"api"``."""
    if "/submissions/export/" in path:
        return "export-status"  # both spellings of the status route
    if method == "POST" and path.rstrip("/").endswith("/submissions/export"):
        return "export"
    return "api"


class RequestPace:
    """What one token sent to one server, and how long the next request must wait.

    Parameters
    ----------
    limits : mapping of str to int, optional
        Requests per window of each limiter (``config.RATE_LIMITS``).
    window : float, optional
        The server's window in seconds (``config.RATE_LIMIT_WINDOW``); requests are spaced by
        it plus ``config.RATE_LIMIT_MARGIN``.
    clock, sleep : callable, optional
        ``time.monotonic`` and ``time.sleep`` (tests inject a fake clock).
    counted_by : str
        What the server counts by, for messages: ``"user"`` (a token) or ``"address"``.

    Examples
    --------
    >>> pace = RequestPace({"export": 10}, 60.0)
    >>> pace.acquire("export")   # the first of ten a minute goes at once
    """

    def __init__(
        self,
        limits: Mapping[str, int] | None = None,
        window: float | None = None,
        *,
        clock: Callable[[], float] | None = None,
        sleep: Callable[[float], None] | None = None,
        counted_by: str = "user",
    ) -> None:
        policy = RetryPolicy()
        self.counted_by = counted_by
        self.limits = dict(config.RATE_LIMITS if limits is None else limits)
        self.window = (config.RATE_LIMIT_WINDOW if window is None else window) + (
            config.RATE_LIMIT_MARGIN
        )
        self._clock = clock or policy.clock
        self._sleep = sleep or policy.sleep
        self._sent: dict[str, deque[float]] = {name: deque() for name in self.limits}
        self._held_until: dict[str, float] = {}
        self._lock = threading.Lock()

    def acquire(
        self,
        limit: str,
        *,
        deadline: float | None = None,
        subject: str = "",
        sleep: Callable[[float], None] | None = None,
    ) -> None:
        """Wait until the server would take one more request of ``limit``, and count it.

        ``sleep`` waits instead of the pace's own (a caller's policy: a background export
        stops waiting when it is cancelled). The wait shows on the running export's progress
        display (``Rate limit · next request in 41 s (OpnForm allows 100 API requests a
        minute)``), or else in one log line.

        Raises
        ------
        RateLimitError
            When the wait would end after ``deadline`` (a value of the clock); nothing is
            counted then.
        """
        told = False
        while True:
            with self._lock:
                now = self._clock()
                wait = self._wait(limit, now)
                if wait <= 0:
                    if limit in self._sent:
                        self._sent[limit].append(now)
                    return
            if deadline is not None and now + wait > deadline:
                raise RateLimitError(
                    f"{subject or 'The request'}: OpnForm allows {self._describe(limit)} per "
                    f"{self.counted_by}, and this process has sent them; the {wait:.0f} s until "
                    f"the next one does not fit in the timeout ({max(0.0, deadline - now):.0f} s "
                    "left). "
                    "Retry later or allow a longer timeout.",
                    retry_after=wait,
                )
            pause = Wait(
                WaitReason.RATE_LIMIT,
                f"OpnForm allows {self._describe(limit)}",
                clock_start=now,
                until=now + wait,
            )
            if not told:
                told = True
                logger.log(
                    log_level(pause),
                    "%s waits %.0f s: OpnForm allows %s per %s",
                    subject or "A request",
                    wait,
                    self._describe(limit),
                    self.counted_by,
                )
            wait_out(pause, sleep=sleep or self._sleep, clock=self._clock)

    def hold(self, limit: str, seconds: float) -> None:
        """Hold every request of ``limit`` back for ``seconds`` (the server refused one)."""
        with self._lock:
            until = self._clock() + seconds
            self._held_until[limit] = max(self._held_until.get(limit, until), until)

    def _wait(self, limit: str, now: float) -> float:
        """Seconds until a request of ``limit`` may go (0 or less: now)."""
        wait = self._held_until.get(limit, now) - now
        sent = self._sent.get(limit)
        if sent is None:
            return wait
        while sent and sent[0] <= now - self.window:
            sent.popleft()
        if len(sent) >= self.limits[limit]:
            wait = max(wait, sent[len(sent) - self.limits[limit]] + self.window - now)
        return wait

    def _describe(self, limit: str) -> str:
        """``10 export requests a minute``: the server's limit, as its docs put it."""
        count = self.limits.get(limit)
        what = WHAT.get(limit, f"{limit} requests")
        window = self.window - config.RATE_LIMIT_MARGIN
        return f"{count} {what} " + ("a minute" if window == 60 else f"per {window:g} s")


_paces: dict[Hashable, RequestPace] = {}
_paces_lock = threading.Lock()


def shared_pace(settings: config.Settings, policy: RetryPolicy) -> RequestPace:
    """The one :class:`RequestPace` of this process for ``settings``' token and server.

    Keyed by the server's origin, a digest of the token (never the token itself) and the
    policy's clock: a test's fake clock gets a pace of its own.
    """
    digest = hashlib.sha256(settings.token.reveal().encode()).hexdigest()
    key = (settings.origin, digest, policy.clock)
    with _paces_lock:
        pace = _paces.get(key)
        if pace is None:
            pace = _paces[key] = RequestPace(clock=policy.clock, sleep=policy.sleep)
        return pace


def link_pace(url: str, policy: RetryPolicy) -> RequestPace:
    """The one :class:`RequestPace` of this process for the signed file links of ``url``'s
    origin: OpnForm counts them with its other routes (100 a minute), by client address, as
    they carry no token."""
    key = ("links", config.url_origin(url), policy.clock)
    with _paces_lock:
        pace = _paces.get(key)
        if pace is None:
            limits = {"links": config.RATE_LIMITS["api"]}
            pace = _paces[key] = RequestPace(
                limits, clock=policy.clock, sleep=policy.sleep, counted_by="address"
            )
        return pace


def forget_paces() -> None:
    """Forget what every token sent (the server's windows were reset, as an emulator's are)."""
    with _paces_lock:
        _paces.clear()

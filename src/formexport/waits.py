"""What an export waits for, for how long, and who is told while it waits.

An export waits for OpnForm's rate limit (this process's own pace, or the ``Retry-After`` of a
``429``), before repeating a request that failed (the retry policy's back-off), for a server
job that is queued, and for its turn after another export of the same form. Each is a
:class:`Wait`. The code that sleeps goes through :func:`wait_out` (a wait whose end is known)
or a :class:`Waiting` (a wait that ends when something happens: a worker takes the job, the
turn comes).

The code that owns a progress display says where waits are shown with :func:`shown_to`, around
the work it runs. The waits happen far below it, inside urllib3's retries or the pace every
export of the process shares, but in the same thread: a context variable carries the display
down to them without a parameter through every layer between (and keeps one export's waits
off another export's display, each thread having its own).

A shown wait sleeps in slices that end on the whole seconds of its countdown and tells the
display at each one, so that a bar counts down while the thread sleeps. A wait nobody is shown
sleeps in one piece; so does one too short to be worth showing
(``config.SHOWN_WAIT_SECONDS``).
"""

from __future__ import annotations

import contextlib
import logging
import math
import threading
import time
from collections.abc import Callable, Iterator
from contextvars import ContextVar
from dataclasses import dataclass, replace
from enum import Enum
from typing import Any, TypeVar

from formexport import config

T = TypeVar("T")

__all__ = [
    "Wait",
    "WaitListener",
    "WaitReason",
    "Waiting",
    "is_shown",
    "log_level",
    "shown_to",
    "wait_for",
    "wait_out",
]


class WaitReason(str, Enum):
    """What an export waits for."""

    #: This process's own pace: OpnForm would refuse the request now.
    RATE_LIMIT = "rate_limit"
    #: A ``429``'s ``Retry-After``: the server refused a request.
    RETRY_AFTER = "retry_after"
    #: The back-off before repeating a request that failed (5xx, a broken connection).
    RETRY = "retry"
    #: A server job waiting in the server's queue for a worker.
    QUEUED = "queued"
    #: Another export of the same form goes first.
    TURN = "turn"


@dataclass(frozen=True)
class Wait:
    """One wait: why, since when and until when, in readings of the waiting code's clock.

    Attributes
    ----------
    reason : WaitReason
        What the export waits for.
    detail : str
        Why, in words, e.g. ``"OpnForm allows 100 API requests a minute"``.
    clock_start : float
        The clock reading when the wait began.
    until : float or None
        The clock reading when it ends; None for a wait that ends when something happens.

    Examples
    --------
    >>> why = "OpnForm allows 10 export requests a minute"
    >>> wait = Wait(WaitReason.RATE_LIMIT, why, clock_start=100.0, until=157.0)
    >>> wait.seconds, wait.worth_showing
    (57.0, True)
    """

    reason: WaitReason
    detail: str
    clock_start: float
    until: float | None = None

    @property
    def seconds(self) -> float | None:
        """How long the wait lasts, when its end is known."""
        return None if self.until is None else max(0.0, self.until - self.clock_start)

    @property
    def worth_showing(self) -> bool:
        """A wait with no known end always is; a known one when it is long enough to notice."""
        seconds = self.seconds
        return seconds is None or seconds >= config.SHOWN_WAIT_SECONDS

    def is_over(self, now: float) -> bool:
        """True once ``now`` has reached the end."""
        return self.until is not None and now >= self.until


#: Told of a wait as ``listener(wait, now)``: when it begins, at each whole second of its
#: countdown (or of the time waited, for a wait with no known end), and when it is over
#: (``wait.is_over(now)``; a wait with no known end is then told with ``until`` set).
WaitListener = Callable[[Wait, float], None]

_listener: ContextVar[WaitListener | None] = ContextVar("formexport_wait_listener", default=None)


@contextlib.contextmanager
def shown_to(listener: WaitListener) -> Iterator[None]:
    """Tell ``listener`` of every wait worth showing in this thread while the block runs."""
    token = _listener.set(listener)
    try:
        yield
    finally:
        _listener.reset(token)


class WaitRelay:
    """Waits of worker threads, shown by the thread that owns the display.

    Made in the owning thread, it keeps that thread's listener. Work run through :meth:`run` in
    other threads tells it their waits; the owner calls :meth:`show` at least once a second
    (while it waits for the workers), which tells its listener the latest of them, so a rate
    limit met by four downloads at once counts down on the one display.
    """

    def __init__(self) -> None:
        self._listener = _listener.get()
        self._lock = threading.Lock()
        self._latest: tuple[Wait, float] | None = None

    def run(self, work: Callable[..., T], *args: Any) -> T:
        """``work(*args)``, its waits told to this relay (in a worker thread)."""
        if self._listener is None:
            return work(*args)
        with shown_to(self._tell):
            return work(*args)

    def _tell(self, wait: Wait, now: float) -> None:
        with self._lock:
            self._latest = (wait, now)

    def show(self) -> None:
        """Tell the owner's listener the latest wait a worker told (in the owning thread)."""
        with self._lock:
            latest, self._latest = self._latest, None
        if latest is not None and self._listener is not None:
            self._listener(*latest)


def is_shown(wait: Wait) -> bool:
    """Whether a display is told of ``wait``."""
    return wait.worth_showing and _listener.get() is not None


def log_level(wait: Wait) -> int:
    """The level of a log line about ``wait``: DEBUG when a display shows it, INFO otherwise.

    A wait is said once, where the user looks: a display in log mode writes its own line.
    """
    return logging.DEBUG if is_shown(wait) else logging.INFO


class Waiting:
    """A wait under way: sleeps within it are told to the display, second by second.

    Parameters
    ----------
    wait : Wait
        The wait; :attr:`wait` may be replaced while it lasts (its detail changes).
    sleep, clock : callable
        ``time.sleep`` and ``time.monotonic``, or the caller's (a fake clock, a cancellable
        sleep).
    """

    def __init__(
        self,
        wait: Wait,
        *,
        sleep: Callable[[float], None] = time.sleep,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.wait = wait
        self._sleep = sleep
        self._clock = clock
        self._listener = _listener.get() if wait.worth_showing else None
        self._told: tuple[Wait, int] | None = None
        self.tell()

    def tell(self) -> None:
        """Tell the display, if the second it shows or the wait itself changed."""
        if self._listener is None:
            return
        now = self._clock()
        told = (self.wait, self._second(now))
        if told != self._told:
            self._told = told
            self._listener(self.wait, now)

    def step(self) -> float:
        """Seconds until the display's next whole second (1 when nobody is shown the wait)."""
        if self._listener is None:
            return 1.0
        now = self._clock()
        if self.wait.until is None:
            waited = now - self.wait.clock_start
            return math.floor(waited) + 1.0 - waited
        left = self.wait.until - now
        return max(0.0, left - math.ceil(left) + 1.0)

    def sleep(self, seconds: float) -> None:
        """Sleep ``seconds`` of the wait, telling each whole second (never past a known end)."""
        if self._listener is None:
            if seconds > 0:
                self._sleep(seconds)  # in one piece, exactly as asked
            return
        end = self._clock() + seconds
        if self.wait.until is not None:
            end = min(end, self.wait.until)
        while (left := end - self._clock()) > 0:
            self.tell()
            self._sleep(min(left, self.step()))

    def end(self) -> None:
        """Tell the display the wait is over."""
        if self._listener is None:
            return
        now = self._clock()
        over = self.wait if self.wait.is_over(now) else replace(self.wait, until=now)
        self._listener(over, now)

    def _second(self, now: float) -> int:
        """The whole second the display shows: left of a known wait, waited of another."""
        if self.wait.until is None:
            return math.floor(now - self.wait.clock_start)
        return math.ceil(self.wait.until - now)


def wait_out(
    wait: Wait,
    *,
    sleep: Callable[[float], None] = time.sleep,
    clock: Callable[[], float] = time.monotonic,
) -> None:
    """Sleep until ``wait.until``; a shown wait counts down on the display and ends there.

    Examples
    --------
    >>> told = []
    >>> now = [10.0]
    >>> def tick(seconds):
    ...     now[0] += seconds
    >>> wait = Wait(WaitReason.RETRY, "HTTP 503", 10.0, 12.5)
    >>> with shown_to(lambda w, at: told.append(round(w.until - at, 1))):
    ...     wait_out(wait, sleep=tick, clock=lambda: now[0])
    >>> told
    [2.5, 2.0, 1.0, 0.0]
    """
    if wait.until is None:
        raise ValueError("wait_out needs a wait with a known end; use Waiting for the others")
    waiting = Waiting(wait, sleep=sleep, clock=clock)
    waiting.sleep(wait.until - wait.clock_start)
    waiting.end()


def wait_for(
    ready: Callable[[float], bool],
    wait: Wait,
    *,
    clock: Callable[[], float] = time.monotonic,
) -> None:
    """Wait until ``ready(seconds)`` says True, showing ``wait`` meanwhile.

    ``ready`` waits at most ``seconds`` (at most one) for what the wait is for and says whether
    it came, e.g. ``lambda seconds: lock.acquire(timeout=seconds)``; it raises to stop waiting
    (a cancelled export). Taking turns with another export of a form waits this way.

    Examples
    --------
    >>> import threading
    >>> lock = threading.Lock()
    >>> wait_for(lambda seconds: lock.acquire(timeout=seconds), Wait(WaitReason.TURN, "", 0.0))
    >>> lock.locked()
    True
    """
    waiting = Waiting(wait, clock=clock)
    while not ready(max(0.0, min(1.0, waiting.step()))):
        waiting.tell()
    waiting.end()

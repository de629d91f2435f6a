"""Laravel's ``ThrottleRequests``: fixed windows per limiter and user (or IP).

A window opens at the first hit and lasts ``window`` seconds; a request over the limit
is refused with ``Retry-After`` (whole seconds, rounded up) and ``X-RateLimit-Reset``.
Every throttled response carries ``X-RateLimit-Limit`` and ``X-RateLimit-Remaining``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

#: Requests per window of each named limiter (OpnForm's ``RouteServiceProvider``).
LIMITS = {"api": 100, "export": 10, "export-status": 180, "zapier": 60}


@dataclass(frozen=True)
class Verdict:
    """Whether a request may pass, and the headers to add to its response."""

    allowed: bool
    headers: tuple[tuple[str, str], ...]


class RateLimiter:
    """Counters per ``(limiter, key)``; the caller holds the state lock."""

    def __init__(self) -> None:
        self._windows: dict[tuple[str, str], tuple[int, float]] = {}

    def reset(self) -> None:
        """Forget every counter."""
        self._windows.clear()

    def hit(self, limiter: str, key: str, *, window: float, now: float) -> Verdict:
        """Count one request, or refuse it when the window is full.

        Parameters
        ----------
        limiter : str
            A name from :data:`LIMITS`.
        key : str
            ``"user:<id>"`` for authenticated requests, ``"ip:<address>"`` otherwise.
        window : float
            Window length in seconds.
        now : float
            Sandbox time.
        """
        limit = LIMITS[limiter]
        count, reset_at = self._windows.get((limiter, key), (0, 0.0))
        if now >= reset_at:
            count, reset_at = 0, now + window
        if count >= limit:
            retry_after = max(1, math.ceil(reset_at - now))
            return Verdict(
                False,
                (
                    ("X-RateLimit-Limit", str(limit)),
                    ("X-RateLimit-Remaining", "0"),
                    ("Retry-After", str(retry_after)),
                    ("X-RateLimit-Reset", str(math.floor(now) + retry_after)),
                ),
            )
        count += 1
        self._windows[(limiter, key)] = (count, reset_at)
        remaining = limit - count
        return Verdict(
            True,
            (("X-RateLimit-Limit", str(limit)), ("X-RateLimit-Remaining", str(remaining))),
        )

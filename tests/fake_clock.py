"""A clock that moves only when slept on, for the injectable ``sleep``/``clock`` of the policy."""

from __future__ import annotations


class FakeTime:
    """``clock`` and ``sleep`` for a retry policy or a waiter; records every sleep."""

    def __init__(self) -> None:
        self.now = 1000.0
        self.sleeps: list[float] = []

    def clock(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        assert seconds >= 0
        self.sleeps.append(seconds)
        self.now += seconds

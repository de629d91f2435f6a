"""Items from one producer thread to one consumer, a bounded number in flight.

A download hands its chunks to the parser this way (:mod:`formexport.transfer.tee`), and Arrow's
parsed blocks reach the typed reader this way (:mod:`formexport.reading.read_ahead`). Either side
may stop early: a consumer that has gone never leaves the producer waiting for room, and a
consumer still waiting when the producer has been told to stop ends instead of waiting forever.
"""

from __future__ import annotations

import queue
import threading
from collections.abc import Iterator
from typing import Generic, TypeVar

T = TypeVar("T")

# How often a side blocked on the queue looks whether the consumer has gone.
_POLL = 0.1


class _End:
    def __init__(self, error: BaseException | None) -> None:
        self.error = error


class Handoff(Generic[T]):
    """A bounded queue between two threads, ended by :meth:`close` or :meth:`abandon`.

    Examples
    --------
    >>> handoff = Handoff[int](capacity=4)
    >>> for n in (1, 2):
    ...     handoff.put(n)
    True
    True
    >>> handoff.close()
    >>> list(handoff)
    [1, 2]
    """

    def __init__(self, capacity: int) -> None:
        self._queue: queue.Queue[T | _End] = queue.Queue(maxsize=capacity)
        self._abandoned = threading.Event()

    def put(self, item: T) -> bool:
        """Hand over an item, waiting for room; False once the consumer has gone (then the
        producer should stop)."""
        return self._put(item)

    def close(self, error: BaseException | None = None) -> None:
        """No more items: the consumer sees the end, or ``error`` raised."""
        self._put(_End(error))

    def abandon(self) -> None:
        """The consumer stops reading; the producer's puts return at once from now on."""
        self._abandoned.set()

    def empty(self) -> bool:
        """True when nothing waits to be taken: asking for the next item now would wait."""
        return self._queue.empty()

    def __iter__(self) -> Iterator[T]:
        while True:
            try:
                item = self._queue.get(timeout=_POLL)
            except queue.Empty:
                if self._abandoned.is_set():
                    return  # a reader still in another thread ends instead of waiting forever
                continue
            if isinstance(item, _End):
                if item.error is not None:
                    raise item.error
                return
            yield item

    def _put(self, item: T | _End) -> bool:
        while not self._abandoned.is_set():
            try:
                self._queue.put(item, timeout=_POLL)
                return True
            except queue.Full:
                continue
        return False

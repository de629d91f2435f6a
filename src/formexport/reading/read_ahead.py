"""Parsing the next blocks of an export while the current one is typed.

Arrow's streaming CSV reader parses a block only when asked for it, and the ``fputcsv`` rewrite
runs inside its reads: left in the caller's thread, parsing, rewriting and typing take turns
on one core. :class:`ReadAhead` pulls the blocks in a thread of its own, a few ahead, so Arrow
parses (without the interpreter lock) while the caller types the block before.
"""

from __future__ import annotations

import queue
import threading
from collections.abc import Iterator
from typing import Generic, TypeVar, cast

T = TypeVar("T")

_END = object()
# How often a producer blocked on a full queue looks whether the reader has gone.
_POLL = 0.1


class ReadAhead(Generic[T]):
    """The items of ``items`` in order, produced in another thread up to ``depth`` ahead.

    An exception raised while producing is raised where its item would have come. :meth:`close`
    (an error while typing, Ctrl-C) stops the producer at its next item; memory holds at most
    ``depth`` items besides the one being used.
    """

    def __init__(self, items: Iterator[T], depth: int = 2) -> None:
        self._items = items
        self._handoff: queue.Queue[object] = queue.Queue(depth)
        self._gone = threading.Event()
        self._ended = False
        thread = threading.Thread(target=self._produce, name="formexport-read-ahead", daemon=True)
        thread.start()

    def __iter__(self) -> Iterator[T]:
        return self

    def __next__(self) -> T:
        if self._ended:
            raise StopIteration
        item = self._handoff.get()
        if item is _END:
            self._ended = True
            raise StopIteration
        if isinstance(item, _Failure):
            self._ended = True
            raise item.exc
        return cast(T, item)

    def waiting(self) -> bool:
        """True when the next item is not produced yet: asking for it now would wait."""
        return not self._ended and self._handoff.empty()

    def close(self) -> None:
        """Stop the producer at its next item."""
        self._gone.set()
        self._ended = True

    def _offer(self, item: object) -> bool:
        while not self._gone.is_set():
            try:
                self._handoff.put(item, timeout=_POLL)
                return True
            except queue.Full:
                continue
        return False

    def _produce(self) -> None:
        try:
            for item in self._items:
                if not self._offer(item):
                    return
            self._offer(_END)
        except BaseException as exc:  # handed to the reading side, which raises it
            self._offer(_Failure(exc))


class _Failure:
    def __init__(self, exc: BaseException) -> None:
        self.exc = exc

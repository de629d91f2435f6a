"""Parsing the next blocks of an export while the current one is typed.

Arrow's streaming CSV reader parses a block only when asked for it, and the ``fputcsv`` rewrite
runs inside its reads: left in the caller's thread, parsing, rewriting and typing take turns
on one core. :func:`read_ahead` pulls the blocks in a thread of its own, a few ahead, so Arrow
parses (without the interpreter lock) while the caller types the block before.
"""

from __future__ import annotations

import queue
import threading
from collections.abc import Generator, Iterator
from typing import TypeVar, cast

T = TypeVar("T")

_END = object()
# How often a producer blocked on a full queue looks whether the reader has gone.
_POLL = 0.1


def read_ahead(items: Iterator[T], depth: int = 2) -> Generator[T, None, None]:
    """The items of ``items`` in order, produced in another thread up to ``depth`` ahead.

    An exception raised while producing is raised here, where its item would have come.
    Closing this generator early (an error while typing, Ctrl-C) stops the producer at its
    next item; memory holds at most ``depth`` items besides the one being used.
    """
    handoff: queue.Queue[object] = queue.Queue(depth)
    gone = threading.Event()

    def offer(item: object) -> bool:
        while not gone.is_set():
            try:
                handoff.put(item, timeout=_POLL)
                return True
            except queue.Full:
                continue
        return False

    def produce() -> None:
        try:
            for item in items:
                if not offer(item):
                    return
            offer(_END)
        except BaseException as exc:  # handed to the reading side, which raises it
            offer(_Failure(exc))

    threading.Thread(target=produce, name="formexport-read-ahead", daemon=True).start()
    try:
        while (item := handoff.get()) is not _END:
            if isinstance(item, _Failure):
                raise item.exc
            yield cast(T, item)
    finally:
        gone.set()


class _Failure:
    def __init__(self, exc: BaseException) -> None:
        self.exc = exc

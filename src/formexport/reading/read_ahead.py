"""Parsing the next blocks of an export while the current one is typed.

Arrow's streaming CSV reader parses a block only when asked for it, and the ``fputcsv`` rewrite
runs inside its reads: left in the caller's thread, parsing, rewriting and typing take turns
on one core. :class:`ReadAhead` pulls the blocks in a thread of its own, a few ahead, so Arrow
parses (without the interpreter lock) while the caller types the block before.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from typing import Generic, TypeVar

from formexport.handoff import Handoff

T = TypeVar("T")


class ReadAhead(Generic[T]):
    """The items of ``items`` in order, produced in another thread up to ``depth`` ahead.

    An exception raised while producing is raised where its item would have come. :meth:`close`
    (an error while typing, Ctrl-C) stops the producer at its next item; memory holds at most
    ``depth`` items besides the one being used.
    """

    def __init__(self, items: Iterator[T], depth: int = 2) -> None:
        self._items = items
        self._handoff = Handoff[T](depth)
        self._taken = iter(self._handoff)
        thread = threading.Thread(target=self._produce, name="formexport-read-ahead", daemon=True)
        thread.start()

    def __iter__(self) -> Iterator[T]:
        return self

    def __next__(self) -> T:
        return next(self._taken)

    def waiting(self) -> bool:
        """True when the next item is not produced yet: asking for it now would wait."""
        return self._handoff.empty()

    def close(self) -> None:
        """Stop the producer at its next item."""
        self._handoff.abandon()

    def _produce(self) -> None:
        try:
            for item in self._items:
                if not self._handoff.put(item):
                    return
        except BaseException as exc:  # handed to the reading side, which raises it
            self._handoff.close(exc)
            return
        self._handoff.close()

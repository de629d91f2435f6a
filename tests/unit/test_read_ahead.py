"""Blocks pulled in a thread of their own, a few ahead of the caller."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator

import pytest

from formexport.errors import CsvFormatError
from formexport.reading.read_ahead import ReadAhead


def test_items_come_in_order_from_another_thread() -> None:
    threads: list[str] = []

    def numbers() -> Iterator[int]:
        for n in range(100):
            threads.append(threading.current_thread().name)
            yield n

    assert list(ReadAhead(numbers(), depth=3)) == list(range(100))
    assert set(threads) == {"formexport-read-ahead"}


def test_an_error_comes_where_its_item_would_have() -> None:
    def failing() -> Iterator[int]:
        yield 1
        yield 2
        raise CsvFormatError("damaged at byte 9")

    ahead = ReadAhead(failing())
    assert [next(ahead), next(ahead)] == [1, 2]
    with pytest.raises(CsvFormatError, match="byte 9"):
        next(ahead)


def test_the_producer_stops_once_the_reader_has_gone() -> None:
    produced: list[int] = []

    def endless() -> Iterator[int]:
        n = 0
        while True:
            produced.append(n)
            yield n
            n += 1

    ahead = ReadAhead(endless(), depth=2)
    assert next(ahead) == 0
    ahead.close()
    deadline = time.monotonic() + 5
    while len(produced) < 3 and time.monotonic() < deadline:
        time.sleep(0.01)
    time.sleep(0.3)  # a producer that did not stop would keep adding
    assert len(produced) <= 4  # the one in use, the queue's two, one waiting to be put

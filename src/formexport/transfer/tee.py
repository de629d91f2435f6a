"""Handing the bytes of a download to a reader while they arrive.

The download runs in a thread and writes every chunk to its file as usual; a :class:`Tee` also
passes the chunk through a bounded :class:`ChunkPipe` to the thread that parses the CSV, so
parsing overlaps the transfer and memory stays flat. Anything that would make the bytes already
handed over wrong (a host that restarts from the first byte, a fresh export after an expired
link) breaks the stream with :class:`StreamBroken`; the reader then falls back to the finished
file.
"""

from __future__ import annotations

import queue
import threading
from collections.abc import Iterator
from typing import BinaryIO, cast

# Chunks in flight between the threads; a chunk is at most DOWNLOAD_CHUNK_SIZE bytes. A few
# are enough to keep both threads busy; more only hold memory while the parser catches up.
PIPE_CAPACITY = 4


class StreamBroken(Exception):
    """The bytes handed over so far are not the start of the final file."""


class DownloadCancelled(BaseException):
    """The reader gave up (an error, Ctrl-C): the download stops at its next chunk.

    A BaseException, so that no retry or resume logic mistakes it for a network fault.
    """


class _End:
    def __init__(self, error: BaseException | None) -> None:
        self.error = error


class ChunkPipe:
    """Chunks from one producer thread to one consumer, at most ``capacity`` in flight."""

    def __init__(self, capacity: int = PIPE_CAPACITY) -> None:
        self._queue: queue.Queue[bytes | _End] = queue.Queue(maxsize=capacity)
        self._abandoned = threading.Event()

    def put(self, item: bytes | _End) -> None:
        """Hand over a chunk, waiting for room unless the consumer has gone."""
        while not self._abandoned.is_set():
            try:
                self._queue.put(item, timeout=0.1)
                return
            except queue.Full:
                continue

    def close(self, error: BaseException | None = None) -> None:
        """No more chunks: the consumer sees the end, or ``error`` raised."""
        self.put(_End(error))

    def abandon(self) -> None:
        """The consumer stops reading; the producer's puts return at once from now on."""
        self._abandoned.set()

    def __iter__(self) -> Iterator[bytes]:
        while True:
            try:
                item = self._queue.get(timeout=0.1)
            except queue.Empty:
                if self._abandoned.is_set():
                    return  # a reader still in another thread ends instead of waiting forever
                continue
            if isinstance(item, _End):
                if item.error is not None:
                    raise item.error
                return
            yield item


class Tee:
    """Passes what one download writes to a :class:`ChunkPipe`, in order, exactly once.

    A download that starts over (``seek(0)``) or a second download into the same tee breaks
    the stream: what was handed over belongs to a file that will not be the final one.
    """

    def __init__(self, pipe: ChunkPipe) -> None:
        self.pipe = pipe
        self._used = False
        self._broken = False
        self._cancelled = threading.Event()

    def cancel(self) -> None:
        """Stop the download at its next chunk."""
        self._cancelled.set()
        self.pipe.abandon()

    def wrap(self, handle: BinaryIO) -> BinaryIO:
        """The file handle of one download, wrapped."""
        if self._used:
            self.break_stream()
        self._used = True
        return cast(BinaryIO, _TeeWriter(handle, self))

    def forward(self, chunk: bytes) -> None:
        """Hand over one chunk unless the stream is broken."""
        if self._cancelled.is_set():
            raise DownloadCancelled
        if not self._broken:
            self.pipe.put(chunk)

    def break_stream(self) -> None:
        """Tell the reader to fall back to the finished file."""
        if not self._broken:
            self._broken = True
            self.pipe.close(StreamBroken())


class _TeeWriter:
    """A file handle that also forwards what is written; restarting breaks the stream."""

    def __init__(self, handle: BinaryIO, tee: Tee) -> None:
        self._handle = handle
        self._tee = tee

    def write(self, chunk: bytes) -> int:
        written = self._handle.write(chunk)
        self._tee.forward(chunk)
        return written

    def seek(self, offset: int, whence: int = 0) -> int:
        self._tee.break_stream()
        return self._handle.seek(offset, whence)

    def truncate(self, size: int | None = None) -> int:
        self._tee.break_stream()
        return self._handle.truncate(size)

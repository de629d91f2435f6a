"""Handing the bytes of a download to a reader while they arrive.

The download runs in a thread and writes every chunk to its file as usual; a :class:`Tee` also
passes the chunk through a bounded :class:`ChunkPipe` to the thread that parses the CSV, so
parsing overlaps the transfer and memory stays flat. Anything that would make the bytes already
handed over wrong (a host that restarts from the first byte, a fresh export after an expired
link) breaks the stream with :class:`StreamBroken`; the reader then falls back to the finished
file.
"""

from __future__ import annotations

import threading
from typing import BinaryIO, cast

from formexport.handoff import Handoff

# Chunks in flight between the threads; a chunk is at most DOWNLOAD_CHUNK_SIZE bytes. A few
# are enough to keep both threads busy; more only hold memory while the parser catches up.
PIPE_CAPACITY = 4


class StreamBroken(Exception):
    """The bytes handed over so far are not the start of the final file."""


class DownloadCancelled(BaseException):
    """The reader gave up (an error, Ctrl-C): the download stops at its next chunk.

    A BaseException, so that no retry or resume logic mistakes it for a network fault.
    """


class ChunkPipe(Handoff[bytes]):
    """Chunks from the download thread to the parsing one, at most ``capacity`` in flight."""

    def __init__(self, capacity: int = PIPE_CAPACITY) -> None:
        super().__init__(capacity)


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

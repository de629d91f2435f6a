"""A read-only file over byte chunks: how Arrow's CSV reader takes bytes made on the way."""

from __future__ import annotations

import io
from collections.abc import Iterator


class ChunkReader(io.RawIOBase):
    """A read-only file over an iterator of byte chunks (what Arrow's CSV reader consumes).

    A read returns as many bytes as asked for unless the chunks run out: Arrow makes one block
    of each read, and small blocks would cost the typed reader per-block work many times over.
    """

    def __init__(self, chunks: Iterator[bytes]) -> None:
        super().__init__()
        self._chunks = chunks
        self._buffer = memoryview(b"")

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: bytearray | memoryview) -> int:  # type: ignore[override]
        filled = 0
        while filled < len(buffer):
            if not self._buffer:
                chunk = next(self._chunks, None)
                if chunk is None:
                    break
                self._buffer = memoryview(chunk)
            size = min(len(buffer) - filled, len(self._buffer))
            buffer[filled : filled + size] = self._buffer[:size]
            self._buffer = self._buffer[size:]
            filled += size
        return filled

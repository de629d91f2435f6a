"""Reading an export while it arrives: the stream's first record.

The chunks come from a download running in another thread (see :mod:`formexport.transfer.tee`);
reading knows nothing of where they come from.
"""

from __future__ import annotations

from collections.abc import Iterator

from formexport.reading.blocks import split_header


def read_head(chunks: Iterator[bytes], minimum: int = 64 << 10) -> bytes:
    """The first bytes of a stream: at least its first record (the header) and ``minimum``."""
    head = b""
    for chunk in chunks:
        head += chunk
        if len(head) >= minimum and _holds_a_record(head):
            break
    return head


def _holds_a_record(data: bytes) -> bool:
    return bool(split_header(data)[1])

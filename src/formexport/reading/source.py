"""One way into the typed reader for a finished file and for a file still arriving.

OpnForm has two CSV writers: the synchronous one (standard CSV, every field quoted) and PHP's
``fputcsv`` for background jobs, whose ``\\"`` is not standard CSV. Whatever the export's form,
:func:`open_export` decides once which writer wrote it and hands the typed reader standard CSV
(see :mod:`formexport.reading.fputcsv`), rewritten on the way: for a file only when it holds
``\\"``, with no copy on disk; for a stream of chunks as they arrive, so parsing still overlaps
the download.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO, cast

from formexport.reading import blocks, fputcsv
from formexport.reading.chunks import ChunkReader

__all__ = ["OpenedExport", "open_export", "standard_file"]


@dataclass(frozen=True)
class OpenedExport:
    """An export ready for the typed reader.

    Attributes
    ----------
    writer : Writer
        Which of OpnForm's two CSV writers wrote the export.
    head : bytes, Path or StandardCopy
        The whole file, or the stream's first bytes: at least its header record.
    body : bytes, Path, StandardCopy or binary file
        The export as standard CSV, header included, for
        :func:`~formexport.reading.blocks.iter_batches`: the file itself, the file read through
        the ``fputcsv`` rewrite (:class:`~formexport.reading.fputcsv.StandardCopy`), or a file
        object for a stream, which can be read only once.
    """

    writer: blocks.Writer
    head: blocks.CsvSource
    body: blocks.CsvSource | BinaryIO

    @property
    def header(self) -> list[str]:
        """The header's names, byte-order mark removed; ``[]`` for an empty export."""
        return blocks.read_header(self.head)

    @property
    def is_stream(self) -> bool:
        """True when the body is still arriving (it cannot be read a second time)."""
        return not blocks.can_read_again(self.body)


def open_export(data: blocks.CsvSource | Iterable[bytes]) -> OpenedExport:
    """Open a file (its path or bytes) or a stream (an iterable of byte chunks) for reading.

    Parameters
    ----------
    data : Path, bytes or iterable of bytes
        The finished export, or its chunks in order as they arrive. A stream of bytes that
        ``fputcsv`` cannot have written raises
        :class:`~formexport.reading.fputcsv.DamageNotLocated` when read: the finished file
        names the damaged record.
    """
    if isinstance(data, (bytes, Path, fputcsv.StandardCopy)):
        body, writer = standard_file(data)
        return OpenedExport(writer=writer, head=body, body=body)
    chunks = iter(data)
    head = _read_head(chunks)
    writer = blocks.detect_writer(head)
    arriving = itertools.chain([head], chunks)
    pieces = fputcsv.arriving_pieces(arriving) if writer == blocks.Writer.JOB else arriving
    return OpenedExport(writer=writer, head=head, body=cast(BinaryIO, ChunkReader(pieces)))


def standard_file(data: blocks.CsvSource) -> tuple[blocks.CsvSource, blocks.Writer]:
    """A finished export in a form Arrow reads exactly, and which OpnForm writer wrote it.

    ``fputcsv`` exports holding ``\\"`` are read through the rewrite as standard CSV
    (:class:`~formexport.reading.fputcsv.StandardCopy`); every other export is returned as it is.
    """
    writer = blocks.detect_writer(data)
    if (
        writer == blocks.Writer.JOB
        and isinstance(data, (bytes, Path))
        and fputcsv.has_escaped_quotes(data)
    ):
        return fputcsv.StandardCopy(data), writer
    return data, writer


def _read_head(chunks: Iterator[bytes], minimum: int = 64 << 10) -> bytes:
    """The first bytes of a stream: at least its first record (the header) and ``minimum``."""
    head = b""
    for chunk in chunks:
        head += chunk
        if len(head) >= minimum and blocks.split_header(head)[1]:
            break
    return head

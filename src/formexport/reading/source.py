"""One way into the typed reader for a finished file and for a file still arriving.

OpnForm has two CSV writers: the synchronous one (standard CSV, every field quoted) and PHP's
``fputcsv`` for background jobs, whose ``\\"`` is not standard CSV. Whatever the export's form,
:func:`open_export` decides once which writer wrote it and hands the typed reader standard CSV
(see :mod:`formexport.reading.fputcsv`): for a file, rewritten into a scratch copy only when it
holds ``\\"``; for a stream of chunks, rewritten on the way, so parsing still overlaps the
download.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO, cast

from formexport.reading import blocks, fputcsv
from formexport.reading.stream import ChunkReader, read_head

__all__ = ["OpenedExport", "open_export", "standard_file"]


@dataclass(frozen=True)
class OpenedExport:
    """An export ready for the typed reader.

    Attributes
    ----------
    writer : str
        ``"sync"`` (OpnForm's synchronous writer) or ``"async"`` (``fputcsv``).
    head : bytes or Path
        The whole file, or the stream's first bytes: at least its header record.
    body : bytes, Path or binary file
        The export as standard CSV, header included, for
        :func:`~formexport.reading.blocks.iter_batches`; a file object for a stream, which can be
        read only once.
    """

    writer: str
    head: blocks.CsvSource
    body: blocks.CsvSource | BinaryIO

    @property
    def header(self) -> list[str]:
        """The header's names, byte-order mark removed; ``[]`` for an empty export."""
        return blocks.read_header(self.head)

    @property
    def is_stream(self) -> bool:
        """True when the body is still arriving (it cannot be read a second time)."""
        return not isinstance(self.body, (bytes, Path))


def open_export(
    data: blocks.CsvSource | Iterable[bytes], scratch: Path | None = None
) -> OpenedExport:
    """Open a file (its path or bytes) or a stream (an iterable of byte chunks) for reading.

    Parameters
    ----------
    data : Path, bytes or iterable of bytes
        The finished export, or its chunks in order as they arrive.
    scratch : Path, optional
        Where a file holding ``\\"`` is rewritten; beside the file by default.
    """
    if isinstance(data, (bytes, Path)):
        body, writer = standard_file(data, scratch)
        return OpenedExport(writer=writer, head=body, body=body)
    chunks = iter(data)
    head = read_head(chunks)
    writer = blocks.detect_writer(head)
    arriving = itertools.chain([head], chunks)
    pieces = fputcsv.standard_pieces(arriving) if writer == "async" else arriving
    return OpenedExport(writer=writer, head=head, body=cast(BinaryIO, ChunkReader(pieces)))


def standard_file(
    data: blocks.CsvSource, scratch: Path | None = None
) -> tuple[blocks.CsvSource, str]:
    """A finished export in a form Arrow reads exactly, and which OpnForm writer wrote it.

    ``fputcsv`` exports holding ``\\"`` are rewritten as standard CSV into ``scratch`` (or beside
    the file); every other export is returned as it is.
    """
    writer = blocks.detect_writer(data)
    if writer == "async" and fputcsv.has_escaped_quotes(data):
        return fputcsv.to_standard(data, scratch), writer
    return data, writer

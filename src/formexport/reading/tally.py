"""What a read met in an export: how many rows and, when asked, which submissions.

The typed reader counts as it converts (:class:`~formexport.reading.typed_reader.TypedReader`
keeps a :class:`Tally`); :func:`tally_file` counts a finished file that is not read otherwise (a
CSV saved as served). :mod:`formexport.jobs.file_check` compares the counts with the request.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from formexport.reading import blocks
from formexport.reading.ids import IdColumn
from formexport.reading.source import open_export

if TYPE_CHECKING:
    import pyarrow as pa


@dataclass
class Tally:
    """Rows counted, and their submission ids (decoded from ``id``) when ``keep_ids``."""

    keep_ids: bool = False
    rows: int = 0
    _ids: list[Any] = field(default_factory=list, repr=False)

    def reset(self) -> None:
        """Count again from nothing (a read that starts over)."""
        self.rows, self._ids = 0, []

    def add(self, rows: int, submission_ids: Any = None) -> None:
        """Count a block of ``rows``; ``submission_ids`` is its Arrow array of decoded ids."""
        self.rows += rows
        if self.keep_ids and submission_ids is not None:
            self._ids.append(submission_ids)

    def submission_ids(self) -> pa.Array[Any]:
        """Every submission id counted, in order (null for an ``id`` cell that is no hashid)."""
        import pyarrow as pa

        return pa.concat_arrays(self._ids) if self._ids else pa.array([], pa.int64())


def tally_file(data: blocks.CsvSource, *, keep_ids: bool) -> tuple[list[str], Tally]:
    """A finished export's header, and its rows (and submission ids) counted."""
    opened = open_export(data)
    header = opened.header
    tally = Tally(keep_ids=keep_ids)
    block_size = blocks.BLOCK_SIZE
    while header:
        ids = IdColumn(coerced=opened.writer == blocks.Writer.ANSWER)
        try:
            for batch in blocks.iter_batches(opened.body, len(header), block_size):
                tally.add(batch.num_rows, ids.convert(batch.column(0))[1] if keep_ids else None)
        except blocks.BlockTooSmall:
            tally.reset()
            block_size = blocks.larger(block_size)
            continue
        break
    return header, tally

"""Typed exports as Arrow tables and pandas DataFrames, and the typed writing of files.

Every output reads the CSV in blocks through one
:class:`~formexport.reading.typed_reader.TypedReader`, so a DataFrame, ``ExportJob.to_arrow()``
and the files written through :func:`write_typed` (Parquet in
:mod:`~formexport.reading.parquet_output`, standard CSV in :mod:`~formexport.reading.text_output`)
hold the same values and types.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, BinaryIO

from formexport.opnform.models import ExactValues, FormInfo
from formexport.reading import blocks, column_plan
from formexport.reading.arrow_to_pandas import to_pandas
from formexport.reading.options import DEFAULT_DTYPE_BACKEND
from formexport.reading.pseudonyms import Pseudonymizing
from formexport.reading.read_ahead import ReadAhead
from formexport.reading.source import standard_file
from formexport.reading.typed_reader import ExportContext, Restart, TypedReader

if TYPE_CHECKING:
    import pandas as pd
    import pyarrow as pa

# The whole table is held in memory anyway, so blocks larger than Parquet streaming's: each
# block costs the typed reader a fixed amount of work. Smaller ones let parsing start sooner and
# leave less to do after a download's last byte (2 MB measured best of 1, 2 and 4).
TABLE_BLOCK_SIZE = 2 << 20
# Rows in a pandas piece made while the next block is still arriving: fewer pieces cost less
# to join, smaller ones leave less to convert after the last block.
PIECE_ROWS = 50_000


def readable(source: blocks.CsvSource) -> tuple[blocks.CsvSource, blocks.Writer]:
    """The export in a form Arrow reads exactly, and which OpnForm writer wrote it.

    The file case of :func:`formexport.reading.source.open_export`, which reads streams too.
    """
    return standard_file(source)


def make_reader(
    source: blocks.CsvSource,
    *,
    form: FormInfo | None,
    columns: Mapping[str, bool] | None,
    naming: str = "name",
    exact_values: ExactValues | None = None,
    context: ExportContext | None = None,
    writer: blocks.Writer | None = None,
    pseudonymizing: Pseudonymizing | None = None,
) -> TypedReader:
    """A reader for this export: the column plan checked against its header.

    ``source`` is the file, or at least its header (``OpenedExport.head`` of
    :func:`formexport.reading.source.open_export`); ``writer`` defaults to the one
    :func:`blocks.detect_writer` sees. Without ``form`` every column is text; with ``form`` but
    no ``columns`` (a file whose request is not known) the columns are worked out from the
    header (:func:`~formexport.reading.column_plan.plan_from_header`).
    """
    header = blocks.read_header(source)
    if form is None:
        plan = column_plan.text_plan(header)
    elif not header:
        # No submissions: the server writes no header, but the columns follow from the request.
        chosen = form.default_columns() if columns is None else columns
        plan = column_plan.plan_columns(form, chosen)
    elif columns is None:
        plan = column_plan.plan_from_header(form, header)
    else:
        plan = column_plan.match_header(column_plan.plan_columns(form, columns), header)
    return TypedReader(
        plan,
        writer=writer or blocks.detect_writer(source),
        naming=naming,
        exact_values=exact_values,
        context=context,
        empty=not header,
        pseudonymizing=pseudonymizing,
    )


def read_arrow(source: blocks.CsvSource | BinaryIO, reader: TypedReader) -> pa.Table:
    """The whole export as one typed Arrow table."""
    batches = _TypedBatches(reader)
    _read_all(source, reader, batches)
    return batches.table()


def read_frame(
    source: blocks.CsvSource | BinaryIO, reader: TypedReader, dtype_backend: str
) -> pd.DataFrame:
    """The whole export as a DataFrame (see :func:`to_pandas`), ``attrs`` attached.

    With the default backend, typed blocks become pandas pieces whenever the next block has not
    arrived yet (a download slower than the parse), so that little is left to convert once the
    last byte is in.
    """
    if dtype_backend != DEFAULT_DTYPE_BACKEND:
        return to_pandas(read_arrow(source, reader), dtype_backend, reader.attrs())
    pieces = FramePieces(reader)
    _read_all(source, reader, pieces)
    return pieces.frame()


class _TypedBatches:
    """Typed blocks kept as they come, for one Arrow table."""

    def __init__(self, reader: TypedReader) -> None:
        self.reader = reader
        self.batches: list[pa.RecordBatch] = []

    def restart(self) -> None:
        self.batches = []

    def add(self, batch: pa.RecordBatch, idle: bool) -> None:
        """Keep ``batch``; ``idle``: the next block has not arrived yet."""
        self.batches.append(batch)

    def table(self) -> pa.Table:
        import pyarrow as pa

        batches = self.batches or [self.reader.empty_batch()]
        # One dictionary for every block of a category column: the last, the longest.
        return pa.Table.from_batches(batches, schema=self.reader.schema()).unify_dictionaries()


class FramePieces(_TypedBatches):
    """Typed blocks turned into pandas pieces while the reader would otherwise wait."""

    def __init__(self, reader: TypedReader, piece_rows: int = PIECE_ROWS) -> None:
        super().__init__(reader)
        self.piece_rows = piece_rows
        self.pieces: list[pd.DataFrame] = []
        self._rows = 0

    def restart(self) -> None:
        super().restart()
        self.pieces, self._rows = [], 0

    def add(self, batch: pa.RecordBatch, idle: bool) -> None:
        super().add(batch, idle)
        self._rows += batch.num_rows
        if idle and self._rows >= self.piece_rows:
            self._convert_waiting()

    def _convert_waiting(self) -> None:
        self.pieces.append(to_pandas(self.table(), DEFAULT_DTYPE_BACKEND, {}))
        self.batches, self._rows = [], 0

    def frame(self) -> pd.DataFrame:
        """Every piece in one DataFrame, category columns sharing the last piece's categories
        (each block's categories extend the ones before)."""
        if self.batches or not self.pieces:
            self._convert_waiting()
        frame = self.pieces[0] if len(self.pieces) == 1 else _concat(self.pieces)
        self.pieces = []
        frame.attrs.update(self.reader.attrs())
        return frame


def _concat(pieces: list[pd.DataFrame]) -> pd.DataFrame:
    import pandas as pd

    last = pieces[-1]
    for name, dtype in last.dtypes.items():
        if isinstance(dtype, pd.CategoricalDtype):
            for piece in pieces[:-1]:
                if not piece[name].cat.categories.equals(dtype.categories):
                    piece[name] = piece[name].cat.set_categories(dtype.categories)
    return pd.concat(pieces, ignore_index=True)


def _read_all(source: blocks.CsvSource | BinaryIO, reader: TypedReader, out: _TypedBatches) -> None:
    """Type every block of the export into ``out`` (again from the start after a type change
    or a block too small, as far as the source can be read again)."""
    block_size = TABLE_BLOCK_SIZE
    while True:
        out.restart()
        reader.begin()
        try:
            if reader.columns and not reader.empty:
                parsed = ReadAhead(blocks.iter_batches(source, len(reader.columns), block_size))
                with contextlib.closing(parsed):
                    for batch in parsed:
                        out.add(reader.convert(batch), idle=parsed.waiting())
        except (Restart, blocks.BlockTooSmall) as exc:
            block_size = _before_second_pass(source, exc, block_size)
            continue
        reader.finish()
        return


def _before_second_pass(
    source: blocks.CsvSource | BinaryIO, exc: Exception, block_size: int
) -> int:
    """The block size for reading the source again; a stream cannot be read twice."""
    if not blocks.can_read_again(source):
        raise exc
    return blocks.larger(block_size) if isinstance(exc, blocks.BlockTooSmall) else block_size


#: Writes every typed block of an export to a sink, in blocks of the given size.
WriteOnce = Callable[[blocks.CsvSource | BinaryIO, Path | BinaryIO, TypedReader, int], None]


def write_typed(
    source: blocks.CsvSource | BinaryIO,
    sink: Path | BinaryIO,
    reader: TypedReader,
    write_once: WriteOnce,
) -> None:
    """Write the typed export with ``write_once``, again from the start (the sink emptied)
    after a type change or a block too small, as far as the source can be read again."""
    block_size = blocks.STREAM_BLOCK_SIZE
    while True:
        reader.begin()
        try:
            write_once(source, sink, reader, block_size)
        except (Restart, blocks.BlockTooSmall) as exc:
            block_size = _before_second_pass(source, exc, block_size)
            if not isinstance(sink, Path):
                sink.seek(0)
                sink.truncate()
            continue
        reader.finish()
        return


def csv_shape(path: Path) -> tuple[int, int]:
    """Rows and columns of an export's CSV file, read through (no header: no rows)."""
    header = blocks.read_header(path)
    if not header:
        return 0, 0
    source, _ = standard_file(path)
    batches = blocks.iter_batches(source, len(header), blocks.BLOCK_SIZE, threads=False)
    return sum(batch.num_rows for batch in batches), len(header)

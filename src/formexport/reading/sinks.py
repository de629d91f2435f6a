"""Typed exports as Arrow tables, pandas DataFrames and streamed Parquet files.

All three read the CSV in blocks through one
:class:`~formexport.reading.typed_reader.TypedReader`, so a DataFrame, ``ExportJob.to_arrow()``
and ``pandas.read_parquet`` of the Parquet file hold the same values and types. The Parquet
file carries the pandas metadata of the default dtype backend and the ``DataFrame.attrs``, so
``pandas.read_parquet(path)`` gives back the frame that :func:`~formexport.load_export` returns.
"""

from __future__ import annotations

import contextlib
import gc
import json
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any, BinaryIO

from formexport.errors import InvalidArgumentError
from formexport.opnform.models import ExactValues, FormInfo
from formexport.reading import blocks, codebook, column_plan, frames
from formexport.reading.pseudonyms import Pseudonymizing
from formexport.reading.read_ahead import ReadAhead
from formexport.reading.source import standard_file
from formexport.reading.typed_reader import (
    METADATA_KEY,
    NAMINGS,
    ExportContext,
    Restart,
    TypedReader,
)

if TYPE_CHECKING:
    import pandas as pd
    import pyarrow as pa
    import pyarrow.parquet as pq

#: Where values come from: ``"auto"`` (exact for the synchronous writer), ``"csv"``, ``"exact"``.
VALUE_SOURCES = ("auto", "csv", "exact")
DTYPE_BACKENDS = ("numpy_nullable", "pyarrow")
DEFAULT_DTYPE_BACKEND = "numpy_nullable"
PANDAS_ATTRS = b"PANDAS_ATTRS"  # where pandas keeps DataFrame.attrs in Parquet files
#: The Parquet key-value metadata key holding the codebook: a JSON list of its rows, for readers
#: that see neither pandas' categories nor the Arrow schema (DuckDB, polars).
CODEBOOK_KEY = b"formexport.codebook"
# The whole table is held in memory anyway, so blocks larger than Parquet streaming's: each
# block costs the typed reader a fixed amount of work. Smaller ones let parsing start sooner and
# leave less to do after a download's last byte (2 MB measured best of 1, 2 and 4).
TABLE_BLOCK_SIZE = 2 << 20
# Rows in a pandas piece made while the next block is still arriving: fewer pieces cost less
# to join, smaller ones leave less to convert after the last block.
PIECE_ROWS = 50_000
# Rows per Parquet row group (many blocks' worth): few enough groups for readers, little memory.
ROW_GROUP_ROWS = 64 * 1024


def check_options(
    *, naming: str = "name", dtype_backend: str = DEFAULT_DTYPE_BACKEND, values: str = "auto"
) -> None:
    """Raise :class:`InvalidArgumentError` for an unknown ``naming``, ``dtype_backend`` or
    ``values``, before anything is sent to the server."""
    if values not in VALUE_SOURCES:
        raise InvalidArgumentError(f"values must be one of {VALUE_SOURCES}, not {values!r}.")
    if naming not in NAMINGS:
        raise InvalidArgumentError(f"naming must be one of {NAMINGS}, not {naming!r}.")
    if dtype_backend not in DTYPE_BACKENDS:
        raise InvalidArgumentError(
            f"dtype_backend must be one of {DTYPE_BACKENDS}, not {dtype_backend!r}."
        )


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


def write_parquet(
    source: blocks.CsvSource | BinaryIO, sink: Path | BinaryIO, reader: TypedReader
) -> None:
    """Stream the export into Parquet, block by block (memory stays flat)."""
    write_typed(source, sink, reader, _write_once)


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


def _write_once(
    source: blocks.CsvSource | BinaryIO, sink: Path | BinaryIO, reader: TypedReader, block_size: int
) -> None:
    import pyarrow.parquet as pq

    where: Any = str(sink) if isinstance(sink, Path) else sink
    writer: pq.ParquetWriter | None = None
    group = _RowGroup()
    try:
        count = len(reader.columns)
        # Typing each block is the slow stage: Arrow's read-ahead would only pile up blocks.
        batches = (
            blocks.iter_batches(source, count, block_size, threads=False)
            if reader.columns and not reader.empty
            else ()
        )
        for batch in batches:
            typed = reader.convert(batch)
            # The first block settles what blocks cannot tell in advance (a date's UTC offset).
            if writer is None:
                group.schema = parquet_schema(reader)
                writer = pq.ParquetWriter(where, group.schema)
            group.add(typed, writer)
        if writer is None:
            writer = pq.ParquetWriter(where, parquet_schema(reader))
        group.flush(writer)
    finally:
        if writer is not None:
            writer.close()


class _RowGroup:
    """Typed blocks gathered into one Parquet row group of about :data:`ROW_GROUP_ROWS` rows.

    A block holds a few thousand rows; a row group per block would make readers pay per group
    and the writer keep a footer entry for each until it closes.
    """

    def __init__(self) -> None:
        self.schema: Any = None
        self._batches: list[pa.RecordBatch] = []
        self._rows = 0

    def add(self, batch: pa.RecordBatch, writer: pq.ParquetWriter) -> None:
        self._batches.append(batch)
        self._rows += batch.num_rows
        if self._rows >= ROW_GROUP_ROWS:
            self.flush(writer)

    def flush(self, writer: pq.ParquetWriter) -> None:
        import pyarrow as pa

        if self._rows:
            table = pa.Table.from_batches(self._batches).unify_dictionaries()
            writer.write_table(table.cast(self.schema), row_group_size=self._rows)
        self._batches, self._rows = [], 0


def parquet_schema(reader: TypedReader) -> pa.Schema:
    """The reader's schema as Parquet holds it, plus what pandas needs to rebuild the default
    DataFrame, and the codebook under :data:`CODEBOOK_KEY`.

    Dates without time are stored as midnight timestamps: ``pandas.read_parquet`` turns Parquet
    dates into ``datetime.date`` objects, and timestamps into the ``datetime64`` column that
    :func:`to_pandas` gives.
    """
    import pyarrow as pa

    base = reader.schema()
    fields = [f.with_type(stored_type(f.type)) for f in base]
    metadata: dict[bytes | str, bytes | str] = dict((base.metadata or {}).items())
    metadata[b"pandas"] = pandas_metadata(base)
    metadata[PANDAS_ATTRS] = json.dumps(reader.attrs()).encode()
    metadata[CODEBOOK_KEY] = json.dumps(codebook.codebook_rows(reader.describe())).encode()
    return pa.schema(fields, metadata=metadata)


def pandas_metadata(schema: pa.Schema) -> bytes:
    """What pandas reads from a Parquet file's ``pandas`` metadata to rebuild the frame of the
    default dtype backend (nullable dtypes, categories) from a file of this schema."""
    import pyarrow as pa

    empty = to_pandas(schema.empty_table(), DEFAULT_DTYPE_BACKEND, {})
    pandas_meta = pa.Schema.from_pandas(empty, preserve_index=False).metadata or {}
    return bytes(pandas_meta[b"pandas"])


def with_columns(
    metadata: Mapping[bytes, bytes], schema: pa.Schema, columns: Mapping[str, Any]
) -> dict[bytes, bytes]:
    """A Parquet file's metadata with ``columns`` as the description of its columns, in its
    ``DataFrame.attrs`` and in formexport's record of them (whatever else they hold stays), the
    codebook under :data:`CODEBOOK_KEY`, and pandas' metadata for ``schema``."""
    updated = dict(metadata)
    for key in (METADATA_KEY, PANDAS_ATTRS):
        attrs = json.loads(updated.get(key, b"{}"))
        attrs["columns"] = dict(columns)
        updated[key] = json.dumps(attrs).encode()
    updated[CODEBOOK_KEY] = json.dumps(codebook.codebook_rows(columns)).encode()
    updated[b"pandas"] = pandas_metadata(schema)
    return updated


def stored_type(kind: pa.DataType) -> pa.DataType:
    """The Arrow type a column has in pandas' default backend (dates become timestamps)."""
    import pyarrow as pa

    return pa.timestamp("us") if pa.types.is_date32(kind) else kind


def _nullable_types() -> dict[Any, Any]:
    import pandas as pd
    import pyarrow as pa

    return {
        pa.int64(): pd.Int64Dtype(),
        pa.float64(): pd.Float64Dtype(),
        pa.bool_(): pd.BooleanDtype(),
        pa.string(): pd.StringDtype(),
        pa.large_string(): pd.StringDtype(),
    }


def to_pandas(table: pa.Table, dtype_backend: str, attrs: Mapping[str, Any]) -> pd.DataFrame:
    """A DataFrame with nullable NumPy dtypes or Arrow-backed dtypes, ``attrs`` attached.

    The default backend gives option fields as ``Categorical`` (the form's options first, in
    order), lists as Python lists, and dates without time as ``datetime64[us]``.
    """
    import pandas as pd

    table = table.unify_dictionaries()
    if dtype_backend == "pyarrow":
        frame = table.to_pandas(types_mapper=pd.ArrowDtype)
    else:
        with _collection_paused():
            frame = _nullable_frame(table)
    frame.attrs.update(attrs)
    return frame


@contextlib.contextmanager
def _collection_paused() -> Iterator[None]:
    """Python's cyclic garbage collector paused while cells become Python objects.

    Lists and matrix dicts are container objects: creating millions of them sets off full
    collections that walk every object the process holds, which costs more than the
    conversion itself. None of them can be part of a cycle.
    """
    paused = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if paused:
            gc.enable()


def _nullable_frame(table: pa.Table) -> pd.DataFrame:
    import pandas as pd
    import pyarrow as pa

    objects: dict[int, Any] = {}
    for index, field in enumerate(table.schema):
        cells = _object_cells(table.column(index))
        if cells is not None:
            objects[index] = cells
            # Arrow converts an empty stand-in; the cells made here replace it below.
            table = table.set_column(index, field.with_type(pa.null()), pa.nulls(len(table)))
        elif pa.types.is_date32(field.type):
            dates = table.column(index).cast(pa.timestamp("us"))
            table = table.set_column(index, field.with_type(dates.type), dates)
    frame = table.to_pandas(types_mapper=_nullable_types().get)
    for index, cells in objects.items():
        # A Series is taken as it is; a bare array would be copied, one reference at a time.
        frame.isetitem(index, pd.Series(cells, index=frame.index, dtype=object, copy=False))
    return frame


def _object_cells(column: pa.ChunkedArray[Any]) -> Any:
    """A list or matrix column's cells as Python objects; ``None`` for other columns, and for
    a matrix whose rows are mostly distinct (Arrow's conversion is as fast)."""
    import pyarrow as pa

    kind = column.type
    if frames.is_string_list(kind):
        return frames.string_lists(column)
    if pa.types.is_list(kind):
        # Lists are what json.dumps takes (Arrow would make NumPy arrays).
        return frames.python_lists(column)
    if frames.is_string_struct(kind):
        return frames.string_dicts(column)
    return None


def parquet_shape(path: Path) -> tuple[int, int]:
    """Rows and columns of a Parquet file, from its footer."""
    import pyarrow.parquet as pq

    parquet = pq.ParquetFile(path)
    # Top-level columns: a matrix's struct or a list counts once, as in the DataFrame.
    return parquet.metadata.num_rows, len(parquet.schema_arrow)


def csv_shape(path: Path) -> tuple[int, int]:
    """Rows and columns of an export's CSV file, read through (no header: no rows)."""
    header = blocks.read_header(path)
    if not header:
        return 0, 0
    source, _ = standard_file(path)
    batches = blocks.iter_batches(source, len(header), blocks.BLOCK_SIZE, threads=False)
    return sum(batch.num_rows for batch in batches), len(header)

"""Typed exports streamed into Parquet files, block by block (memory stays flat).

The file carries the pandas metadata of the default dtype backend and the ``DataFrame.attrs``,
so ``pandas.read_parquet(path)`` gives back the frame :func:`~formexport.load_export` returns,
and the codebook for readers that see neither pandas' categories nor the Arrow schema.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any, BinaryIO

from formexport.reading import blocks, codebook
from formexport.reading.arrow_to_pandas import to_pandas
from formexport.reading.options import DEFAULT_DTYPE_BACKEND
from formexport.reading.sinks import write_typed
from formexport.reading.typed_reader import METADATA_KEY, TypedReader

if TYPE_CHECKING:
    import pyarrow as pa
    import pyarrow.parquet as pq

PANDAS_ATTRS = b"PANDAS_ATTRS"  # where pandas keeps DataFrame.attrs in Parquet files
#: The Parquet key-value metadata key holding the codebook: a JSON list of its rows, for readers
#: that see neither pandas' categories nor the Arrow schema (DuckDB, polars).
CODEBOOK_KEY = b"formexport.codebook"
# Rows per Parquet row group (many blocks' worth): few enough groups for readers, little memory.
ROW_GROUP_ROWS = 64 * 1024


def write_parquet(
    source: blocks.CsvSource | BinaryIO, sink: Path | BinaryIO, reader: TypedReader
) -> None:
    """Stream the export into Parquet, block by block (memory stays flat)."""
    write_typed(source, sink, reader, _write_once)


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


def parquet_shape(path: Path) -> tuple[int, int]:
    """Rows and columns of a Parquet file, from its footer."""
    import pyarrow.parquet as pq

    parquet = pq.ParquetFile(path)
    # Top-level columns: a matrix's struct or a list counts once, as in the DataFrame.
    return parquet.metadata.num_rows, len(parquet.schema_arrow)

"""Reading an OpnForm CSV export into Arrow, pandas and Parquet, values exactly as served.

Every column is read as text, exactly as served; typing from the form's fields happens in
:mod:`formexport.reading.typed_reader`, which reads the blocks :func:`iter_batches` yields.
Empty cells become missing values. Header names repeat in OpnForm exports (two fields named
"Email"); repeats get pandas' suffixes: ``Email``, ``Email.1``, ...
"""

from __future__ import annotations

import codecs
import csv
import io
from collections.abc import Iterator, Sequence
from enum import Enum
from pathlib import Path
from typing import TYPE_CHECKING, Any, BinaryIO

from formexport.errors import CsvFormatError
from formexport.reading.fputcsv import StandardCopy

if TYPE_CHECKING:
    import pandas as pd
    import pyarrow as pa

#: A whole export, which can be read any number of times.
CsvSource = Path | bytes | StandardCopy

# Large blocks keep the reader fast; a block must hold the longest row.
BLOCK_SIZE = 16 << 20
# Streaming reads use small blocks: Arrow reads ahead, and its memory grows with the block size.
STREAM_BLOCK_SIZE = 1 << 20
MAX_BLOCK_SIZE = 1 << 30


class BlockTooSmall(Exception):
    """A row is longer than the block size: read again with :func:`larger` blocks."""


def unique_names(names: Sequence[str]) -> list[str]:
    """Make header names unique the way ``pandas.read_csv`` does: ``X``, ``X.1``, ``X.2``."""
    taken: set[str] = set()
    result = []
    for name in names:
        candidate, suffix = name, 0
        while candidate in taken:
            suffix += 1
            candidate = f"{name}.{suffix}"
        taken.add(candidate)
        result.append(candidate)
    return result


def can_read_again(source: CsvSource | BinaryIO) -> bool:
    """True for a whole export; False for a stream, which is read once."""
    return isinstance(source, (bytes, Path, StandardCopy))


def _open(source: CsvSource) -> BinaryIO:
    if isinstance(source, bytes):
        return io.BytesIO(source)
    if isinstance(source, StandardCopy):
        return io.BufferedReader(source.open())
    return open(source, "rb")


def first_bytes(source: CsvSource, size: int) -> bytes:
    """The first ``size`` bytes of an export (all of a shorter one)."""
    with _open(source) as stream:
        return stream.read(size)


def read_header(source: CsvSource) -> list[str]:
    """The first CSV record (the header), BOM removed; ``[]`` for an empty export."""
    raw = _open(source)
    with io.TextIOWrapper(raw, encoding="utf-8-sig", newline="") as text:
        try:
            header = next(csv.reader(text), [])
        except (csv.Error, UnicodeDecodeError) as exc:
            raise CsvFormatError(f"The export's header row is not valid CSV: {exc}") from exc
    # The server's empty export is a single empty quoted cell with no header.
    return [] if header in ([], [""]) else header


def _options(
    column_count: int, block_size: int = BLOCK_SIZE, threads: bool = True
) -> tuple[Any, Any, Any]:
    import pyarrow as pa
    import pyarrow.csv as pacsv

    names = [f"c{i}" for i in range(column_count)]
    read = pacsv.ReadOptions(column_names=names, block_size=block_size, use_threads=threads)
    parse = pacsv.ParseOptions(newlines_in_values=True)
    convert = pacsv.ConvertOptions(
        column_types=dict.fromkeys(names, pa.string()),
        null_values=[""],
        strings_can_be_null=True,
        quoted_strings_can_be_null=True,
    )
    return read, parse, convert


def _input(source: CsvSource | BinaryIO) -> Any:
    import pyarrow as pa

    if isinstance(source, bytes):
        return pa.BufferReader(source)
    if isinstance(source, Path):
        return str(source)
    if isinstance(source, StandardCopy):
        return source.open()
    return source  # a stream: Arrow reads it as it arrives


def _empty_table(names: Sequence[str]) -> pa.Table:
    import pyarrow as pa

    return pa.table({name: pa.array([], pa.string()) for name in unique_names(names)})


def read_table(source: CsvSource) -> pa.Table:
    """Read a whole export into an Arrow table of text columns with unique names."""
    import pyarrow as pa
    import pyarrow.csv as pacsv

    header = read_header(source)
    if not header:
        return _empty_table([])
    read, parse, convert = _options(len(header))
    try:
        table = pacsv.read_csv(_input(source), read, parse, convert)
    except (pa.ArrowInvalid, UnicodeDecodeError) as exc:
        raise _not_csv(exc) from exc
    return table.slice(1).rename_columns(unique_names(header))


def to_dataframe(source: CsvSource) -> pd.DataFrame:
    """Read a whole export into a pandas DataFrame of text columns."""
    return read_table(source).to_pandas()


def _not_csv(exc: Exception) -> CsvFormatError:
    return CsvFormatError(
        f"The export is not well-formed CSV: {exc}. Was it cut short, or saved again by "
        "another program? Download the export again."
    )


def larger(block_size: int) -> int:
    """The next block size to try after :class:`BlockTooSmall`."""
    if block_size >= MAX_BLOCK_SIZE:
        raise CsvFormatError("The export has a row longer than 1 GiB; it cannot be read.")
    return block_size * 16


def iter_batches(
    source: CsvSource | BinaryIO,
    column_count: int,
    block_size: int = STREAM_BLOCK_SIZE,
    *,
    threads: bool = True,
) -> Iterator[pa.RecordBatch]:
    """The export's rows as text record batches (columns ``c0``, ``c1``...), header removed.

    With ``threads``, Arrow parses blocks in parallel and reads ahead of the consumer; without,
    one block at a time in this thread, so that memory does not depend on which side is faster.
    Raises :class:`BlockTooSmall` when a row does not fit in ``block_size`` bytes.
    """
    import pyarrow as pa
    import pyarrow.csv as pacsv

    read, parse, convert = _options(column_count, block_size, threads)
    try:
        reader = pacsv.open_csv(_input(source), read, parse, convert)
        first = True
        for batch in reader:
            if first:
                batch, first = batch.slice(1), False
            yield batch
    except pa.ArrowInvalid as exc:
        if "straddl" in str(exc):
            raise BlockTooSmall from exc
        raise _not_csv(exc) from exc
    except UnicodeDecodeError as exc:
        raise _not_csv(exc) from exc


def to_parquet(source: CsvSource, sink: Path | BinaryIO) -> None:
    """Stream an export into Parquet (a path or a binary file), one block at a time."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    header = read_header(source)
    names = unique_names(header)
    schema = pa.schema([(name, pa.string()) for name in names])
    where = str(sink) if isinstance(sink, Path) else sink
    with pq.ParquetWriter(where, schema) as writer:
        if not header:
            return
        for batch in iter_batches(source, len(header), BLOCK_SIZE):
            writer.write_batch(pa.RecordBatch.from_arrays(batch.columns, schema=schema))


class Writer(str, Enum):
    """Which of OpnForm's two CSV writers wrote an export.

    ``ANSWER`` writes the exports the server answers at once (up to 1000 submissions, and every
    batch of the batched route): maatwebsite/excel's CSV writer, which quotes every field and
    prints 0 and false as empty cells. ``JOB`` writes the exports a server job builds: PHP's
    ``fputcsv``, whose ``\\"`` is not standard CSV (see :mod:`formexport.reading.fputcsv`).
    """

    ANSWER = "answer"
    JOB = "job"


def detect_writer(source: CsvSource) -> Writer:
    """Which writer wrote the export, from its first bytes.

    The answer's writer quotes every field, so its header starts ``"id"``; ``fputcsv`` leaves
    ``id`` bare.
    """
    if isinstance(source, StandardCopy):
        return Writer.JOB
    with _open(source) as stream:
        head = stream.read(8)
    return Writer.ANSWER if strip_bom(head).startswith(b'"') else Writer.JOB


def strip_bom(data: bytes) -> bytes:
    """``data`` without a leading UTF-8 byte-order mark."""
    return data[len(codecs.BOM_UTF8) :] if data.startswith(codecs.BOM_UTF8) else data


def split_header(data: bytes) -> tuple[bytes, bytes]:
    """Split CSV bytes after the first record (quotes may hide newlines inside it)."""
    in_quotes = False
    for index, byte in enumerate(data):
        if byte == 0x22:  # a doubled quote toggles twice, so state stays right
            in_quotes = not in_quotes
        elif byte == 0x0A and not in_quotes:
            return data[: index + 1], data[index + 1 :]
    return data, b""

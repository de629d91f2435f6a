"""Typed exports written back as standard CSV, which any CSV reader reads right.

OpnForm's server job writes ``fputcsv``'s ``\\"``, which no standard reader splits right. The
file written here is RFC 4180 CSV in UTF-8 with a byte-order mark (so Excel sees UTF-8): every
text cell quoted and its quotes doubled, so an empty text (``""``) stays apart from a missing
value (an empty cell). Typed columns become text: numbers and booleans as Arrow prints them
(``2.5``, ``true``), dates in ISO 8601, lists and matrices as JSON.
"""

from __future__ import annotations

import codecs
import json
from pathlib import Path
from typing import Any, BinaryIO

from formexport.reading import blocks, sinks
from formexport.reading.converters import ArrowArray
from formexport.reading.typed_reader import TypedReader


def write_csv(source: blocks.CsvSource | BinaryIO, sink: BinaryIO, reader: TypedReader) -> None:
    """Stream the typed export into standard CSV, block by block (memory stays flat)."""
    sinks.write_typed(source, sink, reader, _write_once)


def _write_once(
    source: blocks.CsvSource | BinaryIO, sink: Path | BinaryIO, reader: TypedReader, size: int
) -> None:
    import pyarrow as pa
    import pyarrow.csv as pacsv

    assert not isinstance(sink, Path)
    schema = pa.schema([(name, pa.string()) for name in reader.names()])
    sink.write(codecs.BOM_UTF8)
    options = pacsv.WriteOptions(quoting_style="needed")
    with pacsv.CSVWriter(sink, schema, write_options=options) as writer:
        batches = (
            blocks.iter_batches(source, len(reader.columns), size, threads=False)
            if reader.columns and not reader.empty
            else ()
        )
        for batch in batches:
            typed = reader.convert(batch)
            texts = [as_text(column) for column in typed.columns]
            writer.write_batch(pa.RecordBatch.from_arrays(texts, schema=schema))


def as_text(column: ArrowArray) -> ArrowArray:
    """A typed column's values as text; missing values stay missing."""
    import pyarrow as pa

    kind = column.type
    if pa.types.is_list(kind) or pa.types.is_struct(kind):
        return pa.array([_json(value) for value in column.to_pylist()], pa.string())
    if pa.types.is_dictionary(kind):
        column = column.dictionary_decode()
    return column.cast(pa.string())


def _json(value: Any) -> str | None:
    return None if value is None else json.dumps(value, ensure_ascii=False)

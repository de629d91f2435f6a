"""Every Parquet file of a form in one schema: the one the form's codebook entry holds.

A new export is written in it before it is uploaded: its columns renamed to their dataset names
(matched by key, see :mod:`formexport.dataset.stable_columns`), cast to the dataset's types,
the columns it lacks added as missing values, in the files' order. When a run changes the
schema (a field added, a type widened), the form's earlier files are written again in the new
one, each through a temporary file, so that a reader sees each file whole. So DuckDB, polars,
pyarrow and Spark read a form's folder as one table, without merging schemas.

Deleted fields come out of an export as text (see ``docs/data-types.md``); the dataset types
them by the definition OpnForm keeps for them (:func:`typed_deleted_fields`), so a field's
column keeps its type when the field is deleted.
"""

from __future__ import annotations

import json
import logging
import re
import uuid
from collections.abc import Iterable
from typing import Any

from formexport.dataset.codebook_file import BookColumn, FormBook
from formexport.dataset.column_types import cast_column, same_type
from formexport.dataset.stable_columns import (
    absorb,
    column_key,
    described,
    incoming_columns,
    merge,
)
from formexport.errors import DatasetError
from formexport.opnform.models import FormField, FormInfo
from formexport.reading import parquet_output
from formexport.reading.converters import Converter, NotThisType
from formexport.reading.field_types import converter_for
from formexport.reading.typed_reader import METADATA_KEY

logger = logging.getLogger("formexport")


def conform(table: Any, book: FormBook) -> Any:
    """``table`` (a typed export, or a file of the form) in the form's dataset schema."""
    import pyarrow as pa

    entries = book.by_dataset_column()
    present = {column_key(described(f), f.name): i for i, f in enumerate(table.schema)}
    unknown = set(present) - set(book.by_key())
    if unknown:
        # Never drop a column: the book is widened (absorb) before any file is written.
        raise DatasetError(
            f"Form {book.form_id}: the codebook lacks the columns {sorted(unknown)} of a file; "
            "run export_forms again to bring the codebook up to date."
        )
    arrays, fields = [], []
    for target in book.arrow_schema:
        index = present.get(entries[target.name].key)
        if index is None:
            arrays.append(pa.nulls(table.num_rows, target.type))
            fields.append(target)
            continue
        arrays.append(cast_column(table.column(index), target.type))
        fields.append(_field(table.schema.field(index), target, entries[target.name]))
    schema = pa.schema(fields)
    columns = {f.name: described(f) for f in schema}
    metadata = parquet_output.with_columns(table.schema.metadata or {}, schema, columns)
    return pa.Table.from_arrays(arrays, schema=schema.with_metadata(metadata))


def _field(own: Any, target: Any, entry: BookColumn) -> Any:
    """A file's column as the dataset names it, with the file's own record of its field (the
    name and options it had then) and the type the dataset stores it as."""
    info = described(own) or described(target)
    if not same_type(own.type, target.type):
        info["type"] = entry.type
    return target.with_metadata({METADATA_KEY: json.dumps(info)})


def book_from_files(
    fs: Any, root: str, relatives: Iterable[str], book: FormBook | None, form_id: int
) -> FormBook | None:
    """The form's book once it covers each of its files: built from the files when there is
    none (a dataset written before codebooks: each file counts as a run of its export date),
    or widened for files without its schema (a run stopped while writing them again)."""
    import pyarrow.parquet as pq

    building = book is None
    for relative in relatives:
        path = f"{root}/{relative}"
        if not fs.exists(path):
            continue
        with fs.open(path, "rb") as handle:
            schema = pq.read_schema(handle)
        if building or book is None:
            book = merge(form_id, book, incoming_columns(schema), _run_of(relative))
        elif not conforms(schema, book):
            book = absorb(book, incoming_columns(schema), _run_of(relative))
    return book


def _run_of(relative: str) -> str:
    """The export date in a file's path (``form_id=1/export_date=2026-11-28/…``)."""
    match = re.search(r"export_date=([^/]+)", relative)
    return match.group(1) if match else ""


def conforms(schema: Any, book: FormBook) -> bool:
    """Whether a file of this schema already has the form's dataset schema."""
    target = book.arrow_schema
    return schema.names == target.names and all(
        same_type(mine.type, theirs.type) for mine, theirs in zip(schema, target, strict=True)
    )


def conform_files(fs: Any, root: str, relatives: Iterable[str], book: FormBook) -> int:
    """Write again, in the form's dataset schema, the files that do not have it yet; return
    how many were written."""
    import pyarrow.parquet as pq

    written = 0
    for relative in relatives:
        path = f"{root}/{relative}"
        with fs.open(path, "rb") as handle:
            if conforms(pq.read_schema(handle), book):
                continue
        with fs.open(path, "rb") as handle:
            table = pq.read_table(handle)
        write_file(fs, root, relative, conform(table, book))
        written += 1
    if written:
        logger.info("Form %s: %d files written again in the new schema", book.form_id, written)
    return written


def write_table(table: Any, where: Any) -> None:
    """Write a table as formexport writes Parquet (its row groups' size included)."""
    import pyarrow.parquet as pq

    pq.write_table(table, where, row_group_size=parquet_output.ROW_GROUP_ROWS)


def write_file(fs: Any, root: str, relative: str, table: Any) -> None:
    """Replace ``root/relative`` by ``table``, through a temporary file that readers skip."""
    tmp = f"{root}/_{uuid.uuid4().hex}.tmp"
    with fs.open(tmp, "wb") as out:
        write_table(table, out)
    fs.mv(tmp, f"{root}/{relative}")


def typed_deleted_fields(table: Any, form: FormInfo) -> Any:
    """``table`` (a typed export) with its deleted fields' text read by their type, where every
    value fits it (or a wider one); the others stay text."""
    removed = {f.id: f for f in form.removed_fields}
    for index in reversed(range(table.num_columns)):
        info = described(table.schema.field(index))
        found = removed.get(str(info.get("field_id"))) if info.get("deleted") else None
        if found is not None:
            table = _typed(table, index, found, info)
    return table


def _typed(table: Any, index: int, field: FormField, info: dict[str, Any]) -> Any:
    import pyarrow as pa

    text = table.column(index).combine_chunks()
    read = _read_as(converter_for(field), text)
    if read is None:
        return table
    converter, arrays = read
    arrays = [_keep_missing(values, text) for values in arrays]
    name = table.schema.field(index).name
    table = table.remove_column(index)
    for offset, (part, values) in enumerate(zip(converter.parts, arrays, strict=True)):
        column = dict(info, type=converter.label)
        if part:
            column["part"] = part
        kind = parquet_output.stored_type(values.type)
        typed = pa.field(f"{name} ({part})" if part else name, kind,
                         metadata={METADATA_KEY: json.dumps(column)})  # fmt: skip
        table = table.add_column(index + offset, typed, values.cast(kind))
    return table


def _keep_missing(values: Any, text: Any) -> Any:
    """``values`` missing wherever ``text`` is: no answer stays no answer (a converter reads an
    empty cell as ``False`` or an empty list, as the CSV of a live field means them)."""
    import pyarrow as pa
    import pyarrow.compute as pc

    if not text.null_count:
        return values
    answered = pc.is_valid(text)
    if pa.types.is_dictionary(values.type):
        indices = pc.if_else(answered, values.indices, pa.scalar(None, values.indices.type))
        return pa.DictionaryArray.from_arrays(indices, values.dictionary)
    return pc.if_else(answered, values, pa.scalar(None, values.type))


def _read_as(converter: Converter | None, text: Any) -> tuple[Converter, list[Any]] | None:
    """The converter that reads every value (trying wider ones), and what it read."""
    import pyarrow as pa

    while converter is not None and converter.label != "text":
        try:
            return converter, converter.convert(text)
        except (NotThisType, pa.ArrowException):
            converter = converter.wider()
    return None

"""The file cells of a typed export: read to plan the files, rewritten to hold their paths.

A typed export marks each column with what it holds (``DataFrame.attrs["columns"]``, or the
Arrow field's metadata): live file-upload and signature fields are the columns of links, and the
``submission_id`` column names each row's submission. Planning reads only those; rewriting
replaces only the link columns, with the same type (a list of strings per row). A Parquet file is
read and rewritten one row group at a time, so memory stays flat however large it is.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, BinaryIO

from formexport.reading import blocks
from formexport.reading.sinks import PANDAS_ATTRS
from formexport.reading.source import OpenedExport
from formexport.reading.typed_reader import METADATA_KEY, Restart, TypedReader
from formexport.uploads.plan import Upload, plan_cell
from formexport.uploads.saving import SavedUploads, UploadSaver

if TYPE_CHECKING:
    import pandas as pd
    import pyarrow as pa

FILE_TYPES = frozenset({"files", "signature"})


@dataclass(frozen=True)
class FileColumns:
    """The columns of a typed export that hold uploaded files, and those naming submissions.

    Attributes
    ----------
    links : list of (str, str)
        Each file-upload or signature column and its field id.
    submission_id : str or None
        The column of numeric submission ids.
    id_text : str or None
        The ``id`` column as the server wrote it (names a row whose id did not decode).
    """

    links: list[tuple[str, str]]
    submission_id: str | None
    id_text: str | None

    @classmethod
    def described(cls, columns: Mapping[str, Mapping[str, Any]]) -> FileColumns:
        """From the column descriptions of ``DataFrame.attrs["columns"]``."""
        links, submission_id, id_text = [], None, None
        for name, info in columns.items():
            kind, field_type = info.get("kind"), info.get("field_type")
            # A deleted field is read as text; a pseudonymized one holds no links, and its
            # answers (the files too) are to stay out.
            kept = not info.get("deleted") and not info.get("pseudonymized")
            if kind == "field" and field_type in FILE_TYPES and kept:
                links.append((name, str(info.get("field_id"))))
            elif kind == "id" and info.get("type") == "submission_id":
                submission_id = name
            elif kind == "id":
                id_text = name
        return cls(links, submission_id, id_text)

    @classmethod
    def of_schema(cls, schema: pa.Schema) -> FileColumns:
        """From the metadata of a typed export's Arrow schema."""
        described = {}
        for field in schema:
            raw = (field.metadata or {}).get(METADATA_KEY)
            if raw is not None:
                described[field.name] = json.loads(raw)
        return cls.described(described)

    @property
    def names(self) -> list[str]:
        """The columns planning reads."""
        named = [self.submission_id, self.id_text, *(name for name, _ in self.links)]
        return [name for name in named if name is not None]


class CellPlanner:
    """The files of each cell of one form's export."""

    def __init__(self, form_id: int, columns: FileColumns) -> None:
        self.form_id = form_id
        self.columns = columns

    def rows(self, table: pa.Table | pa.RecordBatch) -> Iterator[list[list[Upload]]]:
        """For each row of ``table``, the files of each link column (in column order)."""
        count = table.num_rows
        ids = _values(table, self.columns.submission_id, count)
        texts = _values(table, self.columns.id_text, count)
        cells = [table.column(name).to_pylist() for name, _ in self.columns.links]
        for row in range(count):
            yield [
                self._cell(ids[row], texts[row], field_id, cells[index][row])
                for index, (_, field_id) in enumerate(self.columns.links)
            ]

    def uploads(self, table: pa.Table | pa.RecordBatch) -> list[Upload]:
        """Every file ``table`` names, row by row."""
        return [u for row in self.rows(table) for cell in row for u in cell]

    def _cell(self, submission_id: Any, text: Any, field_id: str, links: Any) -> list[Upload]:
        if not links:
            return []
        known = None if submission_id is None else int(submission_id)
        folder = str(known) if known is not None else str(text or "unknown")
        return plan_cell(self.form_id, known, folder, field_id, [str(link) for link in links])

    def rewritten(self, table: pa.Table, saved: SavedUploads) -> pa.Table:
        """``table`` with each link column holding the saved files' paths."""
        import pyarrow as pa

        per_column: list[list[list[str] | None]] = [[] for _ in self.columns.links]
        for row in self.rows(table):
            for index, planned in enumerate(row):
                per_column[index].append(saved.cell(planned) if planned else None)
        for index, (name, _) in enumerate(self.columns.links):
            position = table.schema.get_field_index(name)
            field = table.schema.field(position)
            original = table.column(position)
            values = [
                kept if kept is not None else cell
                for kept, cell in zip(per_column[index], original.to_pylist(), strict=True)
            ]
            table = table.set_column(position, field, pa.array(values, type=field.type))
        return table


def _values(table: pa.Table | pa.RecordBatch, name: str | None, count: int) -> list[Any]:
    return table.column(name).to_pylist() if name is not None else [None] * count


# --- pandas ---------------------------------------------------------------------------------


def frame_with_paths(frame: pd.DataFrame, form_id: int, saver: UploadSaver) -> pd.DataFrame:
    """Save the files a frame's cells name; the frame with their paths, ``attrs["files"]`` set."""
    import pyarrow as pa

    columns = FileColumns.described(frame.attrs.get("columns", {}))
    planner = CellPlanner(form_id, columns)
    table = pa.table({name: _arrow_column(frame[name]) for name in columns.names})
    planned = planner.uploads(table)
    saved = saver.save(planned)
    rewritten = planner.rewritten(table, saved)
    for name, _ in columns.links:
        frame[name] = _like(frame[name], rewritten.column(name))
    frame.attrs["files"] = saved.entries(planned)
    return frame


def _arrow_column(series: pd.Series[Any]) -> Any:
    """A column of the frame as Arrow (lists stay lists, missing values become nulls)."""
    import pandas as pd
    import pyarrow as pa

    if isinstance(series.dtype, pd.ArrowDtype):
        return pa.array(series.array)
    values = [None if _missing(v) else (list(v) if _is_list(v) else v) for v in series.tolist()]
    return pa.array(values)


def _missing(value: Any) -> bool:
    import pandas as pd

    return value is None or (not _is_list(value) and bool(pd.isna(value)))


def _is_list(value: Any) -> bool:
    return isinstance(value, (list, tuple)) or hasattr(value, "__array__")


def _like(series: pd.Series[Any], column: pa.ChunkedArray[Any]) -> pd.Series[Any]:
    """``column`` as a Series of the same kind as ``series`` (lists, or Arrow lists)."""
    import pandas as pd

    if isinstance(series.dtype, pd.ArrowDtype):
        arrow: pd.Series[Any] = pd.Series(pd.arrays.ArrowExtensionArray(column), index=series.index)
        return arrow
    lists: pd.Series[Any] = pd.Series(column.to_pylist(), index=series.index, dtype=object)
    return lists


# --- Parquet files ----------------------------------------------------------------------------


def parquet_with_paths(source: Path, out: BinaryIO, form_id: int, saver: UploadSaver) -> int:
    """Save the files a typed Parquet file names; write it to ``out`` with their paths (and
    ``attrs["files"]``); return how many files its cells hold."""
    import pyarrow.parquet as pq

    parquet = pq.ParquetFile(source)
    planner = CellPlanner(form_id, FileColumns.of_schema(parquet.schema_arrow))
    planned = [
        upload
        for group in range(parquet.num_row_groups)
        for upload in planner.uploads(parquet.read_row_group(group, columns=planner.columns.names))
    ]
    saved = saver.save(planned)
    entries = saved.entries(planned)
    schema = _with_files(parquet.schema_arrow, entries)
    with pq.ParquetWriter(out, schema) as writer:
        for group in range(parquet.num_row_groups):
            table = planner.rewritten(parquet.read_row_group(group), saved)
            writer.write_table(table, row_group_size=max(table.num_rows, 1))
    return len(entries)


def _with_files(schema: pa.Schema, entries: Sequence[Mapping[str, object]]) -> pa.Schema:
    metadata = dict(schema.metadata or {})
    attrs = json.loads(metadata.get(PANDAS_ATTRS, b"{}"))
    attrs["files"] = list(entries)
    metadata[PANDAS_ATTRS] = json.dumps(attrs).encode()
    return schema.with_metadata(metadata)


# --- CSV exports --------------------------------------------------------------------------


def export_uploads(opened: OpenedExport, reader: TypedReader, form_id: int) -> list[Upload]:
    """Every file an export's CSV names, read block by block (only the uploads are kept)."""
    if reader.empty or not reader.columns:
        return []
    block_size = blocks.STREAM_BLOCK_SIZE
    while True:
        reader.begin()
        planner = CellPlanner(form_id, FileColumns.of_schema(reader.schema()))
        if not planner.columns.links:
            return []
        planned: list[Upload] = []
        try:
            count = len(reader.columns)
            for batch in blocks.iter_batches(opened.body, count, block_size, threads=False):
                planned += planner.uploads(reader.convert(batch))
        except Restart:
            continue  # a column changed type: the file is read again from its start
        except blocks.BlockTooSmall:
            block_size = blocks.larger(block_size)
            continue
        return planned

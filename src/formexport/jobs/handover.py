"""An export's data handed to the caller: a DataFrame, an Arrow table, a Parquet file, a file
written from the frame, or the CSV as served.

Each runs inside :meth:`Delivery.handing_over <formexport.jobs.delivery.Delivery.handing_over>`,
so the display ends on what was handed over (or on the error), and once the data is delivered
the job's record and its form's turn are spent. The uploaded files (``files=``) are saved
within the same display (:mod:`formexport.jobs.uploaded_files`).
"""

from __future__ import annotations

from collections.abc import Callable
from functools import partial
from os import PathLike
from pathlib import Path
from typing import TYPE_CHECKING, BinaryIO

from formexport.jobs.delivery import Delivery
from formexport.jobs.uploaded_files import ExportUploads, FilesOption
from formexport.reading import parquet_output, sinks
from formexport.reading.options import ReadOptions
from formexport.reading.source import OpenedExport
from formexport.reading.typed_reader import TypedReader
from formexport.transfer.download import (
    atomic_destination,
    atomic_path,
    file_destination,
    safe_filename,
)

if TYPE_CHECKING:
    import pandas as pd
    import pyarrow as pa

PathArg = str | PathLike[str]
#: Writes a finished frame to a file (the temporary one, moved into place once complete).
FrameWriter = Callable[["pd.DataFrame", Path], None]


def dataframe(delivery: Delivery, options: ReadOptions, files: FilesOption) -> pd.DataFrame:
    """The typed DataFrame (with the saved files' paths in its file cells, given ``files``)."""
    with delivery.handing_over() as note:
        uploads = _uploads(delivery, files)
        frame = delivery.read(partial(_frame, options.dtype_backend), options)
        delivery.show_parsed(len(frame))
        if uploads is not None:
            frame, note.files = uploads.frame(frame)
        note.rows, note.columns = frame.shape
    return frame


def arrow_table(delivery: Delivery, options: ReadOptions) -> pa.Table:
    """The typed Arrow table."""
    with delivery.handing_over() as note:
        table = delivery.read(_table, options)
        note.rows, note.columns = table.num_rows, table.num_columns
    return table


def parquet(delivery: Delivery, path: PathArg, options: ReadOptions, files: FilesOption) -> Path:
    """The typed export streamed into a Parquet file at ``path``, moved into place once whole."""
    dest = Path(path).expanduser()
    with delivery.handing_over() as note:
        uploads = _uploads(delivery, files)
        with atomic_destination(dest) as out:
            if uploads is None:
                delivery.read(partial(_write_parquet, out), options)
            else:
                write = partial(delivery.read, options=options)
                note.files = uploads.parquet(
                    lambda first: write(partial(_write_parquet, first)), out
                )
        note.rows, note.columns = parquet_output.parquet_shape(dest)
        note.file = dest.name
    return dest


def frame_file(
    delivery: Delivery,
    path: PathArg,
    write: FrameWriter,
    options: ReadOptions,
    files: FilesOption,
) -> Path:
    """The typed frame written to ``path`` by ``write`` (into a temporary file moved into
    place once complete)."""
    dest = Path(path).expanduser()
    with delivery.handing_over() as note:
        uploads = _uploads(delivery, files)
        frame = delivery.read(partial(_frame, options.dtype_backend), options)
        if uploads is not None:
            frame, note.files = uploads.frame(frame)
        with atomic_path(dest) as temporary:
            write(frame, temporary)
        note.rows, note.columns = frame.shape
        note.file = dest.name
    return dest


def csv(delivery: Delivery, path: PathArg, files: FilesOption) -> Path:
    """The CSV as the server wrote it, saved at ``path`` (a file, or a folder to hold it)."""
    with delivery.handing_over() as note:
        uploads = _uploads(delivery, files)
        dest = csv_destination(delivery, path)
        delivery.save(dest, private=False)
        note.files = None if uploads is None else uploads.csv(dest)
        note.size, note.file = dest.stat().st_size, dest.name
    return dest


def csv_destination(delivery: Delivery, path: PathArg) -> Path:
    """Where the CSV saved at ``path`` goes: ``path``, or a file named after the form in it."""
    form = delivery.form
    # The slug comes from the server: it must not lead out of the folder.
    return file_destination(path, f"{safe_filename(form.slug, str(form.id))}-submissions.csv")


def _uploads(delivery: Delivery, files: FilesOption) -> ExportUploads | None:
    return None if files is None else ExportUploads(delivery, files)


def _table(opened: OpenedExport, reader: TypedReader) -> pa.Table:
    return sinks.read_arrow(opened.body, reader)


def _frame(dtype_backend: str, opened: OpenedExport, reader: TypedReader) -> pd.DataFrame:
    return sinks.read_frame(opened.body, reader, dtype_backend)


def _write_parquet(out: BinaryIO, opened: OpenedExport, reader: TypedReader) -> None:
    out.seek(0)  # a streamed attempt that gave way to the file may have written some
    out.truncate()
    parquet_output.write_parquet(opened.body, out, reader)

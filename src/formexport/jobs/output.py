"""What an export delivers: a DataFrame, or a file whose format its name says.

:data:`FILE_FORMATS` is the one table of the files an export can be written to, and
:func:`file_format` the one place that tells a file's format from its name (or a format named
for it); :class:`Output` delivers it, with the :class:`~formexport.reading.options.ReadOptions`
checked where the verb's arguments arrived.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from os import PathLike
from pathlib import Path
from typing import TYPE_CHECKING, Any

from formexport.errors import InvalidArgumentError
from formexport.formats import excel, spss, stata
from formexport.jobs.export_job import ExportJob
from formexport.jobs.handover import FrameWriter
from formexport.reading.options import DEFAULT_DTYPE_BACKEND, ReadOptions
from formexport.reading.parquet_output import parquet_shape
from formexport.reading.sinks import csv_shape
from formexport.uploads.destination import Destination, FilesArg

if TYPE_CHECKING:
    import pandas as pd


@dataclass(frozen=True)
class FileFormat:
    """A kind of file an export can be written to."""

    #: The file name's extension without its dot, and the command line's ``--format``.
    name: str
    #: What the file is, for messages.
    what: str
    #: ``naming`` and ``values`` apply (the CSV is the export as served: they do not).
    typed: bool = True
    #: Writes the finished DataFrame; ``None`` for the files the export streams into.
    write_frame: FrameWriter | None = None
    #: Raises when a package the format needs is missing (before anything is sent).
    require: Callable[[], Any] | None = None

    @property
    def suffix(self) -> str:
        """``".xlsx"``."""
        return f".{self.name}"


#: Every file an export can be written to, by name.
FILE_FORMATS = {
    fmt.name: fmt
    for fmt in (
        FileFormat("parquet", "a typed Parquet file"),
        FileFormat("csv", "the CSV as the server wrote it", typed=False),
        FileFormat("xlsx", "an Excel workbook", write_frame=excel.write_xlsx),
        FileFormat("dta", "a Stata dataset", write_frame=stata.write_dta),
        FileFormat("sav", "an SPSS dataset", write_frame=spss.write_sav, require=spss.require),
    )
}


def suffixes() -> str:
    """``.parquet, .csv, .xlsx, .dta or .sav``, for messages."""
    names = [fmt.suffix for fmt in FILE_FORMATS.values()]
    return f"{', '.join(names[:-1])} or {names[-1]}"


def file_format(path: str | PathLike[str], chosen: str | None = None) -> FileFormat | None:
    """The format of the file at ``path``: the one its extension names, or ``chosen``.

    ``None`` when the name says none and none is chosen; a ``chosen`` format that its
    extension contradicts (``out.xlsx`` as CSV) is refused.
    """
    named = FILE_FORMATS.get(Path(path).suffix.lower().lstrip("."))
    if chosen is None:
        return named
    fmt = FILE_FORMATS.get(chosen)
    if fmt is None:
        raise InvalidArgumentError(
            f"Unknown file format {chosen!r}: choose one of {', '.join(FILE_FORMATS)}."
        )
    if named is not None and named is not fmt:
        raise InvalidArgumentError(
            f"The file name {str(path)!r} says {named.name} ({named.what}) but the format "
            f"asked for is {fmt.name}: end the file name in {fmt.suffix}, or leave the format "
            f"out to write {named.what}."
        )
    return fmt


@dataclass(frozen=True)
class Written:
    """A file an export was written to."""

    path: Path
    file_format: FileFormat
    #: Rows and columns of the frame a file was written from.
    frame_shape: tuple[int, int] | None = None

    def shape(self) -> tuple[int, int]:
        """Rows and columns of the file (a CSV file is read again to count them)."""
        if self.frame_shape is not None:
            return self.frame_shape
        if self.file_format.name == "parquet":
            return parquet_shape(self.path)
        return csv_shape(self.path)


@dataclass(frozen=True)
class Output:
    """What an export delivers: a DataFrame (``to`` is ``None``) or a file.

    The verbs make one where their arguments arrive (:meth:`checked`, or :meth:`as_named` for a
    verb whose format is its name), before anything is sent, and hand it down.
    """

    to: str | PathLike[str] | None
    options: ReadOptions = field(default_factory=ReadOptions)
    files: Destination | None = None
    file_format: FileFormat | None = None

    @classmethod
    def checked(
        cls,
        to: str | PathLike[str] | None,
        options: ReadOptions,
        files: FilesArg | Destination | None = None,
        *,
        chosen_format: str | None = None,
    ) -> Output:
        """The output ``to`` names (a DataFrame for ``None``), its options checked against it.

        ``chosen_format`` writes a file whose name says no format (the command line's
        ``--format``).
        """
        destination = None if files is None else Destination.of(files)
        if to is None:
            return cls(None, options, destination)
        fmt = file_format(to, chosen_format)
        if fmt is None:
            raise InvalidArgumentError(
                f"Cannot tell which file to write from the name {str(to)!r}: end it in "
                f"{suffixes()} (Parquet, CSV as served, Excel, Stata, SPSS)."
            )
        if options.dtype_backend != DEFAULT_DTYPE_BACKEND:
            raise InvalidArgumentError("dtype_backend applies to DataFrames, not to files.")
        if not fmt.typed and (
            (options.naming, options.values) != ("name", "auto") or options.pseudonymize
        ):
            raise InvalidArgumentError(
                "naming, values and pseudonymize apply to DataFrames and typed files; a .csv "
                "file is the export as the server wrote it."
            )
        if fmt.require is not None:
            fmt.require()
        return cls(Path(to).expanduser().absolute(), options, destination, fmt)

    @classmethod
    def as_named(
        cls,
        to: str | PathLike[str],
        format_name: str,
        options: ReadOptions | None = None,
        files: FilesArg | Destination | None = None,
    ) -> Output:
        """A file of the format ``format_name`` at ``to``, whatever its name says."""
        destination = None if files is None else Destination.of(files)
        return cls(to, options or ReadOptions(), destination, FILE_FORMATS[format_name])

    def deliver(self, job: ExportJob) -> pd.DataFrame | Path:
        """Deliver ``job``'s data: the DataFrame, or the path written."""
        return self.frame(job) if self.to is None else self.write(job).path

    def frame(self, job: ExportJob) -> pd.DataFrame:
        """``job``'s data as a DataFrame (the saved files' paths in its cells, with ``files``)."""
        return job._to_dataframe(self.options, self.files)

    def write(self, job: ExportJob) -> Written:
        """Write ``job``'s data to the file; say where, and its rows and columns."""
        fmt, to = self.file_format, self.to
        if fmt is None or to is None:
            raise InvalidArgumentError("This export delivers a DataFrame, not a file.")
        if fmt.write_frame is not None:
            shape: list[tuple[int, int]] = []
            write = fmt.write_frame

            def write_and_count(frame: pd.DataFrame, path: Path) -> None:
                write(frame, path)
                shape.append(frame.shape)

            path = job._write_frame(to, write_and_count, self.options, self.files)
            return Written(path, fmt, shape[0])
        if fmt.name == "parquet":
            return Written(job._to_parquet(to, self.options, self.files), fmt)
        return Written(job.download(to, files=self.files), fmt)

"""What an export delivers: a DataFrame, or a file whose format its name says.

:data:`FILE_FORMATS` is the one table of the files an export can be written to, and
:func:`file_format` the one place that tells a file's format from its name (or a format named
for it); :class:`Output` delivers it.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from os import PathLike
from pathlib import Path
from typing import TYPE_CHECKING, Any

from formexport.errors import InvalidArgumentError
from formexport.formats import excel, spss, stata
from formexport.jobs.export_job import ExportJob
from formexport.reading.sinks import DEFAULT_DTYPE_BACKEND, check_options, csv_shape, parquet_shape
from formexport.uploads.destination import Destination, FilesArg

if TYPE_CHECKING:
    import pandas as pd

FrameWriter = Callable[["pd.DataFrame", Path], None]


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
    """What an export delivers: a DataFrame (``to`` is ``None``) or a file."""

    to: Path | None
    naming: str
    dtype_backend: str
    values: str
    pseudonymize: tuple[str, ...] = ()
    files: Destination | None = None
    file_format: FileFormat | None = None

    @classmethod
    def checked(
        cls,
        to: str | PathLike[str] | None,
        naming: str,
        dtype_backend: str,
        values: str,
        pseudonymize: Sequence[str] | None = None,
        files: FilesArg | None = None,
        *,
        chosen_format: str | None = None,
    ) -> Output:
        """The output ``to`` names, its options checked (before anything is sent).

        ``chosen_format`` writes a file whose name says no format (the command line's
        ``--format``).
        """
        check_options(naming=naming, dtype_backend=dtype_backend, values=values)
        hidden = () if pseudonymize is None else tuple(pseudonymize)
        destination = None if files is None else Destination.of(files)
        if to is None:
            return cls(None, naming, dtype_backend, values, hidden, destination)
        fmt = file_format(to, chosen_format)
        if fmt is None:
            raise InvalidArgumentError(
                f"Cannot tell which file to write from the name {str(to)!r}: end it in "
                f"{suffixes()} (Parquet, CSV as served, Excel, Stata, SPSS)."
            )
        if dtype_backend != DEFAULT_DTYPE_BACKEND:
            raise InvalidArgumentError("dtype_backend applies to DataFrames, not to files.")
        if not fmt.typed and ((naming, values) != ("name", "auto") or hidden):
            raise InvalidArgumentError(
                "naming, values and pseudonymize apply to DataFrames and typed files; a .csv "
                "file is the export as the server wrote it."
            )
        if fmt.require is not None:
            fmt.require()
        path = Path(to).expanduser().absolute()
        return cls(path, naming, dtype_backend, values, hidden, destination, fmt)

    def deliver(self, job: ExportJob) -> pd.DataFrame | Path:
        """Deliver ``job``'s data: the DataFrame, or the path written."""
        if self.to is None:
            return job.to_dataframe(
                naming=self.naming,
                dtype_backend=self.dtype_backend,
                values=self.values,
                pseudonymize=self.pseudonymize,
                files=self.files,
            )
        return self.write(job).path

    def write(self, job: ExportJob) -> Written:
        """Write ``job``'s data to the file; say where, and its rows and columns."""
        fmt, to = self.file_format, self.to
        if fmt is None or to is None:
            raise InvalidArgumentError("This export delivers a DataFrame, not a file.")
        typed = {"naming": self.naming, "values": self.values}
        hidden, files = self.pseudonymize, self.files
        if fmt.write_frame is not None:
            shape: list[tuple[int, int]] = []
            write = fmt.write_frame

            def write_and_count(frame: pd.DataFrame, path: Path) -> None:
                write(frame, path)
                shape.append(frame.shape)

            path = job.write_frame(to, write_and_count, **typed, pseudonymize=hidden, files=files)
            return Written(path, fmt, shape[0])
        if fmt.name == "parquet":
            path = job.to_parquet(to, **typed, pseudonymize=hidden, files=files)
            return Written(path, fmt)
        return Written(job.download(to, files=files), fmt)

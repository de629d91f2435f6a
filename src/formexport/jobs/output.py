"""Where a background export delivers its data: a DataFrame, a Parquet file or the CSV as served."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from os import PathLike
from pathlib import Path
from typing import TYPE_CHECKING

from formexport.errors import InvalidArgumentError
from formexport.jobs.export_job import ExportJob
from formexport.reading.sinks import DEFAULT_DTYPE_BACKEND, check_options
from formexport.uploads.destination import Destination, FilesArg

if TYPE_CHECKING:
    import pandas as pd


@dataclass(frozen=True)
class Output:
    """What a background export delivers: a DataFrame, a Parquet file or the CSV as served."""

    to: Path | None
    naming: str
    dtype_backend: str
    values: str
    pseudonymize: tuple[str, ...] = ()
    files: Destination | None = None

    @classmethod
    def checked(
        cls,
        to: str | PathLike[str] | None,
        naming: str,
        dtype_backend: str,
        values: str,
        pseudonymize: Sequence[str] | None = None,
        files: FilesArg | None = None,
    ) -> Output:
        """The output ``to`` names, its options checked (before anything is sent)."""
        check_options(naming=naming, dtype_backend=dtype_backend, values=values)
        hidden = () if pseudonymize is None else tuple(pseudonymize)
        destination = None if files is None else Destination.of(files)
        if to is None:
            return cls(None, naming, dtype_backend, values, hidden, destination)
        path = Path(to).expanduser().absolute()
        if path.suffix.lower() not in (".parquet", ".csv"):
            raise InvalidArgumentError(
                f"to={str(to)!r}: name a .parquet file (typed, as export_to_parquet writes) or "
                "a .csv file (the export as served, as download_export saves); leave it out "
                "for a DataFrame."
            )
        if dtype_backend != DEFAULT_DTYPE_BACKEND:
            raise InvalidArgumentError("dtype_backend applies to DataFrames, not to files.")
        if path.suffix.lower() == ".csv" and ((naming, values) != ("name", "auto") or hidden):
            raise InvalidArgumentError(
                "naming, values and pseudonymize apply to DataFrames and Parquet files; a .csv "
                "file is the export as the server wrote it."
            )
        return cls(path, naming, dtype_backend, values, hidden, destination)

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
        if self.to.suffix.lower() == ".parquet":
            return job.to_parquet(
                self.to,
                naming=self.naming,
                values=self.values,
                pseudonymize=self.pseudonymize,
                files=self.files,
            )
        return job.download(self.to, files=self.files)

"""An export's uploaded files saved within its progress display (``files=``).

The files phase comes after the reading, before the display ends on what was delivered; the
files' links are renewed through the export's own API connection. See :mod:`formexport.uploads`.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, BinaryIO

from formexport.jobs.delivery import Delivery
from formexport.reading.source import OpenedExport
from formexport.reading.typed_reader import TypedReader
from formexport.uploads import cells
from formexport.uploads.destination import Destination, FilesArg
from formexport.uploads.plan import Upload
from formexport.uploads.saving import UploadSaver

if TYPE_CHECKING:
    import pandas as pd

FilesOption = FilesArg | Destination | None


class ExportUploads:
    """Saves the uploaded files of one export's data to one destination."""

    def __init__(self, delivery: Delivery, files: FilesArg | Destination) -> None:
        self._delivery = delivery
        self.destination = Destination.of(files)
        self._saver = UploadSaver(
            delivery.api, delivery.form.id, self.destination, delivery.progress.update
        )

    @property
    def form_id(self) -> int:
        """The exported form."""
        return self._delivery.form.id

    def frame(self, frame: pd.DataFrame) -> tuple[pd.DataFrame, int]:
        """The frame with paths in its file cells and ``attrs["files"]``; the file count."""
        with self._delivery.progress.showing_waits():
            frame = cells.frame_with_paths(frame, self.form_id, self._saver)
        return frame, len(frame.attrs["files"])

    def parquet(self, write: Callable[[BinaryIO], object], out: BinaryIO) -> int:
        """The typed export written (by ``write``) with links to a scratch file, then to
        ``out`` with the saved files' paths, one row group at a time; the file count."""
        links = self._delivery.scratch.path("links.parquet")
        try:
            with links.open("w+b") as first:
                write(first)
            with self._delivery.progress.showing_waits():
                return cells.parquet_with_paths(links, out, self.form_id, self._saver)
        finally:
            links.unlink(missing_ok=True)

    def csv(self, path: Path) -> int:
        """Save the files an export's CSV names (the CSV stays as served); return their count."""
        planned = self._delivery.read_file(path, self._plan)
        with self._delivery.progress.showing_waits():
            return len(self._saver.save(planned).entries(planned))

    def _plan(self, opened: OpenedExport, reader: TypedReader) -> list[Upload]:
        return cells.export_uploads(opened, reader, self.form_id)

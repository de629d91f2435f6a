"""What every way of delivering an export does, behind one :class:`ExportJob` interface.

An :class:`ExportStrategy` knows how the finished CSV comes to this machine: the server answered
it at once (:mod:`~formexport.jobs.answered`), a background job builds it for download
(:mod:`~formexport.jobs.server_job`), synchronous batches add up to it
(:mod:`~formexport.jobs.batched_export`), or the local cache holds it
(:mod:`~formexport.jobs.cached`). :class:`~formexport.jobs.export_job.ExportJob` holds one and
swaps it when a fresh export replaces an expired one. The base class is the local case: the
data is here, or will be once :meth:`ExportStrategy.wait` returns.
"""

from __future__ import annotations

import logging
import shutil
import tempfile
import weakref
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import ClassVar

from formexport import config
from formexport.errors import FormExportError
from formexport.jobs.progress_flow import ExportProgress
from formexport.opnform.endpoints import OpnFormAPI
from formexport.opnform.models import ExactValues, ExportStatus, JobState
from formexport.opnform.submissions import fetch_exact_values
from formexport.reading.blocks import Writer
from formexport.transfer.download import atomic_destination
from formexport.transfer.tee import Tee

logger = logging.getLogger("formexport")

LocalData = bytes | Path
#: Sees a complete file before it is moved into place, and may refuse it by raising.
FileCheck = Callable[[Path], None]


class ScratchFolder:
    """A private temporary folder for one export's local copies, made on first use.

    Exports hold personal data: the folder goes when :meth:`delete` is called or when its owner
    is garbage.
    """

    def __init__(self) -> None:
        self._folder: Path | None = None
        self._finalizer: weakref.finalize[[Path], ScratchFolder] | None = None

    def folder(self) -> Path:
        """The folder, created if needed."""
        if self._folder is None:
            self._folder = Path(tempfile.mkdtemp(prefix="formexport-"))
            self._finalizer = weakref.finalize(self, _remove, self._folder)
        return self._folder

    def path(self, name: str) -> Path:
        """``name`` inside the folder."""
        return self.folder() / name

    def holds(self, data: LocalData | None) -> bool:
        """True for a file inside the folder."""
        return (
            isinstance(data, Path)
            and self._folder is not None
            and data.is_relative_to(self._folder)
        )

    def delete(self) -> None:
        """Remove the folder and everything in it."""
        if self._finalizer is not None:
            self._finalizer()
        self._folder, self._finalizer = None, None


def _remove(folder: Path) -> None:
    shutil.rmtree(folder, ignore_errors=True)


def copy_export(
    data: LocalData, dest: Path, check: FileCheck | None = None, *, private: bool
) -> None:
    """Write ``data`` to ``dest`` atomically (nothing to do when it is that file already).

    ``private``: formexport's own copy (``0600``), not the user's output (the umask's mode);
    ``check`` sees the complete file before it is moved to ``dest``.
    """
    if isinstance(data, Path) and data.resolve() == dest.resolve():
        if check is not None:
            check(dest)
        return
    with atomic_destination(dest, private=private, check=check) as out:
        if isinstance(data, bytes):
            out.write(data)
        else:
            with data.open("rb") as source:
                shutil.copyfileobj(source, out, config.DOWNLOAD_CHUNK_SIZE)


class ExportStrategy:
    """How one export's CSV reaches this machine (the base: it is or will be held locally).

    Attributes
    ----------
    mode : str
        ``"answered"``, ``"server_job"``, ``"batched"``, ``"cached"`` or ``"nothing_chosen"``
        (``ExportJob.delivery_mode``).
    is_server_job : bool
        True for a job running on the server.
    checks_file : bool
        True when the file may be another export's, to check against the request (a server
        job's whose request is known).
    no_job_text : str
        What a notebook table shows in place of a job id.
    job_id : str or None
        The server's job id (background jobs only).
    status : ExportStatus or None
        The last status seen.
    data : bytes, Path or None
        The finished export on this machine, once here.
    exact_values : ExactValues or None
        Field values from the JSON submissions list, once fetched or listed.
    total : int or None
        The number of submissions, when known before the export runs.
    """

    mode: ClassVar[str]
    is_server_job: ClassVar[bool] = False
    checks_file: bool = False
    no_job_text: ClassVar[str] = ""

    def __init__(self, form_id: int, data: LocalData | None = None) -> None:
        self.form_id = form_id
        self.job_id: str | None = None
        self.status: ExportStatus | None = None
        self.data = data
        self.exact_values: ExactValues | None = None
        self.total: int | None = None
        self._exported_at: datetime | None = None

    def exported_at(self) -> datetime | None:
        """When the server wrote the file, as far as known."""
        return self._exported_at

    def is_ready(self) -> bool:
        """True once the file can be read or fetched without waiting."""
        return self.data is not None

    def refresh(self) -> ExportStatus:
        """The current status (one request for a background job; none otherwise)."""
        self.status = self.completed() if self.is_ready() else self.queued()
        return self.status

    def wait(
        self, timeout: float | None, progress: ExportProgress, scratch: ScratchFolder
    ) -> ExportStatus:
        """Make the file ready (run what is to run, wait for what runs elsewhere)."""
        self.status = self.completed()
        return self.status

    def local_copy(self) -> LocalData | None:
        """The finished export on this machine, if it is (still) here."""
        if isinstance(self.data, Path) and not self.data.exists():
            return None
        return self.data

    def can_stream(self) -> bool:
        """Whether the file is still to be fetched, so reading can overlap the transfer."""
        return False

    def fetch(
        self,
        dest: Path,
        progress: ExportProgress,
        tee: Tee | None = None,
        check: FileCheck | None = None,
        *,
        private: bool,
    ) -> None:
        """Write the finished export to ``dest`` (here: a copy of the local data).

        ``private``: ``dest`` is formexport's own copy (scratch, cache), kept ``0600``; else
        it is the user's output, with the mode the umask gives new files. ``check`` sees the
        complete file before it is moved to ``dest``.
        """
        if tee is not None:
            # Only a download feeds a stream: the reader goes on with the file instead.
            tee.break_stream()
        assert self.data is not None
        copy_export(self.data, dest, check, private=private)

    def keep_at(self, path: Path) -> None:
        """Read the export from ``path`` from now on."""
        self.data = path

    def forget(self, scratch: ScratchFolder) -> None:
        """Drop the local data if it lives in ``scratch`` (about to be deleted)."""
        if scratch.holds(self.data):
            self.data = None

    def exact_by_default(self, writer: Writer) -> bool:
        """Whether ``values="auto"`` reads exact values for a file from ``writer``."""
        return False

    def exact_values_for(self, api: OpnFormAPI, values: str, writer: Writer) -> ExactValues | None:
        """The JSON list's values when ``values`` asks for them (fetched once), else None."""
        wanted = values == "exact" or (values == "auto" and self.exact_by_default(writer))
        if not wanted:
            return None
        if self.exact_values is None:
            try:
                self.exact_values = fetch_exact_values(api, self.form_id)
            except FormExportError as exc:
                if values == "exact":
                    raise
                # "auto" asked for a better source, not for a failure: keep the CSV's values.
                logger.warning(
                    "Reading the CSV's values: the JSON submissions list failed (%s)", exc
                )
                return None
        return self.exact_values

    def completed(self) -> ExportStatus:
        """A ``completed`` status for an export that is here."""
        return ExportStatus(
            status=JobState.COMPLETED, progress=100, form_id=self.form_id, job_id=self.job_id
        )

    def queued(self) -> ExportStatus:
        """A ``queued`` status for an export still to run."""
        return ExportStatus(status=JobState.QUEUED, form_id=self.form_id)

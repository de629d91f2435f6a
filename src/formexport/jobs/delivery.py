"""The engine behind an :class:`~formexport.jobs.export_job.ExportJob`: wait, fetch, read.

:class:`Delivery` holds the current strategy (:mod:`formexport.jobs.strategy`) and does what is
the same for all of them: waiting with a progress display, bringing the file here, swapping in
a fresh export when a job's status or link has expired, and reading through
:func:`formexport.reading.source.open_export`, which treats a file and a stream alike.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator, Mapping, Sequence
from pathlib import Path
from typing import TypeVar

from formexport.errors import ExportExpiredError, ExportJobNotFoundError
from formexport.jobs.progress_flow import ExportProgress
from formexport.jobs.read_while_downloading import read_while_downloading
from formexport.jobs.reexport import Reexports
from formexport.jobs.strategy import ExportStrategy, LocalData, ScratchFolder
from formexport.local.pseudonym_key import pseudonym_key
from formexport.opnform.checks import field_ids
from formexport.opnform.endpoints import OpnFormAPI
from formexport.opnform.models import ExportStatus, FormInfo, JobState
from formexport.reading import sinks
from formexport.reading.pseudonyms import Pseudonymizing
from formexport.reading.source import OpenedExport, open_export
from formexport.reading.typed_reader import ExportContext, TypedReader
from formexport.transfer.download import LinkExpired
from formexport.transfer.tee import Tee

logger = logging.getLogger("formexport")

T = TypeVar("T")


class Delivery:
    """Brings one export's data to the caller, whichever strategy delivers it.

    Parameters
    ----------
    api : OpnFormAPI
        The server.
    form : FormInfo
        The exported form.
    columns : dict of str to bool
        The columns requested.
    strategy : ExportStrategy
        How the export is delivered now.
    submission_ids : list of int, optional
        The submissions requested (for a fresh export).
    max_reexports : int
        Fresh exports allowed when a job's status or link has expired.
    on_change : callable
        Called when the job id changes or the job completes (the local job record).
    """

    def __init__(
        self,
        api: OpnFormAPI,
        form: FormInfo,
        columns: Mapping[str, bool],
        strategy: ExportStrategy,
        *,
        submission_ids: Sequence[int] | None,
        max_reexports: int,
        on_change: Callable[[], None],
    ) -> None:
        self.api = api
        self.form = form
        self.columns = dict(columns)
        self.strategy = strategy
        self.progress = ExportProgress()
        self.scratch = ScratchFolder()
        self._reexports = Reexports(api, form.id, self.columns, submission_ids, max_reexports)
        self._on_change = on_change
        self._told: tuple[str | None, bool] | None = None
        # The fields left out with exclude=, by name (recorded in attrs).
        self.excluded: tuple[str, ...] = ()

    def ready(self, timeout: float | None = None) -> ExportStatus:
        """Wait for the file (a fresh export replaces a job whose status expired)."""
        while True:
            try:
                status = self.strategy.wait(timeout, self.progress, self.scratch)
                break
            except ExportJobNotFoundError:
                if self._reexports.left <= 0:
                    raise
                job_id = self.strategy.job_id
                logger.warning("The status of export job %s expired on the server", job_id)
                self._swap(self._reexports.start())
        self._tell_change()
        return status

    def _swap(self, strategy: ExportStrategy) -> None:
        """Go on with a fresh export: a new job, or the CSV at once."""
        self.strategy = strategy
        self._tell_change()

    def _tell_change(self) -> None:
        """Report a new job id or a job that completed, once each."""
        status = self.strategy.status
        state = (self.strategy.job_id, status is not None and status.status == JobState.COMPLETED)
        if state[0] is not None and state != self._told:
            self._told = state
            self._on_change()

    def fetch(self, dest: Path, tee: Tee | None = None, *, private: bool) -> None:
        """Bring the file to ``dest``; a fresh export replaces one whose link expired.

        ``private``: ``dest`` is formexport's own copy (see :meth:`ExportStrategy.fetch`).
        """
        while True:
            try:
                self.strategy.fetch(dest, self.progress, tee, private=private)
                return
            except LinkExpired as exc:
                job_id = self.strategy.job_id
                if self._reexports.left <= 0:
                    raise ExportExpiredError(
                        f"The download link of export job {job_id} has expired and no "
                        "fresh export may be started; start a new export."
                    ) from exc
                logger.warning("The link of export job %s has expired", job_id)
                self._swap(self._reexports.start())
                self.ready()

    def local_file(self) -> LocalData:
        """The finished export on this machine, downloaded into the scratch folder if needed."""
        local = self.strategy.local_copy()
        if local is None:
            self.fetch(self.scratch.path("export.csv"), private=True)
            local = self.strategy.local_copy()
        assert local is not None
        return local

    def read(
        self,
        consume: Callable[[OpenedExport, TypedReader], T],
        naming: str,
        values: str,
        pseudonymize: Sequence[str] | None = None,
    ) -> T:
        """Open the export, make its typed reader and hand both to ``consume``.

        A background export not yet here is read while it downloads; see
        :mod:`formexport.jobs.read_while_downloading` for when the finished file is read instead.
        """
        hidden = self._pseudonymizing(pseudonymize)  # checked before anything is read
        self.ready()

        def from_file() -> T:
            opened = open_export(self.local_file())
            return consume(opened, self._reader(opened, naming, values, hidden))

        def from_stream(chunks: Iterator[bytes]) -> T:
            opened = open_export(chunks)
            return consume(opened, self._reader(opened, naming, values, hidden))

        if not self.strategy.can_stream():
            return from_file()
        download = self.scratch.path("export.csv")
        return read_while_downloading(
            lambda tee: self.fetch(download, tee, private=True), from_stream, from_file
        )

    def read_file(
        self, path: Path, consume: Callable[[OpenedExport, TypedReader], T], values: str = "csv"
    ) -> T:
        """Read the export saved at ``path`` (by :meth:`fetch`), as :meth:`read` does."""
        opened = open_export(path)
        return consume(opened, self._reader(opened, "name", values))

    def _pseudonymizing(self, keys: Sequence[str] | None) -> Pseudonymizing | None:
        """The fields ``keys`` names and the key that hides their answers, or None."""
        if not keys:
            return None
        ids = field_ids(keys, self.form, option="pseudonymize")
        key = pseudonym_key()
        return Pseudonymizing(frozenset(ids), key.secret, key.key_id)

    def _reader(
        self,
        opened: OpenedExport,
        naming: str,
        values: str,
        hidden: Pseudonymizing | None = None,
    ) -> TypedReader:
        """The typed reader for this export, its column plan checked against the header."""
        return sinks.make_reader(
            opened.head,
            form=self.form,
            columns=self.columns,
            naming=naming,
            exact_values=self.strategy.exact_values_for(self.api, values, opened.writer),
            context=self.context(),
            writer=opened.writer,
            pseudonymizing=hidden,
        )

    def context(self) -> ExportContext:
        """Where the export came from, for ``DataFrame.attrs`` and Parquet metadata."""
        return ExportContext(
            form_id=self.form.id,
            form_slug=self.form.slug,
            job_id=self.strategy.job_id,
            server=self.api.settings.base_url,
            exported_at=self.strategy.exported_at(),
            excluded=self.excluded,
        )

    def close(self) -> None:
        """End the progress display and delete the scratch copies."""
        self.progress.finish()
        self.strategy.forget(self.scratch)
        self.scratch.delete()

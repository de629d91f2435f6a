"""The engine behind an :class:`~formexport.jobs.export_job.ExportJob`: wait, fetch, read.

:class:`Delivery` holds the current strategy (:mod:`formexport.jobs.strategy`) and does what is
the same for all of them: waiting with a progress display, bringing the file here, swapping in
a fresh export when a job's status or link has expired, and reading through
:func:`formexport.reading.source.open_export`, which treats a file and a stream alike.

A server job's file is checked against its request (:mod:`formexport.jobs.file_check`) before
anything is handed over: as it is read (the header first, the rows at the end, before a frame is
returned or a Parquet file moved into place), or before a CSV saved as served is moved into
place. A file that is another export's (one of the same form whose job finished in the same
second) is exported again, up to ``config.SAME_SECOND_TRIES`` exports in all.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator, Mapping, Sequence
from functools import partial
from pathlib import Path
from typing import TypeVar

from formexport import config
from formexport.errors import ExportExpiredError, ExportFailedError, ExportJobNotFoundError
from formexport.jobs.file_check import ForeignFile, RequestCheck, same_second_message
from formexport.jobs.progress_flow import ExportProgress
from formexport.jobs.read_while_downloading import read_while_downloading
from formexport.jobs.reexport import Reexports
from formexport.jobs.strategy import ExportStrategy, FileCheck, LocalData, ScratchFolder
from formexport.local.form_turns import FormTurn
from formexport.local.pseudonym_key import pseudonym_key
from formexport.opnform.checks import field_ids
from formexport.opnform.endpoints import OpnFormAPI
from formexport.opnform.models import ExportStatus, FormInfo, JobState
from formexport.progress.events import ProgressEvent
from formexport.reading import sinks
from formexport.reading.column_plan import plan_columns
from formexport.reading.pseudonyms import Pseudonymizing
from formexport.reading.source import OpenedExport, open_export
from formexport.reading.tally import tally_file
from formexport.reading.typed_reader import ExportContext, TypedReader
from formexport.transfer.download import LinkExpired
from formexport.transfer.tee import Tee

logger = logging.getLogger("formexport")

T = TypeVar("T")
AGAIN = "another export of this form finished in the same second: exporting again"


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
        self._chosen = None if submission_ids is None else list(submission_ids)
        self._exports = 1
        self._turn: FormTurn | None = None

    def hold_turn(self, turn: FormTurn) -> None:
        """Hold the form's turn until the data is delivered or the job closed.

        Only a server job's file can be shared with another export. An answer, and answered
        batches, carry their own CSV: they let the next export go at once, rather than keep it
        waiting for as long as the job stays unread.
        """
        if self.strategy.is_server_job:
            self._turn = turn
        else:
            turn.release()

    def end_turn(self) -> None:
        """Let the next export of the form go (the data is delivered, or never will be)."""
        turn, self._turn = self._turn, None
        if turn is not None:
            turn.release()

    def ready(self, timeout: float | None = None) -> ExportStatus:
        """Wait for the file (a fresh export replaces a job whose status expired)."""
        with self.progress.showing_waits():
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

    def save(self, dest: Path, *, private: bool) -> None:
        """Bring the finished file to ``dest``, checked against its request before it goes there.

        ``private``: ``dest`` is formexport's own copy (see :meth:`ExportStrategy.fetch`).
        """
        while True:
            self.ready()
            check = self._request_check()
            try:
                file_check = None if check is None else partial(self._check_file, check)
                self.fetch(dest, check=file_check, private=private)
                return
            except ForeignFile as clash:
                self._export_again(clash)

    def fetch(
        self,
        dest: Path,
        tee: Tee | None = None,
        check: FileCheck | None = None,
        *,
        private: bool,
    ) -> None:
        """Bring the file to ``dest``; a fresh export replaces one whose link expired.

        ``check`` sees the complete file before it is moved to ``dest``, and may refuse it;
        ``private``: ``dest`` is formexport's own copy (see :meth:`ExportStrategy.fetch`).
        """
        with self.progress.showing_waits():
            self._fetch(dest, tee, check, private=private)

    def _fetch(
        self, dest: Path, tee: Tee | None, check: FileCheck | None, *, private: bool
    ) -> None:
        while True:
            try:
                self.strategy.fetch(dest, self.progress, tee, check, private=private)
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
        while True:
            self.ready()
            try:
                with self.progress.showing_waits():
                    return self._read_checked(consume, naming, values, hidden)
            except ForeignFile as clash:
                self._export_again(clash)

    def _read_checked(
        self,
        consume: Callable[[OpenedExport, TypedReader], T],
        naming: str,
        values: str,
        hidden: Pseudonymizing | None,
    ) -> T:
        check = self._request_check()

        def checked(opened: OpenedExport) -> T:
            reader = self._reader(opened, naming, values, check, hidden)
            result = consume(opened, reader)
            if check is not None:
                check.check_rows(reader.tally)
            return result

        def from_file() -> T:
            return checked(open_export(self.local_file()))

        def from_stream(chunks: Iterator[bytes]) -> T:
            return checked(open_export(chunks))

        if not self.strategy.can_stream():
            return from_file()
        download = self.scratch.path("export.csv")
        return read_while_downloading(
            lambda tee: self.fetch(download, tee, private=True), from_stream, from_file
        )

    def read_file(
        self, path: Path, consume: Callable[[OpenedExport, TypedReader], T], values: str = "csv"
    ) -> T:
        """Read the export saved at ``path`` (by :meth:`save`, which checked it), as :meth:`read`
        does."""
        opened = open_export(path)
        return consume(opened, self._reader(opened, "name", values, None))

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
        check: RequestCheck | None,
        hidden: Pseudonymizing | None = None,
    ) -> TypedReader:
        """The typed reader for this export, its column plan checked against the header."""
        if check is not None:
            self._check_header(check, opened.header)
        reader = sinks.make_reader(
            opened.head,
            form=self.form,
            columns=self.columns,
            naming=naming,
            exact_values=self.strategy.exact_values_for(self.api, values, opened.writer),
            context=self.context(),
            writer=opened.writer,
            pseudonymizing=hidden,
        )
        reader.tally.keep_ids = check is not None and check.chosen is not None
        return reader

    def _request_check(self) -> RequestCheck | None:
        """What the current job's file must hold, for a file another export may have replaced."""
        if not self.strategy.checks_file:
            return None
        status = self.strategy.status
        total = status.total_submissions if status is not None else None
        return RequestCheck.of(plan_columns(self.form, self.columns), total, self._chosen)

    def _check_file(self, check: RequestCheck, path: Path) -> None:
        header, tally = tally_file(path, keep_ids=check.chosen is not None)
        self._check_header(check, header)
        check.check_rows(tally)

    def _check_header(self, check: RequestCheck, header: Sequence[str]) -> None:
        """Raise :class:`ForeignFile` for other columns than requested, unless the form changed."""
        if check.header_matches(header):
            return
        # A form edited since the request plans other columns now: its file is read matching
        # columns by name, with a ColumnPlanWarning, as before.
        now = plan_columns(self.api.get_form(self.form.id), self.columns)
        if [column.header for column in now] == check.header:
            raise check.other_columns(header)

    def _export_again(self, clash: ForeignFile) -> None:
        """Start a fresh export after a file that was another export's, or give up."""
        job_id = self.strategy.job_id
        if self._exports >= config.SAME_SECOND_TRIES:
            message = same_second_message(self.form.id, job_id, self._exports, str(clash))
            raise ExportFailedError(message, job_id=job_id, error_message=None) from clash
        self._exports += 1
        logger.warning(
            "The file of export job %s of form %s is another export's (%s): another export of "
            "the form finished in the same second (OpnForm names export files by form and "
            "second); exporting again",
            job_id,
            self.form.id,
            clash,
        )
        self.progress.update(ProgressEvent("export", 0, 100, AGAIN, job_id=job_id))
        # The fresh file must not be named after the same second as the other export's.
        self.api.retry.sleep(config.SAME_SECOND_PAUSE)
        self._swap(self._reexports.fresh())

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
        """End the progress display and the form's turn, and delete the scratch copies."""
        self.end_turn()
        self.progress.finish()
        self.strategy.forget(self.scratch)
        self.scratch.delete()

"""The engine behind an :class:`~formexport.jobs.export_job.ExportJob`: wait, fetch, read.

:class:`Delivery` holds the current strategy (:mod:`formexport.jobs.strategy`) and does what is
the same for all of them: waiting with a progress display, bringing the file here, swapping in
a fresh export when a job's status or link has expired, reading through
:func:`formexport.reading.source.open_export`, which treats a file and a stream alike, and
handing the data over (:meth:`Delivery.handing_over`, used by :mod:`formexport.jobs.handover`).
The job asks it for the current strategy's job id and status; its display names the job.

A server job's file is checked against its request (:mod:`formexport.jobs.file_check`) before
anything is handed over: as it is read (the header first, the rows at the end, before a frame is
returned or a Parquet file moved into place), or before a CSV saved as served is moved into
place. A file that is another export's (one of the same form whose job finished in the same
second) is exported again, up to ``config.SAME_SECOND_TRIES`` exports in all.
"""

from __future__ import annotations

import contextlib
import logging
import weakref
from collections.abc import Callable, Iterator, Mapping, Sequence
from functools import partial
from pathlib import Path
from typing import TypeVar

from formexport import config
from formexport.errors import ExportExpiredError, ExportJobNotFoundError
from formexport.jobs.file_check import ForeignFile, RequestCheck, RequestChecker
from formexport.jobs.progress_flow import DeliveryNote, ExportProgress
from formexport.jobs.read_while_downloading import read_while_downloading
from formexport.jobs.reexport import Reexports
from formexport.jobs.strategy import ExportStrategy, FileCheck, LocalData, ScratchFolder
from formexport.local.form_turns import FormTurn
from formexport.local.job_records import JobRecords
from formexport.local.pseudonym_key import pseudonym_key
from formexport.opnform.checks import field_ids
from formexport.opnform.endpoints import OpnFormAPI
from formexport.opnform.models import ExportStatus, FormInfo, JobState
from formexport.progress.reporters import ProgressOption
from formexport.reading import sinks
from formexport.reading.options import ReadOptions
from formexport.reading.pseudonyms import Pseudonymizing
from formexport.reading.source import OpenedExport, open_export
from formexport.reading.typed_reader import ExportContext, TypedReader
from formexport.transfer.download import LinkExpired
from formexport.transfer.tee import Tee

logger = logging.getLogger("formexport")

T = TypeVar("T")
AGAIN = "another export of this form finished in the same second: exporting again"
#: A CSV saved as served is read for what it holds: no naming, no exact values, no pseudonyms.
AS_SERVED = ReadOptions(values="csv")


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
        Called when the job id changes or the job completes (the local job record): a method
        of the job holding this delivery, held weakly so that a job dropped unread is freed at
        once, and with it its form's turn.
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
        self.progress.job_id = strategy.job_id
        self.scratch = ScratchFolder()
        self._reexports = Reexports(api, form.id, self.columns, submission_ids, max_reexports)
        self._on_change = weakref.WeakMethod(on_change)
        self._told: tuple[str | None, bool] | None = None
        # The fields left out with exclude=, by name (recorded in attrs).
        self.excluded: tuple[str, ...] = ()
        self._checker = RequestChecker(api, form, self.columns, submission_ids)
        self._turn: FormTurn | None = None

    @property
    def mode(self) -> str:
        """How the export is delivered now (``ExportJob.delivery_mode``)."""
        return self.strategy.mode

    @property
    def job_id(self) -> str | None:
        """The server's job id, for a server job."""
        return self.strategy.job_id

    @property
    def is_server_job(self) -> bool:
        """True while the export is a job on the server."""
        return self.strategy.is_server_job

    @property
    def no_job_text(self) -> str:
        """What a notebook table shows in place of a job id."""
        return self.strategy.no_job_text

    @property
    def total(self) -> int | None:
        """The number of submissions, when known before the export runs."""
        return self.strategy.total

    @property
    def status(self) -> ExportStatus | None:
        """The last status seen."""
        return self.strategy.status

    def refresh(self) -> ExportStatus:
        """The current status (one request for a server job; none otherwise)."""
        return self.strategy.refresh()

    def keep_at(self, path: Path) -> None:
        """Read the export from ``path`` from now on."""
        self.strategy.keep_at(path)

    def hold_turn(self, turn: FormTurn) -> None:
        """Hold the form's turn until the data is delivered or the job closed.

        Only a server job's file can be shared with another export. An answer, and answered
        batches, carry their own CSV: they let the next export go at once, rather than keep it
        waiting for as long as the job stays unread.
        """
        if self.is_server_job:
            self._turn = turn
        else:
            turn.release()

    def end_turn(self) -> None:
        """Let the next export of the form go (the data is delivered, or never will be)."""
        turn, self._turn = self._turn, None
        if turn is not None:
            turn.release()

    def wait(
        self, option: ProgressOption, timeout: float | None, clock_start: float | None
    ) -> ExportStatus:
        """Wait for the file, showing progress as ``option`` asks (see ``ExportJob.wait``)."""
        self.progress.start(option, clock_start=clock_start)
        with self.progress.ending_on_error():
            return self.ready(timeout)

    @contextlib.contextmanager
    def handing_over(self) -> Iterator[DeliveryNote]:
        """The block that hands the data to the caller, noting what it handed over.

        The display ends on the error the block raises, or on what it noted. Once the data is
        delivered, the job's local record and its form's turn are spent: a later call for the
        same request starts a fresh export (and sees the submissions that arrived since)
        instead of picking this job up again.
        """
        note = DeliveryNote()
        with self.progress.ending_on_error():
            yield note
        self.progress.deliver(note)
        self.end_turn()
        if self.job_id is not None:
            JobRecords().mark_delivered(self.job_id)

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

    def show_parsed(self, rows: int) -> None:
        """Show the reading done: ``rows`` rows typed."""
        self.progress.show("parse", rows, rows)

    def _swap(self, strategy: ExportStrategy) -> None:
        """Go on with a fresh export: a new job, or the CSV at once."""
        self.strategy = strategy
        self.progress.job_id = strategy.job_id
        self._tell_change()

    def _tell_change(self) -> None:
        """Report a new job id or a job that completed, once each."""
        status = self.strategy.status
        state = (self.strategy.job_id, status is not None and status.status == JobState.COMPLETED)
        changed = self._on_change()
        if state[0] is not None and state != self._told and changed is not None:
            self._told = state
            changed()

    def save(self, dest: Path, *, private: bool) -> None:
        """Bring the finished file to ``dest``, checked against its request before it goes there.

        ``private``: ``dest`` is formexport's own copy (see :meth:`ExportStrategy.fetch`).
        """
        while True:
            self.ready()
            check = self._request_check()
            try:
                file_check = None if check is None else partial(self._checker.check_file, check)
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

    def read(self, consume: Callable[[OpenedExport, TypedReader], T], options: ReadOptions) -> T:
        """Open the export, make its typed reader and hand both to ``consume``.

        A background export not yet here is read while it downloads; see
        :mod:`formexport.jobs.read_while_downloading` for when the finished file is read instead.
        """
        hidden = self._pseudonymizing(options.pseudonymize)  # checked before anything is read
        while True:
            self.ready()
            try:
                with self.progress.showing_waits():
                    return self._read_checked(consume, options, hidden)
            except ForeignFile as clash:
                self._export_again(clash)

    def _read_checked(
        self,
        consume: Callable[[OpenedExport, TypedReader], T],
        options: ReadOptions,
        hidden: Pseudonymizing | None,
    ) -> T:
        check = self._request_check()

        def checked(opened: OpenedExport) -> T:
            reader = self._reader(opened, options, check, hidden)
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

    def read_file(self, path: Path, consume: Callable[[OpenedExport, TypedReader], T]) -> T:
        """Read the export saved at ``path`` (by :meth:`save`, which checked it) as served."""
        opened = open_export(path)
        return consume(opened, self._reader(opened, AS_SERVED, None))

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
        options: ReadOptions,
        check: RequestCheck | None,
        hidden: Pseudonymizing | None = None,
    ) -> TypedReader:
        """The typed reader for this export, its column plan checked against the header."""
        if check is not None:
            self._checker.check_header(check, opened.header)
        reader = sinks.make_reader(
            opened.head,
            form=self.form,
            columns=self.columns,
            naming=options.naming,
            exact_values=self.strategy.exact_values_for(self.api, options.values, opened.writer),
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
        return self._checker.check_for(self.strategy.status)

    def _export_again(self, clash: ForeignFile) -> None:
        """Start a fresh export after a file that was another export's, or give up."""
        self._checker.count_again(clash, self.job_id)
        self.progress.show("export", 0, 100, AGAIN)
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

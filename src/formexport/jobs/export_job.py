"""One export of one form: started, waited for, downloaded and loaded."""

from __future__ import annotations

import itertools
import logging
import shutil
import tempfile
import threading
import time
import weakref
from collections.abc import Callable, Iterable, Mapping
from datetime import datetime, timezone
from os import PathLike
from pathlib import Path
from typing import TYPE_CHECKING, BinaryIO, Protocol, TypeVar, cast

from formexport import config, html_tables
from formexport.errors import (
    ExportExpiredError,
    ExportJobNotFoundError,
    FormExportError,
    InvalidArgumentError,
)
from formexport.jobs.batching import export_in_batches
from formexport.jobs.polling import JobWaiter
from formexport.opnform.endpoints import AsyncExport, CsvExport, FormRef, OpnFormAPI
from formexport.opnform.models import ExactValues, ExportStatus, FormInfo, JobState
from formexport.opnform.submissions import ExactCollector, fetch_exact_values
from formexport.progress.reporters import (
    ProgressEvent,
    ProgressOption,
    ProgressReporter,
    make_reporter,
)
from formexport.reading import blocks, fputcsv, sinks
from formexport.reading.stream import ChunkReader, read_head
from formexport.reading.typed_reader import ExportContext, Restart, TypedReader
from formexport.transfer.download import (
    LinkExpired,
    atomic_destination,
    download_file,
    safe_filename,
)
from formexport.transfer.tee import ChunkPipe, DownloadCancelled, StreamBroken, Tee

if TYPE_CHECKING:
    import pandas as pd
    import pyarrow as pa

logger = logging.getLogger("formexport")

T = TypeVar("T")
SYNC, ASYNC, BATCHED, CACHED = "sync", "async", "batched", "cached"
PathArg = str | PathLike[str]


class HoldsAPI(Protocol):
    """Anything holding an :class:`OpnFormAPI` (a :class:`~formexport.Client`)."""

    @property
    def api(self) -> OpnFormAPI:
        """The endpoints over the client's session."""


_HOW = {
    SYNC: "none (the server answered at once)",
    BATCHED: "none (exported in batches of 1000)",
    CACHED: "none (read from the local cache)",
    ASYNC: "",
}


def _status_message(status: ExportStatus) -> str:
    if status.processed_submissions is not None and status.total_submissions:
        return f"{status.processed_submissions}/{status.total_submissions} submissions"
    if status.status == JobState.PROCESSING and status.error_message:
        return status.error_message  # the server's "Generating export file..."
    return status.status


class ExportJob:
    """An export of one form, whichever way the server delivers it.

    Made by :meth:`Client.start_export` or :meth:`ExportJob.attach`. Four strategies hide
    behind one interface: the server answered the CSV at once (``strategy == "sync"``), it
    started a background job (``"async"``, ``job_id`` set), or, when the server hides job status
    from tokens, the export runs as synchronous batches of up to 1000 submissions (``"batched"``);
    ``"cached"`` reads a finished export kept on this machine (``cache=True``).

    Attributes
    ----------
    form_id : int
        The numeric id of the exported form.
    job_id : str or None
        The server's job id for background exports.
    is_async : bool
        True while the export is a background job on the server.
    columns : dict of str to bool
        The columns requested.
    status : ExportStatus or None
        The last status seen.
    request_key : str or None
        Names the request (server, form, columns, submission ids) in the local job record and
        the export cache.

    Examples
    --------
    >>> job = client.start_export(123)                  # doctest: +SKIP
    >>> job.wait(progress="log", timeout=600)            # doctest: +SKIP
    >>> df = job.to_dataframe()                          # doctest: +SKIP
    """

    def __init__(
        self,
        api: OpnFormAPI,
        form: FormInfo,
        columns: Mapping[str, bool],
        *,
        strategy: str,
        job_id: str | None = None,
        csv: bytes | Path | None = None,
        ids: Callable[[], Iterable[int]] | None = None,
        total: int | None = None,
        submission_ids: list[int] | None = None,
        max_reexports: int = config.MAX_REEXPORTS,
        listed_values: ExactCollector | None = None,
    ) -> None:
        self._api = api
        self.form = form
        self.form_id = form.id
        self.columns = dict(columns)
        self.strategy = strategy
        self.job_id = job_id
        self.status: ExportStatus | None = None
        self._csv: bytes | Path | None = csv
        self._ids = ids
        self._total = total
        self._submission_ids = submission_ids
        self._reexports_left = max_reexports
        # Until wait() is told otherwise, progress shows the way "auto" picks.
        self._reporter: ProgressReporter = make_reporter("auto")
        self._workdir: Path | None = None
        self.request_key: str | None = None
        # Told when the job id changes or the job completes, to keep the local job record.
        self.on_change: Callable[[ExportJob], None] | None = None
        # When the server accepted a job this object started (monotonic clock), else None.
        self._accepted_at: float | None = None
        self._exported_at = datetime.now(timezone.utc) if csv is not None else None
        self._exact: ExactValues | None = None
        self._listed_values = listed_values

    @classmethod
    def from_answer(
        cls,
        api: OpnFormAPI,
        form: FormInfo,
        columns: Mapping[str, bool],
        answer: CsvExport | AsyncExport,
        *,
        submission_ids: list[int] | None = None,
    ) -> ExportJob:
        """Wrap the server's answer to an export request."""
        if isinstance(answer, AsyncExport):
            job = cls(
                api,
                form,
                columns,
                strategy=ASYNC,
                job_id=answer.job_id,
                submission_ids=submission_ids,
            )
            job._accepted_at = time.monotonic()
            return job
        return cls(api, form, columns, strategy=SYNC, csv=answer.content)

    @classmethod
    def attach(
        cls,
        form: FormRef,
        job_id: str,
        *,
        client: HoldsAPI | None = None,
        token: str | None = None,
        base_url: str | None = None,
        reexport: bool = False,
    ) -> ExportJob:
        """Pick up a background export started earlier (another kernel, an earlier run).

        Parameters
        ----------
        form : int or str
            The form's id or slug.
        job_id : str
            The id shown when the export started (also in errors and Ctrl-C messages).
        client : Client, optional
            Reuse a client; otherwise ``token`` and ``base_url`` (or the environment) are used.
        reexport : bool
            When the job's status or link has expired, start a fresh export of every field
            instead of raising.
        """
        if client is not None:
            api = client.api
        else:
            api = OpnFormAPI(config.resolve_settings(token, base_url))
        info = api.get_form(form)
        return cls(
            api,
            info,
            info.default_columns(),
            strategy=ASYNC,
            job_id=job_id,
            max_reexports=config.MAX_REEXPORTS if reexport else 0,
        )

    @property
    def is_async(self) -> bool:
        """True for a background job on the server."""
        return self.strategy == ASYNC

    @property
    def server(self) -> str:
        """The API base URL the export comes from."""
        return self._api.settings.base_url

    def _changed(self) -> None:
        if self.on_change is not None:
            self.on_change(self)

    def __repr__(self) -> str:
        state = self.status.status_text if self.status else "not checked"
        job = f", job_id={self.job_id!r}" if self.job_id else ""
        return (
            f"ExportJob(form_id={self.form_id}{job}, strategy={self.strategy!r}, status={state!r})"
        )

    def _repr_html_(self) -> str:
        """A small table for notebooks: form, job id, state, progress, rows, link lifetime."""
        rows: list[tuple[str, str]] = [
            ("Form", f"{self.form.title or self.form.slug} (id {self.form_id}, {self.form.slug})"),
            ("Job id", html_tables.code(self.job_id) if self.job_id else _HOW[self.strategy]),
        ]
        if self.status is not None:
            rows += self.status.html_rows()
        else:
            rows.append(("State", "not checked yet: call refresh() or wait()"))
        if self._total is not None and not any(label == "Rows" for label, _ in rows):
            rows.append(("Rows", str(self._total)))
        return html_tables.table(f"Export of form {self.form_id}", rows)

    def _done_status(self) -> ExportStatus:
        return ExportStatus(
            status=JobState.COMPLETED,
            progress=100,
            form_id=self.form_id,
            job_id=self.job_id,
        )

    def refresh(self) -> ExportStatus:
        """Ask the server for the job's status (one request) and return it.

        Exports answered at once report ``completed``; batched ones ``queued`` until
        :meth:`wait` has run them.
        """
        if self.strategy == ASYNC:
            assert self.job_id is not None
            self.status = self._api.get_export_status(self.form_id, self.job_id)
        elif self._csv is None:
            self.status = ExportStatus(status=JobState.QUEUED, form_id=self.form_id)
        else:
            self.status = self._done_status()
        return self.status

    def wait(self, progress: ProgressOption = "auto", timeout: float | None = None) -> ExportStatus:
        """Wait until the export file is ready, showing progress.

        Parameters
        ----------
        progress : str, None, callable or ProgressReporter
            See :func:`~formexport.progress.reporters.make_reporter`; ``"auto"`` fits where
            the code runs.
        timeout : float, optional
            Seconds to wait at most; ``None`` waits as long as it takes.

        Raises
        ------
        ExportFailedError, ExportTimeoutError, ExportInterrupted
        """
        self._reporter = make_reporter(progress)
        try:
            return self._wait(timeout)
        finally:
            self._reporter.close()

    def _wait(self, timeout: float | None) -> ExportStatus:
        if self.strategy == BATCHED and self._csv is None:
            self._run_batches(timeout)
        if self.strategy != ASYNC:
            self.status = self._done_status()
            return self.status
        if self.status is not None and self.status.status == JobState.COMPLETED:
            return self.status
        while True:
            try:
                self.status = self._waiter().wait(timeout)
                return self.status
            except ExportJobNotFoundError:
                if self._reexports_left <= 0:
                    raise
                logger.warning("The status of export job %s expired on the server", self.job_id)
                self._reexport()
                if self.strategy != ASYNC:
                    return self._done_status()

    def _waiter(self) -> JobWaiter:
        assert self.job_id is not None
        job_id = self.job_id
        # A job the server has just accepted is queued: its first status can wait a poll.
        first_poll_at = None
        if self._accepted_at is not None:
            first_poll_at = self._accepted_at + config.POLL_MIN_INTERVAL
        return JobWaiter(
            lambda: self._api.get_export_status(self.form_id, job_id),
            job_id=job_id,
            on_status=self._report_status,
            first_poll_at=first_poll_at,
        )

    def _report_status(self, status: ExportStatus) -> None:
        self.status = status
        if status.status == JobState.COMPLETED:
            self._changed()
        self._reporter.update(
            ProgressEvent(
                "export",
                status.progress,
                100,
                _status_message(status),
                job_id=self.job_id,
            )
        )

    def _run_batches(self, timeout: float | None) -> None:
        assert self._ids is not None
        deadline = None if timeout is None else time.monotonic() + timeout
        path = self._scratch_path("batched.csv")
        total = self._total

        def report(rows: int) -> None:
            # The count was taken before the listing: submissions arriving since may be in too.
            expected = None if total is None else max(total, rows)
            self._reporter.update(ProgressEvent("batches", rows, expected))

        report(0)
        with atomic_destination(path) as out:
            export_in_batches(
                self._api,
                self.form_id,
                self.columns,
                self._ids(),
                out,
                on_rows=report,
                deadline=deadline,
            )
        self._csv = path
        self._exported_at = datetime.now(timezone.utc)
        if self._listed_values is not None:
            self._exact = self._listed_values.values()

    def _scratch_path(self, name: str) -> Path:
        if self._workdir is None:
            self._workdir = Path(tempfile.mkdtemp(prefix="formexport-"))
            # Exports hold personal data: the scratch copy goes when the job does.
            weakref.finalize(self, shutil.rmtree, self._workdir, ignore_errors=True)
        return self._workdir / name

    def close(self) -> None:
        """Delete the job's scratch copy of the export (also done when the job is garbage)."""
        if self._workdir is not None:
            shutil.rmtree(self._workdir, ignore_errors=True)
            if isinstance(self._csv, Path) and self._csv.is_relative_to(self._workdir):
                self._csv = None
            self._workdir = None

    def __enter__(self) -> ExportJob:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def _reexport(self) -> None:
        self._reexports_left -= 1
        answer = self._api.post_export(self.form_id, self.columns, self._submission_ids)
        self.status, self._exact = None, None
        if isinstance(answer, AsyncExport):
            self.strategy, self.job_id = ASYNC, answer.job_id
            self._accepted_at = time.monotonic()
            logger.warning("Started a fresh export, job %s", self.job_id)
            self._changed()
        else:
            self.strategy, self.job_id, self._csv = SYNC, None, answer.content
            self._exported_at = datetime.now(timezone.utc)

    def _ensure_ready(self) -> None:
        if self.strategy == ASYNC:
            ready = self.status is not None and self.status.status == JobState.COMPLETED
        else:
            ready = self._csv is not None
        if not ready:
            self._wait(None)

    def download(self, path: PathArg) -> Path:
        """Save the export as CSV, byte for byte as the server wrote it; return the path.

        Waits for the job first if needed. A background export's link is fetched with
        resume and length checks into a temporary file beside ``path``, then moved into place,
        so ``path`` never holds a partial file. If the link has expired, a fresh export is
        started (at most twice) before :class:`ExportExpiredError` is raised.
        """
        dest = self._destination(path)
        try:
            self._ensure_ready()
            if self.strategy == ASYNC and not self._has_local_file():
                self._download_async(dest)
            else:
                self._copy_local(dest)
            return dest
        finally:
            self._reporter.close()

    def _has_local_file(self) -> bool:
        return isinstance(self._csv, Path) and self._csv.exists()

    def keep(self, path: PathArg) -> Path:
        """Save the export at ``path`` (as :meth:`download`) and read it from there from now on.

        Used by the export cache; the file is not deleted by :meth:`close`.
        """
        dest = self.download(path)
        self._csv = dest
        return dest

    def _destination(self, path: PathArg) -> Path:
        dest = Path(path).expanduser()
        if dest.is_dir():
            # The slug comes from the server: it must not lead out of the folder.
            dest = dest / f"{safe_filename(self.form.slug, str(self.form_id))}-submissions.csv"
        if dest.name in ("", ".", ".."):
            raise InvalidArgumentError(f"{path!r} is not a file path to write the export to.")
        return dest

    def _copy_local(self, dest: Path) -> None:
        assert self._csv is not None
        if isinstance(self._csv, Path) and self._csv.resolve() == dest.resolve():
            return  # already there
        with atomic_destination(dest) as out:
            if isinstance(self._csv, bytes):
                out.write(self._csv)
            else:
                with self._csv.open("rb") as source:
                    shutil.copyfileobj(source, out, config.DOWNLOAD_CHUNK_SIZE)

    def _download_async(self, dest: Path, tee: Tee | None = None) -> None:
        while True:
            status = self.status
            assert status is not None
            assert status.file_url
            try:
                download_file(
                    status.file_url,
                    dest,
                    expires_at=status.expires_at,
                    on_progress=self._report_download,
                    tee=tee,
                )
                self._csv = dest
                return
            except LinkExpired as exc:
                if self._reexports_left <= 0:
                    raise ExportExpiredError(
                        f"The download link of export job {self.job_id} has expired and no "
                        "fresh export may be started; start a new export."
                    ) from exc
                logger.warning("The link of export job %s has expired", self.job_id)
                self._reexport()
                self._wait(None)
                if self.strategy != ASYNC:
                    if tee is not None:
                        tee.break_stream()
                    self._copy_local(dest)
                    return

    def _report_download(self, received: int, total: int | None) -> None:
        self._reporter.update(ProgressEvent("download", received, total, job_id=self.job_id))

    def _local_source(self) -> bytes | Path:
        self._ensure_ready()
        if self._csv is None or (isinstance(self._csv, Path) and not self._has_local_file()):
            self._download_async(self._scratch_path("export.csv"))
        assert self._csv is not None
        return self._csv

    def _context(self) -> ExportContext:
        exported_at = self._exported_at
        if self.strategy == ASYNC and self.status is not None:
            exported_at = self.status.updated_at or exported_at
        return ExportContext(
            form_id=self.form_id,
            form_slug=self.form.slug,
            job_id=self.job_id,
            server=self._api.settings.base_url,
            exported_at=exported_at,
        )

    def _typed_source(self, naming: str, values: str) -> tuple[bytes | Path, TypedReader]:
        source, writer = sinks.readable(
            self._local_source(), self._scratch_path("standard.csv").parent
        )
        return source, self._reader(source, writer, naming, values)

    def _reader(self, head: bytes | Path, writer: str, naming: str, values: str) -> TypedReader:
        """The typed reader for this export (``head``: the file, or at least its header)."""
        return sinks.make_reader(
            head,
            form=self.form,
            columns=self.columns,
            naming=naming,
            exact=self._exact_values(values, writer),
            context=self._context(),
            writer=writer,
        )

    def _exact_values(self, values: str, writer: str) -> ExactValues | None:
        # The synchronous writer loses 0, false and "+": its exports are small enough (at
        # most 10 requests) to read exact values by default. Batched exports have them already
        # when they listed the ids themselves; otherwise only when asked.
        use_exact = values == "exact" or (
            values == "auto"
            and writer == "sync"
            and (self.strategy == SYNC or (self.strategy == BATCHED and self._exact is not None))
        )
        if use_exact and self._exact is None:
            try:
                self._exact = fetch_exact_values(self._api, self.form_id)
            except FormExportError as exc:
                if values == "exact":
                    raise
                # "auto" asked for a better source, not for a failure: keep the CSV's values.
                logger.warning(
                    "Reading the CSV's values: the JSON submissions list failed (%s)", exc
                )
                return None
        return self._exact if use_exact else None

    def _can_stream(self) -> bool:
        """Whether the file is still to be fetched, so parsing can overlap the transfer."""
        self._ensure_ready()
        return self.strategy == ASYNC and not self._has_local_file()

    def _streamed(
        self, consume: Callable[[BinaryIO, TypedReader], T], naming: str, values: str
    ) -> T | None:
        """Download and read at once: ``consume`` reads the bytes as they arrive.

        None when the stream broke (a host that restarted, an expired link, a block too small
        for a row, a column that needs a second pass): the file is then complete on disk, and
        the caller reads it the usual way.
        """
        pipe = ChunkPipe()
        tee = Tee(pipe)
        failure: list[BaseException] = []

        def fetch() -> None:
            try:
                self._download_async(self._scratch_path("export.csv"), tee=tee)
                pipe.close()
            except DownloadCancelled:
                pass
            except BaseException as exc:  # handed to the reading thread, which re-raises it
                failure.append(exc)
                pipe.close(exc)

        thread = threading.Thread(target=fetch, name="formexport-download", daemon=True)
        thread.start()
        try:
            chunks = iter(pipe)
            head = read_head(chunks)
            writer = blocks.detect_writer(head)
            arriving = itertools.chain([head], chunks)
            # The background writer's \" quirk is rewritten on the way (see reading.fputcsv).
            pieces = fputcsv.standard_pieces(arriving) if writer == "async" else arriving
            source = cast(BinaryIO, ChunkReader(pieces))
            return consume(source, self._reader(head, writer, naming, values))
        except (StreamBroken, Restart, blocks.BlockTooSmall):
            pipe.abandon()  # the download goes on to its end: the file is read next
            thread.join()
            if failure and not isinstance(failure[0], StreamBroken):
                raise failure[0] from None
            return None
        except BaseException:
            # An error or Ctrl-C: stop the download too, without waiting on a slow host.
            tee.cancel()
            thread.join(timeout=config.CANCEL_GRACE)
            raise

    def to_dataframe(
        self,
        *,
        naming: str = "name",
        dtype_backend: str = sinks.DEFAULT_DTYPE_BACKEND,
        values: str = "auto",
    ) -> pd.DataFrame:
        """Load the export into a pandas DataFrame, typed from the form's fields.

        Parameters
        ----------
        naming : {"name", "id"}
            Name field columns by field name (repeats get ``.1``, ``.2``) or by field id.
        dtype_backend : {"numpy_nullable", "pyarrow"}
            Nullable NumPy dtypes (``Int64``, ``boolean``, ``string``...) or Arrow-backed ones.
        values : {"auto", "csv", "exact"}
            Where field values come from; ``"auto"`` reads exact values from the JSON
            submissions list when the server's synchronous writer lost some (see the docs).

        Returns
        -------
        pandas.DataFrame
            ``attrs`` records the form, job, server, export time and each column's field.
        """
        sinks.check_options(naming=naming, dtype_backend=dtype_backend, values=values)
        try:
            table, reader = self._typed_table(naming, values)
            frame = sinks.to_pandas(table, dtype_backend, reader.attrs())
            self._reporter.update(
                ProgressEvent("parse", len(frame), len(frame), job_id=self.job_id)
            )
            return frame
        finally:
            self._reporter.close()

    def to_arrow(self, *, naming: str = "name", values: str = "auto") -> pa.Table:
        """Load the export into a typed :class:`pyarrow.Table` (options as in to_dataframe)."""
        sinks.check_options(naming=naming, values=values)
        try:
            return self._typed_table(naming, values)[0]
        finally:
            self._reporter.close()

    def _typed_table(self, naming: str, values: str) -> tuple[pa.Table, TypedReader]:
        if self._can_stream():
            streamed = self._streamed(
                lambda source, reader: (sinks.read_arrow(source, reader), reader), naming, values
            )
            if streamed is not None:
                return streamed
        source, reader = self._typed_source(naming, values)
        return sinks.read_arrow(source, reader), reader

    def to_parquet(self, path: PathArg, *, naming: str = "name", values: str = "auto") -> Path:
        """Write the typed export to a Parquet file, streaming; return the path.

        Memory stays flat however large the export. ``pandas.read_parquet(path)`` gives the
        frame :meth:`to_dataframe` returns with the same options.
        """
        sinks.check_options(naming=naming, values=values)
        dest = Path(path).expanduser()
        try:
            with atomic_destination(dest) as out:

                def write(source: blocks.CsvSource | BinaryIO, reader: TypedReader) -> bool:
                    sinks.write_parquet(source, out, reader)
                    return True

                if not (self._can_stream() and self._streamed(write, naming, values)):
                    out.seek(0)
                    out.truncate()
                    write(*self._typed_source(naming, values))
            return dest
        finally:
            self._reporter.close()

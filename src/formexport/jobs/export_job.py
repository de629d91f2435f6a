"""One export of one form: started, waited for, downloaded and loaded.

:class:`ExportJob` is what users hold. How the CSV reaches this machine is a strategy object
(:mod:`formexport.jobs.strategy`), swapped when a fresh export replaces an expired one; reading
goes through :func:`formexport.reading.source.open_export`, the same for a file and a stream.
"""

from __future__ import annotations

import warnings
import weakref
from collections.abc import Callable, Mapping, Sequence
from functools import partial
from os import PathLike
from pathlib import Path
from typing import TYPE_CHECKING, BinaryIO, Protocol

from formexport import config, html_tables
from formexport.credentials import lookup_settings
from formexport.jobs.delivery import Delivery
from formexport.jobs.reexport import strategy_for_answer
from formexport.jobs.server_job import ServerJob
from formexport.jobs.strategy import ExportStrategy
from formexport.jobs.uploaded_files import ExportUploads, FilesOption
from formexport.local.form_turns import FormTurn
from formexport.local.job_records import JobRecords
from formexport.opnform.checks import normalize_columns
from formexport.opnform.endpoints import AnsweredCsv, FormRef, OpnFormAPI, StartedJob
from formexport.opnform.models import ExportStatus, FormInfo
from formexport.opnform.submissions import ExactCollector
from formexport.progress.reporters import ProgressEvent, ProgressOption
from formexport.reading import sinks
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

# ExportJob.strategy's words before delivery_mode named the server's two routes one way.
_OLD_MODE_NAMES = {"answered": "sync", "server_job": "async", "nothing_chosen": "sync"}


def _deprecated(old: str, new: str) -> None:
    warnings.warn(f"{old} is deprecated; use {new}.", DeprecationWarning, stacklevel=3)


class HoldsAPI(Protocol):
    """Anything holding an :class:`OpnFormAPI` (a :class:`~formexport.Client`)."""

    @property
    def api(self) -> OpnFormAPI:
        """The endpoints over the client's session."""


class ExportJob:
    """An export of one form, whichever way the server delivers it.

    Made by :meth:`Client.start_export` or :meth:`ExportJob.attach`. How the data comes is its
    :attr:`delivery_mode`: the server answered the CSV at once (``"answered"``), it started a
    server job (``"server_job"``, ``job_id`` set), or, when the server hides job status from
    tokens, the export runs as answered batches of up to 1000 submissions (``"batched"``);
    ``"cached"`` reads a finished export kept on this machine (``cache=True``), and
    ``"nothing_chosen"`` is an export whose ``since=``/``status=`` matched no submission.

    OpnForm names a server job's file after the form and the second the job finished, so
    another export of the form finishing in that second may replace it. Before a server job's
    data is handed over (a frame returned, a file moved into place), the file is checked
    against the request: the requested columns, the job's row count, the chosen submissions.
    A file that is another export's is exported again, up to ``config.SAME_SECOND_TRIES``
    exports in all, then :class:`~formexport.ExportFailedError` says why.

    Attributes
    ----------
    form_id : int
        The numeric id of the exported form.
    job_id : str or None
        The server's job id, for a server job.
    is_server_job : bool
        True while the export is a job on the server.
    columns : dict of str to bool
        The columns requested.
    status : ExportStatus or None
        The last status seen.
    request_key : str or None
        Names the request (server, form, columns, submission ids) in the local job record and
        the export cache.

    Examples
    --------
    >>> import formexport as fx
    >>> with fx.Client() as client:
    ...     job = client.start_export(2)
    ...     status = job.wait(timeout=600)
    ...     df = job.to_dataframe()
    >>> status.status, df.shape
    ('completed', (2500, 15))
    """

    def __init__(
        self,
        api: OpnFormAPI,
        form: FormInfo,
        columns: Mapping[str, bool],
        strategy: ExportStrategy,
        *,
        submission_ids: Sequence[int] | None = None,
        max_reexports: int = config.MAX_REEXPORTS,
    ) -> None:
        self._api = api
        self.form = form
        self.form_id = form.id
        self.columns = dict(columns)
        self._delivery = Delivery(
            api,
            form,
            self.columns,
            strategy,
            submission_ids=submission_ids,
            max_reexports=max_reexports,
            # Weakly: a job dropped unread is freed at once, and with it its form's turn.
            on_change=_weakly(self._changed),
        )
        self.request_key: str | None = None
        # Told when the job id changes or the job completes, to keep the local job record.
        self.on_change: Callable[[ExportJob], None] | None = None

    @classmethod
    def from_answer(
        cls,
        api: OpnFormAPI,
        form: FormInfo,
        columns: Mapping[str, bool],
        answer: AnsweredCsv | StartedJob,
        *,
        submission_ids: Sequence[int] | None = None,
        listed_values: ExactCollector | None = None,
        expected_rows: int | None = None,
    ) -> ExportJob:
        """Wrap the server's answer to an export request.

        ``listed_values`` holds the raw values of the exported submissions when they were
        listed to choose them (exact values, at no extra request); ``expected_rows`` the rows
        counted before the request (a server job's end is forecast from it).
        """
        strategy = strategy_for_answer(api, form.id, answer, expected_rows=expected_rows)
        if listed_values is not None:
            strategy.exact_values = listed_values.values()
        return cls(api, form, columns, strategy, submission_ids=submission_ids)

    @classmethod
    def attach(
        cls,
        form: FormRef,
        job_id: str,
        *,
        client: HoldsAPI | None = None,
        token: str | None = None,
        base_url: str | None = None,
        profile: str | None = None,
        reexport: bool = False,
        columns: Mapping[str, bool] | Sequence[str] | None = None,
    ) -> ExportJob:
        """Pick up a background export started earlier (another kernel, an earlier run).

        Parameters
        ----------
        form : int or str
            The form's id or slug.
        job_id : str
            The id shown when the export started (also in errors and Ctrl-C messages).
        client : Client, optional
            Reuse a client; otherwise ``token``, ``base_url`` and ``profile`` are used, as
            :class:`~formexport.Client` uses them.
        reexport : bool
            When the job's status or link has expired, start a fresh export instead of
            raising.
        columns : list or dict, optional
            The columns the job was started with, as for :meth:`Client.start_export`; ``None``:
            every field plus ``created_at`` (what ``start_export`` exports by default). They
            tie the export's columns to the form's fields, and a fresh export asks for them.
        """
        if client is not None:
            api = client.api
        else:
            api = OpnFormAPI(lookup_settings(token, base_url, profile=profile))
        info = api.get_form(form)
        chosen = info.default_columns() if columns is None else normalize_columns(columns, info)
        return cls(
            api,
            info,
            chosen,
            ServerJob(api, info.id, job_id, request_known=False),
            max_reexports=config.MAX_REEXPORTS if reexport else 0,
        )

    @property
    def delivery_mode(self) -> str:
        """How the export is delivered: ``"answered"``, ``"server_job"``, ``"batched"``,
        ``"cached"`` or ``"nothing_chosen"``."""
        return self._delivery.strategy.mode

    @property
    def strategy(self) -> str:
        """Deprecated: :attr:`delivery_mode`, in the old words (``"sync"``, ``"async"``...)."""
        _deprecated("ExportJob.strategy", "ExportJob.delivery_mode")
        return _OLD_MODE_NAMES.get(self.delivery_mode, self.delivery_mode)

    @property
    def excluded(self) -> tuple[str, ...]:
        """The fields left out with ``exclude=`` (by name), recorded in ``attrs``."""
        return self._delivery.excluded

    @excluded.setter
    def excluded(self, names: Sequence[str]) -> None:
        self._delivery.excluded = tuple(names)

    @property
    def job_id(self) -> str | None:
        """The server's job id, for a server job."""
        return self._delivery.strategy.job_id

    @property
    def is_server_job(self) -> bool:
        """True for a job on the server."""
        return self._delivery.strategy.is_server_job

    @property
    def is_async(self) -> bool:
        """Deprecated: :attr:`is_server_job`."""
        _deprecated("ExportJob.is_async", "ExportJob.is_server_job")
        return self.is_server_job

    @property
    def status(self) -> ExportStatus | None:
        """The last status seen."""
        return self._delivery.strategy.status

    @property
    def server(self) -> str:
        """The API base URL the export comes from."""
        return self._api.settings.base_url

    def __repr__(self) -> str:
        state = self.status.status_text if self.status else "not checked"
        job = f", job_id={self.job_id!r}" if self.job_id else ""
        mode = self.delivery_mode
        return f"ExportJob(form_id={self.form_id}{job}, delivery_mode={mode!r}, status={state!r})"

    def _repr_html_(self) -> str:
        """A small table for notebooks: form, job id, state, progress, rows, link lifetime."""
        how = html_tables.code(self.job_id) if self.job_id else self._delivery.strategy.no_job_text
        rows: list[tuple[str, str]] = [
            ("Form", f"{self.form.title or self.form.slug} (id {self.form_id}, {self.form.slug})"),
            ("Job id", how),
        ]
        if self.status is not None:
            rows += self.status.html_rows()
        else:
            rows.append(("State", "not checked yet: call refresh() or wait()"))
        total = self._delivery.strategy.total
        if total is not None and not any(label == "Rows" for label, _ in rows):
            rows.append(("Rows", str(total)))
        return html_tables.table(f"Export of form {self.form_id}", rows)

    def refresh(self) -> ExportStatus:
        """Ask the server for the job's status (one request) and return it.

        Exports answered at once report ``completed``; batched ones ``queued`` until
        :meth:`wait` has run them.
        """
        return self._delivery.strategy.refresh()

    def wait(
        self,
        progress: ProgressOption = "auto",
        timeout: float | None = None,
        *,
        clock_start: float | None = None,
    ) -> ExportStatus:
        """Wait until the export file is ready, showing progress.

        The display stays open for the download and the reading that follow (a later
        :meth:`to_dataframe`, :meth:`to_parquet` or :meth:`download`), which close it on what
        was delivered (``Done · 2 500 rows × 15 columns · 5.1 s · job acfc3703``) or on the
        error.

        Parameters
        ----------
        progress : str, None, callable or ProgressReporter
            See :func:`~formexport.progress.reporters.make_reporter`; ``"auto"`` fits where
            the code runs.
        timeout : float, optional
            Seconds to wait at most; ``None`` waits as long as it takes.
        clock_start : float, optional
            The :func:`time.monotonic` value the display's time counts from (the call that
            started the export); now by default.

        Raises
        ------
        ExportFailedError, ExportTimeoutError, ExportInterrupted
        """
        self._delivery.progress.start(progress, clock_start=clock_start)
        try:
            return self._delivery.ready(timeout)
        except BaseException as exc:
            self._delivery.progress.finish(exc, job_id=self.job_id)
            raise

    def _changed(self) -> None:
        if self.on_change is not None:
            self.on_change(self)

    def hold_turn(self, turn: FormTurn) -> None:
        """Hold the form's turn (taken for the export request) until the data is delivered or
        the job closed: see :mod:`formexport.local.form_turns`."""
        self._delivery.hold_turn(turn)

    def _delivered(self) -> None:
        """The data reached the caller: this job's local record and its form's turn are spent.

        A later call for the same request then starts a fresh export (and sees the submissions
        that arrived since) instead of picking this job up again.
        """
        self._delivery.end_turn()
        if self.job_id is not None:
            JobRecords().mark_delivered(self.job_id)

    def close(self) -> None:
        """Delete the job's scratch copy of the export (also done when the job is garbage).

        A progress display still open is closed too, and the form's turn ends.
        """
        self._delivery.close()

    def __enter__(self) -> ExportJob:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def download(self, path: PathArg, *, files: FilesOption = None) -> Path:
        """Save the export as CSV, byte for byte as the server wrote it; return the path.

        Waits for the job first if needed. A background export's link is fetched with
        resume and length checks into a temporary file beside ``path``, then moved into place,
        so ``path`` never holds a partial file. If the link has expired, a fresh export is
        started (at most twice) before :class:`ExportExpiredError` is raised. ``files`` saves
        the uploaded files there too (the CSV keeps the server's links; the record beside the
        files maps each one to its submission and field).
        """
        try:
            uploads = None if files is None else ExportUploads(self._delivery, files)
            dest = self._save(path)
            saved = None if uploads is None else uploads.csv(dest)
        except BaseException as exc:
            self._delivery.progress.finish(exc, job_id=self.job_id)
            raise
        self._delivery.progress.deliver(
            size=dest.stat().st_size, file=dest.name, job_id=self.job_id, files=saved
        )
        self._delivered()
        return dest

    def keep(self, path: PathArg) -> Path:
        """Save the export at ``path`` (as :meth:`download`, but ``0600``: the cache's) and read
        it from there from now on.

        Used by the export cache; the file is not deleted by :meth:`close`.
        """
        dest = self._save(path, private=True)
        self._delivery.strategy.keep_at(dest)
        return dest

    def _save(self, path: PathArg, *, private: bool = False) -> Path:
        # The slug comes from the server: it must not lead out of the folder.
        name = f"{safe_filename(self.form.slug, str(self.form_id))}-submissions.csv"
        dest = file_destination(path, name)
        self._delivery.save(dest, private=private)
        return dest

    def to_dataframe(
        self,
        *,
        naming: str = "name",
        dtype_backend: str = sinks.DEFAULT_DTYPE_BACKEND,
        values: str = "auto",
        pseudonymize: Sequence[str] | None = None,
        files: FilesOption = None,
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
        pseudonymize : list of str, optional
            Fields (names or ids) whose answers become pseudonyms: a keyed hash of each
            answer, the same in every export made with the same key (see the docs). The
            answers themselves never reach the frame.
        files : str or path, optional
            Save the uploaded files there (a folder or fsspec URL); the file-upload and
            signature cells then hold their paths (see :func:`formexport.load_export`).

        Returns
        -------
        pandas.DataFrame
            ``attrs`` records the form, job, server, export time and each column's field
            (and, with ``files``, each saved file).
        """
        sinks.check_options(naming=naming, dtype_backend=dtype_backend, values=values)
        saved = None
        try:
            uploads = None if files is None else ExportUploads(self._delivery, files)
            frame = self._delivery.read(
                partial(_frame, dtype_backend), naming, values, pseudonymize
            )
            rows = len(frame)
            self._delivery.progress.update(ProgressEvent("parse", rows, rows, job_id=self.job_id))
            if uploads is not None:
                frame, saved = uploads.frame(frame)
        except BaseException as exc:
            self._delivery.progress.finish(exc, job_id=self.job_id)
            raise
        self._delivery.progress.deliver(
            rows=rows, columns=frame.shape[1], job_id=self.job_id, files=saved
        )
        self._delivered()
        return frame

    def to_arrow(
        self,
        *,
        naming: str = "name",
        values: str = "auto",
        pseudonymize: Sequence[str] | None = None,
    ) -> pa.Table:
        """Load the export into a typed :class:`pyarrow.Table` (options as in to_dataframe)."""
        sinks.check_options(naming=naming, values=values)
        try:
            table = self._delivery.read(_table_and_reader, naming, values, pseudonymize)[0]
        except BaseException as exc:
            self._delivery.progress.finish(exc, job_id=self.job_id)
            raise
        self._delivery.progress.deliver(
            rows=table.num_rows, columns=table.num_columns, job_id=self.job_id
        )
        self._delivered()
        return table

    def to_parquet(
        self,
        path: PathArg,
        *,
        naming: str = "name",
        values: str = "auto",
        pseudonymize: Sequence[str] | None = None,
        files: FilesOption = None,
    ) -> Path:
        """Write the typed export to a Parquet file, streaming; return the path.

        Memory stays flat however large the export. ``pandas.read_parquet(path)`` gives the
        frame :meth:`to_dataframe` returns with the same options (``files`` too).
        """
        sinks.check_options(naming=naming, values=values)
        dest = Path(path).expanduser()
        saved = None
        try:
            uploads = None if files is None else ExportUploads(self._delivery, files)
            with atomic_destination(dest) as out:
                write = partial(
                    self._delivery.read, naming=naming, values=values, pseudonymize=pseudonymize
                )
                if uploads is None:
                    write(partial(_write_parquet, out))
                else:
                    saved = uploads.parquet(
                        lambda first: write(partial(_write_parquet, first)), out
                    )
        except BaseException as exc:
            self._delivery.progress.finish(exc, job_id=self.job_id)
            raise
        rows, columns = sinks.parquet_shape(dest)
        self._delivery.progress.deliver(
            rows=rows, columns=columns, file=dest.name, job_id=self.job_id, files=saved
        )
        self._delivered()
        return dest

    def write_frame(
        self,
        path: PathArg,
        write: Callable[[pd.DataFrame, Path], None],
        *,
        naming: str = "name",
        values: str = "auto",
        pseudonymize: Sequence[str] | None = None,
        files: FilesOption = None,
    ) -> Path:
        """Load the typed frame (as :meth:`to_dataframe`, with its options) and write it with
        ``write``; return the path.

        ``write(frame, temporary_path)`` writes a file beside ``path`` that is moved into place
        once complete, so ``path`` never holds a partial file. :func:`formexport.export_to_file`
        writes ``.xlsx``, ``.dta`` and ``.sav`` files this way.
        """
        sinks.check_options(naming=naming, values=values)
        dest = Path(path).expanduser()
        saved = None
        try:
            uploads = None if files is None else ExportUploads(self._delivery, files)
            frame = self._delivery.read(
                partial(_frame, sinks.DEFAULT_DTYPE_BACKEND), naming, values, pseudonymize
            )
            if uploads is not None:
                frame, saved = uploads.frame(frame)
            with atomic_path(dest) as temporary:
                write(frame, temporary)
        except BaseException as exc:
            self._delivery.progress.finish(exc, job_id=self.job_id)
            raise
        rows, columns = frame.shape
        self._delivery.progress.deliver(
            rows=rows, columns=columns, file=dest.name, job_id=self.job_id, files=saved
        )
        self._delivered()
        return dest


def _weakly(method: Callable[[], None]) -> Callable[[], None]:
    """``method``, without keeping its object alive."""
    ref = weakref.WeakMethod(method)

    def call() -> None:
        bound = ref()
        if bound is not None:
            bound()

    return call


def _table_and_reader(opened: OpenedExport, reader: TypedReader) -> tuple[pa.Table, TypedReader]:
    return sinks.read_arrow(opened.body, reader), reader


def _frame(dtype_backend: str, opened: OpenedExport, reader: TypedReader) -> pd.DataFrame:
    return sinks.read_frame(opened.body, reader, dtype_backend)


def _write_parquet(out: BinaryIO, opened: OpenedExport, reader: TypedReader) -> None:
    out.seek(0)  # a streamed attempt that gave way to the file may have written some
    out.truncate()
    sinks.write_parquet(opened.body, out, reader)

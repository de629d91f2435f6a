"""One export of one form: started, waited for, downloaded and loaded.

:class:`ExportJob` is what users hold. How the CSV reaches this machine is a strategy object
(:mod:`formexport.jobs.strategy`), swapped when a fresh export replaces an expired one; reading
goes through :func:`formexport.reading.source.open_export`, the same for a file and a stream.
"""

from __future__ import annotations

import weakref
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from formexport import config
from formexport.credentials import lookup_settings
from formexport.jobs import handover
from formexport.jobs.delivery import Delivery
from formexport.jobs.delivery_mode import attached_job
from formexport.jobs.handover import FrameWriter, PathArg
from formexport.jobs.job_table import job_table
from formexport.jobs.old_names import OldNames
from formexport.jobs.strategy import ExportStrategy
from formexport.jobs.uploaded_files import FilesOption
from formexport.local.form_turns import FormTurn
from formexport.opnform.checks import normalize_columns
from formexport.opnform.connection import Connection
from formexport.opnform.endpoints import FormRef, OpnFormAPI
from formexport.opnform.models import ExportStatus, FormInfo
from formexport.progress.reporters import ProgressOption
from formexport.reading.options import DEFAULT_DTYPE_BACKEND, ReadOptions

if TYPE_CHECKING:
    import pandas as pd
    import pyarrow as pa


class ExportJob(OldNames):
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
            on_change=self._changed,
        )
        self.request_key: str | None = None
        # Told when the job id changes or the job completes, to keep the local job record.
        self.on_change: Callable[[ExportJob], None] | None = None
        # The session attach() opened for this job alone, closed with it.
        self._own_session: weakref.finalize[[], ExportJob] | None = None

    @classmethod
    def attach(
        cls,
        form: FormRef,
        job_id: str,
        *,
        client: Connection | None = None,
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
            :class:`~formexport.Client` uses them, for a session the job closes with itself.
        reexport : bool
            When the job's status or link has expired, start a fresh export instead of
            raising.
        columns : list or dict, optional
            The columns the job was started with, as for :meth:`Client.start_export`; ``None``:
            every field plus ``created_at`` (what ``start_export`` exports by default). They
            tie the export's columns to the form's fields, and a fresh export asks for them.
        """
        api = (
            client.api
            if client is not None
            else OpnFormAPI(lookup_settings(token, base_url, profile=profile))
        )
        try:
            info = api.get_form(form)
            chosen = info.default_columns() if columns is None else normalize_columns(columns, info)
        except BaseException:
            if client is None:
                api.close()
            raise
        strategy = attached_job(api, info.id, job_id)
        max_reexports = config.MAX_REEXPORTS if reexport else 0
        job = cls(api, info, chosen, strategy, max_reexports=max_reexports)
        if client is None:
            job._own_session = weakref.finalize(job, api.close)
        return job

    @property
    def delivery_mode(self) -> str:
        """How the export is delivered: ``"answered"``, ``"server_job"``, ``"batched"``,
        ``"cached"`` or ``"nothing_chosen"``."""
        return self._delivery.mode

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
        return self._delivery.job_id

    @property
    def is_server_job(self) -> bool:
        """True for a job on the server."""
        return self._delivery.is_server_job

    @property
    def status(self) -> ExportStatus | None:
        """The last status seen."""
        return self._delivery.status

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
        return job_table(self._delivery)

    def refresh(self) -> ExportStatus:
        """Ask the server for the job's status (one request) and return it.

        Exports answered at once report ``completed``; batched ones ``queued`` until
        :meth:`wait` has run them.
        """
        return self._delivery.refresh()

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
        return self._delivery.wait(progress, timeout, clock_start)

    def _changed(self) -> None:
        if self.on_change is not None:
            self.on_change(self)

    def hold_turn(self, turn: FormTurn) -> None:
        """Hold the form's turn (taken for the export request) until the data is delivered or
        the job closed: see :mod:`formexport.local.form_turns`."""
        self._delivery.hold_turn(turn)

    def close(self) -> None:
        """Delete the job's scratch copy of the export (also done when the job is garbage).

        A progress display still open is closed too, and the form's turn ends; a session
        :meth:`attach` opened for the job is closed.
        """
        self._delivery.close()
        if self._own_session is not None:
            self._own_session()

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
        return handover.csv(self._delivery, path, files)

    def keep(self, path: PathArg) -> Path:
        """Save the export at ``path`` (as :meth:`download`, but ``0600``: the cache's) and read
        it from there from now on.

        Used by the export cache; the file is not deleted by :meth:`close`.
        """
        dest = handover.csv_destination(self._delivery, path)
        self._delivery.save(dest, private=True)
        self._delivery.keep_at(dest)
        return dest

    def to_dataframe(
        self,
        *,
        naming: str = "name",
        dtype_backend: str = DEFAULT_DTYPE_BACKEND,
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
        options = ReadOptions(
            naming=naming,
            dtype_backend=dtype_backend,
            values=values,
            pseudonymize=pseudonymize or (),
        )
        return self._to_dataframe(options, files)

    def _to_dataframe(self, options: ReadOptions, files: FilesOption) -> pd.DataFrame:
        """:meth:`to_dataframe` with options checked where they arrived (``Output``)."""
        return handover.dataframe(self._delivery, options, files)

    def to_arrow(
        self,
        *,
        naming: str = "name",
        values: str = "auto",
        pseudonymize: Sequence[str] | None = None,
    ) -> pa.Table:
        """Load the export into a typed :class:`pyarrow.Table` (options as in to_dataframe)."""
        options = ReadOptions(naming=naming, values=values, pseudonymize=pseudonymize or ())
        return handover.arrow_table(self._delivery, options)

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
        options = ReadOptions(naming=naming, values=values, pseudonymize=pseudonymize or ())
        return self._to_parquet(path, options, files)

    def _to_parquet(self, path: PathArg, options: ReadOptions, files: FilesOption) -> Path:
        """:meth:`to_parquet` with options checked where they arrived (``Output``)."""
        return handover.parquet(self._delivery, path, options, files)

    def write_frame(
        self,
        path: PathArg,
        write: FrameWriter,
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
        options = ReadOptions(naming=naming, values=values, pseudonymize=pseudonymize or ())
        return self._write_frame(path, write, options, files)

    def _write_frame(
        self, path: PathArg, write: FrameWriter, options: ReadOptions, files: FilesOption
    ) -> Path:
        """:meth:`write_frame` with options checked where they arrived (``Output``)."""
        return handover.frame_file(self._delivery, path, write, options, files)

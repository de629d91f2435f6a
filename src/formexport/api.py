"""The one-call verbs: export a form into a DataFrame, a Parquet file or a CSV file.

:func:`load_export`, :func:`export_to_parquet` and :func:`download_export` block until the data
is delivered; :func:`start_export` runs the same exports in the background and returns an
:class:`~formexport.futures.ExportFuture` at once; :func:`load_export_async` awaits one.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from functools import partial
from os import PathLike
from pathlib import Path
from typing import TYPE_CHECKING, Any

from formexport import config
from formexport.client import Client
from formexport.errors import InvalidArgumentError
from formexport.futures import ExportFuture, run_in_background
from formexport.jobs.cached import CachedExport
from formexport.jobs.export_job import ExportJob
from formexport.jobs.output import Output
from formexport.local.export_cache import ExportCache, MaxAge
from formexport.opnform.endpoints import FormRef, normalize_columns
from formexport.opnform.selection import Since
from formexport.progress.reporters import ProgressOption, make_reporter
from formexport.reading.sinks import DEFAULT_DTYPE_BACKEND, check_options

if TYPE_CHECKING:
    import pandas as pd

Columns = Mapping[str, bool] | Sequence[str]


@dataclass(frozen=True)
class _Request:
    """What the three verbs share: which export, and how to wait for and reuse it."""

    form: FormRef
    columns: Columns | None
    progress: ProgressOption
    timeout: float | None
    cache: bool
    max_age: MaxAge
    reattach: bool
    since: Since | None = None
    status: str | None = None


def _checked_timeout(timeout: float | None) -> float | None:
    if timeout is not None and not timeout >= 0:
        raise InvalidArgumentError(f"timeout is a number of seconds >= 0 or None; got {timeout!r}.")
    return timeout


def _ready_job(
    client: Client,
    request: _Request,
    *,
    started: float | None = None,
    on_job: Callable[[ExportJob], None] | None = None,
) -> ExportJob:
    """The export started (or picked up, or read from the cache) and waited for.

    ``started`` is when the call began (the display counts from it); ``on_job`` is told of the
    job as soon as the server has accepted it.
    """
    started = time.monotonic() if started is None else started
    timeout = _checked_timeout(request.timeout)
    # One budget for the whole export: the request (rate limits) and the wait.
    deadline = None if timeout is None else started + timeout
    use_cache = request.cache or request.max_age is not None
    job = client.start_export(
        request.form,
        request.columns,
        cache=use_cache,
        max_age=request.max_age,
        reattach=request.reattach,
        timeout=timeout,
        since=request.since,
        status=request.status,
    )
    try:
        if on_job is not None:
            on_job(job)
        left = None if deadline is None else max(0.0, deadline - time.monotonic())
        job.wait(progress=request.progress, timeout=left, since=started)
        if use_cache and job.strategy != CachedExport.name and job.request_key is not None:
            ExportCache().store(job.request_key, job)
    except BaseException:
        job.close()
        raise
    return job


def load_export(
    form: FormRef,
    *,
    columns: Columns | None = None,
    token: str | None = None,
    base_url: str | None = None,
    progress: ProgressOption = "auto",
    timeout: float | None = None,
    cache: bool = False,
    max_age: MaxAge = None,
    reattach: bool = True,
    naming: str = "name",
    dtype_backend: str = DEFAULT_DTYPE_BACKEND,
    values: str = "auto",
    since: Since | None = None,
    status: str | None = None,
) -> pd.DataFrame:
    """Export every submission of a form into a pandas DataFrame.

    Parameters
    ----------
    form : int or str
        The form's numeric id or slug.
    columns : list of str or dict of str to bool, optional
        Field ids or names to export; ``None`` exports every field plus ``created_at``
        (and ``status`` for forms that keep partial submissions).
    token : str, optional
        Personal access token with ``forms-read``; defaults to ``OPNFORM_API_TOKEN``.
    base_url : str, optional
        API root; defaults to ``OPNFORM_API_BASE_URL``, then ``https://api.opnform.com``.
    progress : str, None or callable
        ``"auto"`` (a widget in Jupyter, a text bar in a terminal, log lines otherwise),
        ``"tqdm"``, ``"widget"``, ``"log"``, ``None``, or a function receiving
        :class:`~formexport.ProgressEvent` objects. ``FORMEXPORT_PROGRESS`` overrides
        ``"auto"``.
    timeout : float, optional
        Seconds to wait for the server to take and build the export (rate limits included);
        ``None`` waits as long as it takes.
    cache : bool
        Keep the finished export on this machine and reuse it for the same request (server,
        form, columns). Off by default: exports hold personal data. See :func:`clear_cache`.
    max_age : float or timedelta, optional
        Reuse a cached export only if it is younger than this (seconds); implies ``cache=True``.
    reattach : bool
        Pick up this machine's unfinished job for the same request whose data was never
        delivered (see Notes). ``False`` always starts a fresh export.
    naming : {"name", "id"}
        Name field columns after the field (repeated names get ``.1``, ``.2``) or by field id.
    dtype_backend : {"numpy_nullable", "pyarrow"}
        ``"numpy_nullable"`` (the default: ``Int64``, ``Float64``, ``boolean``, ``string``,
        ``category`` in the form's order for select fields and ``status``, Python lists,
        ``datetime64`` dates) or ``"pyarrow"`` (``pandas.ArrowDtype`` columns).
    values : {"auto", "csv", "exact"}
        Where field values come from. The server's synchronous writer (exports of up to 1000
        submissions, and batched exports) prints 0 and false as empty cells and drops the
        ``+`` of phone numbers; ``"exact"`` reads the raw values from the JSON submissions
        list (one request per 100 submissions). ``"auto"`` does so for exports of up to 1000
        submissions and reads the CSV otherwise.
    since : datetime, date or timedelta, optional
        Only submissions created at or after this moment: ``timedelta(days=7)`` for the last
        seven days, ``date(2026, 8, 1)`` from that day's midnight UTC, a datetime (naive means
        UTC). The chosen ids are listed newest first (a recent window costs a request or two)
        and exported by id. When none is chosen, the frame has no rows but every column.
    status : {"completed", "partial", "all"}, optional
        Only completed or only partial submissions (``None``, like ``"all"``: both, as the
        server exports). Lists the chosen ids through the JSON submissions list.

    Returns
    -------
    pandas.DataFrame
        One row per submission, newest first. ``id`` (as served) and ``submission_id`` (the
        numeric id), then one column per field, typed from the form (see ``docs/data-types.md``),
        then ``created_at`` (UTC) and ``status``. ``df.attrs`` records the form, job, server,
        export time and, under ``"columns"``, each column's field id and type.

    Raises
    ------
    FormExportError
        Any failure; see :mod:`formexport.errors` for the subclasses.

    Notes
    -----
    Every call starts a fresh export, so it returns the submissions of now, with two
    exceptions: ``cache=True`` / ``max_age`` reuse a cached export, and a background job this
    machine started for the same request whose data was never delivered (the call timed out or
    was interrupted, the kernel died) is picked up instead of starting a second export, while it
    runs or its link has not expired. The progress display says so, with the job id and when it
    started. Once a job's data has been delivered (a DataFrame returned, a file written), it is
    never picked up again.

    Examples
    --------
    >>> import formexport as fx
    >>> df = fx.load_export(1)
    >>> df[["Name", "Rating", "Subscribe", "created_at"]].dtypes
    Name                       string
    Rating                      Int64
    Subscribe                 boolean
    created_at    datetime64[us, UTC]
    dtype: object
    >>> fx.load_export("customer-feedback-8tc53r", columns=["Name", "Rating"]).columns.tolist()
    ['id', 'submission_id', 'Name', 'Rating']
    """
    check_options(naming=naming, dtype_backend=dtype_backend, values=values)
    request = _Request(form, columns, progress, timeout, cache, max_age, reattach, since, status)
    started = time.monotonic()
    with Client(token, base_url) as client, _ready_job(client, request, started=started) as job:
        return job.to_dataframe(naming=naming, dtype_backend=dtype_backend, values=values)


def export_to_parquet(
    form: FormRef,
    path: str | PathLike[str],
    *,
    columns: Columns | None = None,
    token: str | None = None,
    base_url: str | None = None,
    progress: ProgressOption = "auto",
    timeout: float | None = None,
    cache: bool = False,
    max_age: MaxAge = None,
    reattach: bool = True,
    naming: str = "name",
    values: str = "auto",
    since: Since | None = None,
    status: str | None = None,
) -> Path:
    """Export a form's submissions into a typed Parquet file; return its path.

    Takes the same keywords as :func:`load_export` (but ``dtype_backend``). The CSV is
    converted block by block, so memory stays flat however large the export; the file appears
    only once complete. ``pandas.read_parquet(path)`` equals ``load_export`` with the same
    options; the schema metadata (key ``formexport``) records each column's field id and type.

    Examples
    --------
    >>> import formexport as fx
    >>> import pandas as pd
    >>> path = fx.export_to_parquet(2, "events.parquet")
    >>> pd.read_parquet(path)["Ticket type"].value_counts()
    Ticket type
    VIP         878
    Student     824
    Standard    798
    Name: count, dtype: int64
    """
    check_options(naming=naming, values=values)
    request = _Request(form, columns, progress, timeout, cache, max_age, reattach, since, status)
    started = time.monotonic()
    with Client(token, base_url) as client, _ready_job(client, request, started=started) as job:
        return job.to_parquet(path, naming=naming, values=values)


def download_export(
    form: FormRef,
    path: str | PathLike[str],
    *,
    columns: Columns | None = None,
    token: str | None = None,
    base_url: str | None = None,
    progress: ProgressOption = "auto",
    timeout: float | None = None,
    cache: bool = False,
    max_age: MaxAge = None,
    reattach: bool = True,
    since: Since | None = None,
    status: str | None = None,
) -> Path:
    """Save a form's export as the server wrote it (CSV); return its path.

    Takes the same keywords as :func:`load_export`. When the server hides job status from
    tokens and the export runs in batches, the batches are joined into one CSV with one header.
    When ``since``/``status`` choose no submission, the file is what the server writes for an
    export without submissions (no header).

    Examples
    --------
    >>> import formexport as fx
    >>> path = fx.download_export(1, "feedback.csv", columns=["Name", "Rating"])
    >>> path.read_text(encoding="utf-8-sig").splitlines()[:2]
    ['"id","Name","Rating"', '"oZz","Ravi Patel","1"']
    """
    request = _Request(form, columns, progress, timeout, cache, max_age, reattach, since, status)
    started = time.monotonic()
    with Client(token, base_url) as client, _ready_job(client, request, started=started) as job:
        return job.download(path)


def start_export(
    form: FormRef,
    *,
    to: str | PathLike[str] | None = None,
    columns: Columns | None = None,
    token: str | None = None,
    base_url: str | None = None,
    progress: ProgressOption = "auto",
    timeout: float | None = None,
    cache: bool = False,
    max_age: MaxAge = None,
    reattach: bool = True,
    naming: str = "name",
    dtype_backend: str = DEFAULT_DTYPE_BACKEND,
    values: str = "auto",
    since: Since | None = None,
    status: str | None = None,
) -> ExportFuture[Any]:
    """Start exporting a form in the background; return its :class:`ExportFuture` at once.

    The export runs in a thread of its own while other cells (or other code) run; its
    progress display appears under the calling cell and keeps moving. ``fut.result()`` gives
    the DataFrame, waiting only if the export is not finished yet; ``await fut`` does so in an
    asyncio loop. Several exports may run at once: all exports of a process keep to OpnForm's
    per-user rate limits together (10 export and 180 status requests a minute).

    Parameters
    ----------
    form : int or str
        The form's numeric id or slug.
    to : str or path, optional
        Deliver a file instead of a DataFrame: a ``.parquet`` path is written as
        :func:`export_to_parquet` writes it, a ``.csv`` path gets the export as the server
        wrote it (:func:`download_export`); the result is then the path.
    columns, token, base_url, progress, timeout, cache, max_age, reattach, since, status
        As for :func:`load_export`. ``progress`` is chosen where this is called, so
        ``"auto"`` draws the widget under the calling cell.
    naming, dtype_backend, values
        As for :func:`load_export` (``dtype_backend`` for DataFrames only; none of the three
        for a ``.csv`` file, which is the export as served).

    Returns
    -------
    ExportFuture
        A :class:`concurrent.futures.Future` whose result is the DataFrame (or the path);
        ``fut.job`` is the :class:`ExportJob` once the server has accepted the export.

    Raises
    ------
    InvalidArgumentError, ConfigurationError
        At once, for arguments that cannot work. Every other error is raised by
        ``fut.result()`` (and shown red in the display), of the type :func:`load_export`
        raises.

    Notes
    -----
    Calling it again with the same arguments while that export still runs in this process
    (a re-run notebook cell) returns the running future, says so in a log line, and shows its
    display again. Exports of the same form take turns (their display says so while they
    wait): OpnForm names an export's file after the form and the second it was written, so
    two exports of one form finishing together would share one file.

    ``fut.cancel()`` stops watching: the server's job keeps running, and the next call for
    the same request picks it up (see ``reattach``). In a script, call ``fut.result()``
    before the script ends: the export's thread does not keep the process alive; Ctrl-C while
    waiting raises :class:`ExportInterrupted` as :func:`load_export` does.

    Examples
    --------
    >>> import formexport as fx
    >>> fut = fx.start_export(2, progress=None)          # returns at once
    >>> fut.done()
    False
    >>> fut.result().shape                               # waits only if not finished yet
    (2500, 15)
    >>> fx.start_export(1, to="feedback.parquet", progress=None).result().name
    'feedback.parquet'
    """
    started = time.monotonic()
    output = Output.checked(to, naming, dtype_backend, values)
    settings = config.resolve_settings(token, base_url)
    chosen = None if columns is None else tuple(normalize_columns(columns).items())
    _checked_timeout(timeout)
    reporter = make_reporter(progress)  # here, so that "auto" sees the calling cell

    def export(future: ExportFuture[Any]) -> pd.DataFrame | Path:
        background = _Request(
            form, columns, future.progress, timeout, cache, max_age, reattach, since, status
        )
        with Client(token, base_url, retry=future.retry_policy()) as client:
            on_job = partial(setattr, future, "job")
            with _ready_job(client, background, started=started, on_job=on_job) as job:
                return output.deliver(job)

    chosen_rows = (since, status)
    key = (settings, str(form), chosen, chosen_rows, output, timeout, cache, max_age, reattach)
    turn = (settings.base_url, str(form))
    return run_in_background(export, form=form, reporter=reporter, key=key, turn=turn)


async def load_export_async(
    form: FormRef,
    *,
    columns: Columns | None = None,
    token: str | None = None,
    base_url: str | None = None,
    progress: ProgressOption = "auto",
    timeout: float | None = None,
    cache: bool = False,
    max_age: MaxAge = None,
    reattach: bool = True,
    naming: str = "name",
    dtype_backend: str = DEFAULT_DTYPE_BACKEND,
    values: str = "auto",
    since: Since | None = None,
    status: str | None = None,
) -> pd.DataFrame:
    """:func:`load_export` as a coroutine: ``df = await fx.load_export_async(123)``.

    Takes the keywords of :func:`load_export`. The export runs in a thread of its own
    (:func:`start_export`), so the event loop stays free: top-level ``await`` in Jupyter, or
    ``asyncio.gather`` over several forms in any asyncio program. Cancelling the awaiting task
    stops watching the export (its job keeps running on the server).

    Returns
    -------
    pandas.DataFrame
        As :func:`load_export` returns it.

    Examples
    --------
    >>> import asyncio
    >>> import formexport as fx
    >>> async def both():
    ...     return await asyncio.gather(*(fx.load_export_async(f, progress=None) for f in (1, 2)))
    >>> [frame.shape for frame in asyncio.run(both())]
    [(250, 13), (2500, 15)]
    """
    future = start_export(
        form,
        columns=columns,
        token=token,
        base_url=base_url,
        progress=progress,
        timeout=timeout,
        cache=cache,
        max_age=max_age,
        reattach=reattach,
        naming=naming,
        dtype_backend=dtype_backend,
        values=values,
        since=since,
        status=status,
    )
    frame: pd.DataFrame = await future
    return frame

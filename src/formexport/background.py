"""Exports in the background: :func:`start_export` returns an
:class:`~formexport.futures.ExportFuture` at once; :func:`load_export_async` awaits one.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from functools import partial
from os import PathLike
from pathlib import Path
from typing import TYPE_CHECKING, Any

from formexport.client import Client
from formexport.credentials import lookup_settings
from formexport.export_call import Columns, ExportRequest, checked_timeout, start_and_wait
from formexport.futures import ExportFuture, run_in_background
from formexport.jobs.output import Output
from formexport.local.export_cache import MaxAge
from formexport.opnform.endpoints import FormRef, normalize_columns
from formexport.opnform.selection import Since
from formexport.progress.reporters import ProgressOption, make_reporter
from formexport.reading.sinks import DEFAULT_DTYPE_BACKEND

if TYPE_CHECKING:
    import pandas as pd


def start_export(
    form: FormRef,
    *,
    to: str | PathLike[str] | None = None,
    columns: Columns | None = None,
    exclude: Sequence[str] | None = None,
    token: str | None = None,
    base_url: str | None = None,
    profile: str | None = None,
    progress: ProgressOption = "auto",
    timeout: float | None = None,
    cache: bool = False,
    max_age: MaxAge = None,
    reattach: bool = True,
    naming: str = "name",
    dtype_backend: str = DEFAULT_DTYPE_BACKEND,
    values: str = "auto",
    pseudonymize: Sequence[str] | None = None,
    since: Since | None = None,
    status: str | None = None,
    files: str | PathLike[str] | None = None,
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
        Deliver a file instead of a DataFrame, in the format its extension names, as
        :func:`export_to_file` writes it: ``.parquet``, ``.csv`` (the export as served),
        ``.xlsx``, ``.dta`` or ``.sav``; the result is then the path.
    columns, exclude, token, base_url, profile, progress, timeout, cache, max_age, reattach
        As for :func:`load_export`. ``progress`` is chosen where this is called, so
        ``"auto"`` draws the widget under the calling cell.
    since, status
        As for :func:`load_export`.
    naming, dtype_backend, values, pseudonymize
        As for :func:`load_export` (``dtype_backend`` for DataFrames only; none of them for a
        ``.csv`` file, which is the export as served).
    files : str or path, optional
        Save the uploaded files there, as :func:`load_export` does (a ``.csv`` file keeps the
        server's links, as :func:`download_export`'s does).

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
    display again. Exports of one form take turns, here and in every other thread and
    process of this machine, whether the form is named by id or slug (the display says so
    while one waits): OpnForm names an export's file after the form and the second it was
    written, so two exports of one form finishing together would share one file. A file that
    is another export's all the same is exported again (see :class:`ExportJob`).

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
    clock_start = time.monotonic()
    output = Output.checked(to, naming, dtype_backend, values, pseudonymize, files)
    # Before the token: a file name given as the form is told to read_export.
    ExportRequest(form=form, cache=cache, max_age=max_age).check_keeps_no_answers(pseudonymize)
    settings = lookup_settings(token, base_url, profile=profile)
    chosen = None if columns is None else tuple(normalize_columns(columns).items())
    checked_timeout(timeout)
    reporter = make_reporter(progress)  # here, so that "auto" sees the calling cell

    def export(future: ExportFuture[Any]) -> pd.DataFrame | Path:
        background = ExportRequest(
            form=form,
            columns=columns,
            exclude=exclude,
            progress=future.progress,
            timeout=timeout,
            cache=cache,
            max_age=max_age,
            reattach=reattach,
            since=since,
            status=status,
        )
        with Client(token, base_url, profile=profile, retry=future.retry_policy()) as client:
            on_job = partial(setattr, future, "job")
            with start_and_wait(client, background, clock_start=clock_start, on_job=on_job) as job:
                return output.deliver(job)

    chosen_rows = (since, status, None if exclude is None else tuple(exclude))
    key = (settings, str(form), chosen, chosen_rows, output, timeout, cache, max_age, reattach)
    return run_in_background(export, form=form, reporter=reporter, key=key)


async def load_export_async(
    form: FormRef,
    *,
    columns: Columns | None = None,
    exclude: Sequence[str] | None = None,
    token: str | None = None,
    base_url: str | None = None,
    profile: str | None = None,
    progress: ProgressOption = "auto",
    timeout: float | None = None,
    cache: bool = False,
    max_age: MaxAge = None,
    reattach: bool = True,
    naming: str = "name",
    dtype_backend: str = DEFAULT_DTYPE_BACKEND,
    values: str = "auto",
    pseudonymize: Sequence[str] | None = None,
    since: Since | None = None,
    status: str | None = None,
    files: str | PathLike[str] | None = None,
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
        exclude=exclude,
        token=token,
        base_url=base_url,
        profile=profile,
        progress=progress,
        timeout=timeout,
        cache=cache,
        max_age=max_age,
        reattach=reattach,
        naming=naming,
        dtype_backend=dtype_backend,
        values=values,
        pseudonymize=pseudonymize,
        since=since,
        status=status,
        files=files,
    )
    frame: pd.DataFrame = await future
    return frame

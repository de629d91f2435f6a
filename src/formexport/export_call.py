"""One export call, from the request to a job waited for: what every verb shares.

The blocking verbs (:mod:`formexport.verbs`) and the background ones
(:mod:`formexport.background`) differ only in the thread they run in and what they deliver.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

from formexport.client import Client
from formexport.errors import InvalidArgumentError
from formexport.jobs.cached import CachedExport
from formexport.jobs.export_job import ExportJob
from formexport.jobs.output import Output, Written
from formexport.jobs.progress_flow import waits_shown
from formexport.local.export_cache import ExportCache, MaxAge
from formexport.opnform.checks import form_path
from formexport.opnform.endpoints import FormRef
from formexport.opnform.selection import Since
from formexport.progress.reporters import ProgressOption, make_reporter

Columns = Mapping[str, bool] | Sequence[str]


@dataclass(frozen=True, kw_only=True)
class ExportRequest:
    """What every verb asks for: which export, and how to wait for and reuse it."""

    form: FormRef
    columns: Columns | None = None
    exclude: Sequence[str] | None = None
    progress: ProgressOption = "auto"
    timeout: float | None = None
    cache: bool = False
    max_age: MaxAge = None
    reattach: bool = True
    since: Since | None = None
    status: str | None = None

    def __post_init__(self) -> None:
        # Before a token is looked for: a file name given as the form is told to read_export.
        form_path(self.form)

    def check_keeps_no_answers(self, pseudonymize: Sequence[str] | None) -> None:
        """Refuse to keep the server's CSV (the cache) when answers are to become pseudonyms."""
        if pseudonymize and (self.cache or self.max_age is not None):
            raise InvalidArgumentError(
                "cache=True / max_age keep the server's CSV on this machine, answers included, "
                "so they cannot be combined with pseudonymize=: leave the cache off."
            )


def checked_timeout(timeout: float | None) -> float | None:
    if timeout is not None and not timeout >= 0:
        raise InvalidArgumentError(f"timeout is a number of seconds >= 0 or None; got {timeout!r}.")
    return timeout


def start_and_wait(
    client: Client,
    request: ExportRequest,
    *,
    clock_start: float | None = None,
    on_job: Callable[[ExportJob], None] | None = None,
) -> ExportJob:
    """The export started (or picked up, or read from the cache) and waited for.

    ``clock_start`` is the :func:`time.monotonic` reading when the call began (the display
    counts from it); ``on_job`` is told of the job as soon as the server has accepted it.
    The display is made first: the export request may have to wait for the rate limit.
    """
    clock_start = time.monotonic() if clock_start is None else clock_start
    timeout = checked_timeout(request.timeout)
    # One budget for the whole export: the request (its turn, rate limits) and the wait.
    deadline = None if timeout is None else clock_start + timeout
    use_cache = request.cache or request.max_age is not None
    display = make_reporter(request.progress)
    with waits_shown(display):
        job = client.start_export(
            request.form,
            request.columns,
            cache=use_cache,
            max_age=request.max_age,
            reattach=request.reattach,
            timeout=timeout,
            since=request.since,
            status=request.status,
            exclude=request.exclude,
        )
    try:
        if on_job is not None:
            on_job(job)
        left = None if deadline is None else max(0.0, deadline - time.monotonic())
        job.wait(progress=display, timeout=left, clock_start=clock_start)
        if use_cache and job.delivery_mode != CachedExport.mode and job.request_key is not None:
            ExportCache().store(job.request_key, job)
    except BaseException:
        job.close()
        raise
    return job


def write_file(
    request: ExportRequest,
    output: Output,
    *,
    token: str | None,
    base_url: str | None,
    profile: str | None = None,
) -> Written:
    """Run ``request`` and write its data to ``output``'s file."""
    with (
        Client(token, base_url, profile=profile) as client,
        start_and_wait(client, request) as job,
    ):
        return output.write(job)

"""Which way an export is delivered: decided here, and nowhere else.

:func:`choose_delivery` asks, in order: did ``since=``/``status=`` choose nothing? is a finished
export of the request kept in the cache? Then, holding the form's turn: did this machine start
a server job for the request whose data was never delivered? If not, the request is sent, and
the answer decides: the CSV at once, a server job, or answered batches when the server hides
job status from tokens. A fresh export of a job that expired (:mod:`~formexport.jobs.reexport`)
is decided by :func:`delivery_for_answer`, and a job picked up by its id by
:func:`attached_job`.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime, timezone
from functools import partial

from formexport import config
from formexport.errors import NotFoundError
from formexport.jobs.answered import AnsweredExport
from formexport.jobs.batched_export import BatchedExport
from formexport.jobs.cached import CachedExport
from formexport.jobs.nothing_chosen import NothingChosen
from formexport.jobs.requested import RequestedExport
from formexport.jobs.server_job import ServerJob
from formexport.jobs.strategy import ExportStrategy
from formexport.local.export_cache import ExportCache, MaxAge
from formexport.local.form_turns import FormTurn
from formexport.local.job_records import JobRecord, JobRecords
from formexport.opnform.endpoints import AnsweredCsv, OpnFormAPI, StartedJob
from formexport.opnform.models import JobState
from formexport.opnform.submissions import ExactCollector

logger = logging.getLogger("formexport")


@dataclass(frozen=True)
class ChosenDelivery:
    """How an export is delivered, and the form's turn taken for it (before the request)."""

    strategy: ExportStrategy
    turn: FormTurn | None = None


def choose_delivery(
    api: OpnFormAPI,
    requested: RequestedExport,
    *,
    cache: bool = False,
    max_age: MaxAge = None,
    reattach: bool = True,
    deadline: float | None = None,
) -> ChosenDelivery:
    """Nothing chosen, cached, a recorded job picked up, or answered / server job / batched.

    ``cache``: take a cached export younger than ``max_age``; ``reattach``: pick up this
    machine's undelivered job of the request; ``deadline`` (a ``time.monotonic()`` reading)
    bounds the waits for the form's turn and the rate limit. A server job's turn is held by
    its :class:`~formexport.jobs.export_job.ExportJob`, which releases it once it is delivered.
    """
    form_id = requested.form.id
    if requested.chose_nothing:
        return ChosenDelivery(NothingChosen(form_id))
    if cache or max_age is not None:
        cached = _cached(requested, max_age)
        if cached is not None:
            return ChosenDelivery(cached)
    # Taken before the request: whether the server answers at once or starts a job (whose
    # file another export may share) is known only from its answer.
    turn = FormTurn(api.settings.base_url, form_id)
    turn.take(deadline=deadline, sleep=api.retry.sleep)
    try:
        picked_up = _recorded_job(api, requested) if reattach else None
        strategy = picked_up if picked_up is not None else _sent(api, requested, deadline)
    except BaseException:
        turn.release()
        raise
    return ChosenDelivery(strategy, turn)


def delivery_for_answer(
    api: OpnFormAPI,
    form_id: int,
    answer: AnsweredCsv | StartedJob,
    *,
    expected_rows: int | None = None,
    listed: ExactCollector | None = None,
) -> ExportStrategy:
    """The CSV the server answered, or the job it started (``expected_rows``: the rows counted
    before the request, to forecast the job's end; ``listed``: the exported submissions' raw
    values, when listing them chose them)."""
    strategy: ExportStrategy
    if isinstance(answer, StartedJob):
        strategy = ServerJob(
            api, form_id, answer.job_id, accepted_at=api.retry.clock(), expected_rows=expected_rows
        )
    else:
        strategy = AnsweredExport(form_id, answer.content)
    if listed is not None:
        strategy.exact_values = listed.values()
    return strategy


def attached_job(api: OpnFormAPI, form_id: int, job_id: str) -> ServerJob:
    """A server job picked up by its id alone: its columns and submissions are not known, so
    its file is not checked against a request."""
    return ServerJob(api, form_id, job_id, request_known=False)


def _cached(requested: RequestedExport, max_age: MaxAge) -> CachedExport | None:
    entry = ExportCache().lookup(requested.key, max_age)
    if entry is None:
        return None
    form_id = requested.form.id
    logger.info("Using the cached export of form %s (%.0f s old)", form_id, entry.age)
    stored_at = datetime.fromtimestamp(entry.created, timezone.utc)
    return CachedExport(form_id, entry.path, stored_at)


def _recorded_job(api: OpnFormAPI, requested: RequestedExport) -> ServerJob | None:
    """The job an earlier call started for the request and never delivered, if it still runs
    or its link has not expired (a record that cannot be picked up is forgotten)."""
    records = JobRecords()
    record = records.find(requested.key)
    if record is None:
        return None
    # The progress display tells the user, as picking it up returns the submissions of back then.
    job = ServerJob(api, requested.form.id, record.job_id, picked_up=record.started)
    try:
        status = job.refresh()
    except NotFoundError:  # the job's status expired on the server, or cannot be read
        records.forget(record.job_id)
        return None
    expired = status.expires_at is not None and status.expires_at <= datetime.now(timezone.utc)
    if status.status == JobState.FAILED or (status.status == JobState.COMPLETED and expired):
        records.forget(record.job_id)
        return None
    _log_pickup(record, requested.form.id, status.status_text)
    return job


def _log_pickup(record: JobRecord, form_id: int, state: str) -> None:
    logger.info(
        "Picking up export job %s of form %s, started %s and not delivered (%s)",
        record.job_id,
        form_id,
        record.started.strftime("%Y-%m-%d %H:%M UTC"),
        state,
    )


def _sent(api: OpnFormAPI, requested: RequestedExport, deadline: float | None) -> ExportStrategy:
    """The export request sent: the server answers the CSV or starts a job; when the token
    cannot watch a job, no job is started and the export runs in batches."""
    form_id, ids = requested.form.id, requested.submission_ids
    total = len(ids) if ids is not None else api.count_submissions(form_id)
    if total > config.SYNC_EXPORT_LIMIT and not api.status_readable(form_id):
        return _batched(api, requested, total)
    answer = api.post_export(form_id, requested.columns, ids, deadline=deadline)
    if isinstance(answer, StartedJob) and not api.status_readable(form_id):
        # Submissions arrived between counting and exporting; that job cannot be watched.
        logger.warning(
            "Export job %s cannot be watched with a token; exporting in batches instead",
            answer.job_id,
        )
        return _batched(api, requested, total)
    strategy = delivery_for_answer(
        api, form_id, answer, expected_rows=total, listed=requested.listed
    )
    if strategy.is_server_job:
        logger.info("Started export job %s for form %s", strategy.job_id, form_id)
    return strategy


def _batched(api: OpnFormAPI, requested: RequestedExport, total: int) -> BatchedExport:
    form_id, ids = requested.form.id, requested.submission_ids
    collector = requested.listed
    source: Callable[[], Iterable[int]]
    if ids is not None:
        source = partial(iter, ids)
    else:
        # Listing the ids brings every submission's raw values along: keep them.
        collector = ExactCollector()
        source = partial(api.iter_submission_ids, form_id, on_item=collector.add)
    return BatchedExport(api, form_id, requested.columns, source, total, collector)

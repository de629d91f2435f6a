"""Starting an export: the request checked against its form, its delivery chosen
(:func:`~formexport.jobs.delivery_mode.choose_delivery`), and the :class:`ExportJob` made.

A server job's job is recorded on this machine (:mod:`formexport.local.job_records`) until its
data is delivered, so that a later call for the same request picks it up rather than starting
another; and it holds the form's turn (:mod:`formexport.local.form_turns`) until then.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from datetime import datetime, timezone

from formexport.jobs.delivery_mode import ChosenDelivery, choose_delivery
from formexport.jobs.export_job import ExportJob
from formexport.jobs.requested import Columns, resolve_request
from formexport.local.export_cache import MaxAge
from formexport.local.job_records import JobRecord, JobRecords
from formexport.opnform.endpoints import FormRef, OpnFormAPI
from formexport.opnform.selection import Since


def start_export(
    api: OpnFormAPI,
    form: FormRef,
    columns: Columns | None = None,
    submission_ids: Sequence[int] | None = None,
    *,
    since: Since | None = None,
    status: str | None = None,
    cache: bool = False,
    max_age: MaxAge = None,
    reattach: bool = True,
    timeout: float | None = None,
    exclude: Sequence[str] | None = None,
) -> ExportJob:
    """The export started, picked up or read from the cache (see :meth:`Client.start_export`)."""
    deadline = None if timeout is None else time.monotonic() + timeout
    requested = resolve_request(
        api, form, columns, submission_ids, since=since, status=status, exclude=exclude
    )
    chosen = choose_delivery(
        api, requested, cache=cache, max_age=max_age, reattach=reattach, deadline=deadline
    )
    job = ExportJob(
        api,
        requested.form,
        requested.columns,
        chosen.strategy,
        submission_ids=requested.submission_ids,
    )
    if chosen.turn is not None:
        _hold_turn(job, chosen, requested.key)
    if not requested.chose_nothing:
        job.request_key = requested.key
    job.excluded = requested.excluded
    return job


def _hold_turn(job: ExportJob, chosen: ChosenDelivery, key: str) -> None:
    """Record a server job, and let it hold the form's turn."""
    assert chosen.turn is not None
    try:
        if job.is_server_job:
            _keep_record(job, key)
    except BaseException:
        chosen.turn.release()
        raise
    job.hold_turn(chosen.turn)


def _keep_record(job: ExportJob, key: str) -> None:
    """Record the job now and whenever its id changes or it completes."""

    def save(changed: ExportJob) -> None:
        if changed.job_id is None:
            return
        status = changed.status
        JobRecords().save(
            JobRecord(
                key=key,
                server=changed.server,
                form_id=changed.form_id,
                job_id=changed.job_id,
                started=(status.created_at if status and status.created_at else _now()),
                expires=status.expires_at if status else None,
            )
        )

    save(job)
    job.on_change = save


def _now() -> datetime:
    return datetime.now(timezone.utc)

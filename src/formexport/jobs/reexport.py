"""Fresh exports of the same request, when a job's status or download link has expired, or its
file turned out to be another export's."""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence

from formexport.jobs.answered import AnsweredExport
from formexport.jobs.server_job import ServerJob
from formexport.jobs.strategy import ExportStrategy
from formexport.opnform.endpoints import AnsweredCsv, OpnFormAPI, StartedJob

logger = logging.getLogger("formexport")


def strategy_for_answer(
    api: OpnFormAPI,
    form_id: int,
    answer: AnsweredCsv | StartedJob,
    *,
    expected_rows: int | None = None,
) -> ExportStrategy:
    """The strategy for the server's answer to an export request: the CSV, or a job
    (``expected_rows``: the rows counted before the request, to forecast the job's end)."""
    if isinstance(answer, StartedJob):
        return ServerJob(
            api,
            form_id,
            answer.job_id,
            accepted_at=api.retry.clock(),
            expected_rows=expected_rows,
        )
    return AnsweredExport(form_id, answer.content)


class Reexports:
    """Starts the same export again, at most ``allowed`` times.

    OpnForm keeps a job's status for 2 hours after its last update and its link for a day or
    more (a workspace setting); an export picked up later may have lost either. The fresh
    export may come back as CSV at once (fewer submissions now) or as another job: the caller
    swaps in whichever strategy :meth:`start` returns.
    """

    def __init__(
        self,
        api: OpnFormAPI,
        form_id: int,
        columns: Mapping[str, bool],
        submission_ids: Sequence[int] | None,
        allowed: int,
    ) -> None:
        self._api = api
        self._form_id = form_id
        self._columns = dict(columns)
        self._submission_ids = None if submission_ids is None else list(submission_ids)
        self.left = allowed

    def start(self) -> ExportStrategy:
        """Post the export again, as one of the ``allowed``; return the strategy for the answer."""
        self.left -= 1
        return self.fresh()

    def fresh(self) -> ExportStrategy:
        """Post the export again (not counted among the ``allowed``); return its strategy."""
        answer = self._api.post_export(self._form_id, self._columns, self._submission_ids)
        rows = None if self._submission_ids is None else len(self._submission_ids)
        strategy = strategy_for_answer(self._api, self._form_id, answer, expected_rows=rows)
        if strategy.job_id is not None:
            logger.warning("Started a fresh export, job %s", strategy.job_id)
        return strategy

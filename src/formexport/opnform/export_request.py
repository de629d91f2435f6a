"""The export request's body and the two ways the server answers it.

``POST /open/forms/{form}/submissions/export`` answers the CSV itself when the export holds at
most 1000 submissions, and otherwise starts a background job and answers its id.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import requests

from formexport import config
from formexport.errors import UnexpectedResponseError
from formexport.opnform import http


@dataclass(frozen=True)
class AnsweredCsv:
    """The server answered the export at once, as CSV bytes."""

    content: bytes
    filename: str | None = None


@dataclass(frozen=True)
class StartedJob:
    """The server started a background job."""

    job_id: str


def export_payload(
    columns: Mapping[str, bool], submission_ids: Sequence[int] | None
) -> dict[str, Any]:
    """The request body: the ``columns`` object, and the chosen submissions if any."""
    payload: dict[str, Any] = {"columns": dict(columns)}
    if submission_ids:
        payload["submissionIds"] = [int(i) for i in submission_ids]
    return payload


def may_repeat(submission_ids: Sequence[int] | None) -> bool:
    """Whether sending an export request twice is harmless: only when no job can come of it.

    The server answers an export of at most 1000 chosen submissions at once and never starts
    a job for it, so such a request (a batch of the batched route) may be repeated after a 5xx
    or a broken connection. Any other export may have started a job before the answer was
    lost; repeating it could start a second one, each counting against the 10-a-minute limit.
    """
    return bool(submission_ids) and len(submission_ids or ()) <= config.SYNC_EXPORT_LIMIT


def export_answer(response: requests.Response) -> AnsweredCsv | StartedJob:
    """The CSV or the job id of a successful export answer."""
    # The body decides, not Content-Type: the server sniffs CSV as text/csv or text/plain.
    head = response.content[:64].lstrip()[:1]
    if head == b"{":
        body = http.json_body(response)
        if isinstance(body, Mapping) and body.get("is_async") and body.get("job_id"):
            return StartedJob(job_id=str(body["job_id"]))
        raise UnexpectedResponseError(
            "The export answer is JSON without a job id; the server may be too old or a proxy "
            "answered instead.",
            status_code=response.status_code,
        )
    if head == b"<":
        http.json_body(response)  # raises the HTML explanation
    disposition = response.headers.get("Content-Disposition", "")
    match = re.search(r'filename="?([^";]+)"?', disposition)
    return AnsweredCsv(response.content, match.group(1) if match else None)

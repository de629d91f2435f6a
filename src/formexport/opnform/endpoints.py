"""OpnForm's REST endpoints, one method each; no polling, no orchestration."""

from __future__ import annotations

import logging
import re
import time
import uuid
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

import requests

from formexport import config
from formexport.errors import (
    ExportJobNotFoundError,
    InvalidArgumentError,
    NetworkError,
    NotFoundError,
    RateLimitError,
    StatusUnavailableError,
    UnexpectedResponseError,
)
from formexport.opnform import http
from formexport.opnform.models import ExportStatus, FormInfo, FormSummary

logger = logging.getLogger("formexport")

FormRef = int | str

# The path the server's code defines, then the one its docs give; see StatusRoute.
STATUS_PATHS = (
    "/open/forms/{form}/submissions/export/status/{job}",
    "/open/forms/{form}/submissions/export/{job}/status",
)
_JOB_NOT_FOUND_TYPE = "error"
_ROUTE_MISSING = re.compile(r"^The route .* could not be found\.?$")
_SLUG = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_-]*$")


@dataclass(frozen=True)
class CsvExport:
    """The server answered the export at once, as CSV bytes."""

    content: bytes
    filename: str | None = None


@dataclass(frozen=True)
class AsyncExport:
    """The server started a background job."""

    job_id: str


@dataclass(frozen=True)
class SubmissionsPage:
    """One page of ``GET /open/forms/{id}/submissions``."""

    ids: tuple[int, ...]
    total: int
    last_page: int
    # The submissions themselves, raw stored values included (exact values read them).
    items: tuple[Mapping[str, Any], ...] = ()


def form_path(form: FormRef) -> str:
    """The ``{form}`` path segment for a numeric id or a slug, checked and escaped."""
    if isinstance(form, bool) or not isinstance(form, (int, str)):
        raise InvalidArgumentError(
            f"A form is a numeric id or a slug, not {type(form).__name__} ({form!r})."
        )
    text = str(form).strip()
    if isinstance(form, int) and form <= 0:
        raise InvalidArgumentError(f"Form ids are positive integers; got {form}.")
    if not text.isdigit() and not _SLUG.match(text):
        raise InvalidArgumentError(
            f"{form!r} is neither a numeric form id nor a slug (like 'contact-us-k3x9qa')."
        )
    return quote(text, safe="")


def normalize_columns(
    columns: Mapping[str, bool] | Sequence[str], form: FormInfo | None = None
) -> dict[str, bool]:
    """Turn ``columns`` into the object the server wants (only ``True`` selects).

    A list selects its items. Items that are not field ids but match exactly one field name
    are mapped to that field's id; with ``form``, keys the server would refuse raise
    :class:`InvalidArgumentError`.
    """
    if isinstance(columns, str):
        raise InvalidArgumentError("columns must be a list of field ids or a dict, not a str.")
    chosen = (
        {str(k): v is True for k, v in columns.items()}
        if isinstance(columns, Mapping)
        else {str(c): True for c in columns}
    )
    if not any(chosen.values()):
        raise InvalidArgumentError(
            "columns selects nothing; pass columns=None to export every field."
        )
    if form is None:
        return chosen
    keys = {_field_id_for(key, form): value for key, value in chosen.items()}
    form.check_columns(keys)  # the server would answer 422
    return keys


def _field_id_for(key: str, form: FormInfo) -> str:
    ids = {f.id for f in (*form.fields, *form.removed_fields)}
    if key in ids:
        return key
    named = [f.id for f in form.fields if f.name == key]
    return named[0] if len(named) == 1 else key


class OpnFormAPI:
    """The endpoints formexport uses, over one authenticated session.

    Parameters
    ----------
    settings : Settings
        Base URL and token.
    session : requests.Session, optional
        Network settings to borrow (proxies, certificates); see :func:`http.api_session`.
    sleep : callable
        Used to wait out a rate limit on the export request (injectable for tests).
    """

    def __init__(
        self,
        settings: config.Settings,
        *,
        session: requests.Session | None = None,
        sleep: Callable[[float], None] = time.sleep,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.settings = settings
        self.session = http.api_session(settings, session)
        self._sleep = sleep
        self._clock = clock
        self._status_path: str | None = None
        self._status_closed = False

    def __repr__(self) -> str:
        return f"OpnFormAPI(base_url={self.settings.base_url!r})"

    def close(self) -> None:
        """Close the HTTP session."""
        self.session.close()

    def _request(self, method: str, path: str, **kwargs: Any) -> requests.Response:
        url = self.settings.base_url + path
        try:
            return self.session.request(method, url, timeout=http.timeout(), **kwargs)
        except requests.RequestException as exc:
            raise _transport_error(exc, method, path) from exc

    def _get_json(self, path: str, *, subject: str, **kwargs: Any) -> Any:
        response = self._request("GET", path, **kwargs)
        for _ in range(config.RATE_LIMIT_RETRIES):
            if response.status_code != 429:
                break
            self._wait_out_rate_limit(response, None)
            response = self._request("GET", path, **kwargs)
        http.raise_for_status(response, subject=subject)
        return http.json_body(response)

    def get_form(self, form: FormRef) -> FormInfo:
        """``GET /open/forms/{form}``: the form's definition."""
        body = self._get_json(f"/open/forms/{form_path(form)}", subject=f"form {form!r}")
        if not isinstance(body, Mapping):
            raise UnexpectedResponseError(
                f"The answer for form {form!r} is not a JSON object.", status_code=200
            )
        return FormInfo.from_json(body)

    def submissions_page(
        self, form: FormRef, page: int, per_page: int = config.SUBMISSIONS_PAGE_SIZE
    ) -> SubmissionsPage:
        """``GET /open/forms/{form}/submissions``: one page of submission ids, newest first."""
        body = self._get_json(
            f"/open/forms/{form_path(form)}/submissions",
            subject=f"submissions of form {form!r}",
            params={"page": page, "per_page": per_page, "status": "all"},
        )
        try:
            items = tuple(body["data"])
            ids = tuple(int(item["id"]) for item in items)
            meta = body["meta"]
            return SubmissionsPage(ids, int(meta["total"]), int(meta["last_page"]), items)
        except (KeyError, TypeError, ValueError) as exc:
            raise UnexpectedResponseError(
                f"The submissions list of form {form!r} is not in OpnForm's paginated shape.",
                status_code=200,
            ) from exc

    def list_workspace_forms(self, workspace_id: int) -> list[FormSummary]:
        """``GET /open/workspaces/{id}/forms``, every page: the workspace's forms."""
        forms: list[FormSummary] = []
        page, last_page = 1, 1
        while page <= last_page:
            body = self._get_json(
                f"/open/workspaces/{int(workspace_id)}/forms",
                subject=f"forms of workspace {workspace_id}",
                params={"page": page, "per_page": 100},
            )
            try:
                forms += [FormSummary.from_json(item) for item in body["data"]]
                last_page = int(body["meta"]["last_page"])
            except (KeyError, TypeError, ValueError) as exc:
                raise UnexpectedResponseError(
                    f"The form list of workspace {workspace_id} is not in OpnForm's paginated "
                    "shape.",
                    status_code=200,
                ) from exc
            page += 1
        return forms

    def list_workspaces(self) -> list[tuple[int, str]]:
        """``GET /open/workspaces``: ``(id, name)`` of each workspace the token's user is in."""
        body = self._get_json("/open/workspaces", subject="workspaces")
        try:
            return [(int(item["id"]), str(item.get("name", ""))) for item in body]
        except (KeyError, TypeError, ValueError) as exc:
            raise UnexpectedResponseError(
                "The workspace list is not a JSON array of workspaces.", status_code=200
            ) from exc

    def count_submissions(self, form: FormRef) -> int:
        """All submissions of a form, partial ones included (what the server's export counts)."""
        return self.submissions_page(form, page=1, per_page=1).total

    def iter_submission_ids(
        self,
        form: FormRef,
        *,
        newer_than: int | None = None,
        on_item: Callable[[int, Mapping[str, Any]], None] | None = None,
    ) -> Iterator[int]:
        """Submission ids, newest first, each once even if new ones arrive meanwhile.

        With ``newer_than``, only ids above it: the listing stops at the first older one, since
        ids grow with submission time. ``on_item`` receives each submission's JSON as it is
        listed (its raw values come with the ids at no extra cost).
        """
        seen: set[int] = set()
        page, last_page = 1, 1
        while page <= last_page:
            result = self.submissions_page(form, page)
            last_page = result.last_page
            for submission_id, item in zip(result.ids, result.items, strict=False):
                if newer_than is not None and submission_id <= newer_than:
                    return
                if submission_id not in seen:
                    seen.add(submission_id)
                    if on_item is not None:
                        on_item(submission_id, item)
                    yield submission_id
            page += 1

    def post_export(
        self,
        form: FormRef,
        columns: Mapping[str, bool],
        submission_ids: Sequence[int] | None = None,
        *,
        deadline: float | None = None,
    ) -> CsvExport | AsyncExport:
        """``POST /open/forms/{form}/submissions/export``: CSV at once, or a background job.

        A 429 is waited out and retried (no job can have been created); past ``deadline``
        (a :func:`time.monotonic` value) a :class:`RateLimitError` is raised instead. An
        export of at most 1000 chosen submissions is always answered at once, never as a job,
        so it is also repeated after a 5xx or a broken connection (the batched route).
        """
        payload: dict[str, Any] = {"columns": dict(columns)}
        if submission_ids:
            payload["submissionIds"] = [int(i) for i in submission_ids]
        path = f"/open/forms/{form_path(form)}/submissions/export"
        repeatable = bool(submission_ids) and len(payload["submissionIds"]) <= (
            config.SYNC_EXPORT_LIMIT
        )
        failures = 0
        while True:
            try:
                response = self._request("POST", path, json=payload)
            except NetworkError:
                if not repeatable or failures >= config.HTTP_RETRIES:
                    raise
                failures = self._pause_before_repeating(failures)
                continue
            status = response.status_code
            if status == 429:
                self._wait_out_rate_limit(response, deadline)
            elif repeatable and status in http.RETRY_STATUSES and failures < config.HTTP_RETRIES:
                failures = self._pause_before_repeating(failures)
            else:
                break
        http.raise_for_status(response, subject=f"export of form {form!r}")
        return _export_answer(response)

    def _pause_before_repeating(self, failures: int) -> int:
        logger.info("The export request failed; repeating it (attempt %d)", failures + 2)
        self._sleep(config.HTTP_BACKOFF_FACTOR * 2**failures)
        return failures + 1

    def _wait_out_rate_limit(self, response: requests.Response, deadline: float | None) -> None:
        wait = http.retry_after_seconds(response)
        wait = 60.0 if wait is None else max(wait, config.MIN_RATE_LIMIT_WAIT)
        if deadline is not None and self._clock() + wait > deadline:
            raise RateLimitError(
                f"OpnForm's export rate limit is reached and the {wait:.0f} s wait it asks for "
                "does not fit in the timeout; retry later or raise timeout=.",
                retry_after=wait,
            )
        logger.info("Rate limit reached; waiting %.0f s as the server asks", wait)
        self._sleep(wait)

    def get_export_status(self, form: FormRef, job_id: str) -> ExportStatus:
        """The status of export job ``job_id``, from whichever status route answers.

        Raises
        ------
        ExportJobNotFoundError
            The job is unknown, or its status expired (2 hours after its last update).
        StatusUnavailableError
            The server does not let tokens read export status.
        """
        if not job_id or "/" in job_id:
            raise InvalidArgumentError(f"{job_id!r} is not an export job id.")
        if self._status_closed:
            raise _status_closed_error()
        paths = [self._status_path] if self._status_path else list(STATUS_PATHS)
        closed = False
        for template in paths:
            response = self._request("GET", template.format(form=form_path(form), job=job_id))
            verdict = _classify_status_answer(response)
            if verdict == "ok" or verdict == "job-missing":
                self._status_path = template
                return _status_or_raise(response, verdict, job_id)
            closed = closed or verdict == "closed"
        self._status_closed = True
        raise _status_closed_error(route_missing=not closed)

    def status_readable(self, form: FormRef) -> bool:
        """Whether this token may read export status on this server (asks once, then remembers)."""
        if self._status_path:
            return True
        if self._status_closed:
            return False
        try:
            self.get_export_status(form, str(uuid.uuid4()))
        except ExportJobNotFoundError:
            return True
        except StatusUnavailableError:
            return False
        return True


def _transport_error(exc: requests.RequestException, method: str, path: str) -> NetworkError:
    if isinstance(exc, requests.Timeout) or "timed out" in str(exc).lower():
        connect, read = http.timeout()
        return NetworkError(
            f"{method} {path}: the OpnForm API did not answer within the time-out "
            f"({connect:g} s to connect, {read:g} s between bytes), even after retries. "
            f"The server may be overloaded; raise {config.READ_TIMEOUT_ENV} to wait longer."
        )
    return NetworkError(
        f"{method} {path}: could not reach the OpnForm API ({type(exc).__name__}) after "
        f"retries. Check the network and {config.BASE_URL_ENV}."
    )


def _export_answer(response: requests.Response) -> CsvExport | AsyncExport:
    # The body decides, not Content-Type: the server sniffs CSV as text/csv or text/plain.
    head = response.content[:64].lstrip()[:1]
    if head == b"{":
        body = http.json_body(response)
        if isinstance(body, Mapping) and body.get("is_async") and body.get("job_id"):
            return AsyncExport(job_id=str(body["job_id"]))
        raise UnexpectedResponseError(
            "The export answer is JSON without a job id; the server may be too old or a proxy "
            "answered instead.",
            status_code=response.status_code,
        )
    if head == b"<":
        http.json_body(response)  # raises the HTML explanation
    disposition = response.headers.get("Content-Disposition", "")
    match = re.search(r'filename="?([^";]+)"?', disposition)
    return CsvExport(response.content, match.group(1) if match else None)


def _classify_status_answer(response: requests.Response) -> str:
    """``ok``, ``job-missing``, ``closed`` (hidden from tokens) or ``no-route``."""
    if response.status_code != 404:
        return "ok"
    message, body = http.error_fields(response)
    if body.get("type") == _JOB_NOT_FOUND_TYPE:
        return "job-missing"
    if body and message == "":
        return "closed"
    if _ROUTE_MISSING.match(message) or not body:
        return "no-route"
    return "job-missing"


def _status_or_raise(response: requests.Response, verdict: str, job_id: str) -> ExportStatus:
    if verdict == "job-missing":
        message, _ = http.error_fields(response)
        raise ExportJobNotFoundError(
            f"Export job {job_id} is unknown to the server, or its status has expired "
            "(OpnForm keeps it for 2 hours after the last update). Start a new export.",
            status_code=404,
            message=message,
        )
    http.raise_for_status(response, subject=f"status of export job {job_id}")
    body = http.json_body(response)
    if not isinstance(body, Mapping):
        raise UnexpectedResponseError("The status answer is not a JSON object.", status_code=200)
    return ExportStatus.from_json(body)


def _status_closed_error(*, route_missing: bool = False) -> NotFoundError:
    why = (
        "has no export-status route this client knows"
        if route_missing
        else "does not let personal access tokens read export status (OpnForm leaves that "
        "route out of its token whitelist)"
    )
    return StatusUnavailableError(
        f"This server {why}. formexport.load_export() works around it by exporting in "
        "synchronous batches of up to 1000 submissions.",
        status_code=404,
    )

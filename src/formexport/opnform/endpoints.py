"""OpnForm's REST endpoints, one method each, over one session and one retry policy.

No polling and no orchestration here: :mod:`formexport.jobs` builds on these. Form references
and columns are checked in :mod:`.arguments`, the export answer is read in
:mod:`.export_request`, and the status route's quirks live in :mod:`.status_route`.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Callable, Iterator, Mapping, Sequence
from datetime import datetime, timedelta
from functools import partial
from typing import Any

import requests

from formexport import config
from formexport.errors import (
    ConnectionFailedError,
    ExportJobNotFoundError,
    FormNotFoundError,
    NetworkError,
    NotFoundError,
    StatusUnavailableError,
    UnexpectedResponseError,
)
from formexport.opnform import http
from formexport.opnform.checks import FormRef, check_job_id, form_path, normalize_columns
from formexport.opnform.export_request import (
    AnsweredCsv,
    StartedJob,
    export_answer,
    export_payload,
    may_repeat,
)
from formexport.opnform.listing import Listed, SubmissionsPage, list_submissions
from formexport.opnform.models import ExportStatus, FormInfo, FormSummary
from formexport.opnform.ratelimit import limit_of, shared_pace
from formexport.opnform.retry import RetryPolicy
from formexport.opnform.status_route import STATUS_PATHS, StatusRoute
from formexport.opnform.transport_errors import transport_error
from formexport.waits import log_level

__all__ = [
    "STATUS_PATHS",
    "AnsweredCsv",
    "FormRef",
    "Listed",
    "OpnFormAPI",
    "StartedJob",
    "SubmissionsPage",
    "form_path",
    "normalize_columns",
]

logger = logging.getLogger("formexport")


class OpnFormAPI:
    """The endpoints formexport uses, over one authenticated session.

    Parameters
    ----------
    settings : Settings
        Base URL and token.
    session : requests.Session, optional
        Network settings to borrow (proxies, certificates); see :func:`http.api_session`.
    retry : RetryPolicy, optional
        When to ask again and how long to wait (its ``sleep`` and ``clock`` are injectable for
        tests); the defaults of :mod:`formexport.config` otherwise.

    Every request keeps to OpnForm's per-user rate limits together with every other client of
    this process for the same token and server (:mod:`formexport.opnform.ratelimit`).
    """

    def __init__(
        self,
        settings: config.Settings,
        *,
        session: requests.Session | None = None,
        retry: RetryPolicy | None = None,
    ) -> None:
        self.settings = settings
        self.retry = retry if retry is not None else RetryPolicy()
        self.session = http.api_session(settings, session, retry=self.retry)
        self.pace = shared_pace(settings, self.retry)
        self._status_route = StatusRoute()

    def __repr__(self) -> str:
        return f"OpnFormAPI(base_url={self.settings.base_url!r})"

    def close(self) -> None:
        """Close the HTTP session."""
        self.session.close()

    def _request(
        self, method: str, path: str, *, deadline: float | None = None, **kwargs: Any
    ) -> requests.Response:
        """One request, sent when the rate limits allow (urllib3 retrying what it may inside
        it); no answer is a NetworkError. A 429 holds back every request of its kind."""
        limit = limit_of(method, path)
        self.pace.acquire(
            limit, deadline=deadline, subject=f"{method} {path}", sleep=self.retry.sleep
        )
        url = self.settings.base_url + path
        try:
            response = self.session.request(method, url, timeout=http.timeout(), **kwargs)
        except requests.RequestException as exc:
            raise transport_error(exc, method, url, base_url=self.settings.base_url) from exc
        if response.status_code == 429:
            self.pace.hold(limit, self.retry.rate_limit_wait(http.retry_after_seconds(response)))
        if response.status_code == 401:
            # Every route of the API takes the same token: its refusal is said in one place,
            # naming where the token came from.
            raise http.token_refused(response, self.settings.source)
        return response

    def _send(
        self,
        method: str,
        path: str,
        *,
        deadline: float | None = None,
        repeatable: bool = False,
        **kwargs: Any,
    ) -> requests.Response:
        """:meth:`_request`, sent again as the retry policy allows; returns the last answer.

        A 429 is always waited out and the request sent again: OpnForm throttles before doing
        anything. A 5xx or a broken connection is repeated here only when ``repeatable`` (the
        transport has already retried the GETs). ``deadline`` is a value of the policy's clock.
        """
        refused = failures = 0
        while True:
            try:
                response = self._request(method, path, deadline=deadline, **kwargs)
            except ConnectionFailedError:
                raise  # the transport has tried to connect as often as the policy allows
            except NetworkError:
                if not repeatable or failures >= self.retry.attempts:
                    raise
                failures = self._pause_before_repeating(failures)
                continue
            status = response.status_code
            if status == 429:
                refused += 1
                self.retry.wait_out_rate_limit(
                    http.retry_after_seconds(response),
                    refused=refused,
                    deadline=deadline,
                    subject=f"{method} {path}",
                )
            elif repeatable and status in http.RETRY_STATUSES and failures < self.retry.attempts:
                failures = self._pause_before_repeating(failures, response)
            else:
                return response

    def _pause_before_repeating(
        self, failures: int, response: requests.Response | None = None
    ) -> int:
        failures += 1
        retry_after = http.retry_after_seconds(response) if response is not None else None
        failed = "no answer"
        if response is not None:
            failed = f"the server answered HTTP {response.status_code}"
        wait = self.retry.retry_wait(self.retry.backoff(failures, retry_after), failed)
        logger.log(
            log_level(wait), "The request failed; sending it again (attempt %d)", failures + 1
        )
        self.retry.pause(wait)
        return failures

    def _get_json(self, path: str, *, subject: str, **kwargs: Any) -> Any:
        response = self._send("GET", path, **kwargs)
        http.raise_for_status(response, subject=subject)
        return http.json_body(response)

    def token_owner(self) -> tuple[str, str]:
        """``GET /external/zapier/validate``: the name and e-mail of the token's user.

        Any valid token may ask (no ability needed); a wrong one gets 401.
        """
        body = self._get_json("/external/zapier/validate", subject="token check")
        if not isinstance(body, Mapping) or not isinstance(body.get("email"), str):
            raise UnexpectedResponseError(
                "The token check did not answer a user's name and e-mail.", status_code=200
            )
        return str(body.get("name") or ""), body["email"]

    def get_form(self, form: FormRef) -> FormInfo:
        """``GET /open/forms/{form}``: the form's definition."""
        try:
            body = self._get_json(f"/open/forms/{form_path(form)}", subject=f"form {form!r}")
        except NotFoundError as exc:
            # Laravel's model binding names the missing form; an empty or "The route ..." 404
            # means a base URL that is not the API, which the generic message explains.
            if not exc.message or exc.message.startswith("The route "):
                raise
            raise FormNotFoundError(
                f"There is no form {form!r} on {self.settings.base_url}.",
                form=form,
                message=exc.message,
            ) from exc
        if not isinstance(body, Mapping):
            raise UnexpectedResponseError(
                f"The answer for form {form!r} is not a JSON object.", status_code=200
            )
        return FormInfo.from_json(body)

    def submissions_page(
        self,
        form: FormRef,
        page: int,
        per_page: int = config.SUBMISSIONS_PAGE_SIZE,
        *,
        status: str = "all",
    ) -> SubmissionsPage:
        """``GET /open/forms/{form}/submissions``: one page of submission ids, newest first.

        ``status`` is the server's filter: ``"completed"``, ``"partial"`` or ``"all"``.
        """
        body = self._get_json(
            f"/open/forms/{form_path(form)}/submissions",
            subject=f"submissions of form {form!r}",
            params={"page": page, "per_page": per_page, "status": status},
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

    def list_all_forms(self) -> list[FormSummary]:
        """``GET /open/forms`` (deprecated, ``forms-read`` only): every form of every workspace."""
        body = self._get_json("/open/forms", subject="forms")
        try:
            return [FormSummary.from_json(item) for item in body]
        except (TypeError, AttributeError) as exc:
            raise UnexpectedResponseError(
                "The form list is not a JSON array of forms.", status_code=200
            ) from exc

    def count_submissions(self, form: FormRef) -> int:
        """All submissions of a form, partial ones included (what the server's export counts)."""
        return self.submissions_page(form, page=1, per_page=1).total

    def list_submissions(self, form: FormRef, *, status: str = "all") -> Iterator[Listed]:
        """Every submission of the form, each once, roughly newest first, while it changes.

        Submissions that exist when the listing starts are all listed exactly once, whatever
        arrives, is deleted or comes in another order meanwhile; those arriving later are not
        (see :mod:`formexport.opnform.listing`). Lazy: one request per page read. ``status``
        is the server's filter, as for :meth:`submissions_page`.
        """
        return list_submissions(partial(self.submissions_page, form, status=status))

    def iter_submission_ids(
        self,
        form: FormRef,
        *,
        newer_than: int | None = None,
        since: datetime | None = None,
        on_item: Callable[[int, Mapping[str, Any]], None] | None = None,
    ) -> Iterator[int]:
        """Submission ids, roughly newest first, each once (see :meth:`list_submissions`).

        ``since`` keeps those created at or after it, and the listing stops below it. With
        ``newer_than``, only ids above it are kept: ids grow with submission time, but not
        exactly (submissions of one second, concurrent ones), so the listing goes on
        ``config.ID_ORDER_SLACK_SECONDS`` past the first older id. ``on_item`` receives each
        kept submission's JSON as it is listed (its raw values come at no extra cost).
        """
        cutoff = since
        for row in self.list_submissions(form):
            when = row.created_at
            if cutoff is not None and when is not None and when < cutoff:
                return  # rows come newest first within a page, and later pages are older
            if newer_than is not None and row.id <= newer_than:
                if when is None:
                    return
                slack = when - timedelta(seconds=config.ID_ORDER_SLACK_SECONDS)
                cutoff = slack if cutoff is None else max(cutoff, slack)
                continue
            if on_item is not None:
                on_item(row.id, row.item)
            yield row.id

    def post_export(
        self,
        form: FormRef,
        columns: Mapping[str, bool],
        submission_ids: Sequence[int] | None = None,
        *,
        deadline: float | None = None,
    ) -> AnsweredCsv | StartedJob:
        """``POST /open/forms/{form}/submissions/export``: CSV at once, or a background job.

        A 429 is waited out and the request sent again (no job can have been created); when
        the wait would end after ``deadline`` (a value of the policy's clock, by default
        :func:`time.monotonic`) a :class:`RateLimitError` is raised instead. An export of at
        most 1000 chosen submissions is always answered at once, never as a job, so it is also
        repeated after a 5xx or a broken connection (the batched route); any other export
        never is, since a job may have started before the answer was lost.
        """
        payload = export_payload(columns, submission_ids)
        response = self._send(
            "POST",
            f"/open/forms/{form_path(form)}/submissions/export",
            deadline=deadline,
            repeatable=may_repeat(submission_ids),
            json=payload,
        )
        http.raise_for_status(response, subject=f"export of form {form!r}")
        return export_answer(response)

    def get_export_status(self, form: FormRef, job_id: str) -> ExportStatus:
        """The status of export job ``job_id``, from whichever status route answers.

        One request (two the first time, while the route is found): a 429 is raised as
        :class:`RateLimitError` for the poller, which knows the deadline, to wait out.

        Raises
        ------
        ExportJobNotFoundError
            The job is unknown, or its status expired (2 hours after its last update).
        StatusUnavailableError
            The server does not let tokens read export status.
        """
        check_job_id(job_id)
        return self._status_route.status(partial(self._request, "GET"), form_path(form), job_id)

    def status_readable(self, form: FormRef) -> bool:
        """Whether this token may read export status on this server (asks once, then remembers)."""
        route = self._status_route
        if route.path:
            return True
        if route.closed:
            return False
        try:
            # A made-up job: "unknown job" and "hidden from tokens" are different 404s.
            route.status(partial(self._send, "GET"), form_path(form), str(uuid.uuid4()))
        except ExportJobNotFoundError:
            return True
        except StatusUnavailableError:
            return False
        return True

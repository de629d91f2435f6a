"""The export-status route: which path answers, and what its 404s mean.

OpnForm's code defines ``/export/status/{job}``; its docs give ``/export/{job}/status``. Both
are tried until one answers, and that one is remembered. Three different 404s come back:

* ``{"type": "error", "message": ...}``: the route exists and the job is unknown, or its status
  expired (kept 2 hours after the last update);
* ``{"message": ""}``: the route exists but personal access tokens may not call it (OpnForm
  leaves it out of the token whitelist), so polling can never work with a token;
* Laravel's "The route ... could not be found", or no JSON at all: no such path here.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from urllib.parse import quote

import requests

from formexport.errors import (
    ExportJobNotFoundError,
    NotFoundError,
    StatusUnavailableError,
    UnexpectedResponseError,
)
from formexport.opnform import http
from formexport.opnform.models import ExportStatus

# The path the server's code defines, then the one its docs give.
STATUS_PATHS = (
    "/open/forms/{form}/submissions/export/status/{job}",
    "/open/forms/{form}/submissions/export/{job}/status",
)
_JOB_NOT_FOUND_TYPE = "error"
_ROUTE_MISSING = re.compile(r"^The route .* could not be found\.?$")

Get = Callable[[str], requests.Response]


class StatusRoute:
    """The status path this server answers on, found by the first status request.

    Attributes
    ----------
    path : str or None
        The path template that answered, once one has.
    closed : bool
        True once the server has shown that tokens may not read export status.
    """

    def __init__(self) -> None:
        self.path: str | None = None
        self.closed = False

    def status(self, get: Get, form: str, job_id: str) -> ExportStatus:
        """The job's status through ``get`` (path to answer), trying each path until one fits.

        ``form`` is the form's path segment, already checked and escaped.

        Raises
        ------
        ExportJobNotFoundError
            The job is unknown, or its status expired.
        StatusUnavailableError
            The server does not let tokens read export status, or has no status route.
        """
        if self.closed:
            raise closed_error()
        shut_out = False
        for template in [self.path] if self.path else list(STATUS_PATHS):
            response = get(template.format(form=form, job=quote(job_id, safe="")))
            verdict = classify(response)
            if verdict in ("ok", "job-missing"):
                self.path = template
                return _status_or_raise(response, verdict, job_id)
            shut_out = shut_out or verdict == "closed"
        self.closed = True
        raise closed_error(route_missing=not shut_out)


def classify(response: requests.Response) -> str:
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


def closed_error(*, route_missing: bool = False) -> NotFoundError:
    """The error for a server on which tokens cannot read export status."""
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

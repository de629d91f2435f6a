"""HTTP plumbing: sessions with retries, the token's origin rule, answers turned into errors."""

from __future__ import annotations

import json
import logging
from collections.abc import Mapping
from typing import Any

import requests
from requests.adapters import HTTPAdapter
from urllib3.util.retry import Retry

from formexport import config
from formexport._redact import redact_url
from formexport._version import __version__
from formexport.errors import (
    APIError,
    AuthenticationError,
    NotFoundError,
    PermissionDeniedError,
    RateLimitError,
    ServerError,
    UnexpectedResponseError,
    ValidationError,
)

logger = logging.getLogger("formexport")

USER_AGENT = f"formexport/{__version__}"
RETRY_STATUSES = frozenset({429, 500, 502, 503, 504})
TIMEOUT = (config.CONNECT_TIMEOUT, config.READ_TIMEOUT)


class OriginBoundToken(requests.auth.AuthBase):
    """Adds ``Authorization: Bearer`` only to requests for the API's own origin."""

    def __init__(self, settings: config.Settings) -> None:
        self._settings = settings

    def __call__(self, request: requests.PreparedRequest) -> requests.PreparedRequest:
        if request.url and config.url_origin(request.url) == self._settings.origin:
            request.headers["Authorization"] = f"Bearer {self._settings.token.reveal()}"
        else:
            request.headers.pop("Authorization", None)
        return request

    def __repr__(self) -> str:
        return "OriginBoundToken(<hidden>)"


def retry_policy(total: int = config.HTTP_RETRIES) -> Retry:
    """urllib3 retries: GETs on connection errors, 429 and 5xx (honouring ``Retry-After``).

    POSTs are retried only on connection errors that happen before the request is sent, so a
    retry can never start a second export job.
    """
    return Retry(
        total=total,
        connect=total,
        read=total,
        status=total,
        other=0,
        backoff_factor=config.HTTP_BACKOFF_FACTOR,
        backoff_jitter=0.2,
        status_forcelist=RETRY_STATUSES,
        allowed_methods=frozenset({"GET", "HEAD"}),
        respect_retry_after_header=True,
        raise_on_status=False,
    )


def _session(retries: Retry) -> requests.Session:
    session = requests.Session()
    adapter = HTTPAdapter(max_retries=retries, pool_maxsize=4)
    session.mount("http://", adapter)
    session.mount("https://", adapter)
    session.headers["User-Agent"] = USER_AGENT
    return session


def api_session(settings: config.Settings) -> requests.Session:
    """A session for the OpnForm API: JSON, retries, and the token for its origin only."""
    session = _session(retry_policy())
    session.headers["Accept"] = "application/json"
    session.auth = OriginBoundToken(settings)
    # Proxy and CA settings still come from the environment; .netrc credentials must not.
    session.trust_env = True
    return session


def file_session() -> requests.Session:
    """A session for signed file links: never any credentials (S3 refuses a second auth)."""
    session = _session(retry_policy(config.DOWNLOAD_HTTP_RETRIES))
    session.auth = None
    return session


def describe(response: requests.Response) -> str:
    """``GET /path`` for messages, with secrets removed."""
    return f"{response.request.method} {redact_url(response.url)}"


def json_body(response: requests.Response) -> Any:
    """Decode a JSON answer, or explain what came instead."""
    content_type = response.headers.get("Content-Type", "")
    text = response.text
    if "html" in content_type.lower() or text.lstrip()[:1] == "<":
        raise UnexpectedResponseError(
            f"{describe(response)} answered an HTML page (HTTP {response.status_code}), "
            "not OpnForm's JSON API. Check the base URL: OpnForm cloud is "
            "https://api.opnform.com, a self-hosted server is usually https://your-host/api.",
            status_code=response.status_code,
        )
    try:
        return json.loads(text)
    except ValueError as exc:
        raise UnexpectedResponseError(
            f"{describe(response)} answered invalid JSON (HTTP {response.status_code}); "
            "a proxy may be in the way, or the server failed mid-answer.",
            status_code=response.status_code,
        ) from exc


def error_fields(response: requests.Response) -> tuple[str, Mapping[str, Any]]:
    """The ``message`` and the whole body of an error answer (empty when not JSON)."""
    try:
        body = json.loads(response.text)
    except ValueError:
        return "", {}
    if not isinstance(body, dict):
        return "", {}
    message = body.get("message")
    return (message if isinstance(message, str) else ""), body


def retry_after_seconds(response: requests.Response) -> float | None:
    """The ``Retry-After`` header in seconds, when it is a number."""
    value = response.headers.get("Retry-After")
    try:
        return max(0.0, float(value)) if value is not None else None
    except ValueError:
        return None


def raise_for_status(response: requests.Response, *, subject: str = "") -> None:
    """Raise the typed error for a failed answer; do nothing for 2xx.

    ``subject`` names what was asked for (``"form 12"``) to make messages concrete.
    """
    status = response.status_code
    if status < 400:
        return
    message, body = error_fields(response)
    where = f"{describe(response)}: " + (f"{subject}: " if subject else "")
    said = f" (server said: {message!r})" if message else ""
    if status == 401:
        raise AuthenticationError(
            f"{where}OpnForm rejected the API token{said}. Check {config.TOKEN_ENV}: create a "
            "personal access token in OpnForm under Settings → Access tokens.",
            status_code=status,
            message=message,
        )
    if status == 403:
        raise PermissionDeniedError(
            f"{where}permission denied{said}. The token needs the forms-read ability, and "
            "its user must be a member of the form's workspace.",
            status_code=status,
            message=message,
        )
    if status == 404:
        raise NotFoundError(f"{where}not found{said}.", status_code=status, message=message)
    if status == 422:
        errors = body.get("errors")
        raise ValidationError(
            f"{where}the server refused the request: {message or 'validation failed'}",
            message=message,
            errors=errors if isinstance(errors, Mapping) else None,
        )
    if status == 429:
        wait = retry_after_seconds(response)
        hint = f" Retry in {wait:.0f} s." if wait is not None else ""
        raise RateLimitError(
            f"{where}rate limit reached{said}.{hint}",
            message=message,
            retry_after=wait,
        )
    if status >= 500:
        raise ServerError(
            f"{where}the server failed with HTTP {status}{said} and retries did not help.",
            status_code=status,
            message=message,
        )
    raise APIError(f"{where}HTTP {status}{said}.", status_code=status, message=message)

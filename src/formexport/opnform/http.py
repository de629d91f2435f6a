"""HTTP plumbing: sessions with retries, the token's origin rule, answers turned into errors.

The transport retries are urllib3's, with the pauses of the one retry policy
(:mod:`formexport.opnform.retry`); a 429 is never retried here (see :func:`transport_retries`).

The token rule is exact: ``Authorization`` goes to the API's own scheme, host and port, and
to nothing else — not to a signed file link on the same host, not after a redirect that
changes any of the three, and ``.netrc`` never adds credentials of its own.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Mapping
from itertools import takewhile
from typing import TYPE_CHECKING, Any

import requests
from requests.adapters import HTTPAdapter
from urllib3.util.retry import Retry

from formexport import config
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
from formexport.opnform.retry import RetryPolicy
from formexport.redaction import install_log_redaction, redact_url

if TYPE_CHECKING:
    from typing_extensions import Self
    from urllib3.response import BaseHTTPResponse

logger = logging.getLogger("formexport")

USER_AGENT = f"formexport/{__version__}"
# 429 is not among them: a rate limit is waited out where the caller's deadline is known
# (endpoints, polling, download), never blindly inside urllib3.
RETRY_STATUSES = frozenset({500, 502, 503, 504})


def timeout() -> tuple[float, float]:
    """``(connect, read)`` seconds for the next request; see :func:`formexport.config.timeouts`."""
    return config.timeouts()


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


class NoCredentials(requests.auth.AuthBase):
    """Sends no ``Authorization`` at all; as a session's auth it also keeps ``.netrc`` out."""

    def __call__(self, request: requests.PreparedRequest) -> requests.PreparedRequest:
        request.headers.pop("Authorization", None)
        return request

    def __repr__(self) -> str:
        return "NoCredentials()"


class Session(requests.Session):
    """A ``requests.Session`` whose redirects re-apply the session's own auth rule.

    requests keeps ``Authorization`` across a redirect to the same host and may add ``.netrc``
    credentials for the new one; here every hop starts without credentials and the session's
    auth (:class:`OriginBoundToken` or :class:`NoCredentials`) decides again.
    """

    def rebuild_auth(
        self, prepared_request: requests.PreparedRequest, response: requests.Response
    ) -> None:
        """Drop the previous hop's credentials, then apply the session's auth to the new URL."""
        prepared_request.headers.pop("Authorization", None)
        if self.auth is not None:
            prepared_request.prepare_auth(self.auth)


class PolicyRetry(Retry):
    """urllib3's retry counting, with the back-off formula and the sleep of a :class:`RetryPolicy`.

    urllib3 decides what may be retried and counts the attempts; the policy decides how long
    each pause lasts and performs it, so transport retries follow the same formula as every
    other retry and run on a test's fake clock.
    """

    # urllib3 retries these whenever they carry Retry-After, whatever status_forcelist says;
    # without 429 here, a rate limit reaches the code that knows the caller's deadline.
    RETRY_AFTER_STATUS_CODES = frozenset({503})

    def __init__(self, *args: Any, policy: RetryPolicy | None = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.policy = policy if policy is not None else RetryPolicy()

    def new(self, **kw: Any) -> Self:
        """The next state of the count, with the same policy (urllib3 rebuilds it each retry)."""
        kw.setdefault("policy", self.policy)
        return super().new(**kw)

    def get_backoff_time(self) -> float:
        """The policy's back-off for the failures since the last redirect."""
        return self.policy.backoff(self._failures_in_a_row())

    def sleep(self, response: BaseHTTPResponse | None = None) -> None:
        """Pause before the next attempt: the back-off, or a 503's longer ``Retry-After``."""
        retry_after = None
        if response is not None and self.respect_retry_after_header:
            retry_after = self.get_retry_after(response)
        pause = self.policy.backoff(self._failures_in_a_row(), retry_after)
        if pause > 0:
            self.policy.pause_before_retry(pause, self._what_failed(response))

    def _what_failed(self, response: BaseHTTPResponse | None) -> str:
        """``the server answered HTTP 503``, or what broke the connection, for the display."""
        if response is not None:
            return f"the server answered HTTP {response.status}"
        last = self.history[-1] if self.history else None
        if last is not None and last.error is not None:
            return f"no answer: {type(last.error).__name__}"
        return "no answer"

    def _failures_in_a_row(self) -> int:
        # As urllib3 counts: the errors since the last redirect.
        return len(list(takewhile(lambda h: h.redirect_location is None, reversed(self.history))))


def transport_retries(policy: RetryPolicy, total: int | None = None) -> Retry:
    """urllib3 retries: GETs on connection errors and 5xx (honouring a 503's ``Retry-After``).

    A 429 is returned as it is: urllib3 would wait out whatever ``Retry-After`` says, up to
    the caller's deadline or far beyond it; the callers wait it out against that deadline.

    POSTs are retried only when no connection could be made, so a retry can never start a
    second export job. A connection that cannot be made at all is retried only
    ``policy.connect_attempts`` times: a refused port is a wrong URL or a server that is down.
    """
    if total is None:
        total = policy.attempts
    return PolicyRetry(
        total=total,
        connect=min(total, policy.connect_attempts),
        read=total,
        status=total,
        other=0,  # TLS failures among them: a handshake that failed once fails again
        backoff_factor=policy.backoff_factor,
        backoff_max=policy.backoff_max,
        status_forcelist=RETRY_STATUSES,
        allowed_methods=frozenset({"GET", "HEAD"}),
        respect_retry_after_header=True,
        raise_on_status=False,
        policy=policy,
    )


def _session(retries: Retry) -> requests.Session:
    install_log_redaction()
    session = Session()
    adapter = HTTPAdapter(max_retries=retries, pool_maxsize=4)
    session.mount("http://", adapter)
    session.mount("https://", adapter)
    session.headers["User-Agent"] = USER_AGENT
    return session


def api_session(
    settings: config.Settings,
    base: requests.Session | None = None,
    *,
    retry: RetryPolicy | None = None,
) -> requests.Session:
    """A session for the OpnForm API: JSON, retries, and the token for its origin only.

    ``base`` lends its network settings (proxies, certificates, headers, cookies); its own
    adapters and auth are not used, so the retries and the token rule always apply.
    """
    session = _session(transport_retries(retry or RetryPolicy()))
    if base is not None:
        session.proxies.update(base.proxies)
        session.verify, session.cert = base.verify, base.cert
        session.headers.update(base.headers)
        session.cookies.update(base.cookies)
        session.trust_env = base.trust_env
    session.headers["Accept"] = "application/json"
    session.auth = OriginBoundToken(settings)
    # Proxy and CA settings still come from the environment (unless ``base`` says otherwise);
    # .netrc credentials cannot, since the session always has an auth of its own.
    return session


def file_session(retry: RetryPolicy | None = None) -> requests.Session:
    """A session for signed file links: never any credentials (S3 refuses a second auth)."""
    session = _session(
        transport_retries(retry or RetryPolicy(), total=config.DOWNLOAD_HTTP_RETRIES)
    )
    session.auth = NoCredentials()
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
    if response.status_code < 400:
        return
    message, body = error_fields(response)
    where = f"{describe(response)}: " + (f"{subject}: " if subject else "")
    said = f" (server said: {message!r})" if message else ""
    raise _api_error(response.status_code, where, said, message, body, response)


def token_refused(response: requests.Response, source: config.TokenSource) -> AuthenticationError:
    """The 401 for an API request, naming where the refused token came from."""
    message, _ = error_fields(response)
    said = f" (server said: {message!r})" if message else ""
    return AuthenticationError(
        f"{describe(response)}: OpnForm refused {source.describe()}{said}. {source.next_step()}",
        status_code=401,
        message=message,
    )


_TOKEN_REJECTED = (
    "OpnForm rejected the API token{said}. Check {token_env}: create a personal access token in "
    "OpnForm under Settings → Access tokens."
)
_PERMISSION_DENIED = (
    "permission denied{said}. The token needs the forms-read ability, and its user must be a "
    "member of the form's workspace."
)
# Laravel's answer for a path it has no route for: the base URL is off.
_NO_SUCH_ROUTE = (
    " The server has no such route: check {base_url_env} (OpnForm cloud is "
    "https://api.opnform.com, a self-hosted server's API is usually https://your-host/api)."
)


def _api_error(
    status: int,
    where: str,
    said: str,
    message: str,
    body: Mapping[str, Any],
    response: requests.Response,
) -> APIError:
    if status in (401, 403):
        kind = AuthenticationError if status == 401 else PermissionDeniedError
        text = (_TOKEN_REJECTED if status == 401 else _PERMISSION_DENIED).format(
            said=said, token_env=config.TOKEN_ENV
        )
        return kind(where + text, status_code=status, message=message)
    if status == 404:
        hint = ""
        if message.startswith("The route ") or not body:
            hint = _NO_SUCH_ROUTE.format(base_url_env=config.BASE_URL_ENV)
        return NotFoundError(f"{where}not found{said}.{hint}", status_code=status, message=message)
    if status == 422:
        errors = body.get("errors")
        return ValidationError(
            f"{where}the server refused the request: {message or 'validation failed'}",
            message=message,
            errors=errors if isinstance(errors, Mapping) else None,
        )
    if status == 429:
        wait = retry_after_seconds(response)
        hint = f" Retry in {wait:.0f} s." if wait is not None else ""
        return RateLimitError(
            f"{where}rate limit reached{said}.{hint}", message=message, retry_after=wait
        )
    if status >= 500:
        return ServerError(
            f"{where}the server failed with HTTP {status}{said} and retries did not help.",
            status_code=status,
            message=message,
        )
    return APIError(f"{where}HTTP {status}{said}.", status_code=status, message=message)

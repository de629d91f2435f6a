"""Settings and defaults, in one place; environment variables are an overlay.

Every variable formexport reads is named by a ``*_ENV`` constant below and listed, with its
meaning, in the one table of ``docs/configuration.md`` (a test keeps the two in step).
"""

from __future__ import annotations

import ipaddress
import os
import shlex
from dataclasses import dataclass
from urllib.parse import urlsplit

from formexport.errors import ConfigurationError, NoTokenError
from formexport.redaction import Secret

TOKEN_ENV = "OPNFORM_API_TOKEN"
BASE_URL_ENV = "OPNFORM_API_BASE_URL"
PROFILE_ENV = "OPNFORM_PROFILE"
CONFIG_DIR_ENV = "FORMEXPORT_CONFIG_DIR"
PROGRESS_ENV = "FORMEXPORT_PROGRESS"
CACHE_DIR_ENV = "FORMEXPORT_CACHE_DIR"
CONNECT_TIMEOUT_ENV = "FORMEXPORT_CONNECT_TIMEOUT"
READ_TIMEOUT_ENV = "FORMEXPORT_READ_TIMEOUT"
INSECURE_HTTP_ENV = "FORMEXPORT_ALLOW_INSECURE_HTTP"
PSEUDONYM_KEY_ENV = "FORMEXPORT_PSEUDONYM_KEY"

DEFAULT_BASE_URL = "https://api.opnform.com"
DEFAULT_PROFILE = "default"
# A pseudonym is this many hex digits of HMAC-SHA-256 (64 bits: no two answers of a form share
# one in practice, and a column stays readable).
PSEUDONYM_LENGTH = 16
# A key from FORMEXPORT_PSEUDONYM_KEY shorter than this is refused: it could be guessed.
PSEUDONYM_KEY_MIN_LENGTH = 16
TOKEN_HELP = (
    "a personal access token (OpnForm → Settings → Access tokens, with the forms-read ability)"
)
# Tokens of signed-in profiles are kept in the system keyring under this service name.
KEYRING_SERVICE = "formexport"
# Profile names are short words: they appear in commands, messages and keyring entries.
PROFILE_NAME_MAX = 64

# The server answers an export of up to this many submissions at once, as CSV.
SYNC_EXPORT_LIMIT = 1000
# Submissions per page of the JSON submissions list (the server's maximum).
SUBMISSIONS_PAGE_SIZE = 100
# Raw values kept from the id listing of a batched export (memory stays bounded beyond).
EXACT_VALUES_LIMIT = 200_000
# Submission ids grow with created_at, but not exactly: submissions of one second come in any
# order, and one saved a moment earlier may get the higher id. Listings "newer than" an id or a
# time (incremental dataset runs) read this far past it, so none of those is ever missed.
ID_ORDER_SLACK_SECONDS = 60

CONNECT_TIMEOUT = 10.0
# A synchronous export of 1000 rows is rendered while the request waits.
READ_TIMEOUT = 120.0
_TRUE = frozenset({"1", "true", "yes", "on"})
_FALSE = frozenset({"", "0", "false", "no", "off"})

# The retry policy (formexport.opnform.retry.RetryPolicy) takes its defaults from here.
# Repeats of a request after a 5xx or a broken connection.
HTTP_RETRIES = 5
# Repeats when no connection could be made at all (refused, unknown host): a wrong URL or a
# server that is down is not worth five rounds; three cover a server restarting (about 4 s).
CONNECT_RETRIES = 3
# Back-off before the n-th repeat: HTTP_BACKOFF_FACTOR * 2**(n-1) seconds (0.5, 1, 2, 4, 8),
# at most BACKOFF_MAX, lengthened by up to BACKOFF_JITTER of itself so that clients that failed
# together do not come back together.
HTTP_BACKOFF_FACTOR = 0.5
BACKOFF_MAX = 30.0
BACKOFF_JITTER = 0.2
# A 429 is waited out for as long as its Retry-After says (at least MIN_RATE_LIMIT_WAIT, so a
# "Retry-After: 0" does not spin), DEFAULT_RATE_LIMIT_WAIT when it says nothing (a Laravel
# throttle window: the next request lands in a fresh one), this many times in a row before
# RateLimitError.
MIN_RATE_LIMIT_WAIT = 1.0
DEFAULT_RATE_LIMIT_WAIT = 60.0
RATE_LIMIT_RETRIES = 10

# OpnForm 2.x's per-user limits, in requests per window: export requests, status requests, and
# every other API request. Every export of a process keeps to them together (one pace per token
# and server, formexport.opnform.ratelimit), so that no request of its own is refused with 429.
RATE_LIMITS = {"export": 10, "export-status": 180, "api": 100}
RATE_LIMIT_WINDOW = 60.0
# The server's window opens when a request *arrives*; sent requests are spaced by a window plus
# this margin, so that the time a request spends on the way cannot put one too many in it.
RATE_LIMIT_MARGIN = 1.0

# The status of a server job is asked for when the job should end (formexport.jobs.poll_schedule).
# Before that, the docs' pace: every 2-5 seconds, the interval growing with the job's age by this
# share, lengthened by up to POLL_JITTER of itself so that clients started together spread out.
POLL_MIN_INTERVAL = 2.0
POLL_MAX_INTERVAL = 5.0
POLL_INTERVAL_SHARE = 0.08
POLL_JITTER = 0.1
# A job's status requests: at most one per this many seconds of its life, plus one (the n-th is
# not sent before (n - 1) times this after the job was accepted), and never two closer than the
# server's status limit allows (RATE_LIMIT_WINDOW / RATE_LIMITS["export-status"]).
POLL_BUDGET_SECONDS = 2.0
# Without a forecast, the first question this soon after the job was accepted: most small jobs
# are done by then.
POLL_FIRST_ASK = 0.5
# The question meant to see the end goes this long after the forecast end, plus this share of
# how far ahead the forecast looked (the further, the less sure).
POLL_END_MARGIN = 0.05
POLL_END_MARGIN_SHARE = 0.03
# A job not done when forecast is asked about again after this long, doubling each time, up to
# the docs' pace.
POLL_OVERDUE_WAIT = 0.5
# Earlier jobs' timings kept to forecast the next (formexport.local.job_timings): jobs per
# server, servers, and how long a timing is trusted.
TIMINGS_PER_SERVER = 10
TIMED_SERVERS = 20
TIMING_MAX_AGE = 30 * 24 * 3600.0
# A working queue picks a job up within seconds: one still queued after this long points at the
# server's queue worker; before that, a timeout only means the job needed more time.
QUEUE_STALL_SECONDS = 120.0
# A wait at least this long (a rate limit, a Retry-After, a back-off) shows in the progress
# display with a countdown; a shorter one passes unseen, as a request's own time does.
SHOWN_WAIT_SECONDS = 2.0

DOWNLOAD_CHUNK_SIZE = 1 << 20
# Attempts after the first when a download is cut or fails; each waits the policy's back-off.
DOWNLOAD_RESUMES = 5
# Transport retries inside one download attempt; the resume loop covers the rest.
DOWNLOAD_HTTP_RETRIES = 2
# Seconds a cancelled download may take to notice before the reader stops waiting for it.
CANCEL_GRACE = 2.0
# Fresh exports started when a download link has expired, before giving up.
MAX_REEXPORTS = 2
# Exports of one form take turns on this machine (OpnForm names a job's file by form and
# second); an export waiting for its turn asks again this often.
TURN_POLL_INTERVAL = 0.1
# Exports made, the first included, while the file delivered keeps being another export's (one
# of the same form whose job finished in the same second), before ExportFailedError.
SAME_SECOND_TRIES = 3
# Waited before exporting again after such a clash: the second the two files were named after
# has passed on the server's clock too, whatever its offset from this one.
SAME_SECOND_PAUSE = 1.0
# Uploaded files (files=): how many download at once (OpnForm serves each from PHP, and limits
# every client address to 100 file requests a minute), how often links that expired meanwhile
# are renewed from the JSON submissions list (its links live 10 minutes), the folder of a
# dataset's files, and the record of what was saved, one per form beside its files.
UPLOAD_WORKERS = 4
UPLOAD_LINK_RENEWALS = 3
UPLOADS_FOLDER = "_files"
UPLOADS_RECORD = "_formexport_files.json"
# The record is rewritten after this many files (or a tenth of it, when larger), so an
# interrupted run keeps what it saved.
UPLOADS_RECORD_EVERY = 100
# Recent export jobs remembered for re-attaching (a kernel restart, the next scheduled run).
RECORDED_JOBS = 50
# A recorded job not seen finished after this long is not worth a status request any more.
RECORD_MAX_AGE = 2 * 24 * 3600.0


@dataclass(frozen=True)
class TokenSource:
    """Where a token came from, so that messages can name it (never the token itself).

    ``kind`` is ``"argument"`` (``token=``), ``"environment"`` (``OPNFORM_API_TOKEN``),
    ``"profile"`` (a signed-in profile, named by ``profile``) or ``"login"`` (given to sign in).
    """

    kind: str = "argument"
    profile: str = ""

    def describe(self) -> str:
        """``the token from OPNFORM_API_TOKEN``, ``the token of profile 'work'``..."""
        if self.kind == "environment":
            return f"the token from {TOKEN_ENV}"
        if self.kind == "profile":
            return f"the token of profile {self.profile!r}"
        if self.kind == "login":
            return "the token given to sign in"
        return "the token passed as token="

    def next_step(self) -> str:
        """What to do when the server refuses this token."""
        if self.kind == "profile":
            return (
                "It may have been revoked or have expired: sign in again with "
                f"{login_command(self.profile)}."
            )
        if self.kind == "environment":
            return (
                f"Check {TOKEN_ENV} (or unset it to use a signed-in profile): create a personal "
                "access token in OpnForm under Settings → Access tokens."
            )
        stored = " Nothing was stored." if self.kind == "login" else ""
        return (
            f"{stored} Check the token: create a personal access token in OpnForm under "
            "Settings → Access tokens."
        ).lstrip()


def login_command(profile: str = DEFAULT_PROFILE) -> str:
    """How to sign in, on the command line and in Python, for ``profile``."""
    if profile == DEFAULT_PROFILE:
        return "`formexport login` (or fx.login() in Python)"
    return f"`formexport login --profile {shlex.quote(profile)}` (or fx.login(profile={profile!r}))"


@dataclass(frozen=True)
class Settings:
    """Where the API is, how to authenticate, and where the token came from.

    Build with :func:`formexport.credentials.lookup_settings`, which follows the lookup order
    (``token=``, ``OPNFORM_API_TOKEN``, then the signed-in profile) and checks the values.
    """

    base_url: str
    token: Secret
    source: TokenSource = TokenSource()

    @property
    def origin(self) -> tuple[str, str, int | None]:
        """Scheme, host and port of the API: the only place the token is sent."""
        return url_origin(self.base_url)


def url_origin(url: str) -> tuple[str, str, int | None]:
    """Scheme, host and effective port of ``url``."""
    parts = urlsplit(url)
    scheme = parts.scheme.lower()
    port = parts.port or {"http": 80, "https": 443}.get(scheme)
    return scheme, (parts.hostname or "").lower(), port


def is_loopback_host(host: str) -> bool:
    """True for ``localhost`` and loopback IP addresses."""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def timeouts() -> tuple[float, float]:
    """``(connect, read)`` time-outs in seconds: the defaults above, or their variables.

    Read at every request, so a changed variable (or ``config.READ_TIMEOUT``) applies at once.

    Raises
    ------
    ConfigurationError
        When a variable is not a positive number.
    """
    return (
        _seconds(CONNECT_TIMEOUT_ENV, CONNECT_TIMEOUT),
        _seconds(READ_TIMEOUT_ENV, READ_TIMEOUT),
    )


def _seconds(name: str, default: float) -> float:
    text = os.environ.get(name, "").strip()
    if not text:
        return default
    try:
        value = float(text)
    except ValueError:
        value = float("nan")
    if not value > 0 or value == float("inf"):
        raise ConfigurationError(f"{name} must be a positive number of seconds; got {text!r}.")
    return value


def insecure_http_allowed(explicit: bool | None = None) -> bool:
    """Whether plain ``http`` to a non-loopback host is allowed: the argument, else the variable.

    Raises
    ------
    ConfigurationError
        When ``FORMEXPORT_ALLOW_INSECURE_HTTP`` is neither a yes nor a no.
    """
    if explicit is not None:
        return explicit
    text = os.environ.get(INSECURE_HTTP_ENV, "").strip().lower()
    if text in _TRUE:
        return True
    if text in _FALSE:
        return False
    raise ConfigurationError(f"{INSECURE_HTTP_ENV} must be 1 or 0; got {text!r}.")


def normalize_base_url(base_url: str, *, allow_insecure_http: bool = False) -> str:
    """Check an API base URL and drop its trailing slash.

    Raises
    ------
    ConfigurationError
        For anything but an ``http(s)://host[/path]`` URL, or plain ``http`` to a host that is
        not loopback (the token would cross the network unencrypted) unless
        ``allow_insecure_http`` is true.
    """
    text = base_url.strip().rstrip("/")
    parts = urlsplit(text)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ConfigurationError(
            f"{BASE_URL_ENV} / base_url must look like https://api.opnform.com or "
            f"https://forms.example.com/api; got {base_url!r}."
        )
    if parts.query or parts.fragment:
        raise ConfigurationError(
            f"The base URL {base_url!r} must not carry a query string or fragment."
        )
    if parts.scheme == "http" and not is_loopback_host(parts.hostname) and not allow_insecure_http:
        raise ConfigurationError(
            f"Refusing to send the API token over plain http to {parts.hostname}: anyone on the "
            "way could read it. Use an https:// base URL, or, on a network you trust, pass "
            f"allow_insecure_http=True to Client (or set {INSECURE_HTTP_ENV}=1)."
        )
    return text


def checked_token(token: str, source: TokenSource) -> str:
    """``token`` as it is sent: blanks around it and a ``Bearer`` prefix (pasted along with it)
    dropped, then checked. A blank token comes back empty.

    ``source`` is where the token came from, for the message, which never holds the token.

    Raises
    ------
    ConfigurationError
        When the token holds a line break, a space, a control or a non-ASCII character: no
        OpnForm token does, and an HTTP header cannot carry some of them (requests would
        raise an error quoting the whole header, token included).

    Examples
    --------
    >>> checked_token("  Bearer 7|abc  ", TokenSource("argument"))
    '7|abc'
    >>> checked_token("7|abc\\ndef", TokenSource("environment"))  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    formexport.errors.ConfigurationError: The token from OPNFORM_API_TOKEN holds a line break...
    """
    text = token.strip()
    if text.lower().startswith("bearer "):
        text = text[len("bearer ") :].strip()
    if any(char in text for char in "\r\n\v\f\x85\u2028\u2029"):
        problem = "a line break"
    elif not (text.isascii() and text.isprintable()) or " " in text:
        problem = "a space, a control character or a non-ASCII character"
    else:
        return text
    described = source.describe()
    raise ConfigurationError(
        f"{described[0].upper()}{described[1:]} holds {problem}, which no OpnForm token has (a "
        "token is one line: an id, '|' and letters and digits). Copy it again from OpnForm → "
        "Settings → Access tokens, on one line."
    )


def resolve_base_url(base_url: str | None, *, allow_insecure_http: bool | None = None) -> str:
    """``base_url``, else ``OPNFORM_API_BASE_URL``, else the default; checked.

    Raises
    ------
    ConfigurationError
        See :func:`normalize_base_url`.
    """
    url = base_url if base_url is not None else os.environ.get(BASE_URL_ENV, "")
    return normalize_base_url(
        url or DEFAULT_BASE_URL, allow_insecure_http=insecure_http_allowed(allow_insecure_http)
    )


def no_token_error(profile: str = DEFAULT_PROFILE, why: str = "") -> NoTokenError:
    """The error for a missing token: where it was looked for, and how to sign in."""
    why = why or f"profile {profile!r} is not signed in"
    reason = f"No OpnForm API token: {TOKEN_ENV} is not set, and {why}."
    return NoTokenError(
        f"{reason} Sign in with {login_command(profile)}, or pass token=..., or set "
        f"{TOKEN_ENV} to {TOKEN_HELP}.",
        profile=profile,
        reason=reason,
    )


def resolve_settings(
    token: str | None = None,
    base_url: str | None = None,
    *,
    allow_insecure_http: bool | None = None,
) -> Settings:
    """Combine explicit arguments with ``OPNFORM_API_TOKEN`` and ``OPNFORM_API_BASE_URL``.

    The first two steps of the lookup order; signed-in profiles are the third
    (:func:`formexport.credentials.lookup_settings`). ``allow_insecure_http=None`` defers to
    ``FORMEXPORT_ALLOW_INSECURE_HTTP``.

    Raises
    ------
    ConfigurationError
        When no token is given or set, it cannot be a token (:func:`checked_token`), or the
        base URL is unusable.
    """
    source = TokenSource("argument" if token is not None else "environment")
    raw_token = checked_token(token if token is not None else os.environ.get(TOKEN_ENV, ""), source)
    if not raw_token:
        if token is not None:
            raise ConfigurationError(f"token= is empty: pass {TOKEN_HELP}.")
        raise no_token_error()
    checked = resolve_base_url(base_url, allow_insecure_http=allow_insecure_http)
    return Settings(base_url=checked, token=Secret(raw_token), source=source)

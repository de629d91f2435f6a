"""Settings and defaults, in one place; environment variables are an overlay.

==========================  ==================================================================
Variable                    Meaning
==========================  ==================================================================
``OPNFORM_API_TOKEN``       Personal access token (OpnForm → Settings → Access tokens).
``OPNFORM_API_BASE_URL``    API root; default ``https://api.opnform.com``. Self-hosted servers:
                            ``https://forms.example.com/api``.
``FORMEXPORT_PROGRESS``     Overrides ``progress="auto"``: ``tqdm``, ``widget``, ``log``, ``none``.
``FORMEXPORT_CACHE_DIR``    Folder for the record of recent jobs and cached exports; default the
                            user cache directory (``~/.cache/formexport`` on Linux).
==========================  ==================================================================
"""

from __future__ import annotations

import ipaddress
import os
from dataclasses import dataclass
from urllib.parse import urlsplit

from formexport._redact import Secret
from formexport.errors import ConfigurationError

TOKEN_ENV = "OPNFORM_API_TOKEN"
BASE_URL_ENV = "OPNFORM_API_BASE_URL"
PROGRESS_ENV = "FORMEXPORT_PROGRESS"
CACHE_DIR_ENV = "FORMEXPORT_CACHE_DIR"

DEFAULT_BASE_URL = "https://api.opnform.com"

# The server answers an export of up to this many submissions at once, as CSV.
SYNC_EXPORT_LIMIT = 1000
# Submissions per page of the JSON submissions list (the server's maximum).
SUBMISSIONS_PAGE_SIZE = 100

CONNECT_TIMEOUT = 10.0
# A synchronous export of 1000 rows is rendered while the request waits.
READ_TIMEOUT = 120.0
HTTP_RETRIES = 5
HTTP_BACKOFF_FACTOR = 0.5

# The docs ask clients to poll every 2-5 seconds.
POLL_MIN_INTERVAL = 2.0
POLL_MAX_INTERVAL = 5.0
# The interval grows with the job's age so that waiting adds about this share to long jobs.
POLL_INTERVAL_SHARE = 0.08
POLL_JITTER = 0.1

DOWNLOAD_CHUNK_SIZE = 1 << 20
DOWNLOAD_RESUMES = 5
# Seconds before the n-th resume: RESUME_BACKOFF * 2**n.
RESUME_BACKOFF = 0.5
# Transport retries inside one download attempt; the resume loop covers the rest.
DOWNLOAD_HTTP_RETRIES = 2
# Fresh exports started when a download link has expired, before giving up.
MAX_REEXPORTS = 2
# Recent export jobs remembered for re-attaching (a kernel restart, the next scheduled run).
RECORDED_JOBS = 50
# A recorded job not seen finished after this long is not worth a status request any more.
RECORD_MAX_AGE = 2 * 24 * 3600.0


@dataclass(frozen=True)
class Settings:
    """Where the API is and how to authenticate.

    Build with :func:`resolve_settings`, which reads the environment and checks the values.
    """

    base_url: str
    token: Secret

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


def normalize_base_url(base_url: str) -> str:
    """Check an API base URL and drop its trailing slash.

    Raises
    ------
    ConfigurationError
        For anything but an ``http(s)://host[/path]`` URL, or plain ``http`` to a host that is
        not loopback (the token would cross the network unencrypted).
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
    if parts.scheme == "http" and not is_loopback_host(parts.hostname):
        raise ConfigurationError(
            f"Refusing to send the API token over plain http to {parts.hostname}; "
            "use an https:// base URL."
        )
    return text


def resolve_settings(token: str | None = None, base_url: str | None = None) -> Settings:
    """Combine explicit arguments with ``OPNFORM_API_TOKEN`` and ``OPNFORM_API_BASE_URL``.

    Raises
    ------
    ConfigurationError
        When no token is given or set, or the base URL is unusable.
    """
    raw_token = token if token is not None else os.environ.get(TOKEN_ENV, "")
    raw_token = raw_token.strip()
    if raw_token.lower().startswith("bearer "):
        raw_token = raw_token[len("bearer ") :].strip()
    if not raw_token:
        raise ConfigurationError(
            f"No OpnForm API token: set {TOKEN_ENV} or pass token=... "
            "(create one in OpnForm under Settings → Access tokens, with forms-read)."
        )
    url = base_url if base_url is not None else os.environ.get(BASE_URL_ENV, "")
    return Settings(base_url=normalize_base_url(url or DEFAULT_BASE_URL), token=Secret(raw_token))

"""Requests and responses as the emulator's apps see them, independent of the socket layer.

An app turns a :class:`Request` into a :class:`Response`; the body is either bytes or a
:class:`FileBody` (a byte range of a file on disk, streamed by the server in chunks).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from http import HTTPStatus
from pathlib import Path
from typing import Any

from formexport.sandbox.platform.php import json_compact, json_pretty

JSON = "application/json"
_JSON_HEADERS = (("Content-Type", JSON), ("Cache-Control", "no-cache, private"))


class Headers(dict[str, str]):
    """A dict of header names to values whose lookups ignore case.

    Examples
    --------
    >>> headers = Headers({"Authorization": "Bearer x"})
    >>> "authorization" in headers, headers.get("AUTHORIZATION")
    (True, 'Bearer x')
    """

    def _key(self, name: object) -> object:
        if isinstance(name, str):
            lowered = name.lower()
            for key in self.keys():
                if key.lower() == lowered:
                    return key
        return name

    def __getitem__(self, name: str) -> str:
        return super().__getitem__(str(self._key(name)))

    def __contains__(self, name: object) -> bool:
        return super().__contains__(self._key(name))

    def get(self, name: str, default: Any = None) -> Any:
        """The value of a header, whatever the case of ``name``."""
        return super().get(str(self._key(name)), default)


@dataclass(frozen=True)
class RecordedRequest:
    """One request as a host received it.

    Attributes
    ----------
    method : str
    path : str
        The path as sent (with any ``/api`` prefix), without the query string.
    query : dict
        Query parameters (the last value of a repeated name).
    headers : Headers
        Request headers; lookups ignore case.
    status : int or None
        The status answered (None when the connection was reset).
    host : str
        ``host:port`` of the server that received it (API or file host).
    at : float
        When the request arrived, as :func:`time.monotonic` seconds: the gaps between
        entries show how long a client waited before retrying.
    body : bytes
        The request's body as sent (an export request's ``columns``, for instance).
    """

    method: str
    path: str
    query: dict[str, str]
    headers: Headers
    status: int | None
    host: str
    at: float = 0.0
    body: bytes = b""

    def json(self) -> Any:
        """The body read as JSON (None when there is none)."""
        return json.loads(self.body) if self.body else None

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict."""
        return {
            "method": self.method,
            "path": self.path,
            "query": dict(self.query),
            "headers": dict(self.headers),
            "status": self.status,
            "host": self.host,
            "at": self.at,
        }


@dataclass
class Request:
    """An incoming request, already read from the socket."""

    method: str
    path: str
    raw_query: str
    query: dict[str, str]
    headers: Headers
    body: bytes
    client_ip: str
    host: str

    @property
    def route_path(self) -> str:
        """The path Laravel sees: nginx strips a leading ``/api``."""
        if self.path == "/api" or self.path.startswith("/api/"):
            return self.path[4:] or "/"
        return self.path

    @property
    def root(self) -> str:
        """``http://<Host>`` as Laravel builds absolute URLs (no ``/api``)."""
        return f"http://{self.headers.get('Host') or self.host}"


@dataclass(frozen=True)
class FileBody:
    """``length`` bytes of ``path`` from ``start``."""

    path: Path
    start: int
    length: int


@dataclass
class Response:
    """Status, headers and body of an answer."""

    status: int
    headers: list[tuple[str, str]] = field(default_factory=list)
    body: bytes | FileBody = b""
    close: bool = False

    @property
    def length(self) -> int:
        """Number of body bytes."""
        return self.body.length if isinstance(self.body, FileBody) else len(self.body)

    def header(self, name: str) -> str | None:
        """The first value of a header."""
        return next((v for k, v in self.headers if k.lower() == name.lower()), None)


class HttpError(Exception):
    """Raised inside a handler to answer with ``response``."""

    def __init__(self, response: Response) -> None:
        super().__init__(response.status)
        self.response = response


def json_response(
    status: int,
    payload: Any,
    *,
    pretty: bool = False,
    headers: tuple[tuple[str, str], ...] = (),
) -> Response:
    """A JSON answer: compact like controllers, or pretty like the exception handler."""
    body = json_pretty(payload) if pretty else json_compact(payload)
    return Response(status, [*_JSON_HEADERS, *headers], body)


def abort(status: int, message: str = "") -> HttpError:
    """An ``HttpException`` rendered by Laravel's handler: ``{"message": …}``, pretty."""
    return HttpError(json_response(status, {"message": message}, pretty=True))


def reason(status: int) -> str:
    """The reason phrase of a status code."""
    try:
        return HTTPStatus(status).phrase
    except ValueError:
        return "Unknown"

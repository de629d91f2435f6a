"""A request that got no answer, turned into an error that names the host and what to check.

requests reports every such failure as a ``ConnectionError`` around urllib3's
``MaxRetryError`` around the cause; the cause decides the message. No connection at all (an
unknown host, a refused port, a TLS handshake that failed) is a
:class:`~formexport.ConnectionFailedError`, almost always a wrong base URL; a connection that
broke or went quiet is a plain :class:`~formexport.NetworkError`.
"""

from __future__ import annotations

import ssl
from collections.abc import Iterator
from typing import TypeVar
from urllib.parse import urlsplit

import requests
from urllib3.exceptions import NameResolutionError, NewConnectionError

from formexport import config
from formexport.errors import ConnectionFailedError, NetworkError

E = TypeVar("E", bound=BaseException)


def transport_error(
    exc: requests.RequestException, method: str, url: str, *, base_url: str | None = None
) -> NetworkError:
    """The typed error for ``method url`` that failed with ``exc`` (after the retries).

    ``base_url``, the API root ``url`` is under, lets a message suggest a corrected one.
    """
    where = f"{method} {urlsplit(url).path}"
    scheme, host, port = config.url_origin(url)
    address = f"{host}:{port}"
    shown = base_url or f"{scheme}://{address}"
    if isinstance(exc, requests.exceptions.SSLError):
        return _tls_error(exc, where, address, base_url)
    if isinstance(exc, requests.ConnectionError) and not isinstance(exc, requests.Timeout):
        unresolved = _find(exc, NameResolutionError)
        if unresolved is not None:
            return ConnectionFailedError(
                f"{where}: the host name {host!r} could not be found (DNS). Check the base URL "
                f"({config.BASE_URL_ENV}, now {shown}) and the network."
            )
        if _find(exc, NewConnectionError) is not None:
            return ConnectionFailedError(
                f"{where}: could not connect to {address} ({_os_reason(exc)}): nothing "
                f"answers there. Check that the server runs and that the base URL "
                f"({config.BASE_URL_ENV}, now {shown}) names its host and port."
            )
    if isinstance(exc, requests.Timeout) or "timed out" in str(exc).lower():
        connect, read = config.timeouts()
        return NetworkError(
            f"{where}: {address} did not answer within the time-out ({connect:g} s to "
            f"connect, {read:g} s between bytes), even after retries. The server may be "
            f"overloaded; raise {config.READ_TIMEOUT_ENV} to wait longer."
        )
    return NetworkError(
        f"{where}: the connection to {address} failed ({type(exc).__name__}) even after "
        f"retries. Check the network and the base URL ({config.BASE_URL_ENV})."
    )


def _tls_error(
    exc: requests.RequestException, where: str, address: str, base_url: str | None
) -> ConnectionFailedError:
    unverified = _find(exc, ssl.SSLCertVerificationError)
    if unverified is not None:
        return ConnectionFailedError(
            f"{where}: the certificate of {address} could not be verified "
            f"({unverified.verify_message or unverified.reason}). For a server whose "
            "certificate comes from a private authority, point REQUESTS_CA_BUNDLE at that "
            "authority's file (or pass a session whose verify= names it)."
        )
    failed = _find(exc, ssl.SSLError)
    why = str(failed.reason).replace("_", " ").lower() if failed and failed.reason else "TLS"
    path = urlsplit(base_url).path if base_url else "/…"
    return ConnectionFailedError(
        f"{where}: the HTTPS handshake with {address} failed ({why}): the server may not "
        "speak HTTPS. For a local server (the emulator, a development instance) try the "
        f"plain-HTTP base URL http://{address}{path}"
    )


def _causes(exc: BaseException) -> Iterator[BaseException]:
    # requests and urllib3 nest the cause in args, in .reason and in the exception chain.
    seen: set[int] = set()
    todo: list[BaseException] = [exc]
    while todo:
        current = todo.pop(0)
        if id(current) in seen:
            continue
        seen.add(id(current))
        yield current
        reason = getattr(current, "reason", None)
        nested = [*current.args, reason, current.__cause__, current.__context__]
        todo += [item for item in nested if isinstance(item, BaseException)]


def _find(exc: BaseException, kind: type[E]) -> E | None:
    return next((cause for cause in _causes(exc) if isinstance(cause, kind)), None)


def _os_reason(exc: BaseException) -> str:
    for cause in _causes(exc):
        if isinstance(cause, OSError) and cause.strerror:
            return cause.strerror.lower()
    return "no connection"

"""Injected faults: wrong answers, slow or cut bodies, resets, lying lengths.

A :class:`Fault` names a route kind and applies ``times`` times (``None``: forever). When
several faults match a request, the first one added that still has uses left applies.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict, dataclass, field, fields
from threading import Lock
from typing import Any

from formexport.sandbox.platform.wire import JSON, Response, reason

#: Route kinds a fault can target; ``"any"`` matches every emulated route of both hosts.
ROUTE_KINDS = (
    "any",
    "export",
    "status",
    "download",
    "submissions",
    "form",
    "forms",
    "workspaces",
    "file",
    "validate",
    "healthcheck",
    "other",
)
HTML_PAGE = (
    b"<!doctype html><html lang=en><head><meta charset=utf-8><title>OpnForm</title></head>"
    b'<body><div id="__nuxt"></div><script src="/_nuxt/entry.js"></script></body></html>\n'
)
BROKEN_JSON = b'{"data": [{"id": 1, "title": "Customer feed'


@dataclass
class Fault:
    """A fault to inject on requests of one route kind.

    Parameters
    ----------
    route : str
        ``"export"``, ``"status"``, ``"download"``, ``"submissions"``, ``"form"``,
        ``"forms"``, ``"workspaces"``, ``"file"``, ``"validate"``, ``"healthcheck"``,
        ``"other"`` or ``"any"``.
    http_status : int, optional
        Answer with this status instead (with ``body`` and ``headers``).
    body : str or bytes, optional
        Body of the ``http_status`` answer (default ``{"message": "<reason>"}``).
    headers : dict, optional
        Extra headers of the ``http_status`` answer.
    times : int or None
        How many requests the fault applies to; None means forever.
    cut_after : int, optional
        Send the full ``Content-Length``, then close after this many body bytes.
    bytes_per_second : float, optional
        Throttle the body.
    delay : float, optional
        Seconds to wait before answering.
    reset : bool
        Close the connection without any response.
    html : bool
        Answer ``200 text/html`` with a front-end page (a proxy in the way).
    invalid_json : bool
        Answer ``200 application/json`` with a truncated body.
    length_mismatch : int, optional
        Add this (positive or negative) number to ``Content-Length`` and close after
        the body.
    stall : float, optional
        Stop sending for this many seconds once ``stall_after`` body bytes are out (a
        server or proxy that hangs mid-answer), then go on.
    stall_after : int
        Body bytes sent before the ``stall`` (default 0: right after the headers).
    advance_clock : float, optional
        Move the sandbox clock forward by this many seconds once the answer is decided, so
        the request itself is served on time and what follows is late (a link that expires
        during its download).
    range_shift : int, optional
        Answer a ``206`` from this many bytes further on than the ``Range`` asked, with a
        ``Content-Range`` that says so (a host or proxy that serves another range: asked for
        ``bytes=500-``, it answers ``bytes 600-1023/1024``).

    Examples
    --------
    >>> Fault("status", http_status=503, times=3).times
    3
    """

    route: str
    http_status: int | None = None
    body: str | bytes | None = None
    headers: dict[str, str] = field(default_factory=dict)
    times: int | None = 1
    cut_after: int | None = None
    bytes_per_second: float | None = None
    delay: float | None = None
    reset: bool = False
    html: bool = False
    invalid_json: bool = False
    length_mismatch: int | None = None
    stall: float | None = None
    stall_after: int = 0
    advance_clock: float | None = None
    range_shift: int | None = None

    def __post_init__(self) -> None:
        if self.route not in ROUTE_KINDS:
            raise ValueError(f"route must be one of {', '.join(ROUTE_KINDS)}, not {self.route!r}")
        if self.times is not None and self.times < 1:
            raise ValueError("times must be None (forever) or >= 1")
        effects = (
            self.http_status,
            self.cut_after,
            self.bytes_per_second,
            self.delay,
            self.length_mismatch,
            self.stall,
            self.advance_clock,
            self.range_shift,
        )
        if all(e is None for e in effects) and not (self.reset or self.html or self.invalid_json):
            raise ValueError("a Fault needs at least one effect (http_status, delay, reset…)")
        if self.bytes_per_second is not None and self.bytes_per_second <= 0:
            raise ValueError("bytes_per_second must be > 0")
        if self.cut_after is not None and self.cut_after < 0:
            raise ValueError("cut_after must be >= 0")
        if self.stall is not None and self.stall <= 0:
            raise ValueError("stall must be > 0 seconds")
        if self.stall_after < 0:
            raise ValueError("stall_after must be >= 0")
        if self.advance_clock is not None and self.advance_clock < 0:
            raise ValueError("advance_clock must be >= 0")
        if self.range_shift is not None and self.range_shift <= 0:
            raise ValueError("range_shift must be > 0")

    def matches(self, kind: str | None) -> bool:
        """Whether the fault targets a route of this kind."""
        return kind is not None and self.route in ("any", kind)

    def replacement(self) -> Response | None:
        """The answer that replaces the route's own, if the fault has one."""
        if self.html:
            return Response(200, [("Content-Type", "text/html; charset=UTF-8")], HTML_PAGE)
        if self.invalid_json:
            return Response(200, [("Content-Type", JSON)], BROKEN_JSON)
        if self.http_status is None:
            return None
        body = self.body if self.body is not None else _message(self.http_status)
        data = body.encode() if isinstance(body, str) else body
        headers = dict(self.headers)
        if not any(k.lower() == "content-type" for k in headers):
            headers["Content-Type"] = _sniff(data)
        return Response(self.http_status, list(headers.items()), data)

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict (bytes bodies are decoded as UTF-8)."""
        data = asdict(self)
        if isinstance(self.body, bytes):
            data["body"] = self.body.decode("utf-8", "replace")
        return data

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Fault:
        """Build a fault from JSON (``kind`` is accepted for ``route``)."""
        values = dict(data)
        if "kind" in values and "route" not in values:
            values["route"] = values.pop("kind")
        unknown = set(values) - {f.name for f in fields(cls)}
        if unknown:
            raise ValueError(f"unknown Fault fields: {', '.join(sorted(unknown))}")
        return cls(**values)


def _message(status: int) -> str:
    return '{"message":"' + reason(status) + '"}'


def _sniff(body: bytes) -> str:
    start = body.lstrip()[:1]
    if start in (b"{", b"["):
        return JSON
    if start == b"<":
        return "text/html; charset=UTF-8"
    return "text/plain; charset=UTF-8"


@dataclass
class _Entry:
    fault: Fault
    remaining: int | None


class FaultQueue:
    """Faults in the order added, each with its remaining uses."""

    def __init__(self) -> None:
        self._entries: list[_Entry] = []
        self._lock = Lock()

    def __len__(self) -> int:
        with self._lock:
            return len(self._entries)

    def add(self, fault: Fault) -> Fault:
        """Queue a fault; the queue counts its remaining uses (the Fault is not changed)."""
        with self._lock:
            self._entries.append(_Entry(fault, fault.times))
        return fault

    def clear(self) -> None:
        """Remove every fault."""
        with self._lock:
            self._entries.clear()

    def pending(self) -> list[Fault]:
        """The queued faults with uses left."""
        with self._lock:
            return [entry.fault for entry in self._entries]

    def take(self, kind: str | None) -> Fault | None:
        """Use up one application of the first fault matching ``kind``."""
        with self._lock:
            for entry in self._entries:
                if not entry.fault.matches(kind):
                    continue
                if entry.remaining is not None:
                    entry.remaining -= 1
                    if entry.remaining <= 0:
                        self._entries.remove(entry)
                return entry.fault
        return None

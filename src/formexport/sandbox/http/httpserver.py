"""The socket layer: an HTTP/1.1 keep-alive server that applies faults and logs requests.

Each host (API, file host) is a ``ThreadingHTTPServer`` running an app that turns a
:class:`~formexport.sandbox.platform.wire.Request` into a
:class:`~formexport.sandbox.platform.wire.Response`.
Here the response is written to the socket: file bodies stream in 64 KiB chunks outside
the state lock, and faults delay, cut, throttle, reset or mislabel what goes out.
Exceptions in handlers become a 500 and are kept for ``Sandbox.check()``.
"""

from __future__ import annotations

import contextlib
import logging
import socket
import socketserver
import struct
import sys
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Protocol
from urllib.parse import parse_qsl, urlsplit

from formexport.sandbox.backend.faults import Fault
from formexport.sandbox.backend.state import Backend
from formexport.sandbox.http.downloads import shifted_range
from formexport.sandbox.platform.wire import FileBody, Headers, RecordedRequest, Request, Response
from formexport.sandbox.platform.wire import json_response as _json

logger = logging.getLogger(__name__)

CHUNK = 64 * 1024
MAX_BODY = 64 * 1024 * 1024
IDLE_TIMEOUT = 30.0
_GONE = (BrokenPipeError, ConnectionResetError, ConnectionAbortedError, TimeoutError)


class App(Protocol):
    """What a host serves."""

    def is_internal(self, req: Request) -> bool:
        """Requests that are neither logged nor faulted (the control API)."""
        ...

    def classify(self, req: Request) -> str | None:
        """The fault kind of the request's route."""
        ...

    def handle(self, req: Request) -> Response:
        """Answer a request."""
        ...


class _BadRequest(Exception):
    pass


class _Server(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, address: tuple[str, int], app: App, backend: Backend) -> None:
        self.app, self.backend = app, backend
        self.connections: set[socket.socket] = set()
        self.connections_lock = threading.Lock()
        super().__init__(address, _Handler)

    def server_bind(self) -> None:
        # HTTPServer.server_bind calls getfqdn(), a reverse lookup we do not need.
        socketserver.TCPServer.server_bind(self)
        host, port = self.server_address[:2]
        self.server_name, self.server_port = str(host), int(port)

    def handle_error(self, request: object, client_address: object) -> None:
        """Stay quiet when a client hangs up between requests; report anything else."""
        if isinstance(sys.exc_info()[1], _GONE):
            return
        super().handle_error(request, client_address)  # type: ignore[arg-type]

    def drop_connections(self) -> None:
        """Shut down open keep-alive connections so their threads end."""
        with self.connections_lock:
            for connection in list(self.connections):
                with contextlib.suppress(OSError):
                    connection.shutdown(socket.SHUT_RDWR)


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    timeout = IDLE_TIMEOUT
    server: _Server

    def setup(self) -> None:
        super().setup()
        # Headers and body go out in separate writes; without this, Nagle's algorithm and
        # the client's delayed ACK add 40 ms to every keep-alive request.
        with contextlib.suppress(OSError):
            self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        with self.server.connections_lock:
            self.server.connections.add(self.connection)

    def finish(self) -> None:
        try:
            super().finish()
        except OSError:
            pass
        finally:
            with self.server.connections_lock:
                self.server.connections.discard(self.connection)

    def version_string(self) -> str:
        """``Server`` of the stdlib's own error pages (malformed requests)."""
        return "nginx"

    def log_message(self, format: str, *args: object) -> None:
        """Quiet: the request log is ``Sandbox.requests``."""

    def do_GET(self) -> None:
        """Every method goes through the same path."""
        try:
            self._serve()
        except _GONE:
            self.close_connection = True
        except Exception as exc:  # a bug here must surface in Sandbox.check()
            self.server.backend.errors.append(exc)
            self.close_connection = True

    do_HEAD = do_POST = do_PUT = do_PATCH = do_DELETE = do_OPTIONS = do_GET

    def _serve(self) -> None:
        try:
            request = self._read()
        except _BadRequest as exc:
            self.close_connection = True
            self._send(_json(400, {"message": str(exc)}), None, head=False)
            return
        arrived = time.monotonic()
        app, backend = self.server.app, self.server.backend
        internal = app.is_internal(request)
        fault = None if internal else backend.faults.take(app.classify(request))
        if fault is not None and fault.delay:
            time.sleep(fault.delay)
        if fault is not None and fault.reset:
            self._record(request, None, arrived)
            self._reset()
            return
        response = fault.replacement() if fault is not None else None
        if response is None:
            response = self._answer(request)
        if fault is not None and fault.range_shift:
            response = shifted_range(response, fault.range_shift)
        if fault is not None and fault.advance_clock:
            backend.clock.advance(fault.advance_clock)
        if not internal:
            self._record(request, response.status, arrived)
        self._send(response, fault, head=request.method == "HEAD")

    def _answer(self, request: Request) -> Response:
        try:
            return self.server.app.handle(request)
        except Exception as exc:
            logger.debug("handler error for %s %s", request.method, request.path, exc_info=True)
            self.server.backend.errors.append(exc)
            return _json(500, {"message": "Server Error"}, pretty=True)

    def _read(self) -> Request:
        split = urlsplit(self.path)
        return Request(
            method=self.command,
            path=split.path or "/",
            raw_query=split.query,
            query=dict(parse_qsl(split.query, keep_blank_values=True)),
            headers=Headers(self.headers.items()),
            body=self._read_body(),
            client_ip=self.client_address[0],
            host=f"{self.server.server_name}:{self.server.server_port}",
        )

    def _read_body(self) -> bytes:
        if "chunked" in (self.headers.get("Transfer-Encoding") or "").lower():
            return self._read_chunked()
        try:
            length = int(self.headers.get("Content-Length") or 0)
        except ValueError as exc:
            raise _BadRequest("invalid Content-Length") from exc
        if length < 0 or length > MAX_BODY:
            raise _BadRequest("unacceptable Content-Length")
        return self.rfile.read(length) if length else b""

    def _read_chunked(self) -> bytes:
        parts: list[bytes] = []
        total = 0
        while True:
            line = self.rfile.readline(1024).split(b";")[0].strip()
            try:
                size = int(line, 16)
            except ValueError as exc:
                raise _BadRequest("invalid chunk size") from exc
            if size == 0:
                while self.rfile.readline(1024).strip():
                    pass  # trailers
                return b"".join(parts)
            total += size
            if total > MAX_BODY:
                raise _BadRequest("request body too large")
            parts.append(self.rfile.read(size))
            self.rfile.readline(8)

    def _record(self, request: Request, status: int | None, arrived: float) -> None:
        self.server.backend.record(
            RecordedRequest(
                method=request.method,
                path=request.path,
                query=request.query,
                headers=request.headers,
                status=status,
                host=request.host,
                at=arrived,
                body=request.body,
            )
        )

    def _reset(self) -> None:
        """Close with an RST and no response at all."""
        self.close_connection = True
        with contextlib.suppress(OSError):
            self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        self.connection.close()

    def _send(self, response: Response, fault: Fault | None, *, head: bool) -> None:
        mismatch = fault.length_mismatch if fault is not None else None
        cut = fault.cut_after if fault is not None else None
        declared = response.length + (mismatch or 0)
        self.send_response_only(response.status)
        # nginx in front of OpnForm, unless the app names another server (S3).
        self.send_header("Server", response.header("Server") or "nginx")
        self.send_header("Date", self.date_time_string())
        for name, value in response.headers:
            if name.lower() != "server":
                self.send_header(name, value)
        self.send_header("Content-Length", str(max(declared, 0)))
        if response.close:
            self.send_header("Connection", "close")
        self.end_headers()
        if not head:
            rate = fault.bytes_per_second if fault is not None else None
            stall = (fault.stall_after, fault.stall) if fault is not None and fault.stall else None
            self._write_body(response.body, limit=cut, rate=rate, stall=stall)
        if cut is not None or mismatch:
            # The body lied or stopped short: the connection cannot be reused.
            self.close_connection = True
            with contextlib.suppress(OSError):
                self.connection.shutdown(socket.SHUT_WR)

    def _write_body(
        self,
        body: bytes | FileBody,
        *,
        limit: int | None,
        rate: float | None,
        stall: tuple[int, float] | None = None,
    ) -> None:
        size = CHUNK if rate is None else min(CHUNK, max(1024, int(rate / 20)))
        sent = 0
        started = time.monotonic()
        for chunk in _chunks(body, size, split_at=stall[0] if stall else None):
            if stall is not None and sent >= stall[0]:
                self.wfile.flush()
                time.sleep(stall[1])
                stall = None
            if limit is not None:
                chunk = chunk[: max(limit - sent, 0)]
            if chunk:
                self.wfile.write(chunk)
                sent += len(chunk)
            if limit is not None and sent >= limit:
                return
            if rate is not None:
                ahead = sent / rate - (time.monotonic() - started)
                if ahead > 0:
                    time.sleep(ahead)


def _chunks(body: bytes | FileBody, size: int, *, split_at: int | None = None) -> Iterator[bytes]:
    """``body`` in pieces of at most ``size`` bytes, one of them starting at ``split_at``."""
    offset = 0
    for piece in _pieces(body, size):
        if split_at is not None and offset < split_at < offset + len(piece):
            cut = split_at - offset
            yield piece[:cut]
            yield piece[cut:]
        else:
            yield piece
        offset += len(piece)


def _pieces(body: bytes | FileBody, size: int) -> Iterator[bytes]:
    if isinstance(body, bytes):
        view = memoryview(body)
        for start in range(0, len(body), size):
            yield bytes(view[start : start + size])
        return
    with body.path.open("rb") as stream:
        stream.seek(body.start)
        left = body.length
        while left > 0:
            chunk = stream.read(min(size, left))
            if not chunk:
                return
            left -= len(chunk)
            yield chunk


class HostServer:
    """One emulated host on a loopback address, served from a daemon thread.

    Parameters
    ----------
    host : str
        Loopback address to bind (``127.0.0.1`` or ``127.0.0.2``).
    port : int
        Port, 0 for any free one.
    app : App
        What to serve.
    backend : Backend
        Shared state (fault queue, request log, handler errors).
    """

    def __init__(self, host: str, port: int, app: App, backend: Backend) -> None:
        self._server = _Server((host, port), app, backend)
        self._thread = threading.Thread(
            target=self._server.serve_forever,
            kwargs={"poll_interval": 0.05},
            name=f"formexport-sandbox-{host}",
            daemon=True,
        )
        self._thread.start()

    @property
    def netloc(self) -> str:
        """``host:port`` actually bound."""
        return f"{self._server.server_name}:{self._server.server_port}"

    @property
    def url(self) -> str:
        """``http://host:port``."""
        return f"http://{self.netloc}"

    def close(self) -> None:
        """Stop serving and close every connection."""
        self._server.shutdown()
        self._server.drop_connections()
        self._server.server_close()
        self._thread.join(timeout=5)

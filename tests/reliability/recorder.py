"""A loopback HTTP server that records request headers, speaking plain HTTP and TLS on one port.

The emulator covers OpnForm's hosts; this one stands for "somewhere else" in the origin tests:
another port, or the same host and port under the other scheme (TLS is told apart by the
first byte of a connection, so ``http://`` and ``https://`` share the port).
"""

from __future__ import annotations

import json
import socket
import socketserver
import ssl
import threading
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import trustme

_TLS_HANDSHAKE = b"\x16"


@dataclass
class Seen:
    """One request as the recorder received it."""

    scheme: str
    path: str
    headers: dict[str, str]


@dataclass
class Recorder:
    """Records requests; answers 302 where told to, ``{}`` with 404 elsewhere."""

    ca: trustme.CA = field(default_factory=trustme.CA)
    seen: list[Seen] = field(default_factory=list)
    redirects: dict[tuple[str, str], str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        self.ca.issue_cert("127.0.0.1", "localhost").configure_cert(context)
        self._server = _DualServer(("127.0.0.1", 0), _Handler, context, self)
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        self._thread.start()

    def url(self, scheme: str) -> str:
        """``scheme://127.0.0.1:port``."""
        return f"{scheme}://127.0.0.1:{self._server.server_address[1]}"

    def trust(self, folder: Path) -> str:
        """Write the CA certificate into ``folder``; return its path (for REQUESTS_CA_BUNDLE)."""
        path = folder / "recorder-ca.pem"
        self.ca.cert_pem.write_to_path(str(path))
        return str(path)

    def close(self) -> None:
        """Stop serving."""
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=5)


class _DualServer(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(
        self,
        address: tuple[str, int],
        handler: type[BaseHTTPRequestHandler],
        context: ssl.SSLContext,
        recorder: Recorder,
    ) -> None:
        self.context = context
        self.recorder = recorder
        super().__init__(address, handler)

    def server_bind(self) -> None:
        socketserver.TCPServer.server_bind(self)  # no reverse lookup of the address

    def get_request(self) -> tuple[socket.socket, object]:
        connection, address = self.socket.accept()
        connection.settimeout(5)
        if connection.recv(1, socket.MSG_PEEK) == _TLS_HANDSHAKE:
            connection = self.context.wrap_socket(connection, server_side=True)
        return connection, address


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: _DualServer

    def log_message(self, format: str, *args: object) -> None:
        """Quiet."""

    def do_GET(self) -> None:
        scheme = "https" if isinstance(self.connection, ssl.SSLSocket) else "http"
        recorder = self.server.recorder
        recorder.seen.append(Seen(scheme, self.path, dict(self.headers.items())))
        target = recorder.redirects.get((scheme, self.path))
        body = json.dumps({} if target else {"message": "recorded"}).encode()
        self.send_response(302 if target else 404)
        if target:
            self.send_header("Location", target)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

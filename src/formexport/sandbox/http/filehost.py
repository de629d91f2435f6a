"""The S3-like file host (served on 127.0.0.2): presigned GETs and S3's XML errors.

Checks, in S3's order: an ``Authorization`` header next to query authentication → 400
``InvalidArgument``; no presigned parameters → 403 ``AccessDenied``; an expired URL → 403
``AccessDenied`` "Request has expired"; a wrong signature → 403 ``SignatureDoesNotMatch``;
a missing object → 404 ``NoSuchKey``. Objects carry a guessed ``Content-Type`` and no
``Content-Disposition`` (OpnForm's hyphenated upload options are ignored by Flysystem).
"""

from __future__ import annotations

import hashlib
import secrets
from pathlib import Path
from urllib.parse import unquote
from xml.sax.saxutils import escape

from formexport.sandbox.backend.state import Backend
from formexport.sandbox.http.downloads import file_response, inside
from formexport.sandbox.platform.clock import http_date, utc
from formexport.sandbox.platform.signing import Check, s3_expiry_start
from formexport.sandbox.platform.wire import Request, Response

TWO_AUTH = (
    "Only one auth mechanism allowed; only the X-Amz-Algorithm query parameter, Signature "
    "query string parameter or the Authorization header should be specified"
)
BAD_SIGNATURE = (
    "The request signature we calculated does not match the signature you provided. "
    "Check your key and signing method."
)


def s3_error(status: int, code: str, message: str, **details: str) -> Response:
    """An S3 XML error document."""
    request_id = secrets.token_hex(8).upper()
    extra = "".join(f"<{k}>{escape(v)}</{k}>" for k, v in details.items())
    body = (
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        f"<Error><Code>{code}</Code><Message>{escape(message)}</Message>{extra}"
        f"<RequestId>{request_id}</RequestId><HostId>{secrets.token_hex(24)}</HostId></Error>"
    ).encode()
    return Response(status, [*_s3_headers(request_id), ("Content-Type", "application/xml")], body)


def _s3_headers(request_id: str) -> list[tuple[str, str]]:
    return [("x-amz-request-id", request_id), ("x-amz-id-2", secrets.token_hex(16))]


class S3App:
    """Answers presigned GETs for export files written by the backend."""

    def __init__(self, backend: Backend) -> None:
        self.backend = backend

    def is_internal(self, req: Request) -> bool:
        """Every request to the file host is logged."""
        return False

    def classify(self, req: Request) -> str | None:
        """All requests here are downloads."""
        return "download"

    def handle(self, req: Request) -> Response:
        """Check the request like S3 and stream the object."""
        if req.method not in ("GET", "HEAD"):
            return s3_error(
                405,
                "MethodNotAllowed",
                "The specified method is not allowed against this resource.",
            )
        authorization = req.headers.get("Authorization")
        if authorization is not None:
            return s3_error(
                400,
                "InvalidArgument",
                TWO_AUTH,
                ArgumentName="Authorization",
                ArgumentValue=authorization,
            )
        with self.backend.lock:
            now = self.backend.now()
            check = self.backend.signer.check_s3(req.path, req.query, now)
            honour_range = self.backend.config.range_requests
        refused = _refusal(check, req, now)
        if refused is not None:
            return refused
        key = unquote(req.path).lstrip("/")
        target = inside(self.backend.files_dir / "s3", key)
        if target is None or not target.is_file():
            return s3_error(404, "NoSuchKey", "The specified key does not exist.", Key=key)
        return self._object(target, req, honour_range)

    def _object(self, target: Path, req: Request, honour_range: bool) -> Response:
        stat = target.stat()
        etag = hashlib.md5(
            f"{stat.st_size}:{stat.st_mtime_ns}".encode(), usedforsecurity=False
        ).hexdigest()
        headers = [
            *_s3_headers(secrets.token_hex(8).upper()),
            ("Last-Modified", http_date(stat.st_mtime)),
            ("ETag", f'"{etag}"'),
            ("Content-Type", "text/csv"),
            ("Server", "AmazonS3"),
        ]
        return file_response(
            target,
            headers=headers,
            range_header=req.headers.get("Range"),
            honour_range=honour_range,
            unsatisfiable=lambda size: s3_error(
                416,
                "InvalidRange",
                "The requested range is not satisfiable",
                RangeRequested=str(req.headers.get("Range")),
                ActualObjectSize=str(size),
            ),
        )


def _refusal(check: Check, req: Request, now: float) -> Response | None:
    if check is Check.MISSING:
        return s3_error(403, "AccessDenied", "Access Denied")
    if check is Check.EXPIRED:
        start = s3_expiry_start(req.query["X-Amz-Date"]) or now
        expires = start + int(req.query["X-Amz-Expires"])
        return s3_error(
            403,
            "AccessDenied",
            "Request has expired",
            **{
                "X-Amz-Expires": req.query["X-Amz-Expires"],
                "Expires": utc(expires).strftime("%Y-%m-%dT%H:%M:%SZ"),
                "ServerTime": utc(now).strftime("%Y-%m-%dT%H:%M:%SZ"),
            },
        )
    if check is Check.INVALID:
        return s3_error(403, "SignatureDoesNotMatch", BAD_SIGNATURE)
    return None

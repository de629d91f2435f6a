"""Signed links: Laravel signed routes and S3-style presigned URLs.

Laravel signs ``url?expires=…`` with HMAC-SHA256 (``APP_KEY``) and appends
``&signature=<64 hex>``; the check rebuilds the URL from the request minus ``signature``.
The emulator signs the path and query only, so a link works whichever loopback name the
client used. The S3 form mimics SigV4 query parameters; its signature is an HMAC too
(nothing outside the emulator verifies it).
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import secrets
from enum import Enum
from urllib.parse import quote, unquote, urlencode

from formexport.sandbox.platform.clock import amz_date
from formexport.sandbox.platform.php import parse_str

S3_ACCESS_KEY = "AKIASANDBOXEXAMPLE00"
S3_REGION = "us-east-1"
#: AWS refuses presigned URLs valid for longer than seven days.
S3_MAX_EXPIRES = 7 * 86400


class Check(Enum):
    """Outcome of a signature check."""

    OK = "ok"
    INVALID = "invalid"
    EXPIRED = "expired"
    MISSING = "missing"


class Signer:
    """Creates and checks the emulator's signed URLs.

    Parameters
    ----------
    key : bytes, optional
        The HMAC key (``APP_KEY``); random when omitted.
    """

    def __init__(self, key: bytes | None = None) -> None:
        self._key = key or secrets.token_bytes(32)

    def _mac(self, message: str) -> str:
        return hmac.new(self._key, message.encode(), hashlib.sha256).hexdigest()

    # --- Laravel signed routes -----------------------------------------------------

    def sign_route(self, path: str, expires: int | None) -> str:
        """``path?expires=…&signature=…`` (no ``expires`` for a permanent link)."""
        if expires is None:
            return f"{path}?signature={self._mac(path)}"
        unsigned = f"{path}?expires={expires}"
        return f"{unsigned}&signature={self._mac(unsigned)}"

    def check_route(self, path: str, raw_query: str, now: float) -> Check:
        """``hasValidSignature``: the HMAC of path + query (minus ``signature``), then expiry."""
        parts = raw_query.split("&") if raw_query else []
        given = [p[len("signature=") :] for p in parts if p.startswith("signature=")]
        if not given:
            return Check.MISSING
        rest = "&".join(p for p in parts if not p.startswith("signature="))
        original = f"{path}?{rest}" if rest else path
        if not hmac.compare_digest(self._mac(original), given[-1]):
            return Check.INVALID
        expires = parse_str(rest).get("expires")
        if isinstance(expires, str) and expires and int(now) > _to_int(expires):
            return Check.EXPIRED
        return Check.OK

    # --- S3 presigned URLs ---------------------------------------------------------

    def presign_s3(self, path: str, now: float, expires_in: int) -> str:
        """The query string of a presigned GET for ``path`` (``/<bucket>/<key>``)."""
        stamp = amz_date(now)
        params = {
            "X-Amz-Algorithm": "AWS4-HMAC-SHA256",
            "X-Amz-Credential": f"{S3_ACCESS_KEY}/{stamp[:8]}/{S3_REGION}/s3/aws4_request",
            "X-Amz-Date": stamp,
            "X-Amz-Expires": str(expires_in),
            "X-Amz-SignedHeaders": "host",
        }
        signature = self._mac(_canonical(path, params))
        return urlencode(params, quote_via=quote) + f"&X-Amz-Signature={signature}"

    def check_s3(self, path: str, query: dict[str, str], now: float) -> Check:
        """Check a presigned request: missing parameters, expiry, then the signature."""
        names = ("X-Amz-Algorithm", "X-Amz-Date", "X-Amz-Expires", "X-Amz-Signature")
        if any(name not in query for name in names):
            return Check.MISSING
        signed = {k: v for k, v in query.items() if k.startswith("X-Amz-")}
        signature = signed.pop("X-Amz-Signature")
        start = s3_expiry_start(query["X-Amz-Date"])
        if start is None:
            return Check.INVALID
        if now > start + _to_int(query["X-Amz-Expires"]):
            return Check.EXPIRED
        if not hmac.compare_digest(self._mac(_canonical(path, signed)), signature):
            return Check.INVALID
        return Check.OK


def _canonical(path: str, params: dict[str, str]) -> str:
    return unquote(path) + "?" + urlencode(sorted(params.items()), quote_via=quote)


def _to_int(text: str) -> int:
    try:
        return int(text)
    except ValueError:
        return 0


def s3_expiry_start(stamp: str) -> float | None:
    """Unix seconds of an ``X-Amz-Date`` value, or None when malformed."""
    from datetime import datetime, timezone

    try:
        parsed = datetime.strptime(stamp, "%Y%m%dT%H%M%SZ").replace(tzinfo=timezone.utc)
    except ValueError:
        return None
    return parsed.timestamp()


# --- in-CSV file links -----------------------------------------------------------------


def encode_file_name(name: str, *, b64: bool) -> str:
    """The ``{filename}`` route segment: base64url (v1.13.2+) or the raw name."""
    if b64:
        return base64.urlsafe_b64encode(name.encode()).decode().rstrip("=")
    return quote(name, safe="")


def decode_file_name(segment: str, *, b64: bool) -> str | None:
    """The stored file name in a ``{filename}`` segment, or None if it does not decode."""
    if not b64:
        return unquote(segment) or None
    try:
        padded = segment + "=" * (-len(segment) % 4)
        return base64.urlsafe_b64decode(padded.encode()).decode() or None
    except (binascii.Error, UnicodeDecodeError, ValueError):
        return None

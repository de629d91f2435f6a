"""``GET /open/forms/{form}/submissions/file/{filename}``: a file a respondent uploaded.

``FormSubmissionController::submissionFile`` behind the ``signed:relative`` middleware: a bad
or expired signature is 403 "Invalid signature."; the name is base64url-decoded (a segment
that does not decode is taken as it is, as ``FilenameUrlEncoder::decode`` does);
``FileUploadPathService`` refuses a name holding ``/`` or ``\\`` with an exception (500); a file
the disk does not have is 404 ``{"type": "error", "message": "File not found."}``. Local
storage answers with the file (Laravel's ``response()->download``, ``Range`` honoured); S3
storage redirects (302) to a presigned URL valid for one minute.
"""

from __future__ import annotations

import hashlib
import threading
import unicodedata
from pathlib import Path
from urllib.parse import quote

from formexport.sandbox.backend.state import BUCKET
from formexport.sandbox.data.uploads import name_key
from formexport.sandbox.http.context import Context
from formexport.sandbox.http.downloads import file_response
from formexport.sandbox.platform.signing import Check, decode_file_name
from formexport.sandbox.platform.wire import HttpError, Response, abort, json_response

_TOKEN = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789!#$%&'*.^_`|~-")


def file_link(ctx: Context) -> Response:
    """Check the signed link, then serve (or redirect to) the uploaded file."""
    form = ctx.bind_form()
    backend = ctx.backend
    path = ctx.req.route_path.rstrip("/")
    if backend.signer.check_route(path, ctx.req.raw_query, ctx.now()) is not Check.OK:
        raise abort(403, "Invalid signature.")
    segment = ctx.params["filename"]
    name = decode_file_name(segment, b64=ctx.profile.file_links_b64) or segment
    if "/" in name or "\\" in name:
        # validatePathComponent throws; Laravel renders the exception without details.
        raise abort(500, "Server Error")
    stored = backend.uploads.file(form.id, name)
    if stored is None:
        raise HttpError(json_response(404, {"type": "error", "message": "File not found."}))
    if ctx.config.file_host == "s3":
        return _redirect_to_s3(ctx, form.id, name, stored)
    headers = [
        ("Content-Type", "application/octet-stream"),
        ("X-Content-Type-Options", "nosniff"),
        ("Content-Disposition", disposition(name)),
    ]
    return file_response(
        stored,
        headers=headers,
        range_header=ctx.req.headers.get("Range"),
        honour_range=ctx.config.range_requests,
        unsatisfiable=lambda size: Response(416, [("Content-Range", f"bytes */{size}")]),
    )


def disposition(name: str) -> str:
    """``Content-Disposition`` as Symfony makes it for ``response()->download($path, $name)``.

    Laravel passes an ASCII fallback (``Str::ascii`` without ``%``, ``/`` and ``\\``); the
    UTF-8 name follows as ``filename*`` when it differs. Values are quoted only when needed.
    """
    fallback = "".join(
        c
        for c in unicodedata.normalize("NFKD", name)
        if c.isascii() and c.isprintable() and c not in '%/\\"'
    )
    header = f"attachment; filename={_quoted(fallback)}"
    if fallback != name:
        header += f"; filename*=utf-8''{quote(name_key(name), safe='')}"
    return header


def _quoted(value: str) -> str:
    if value and all(c in _TOKEN for c in value):
        return value
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'


def _redirect_to_s3(ctx: Context, form_id: int, name: str, stored: Path) -> Response:
    backend = ctx.backend
    # S3 keys are literal names; on the emulator's disk they go by a digest of the name.
    key = f"forms/{form_id}/submissions/{hashlib.sha256(name_key(name)).hexdigest()}"
    target = backend.files_dir / "s3" / BUCKET / key
    target.parent.mkdir(parents=True, exist_ok=True)
    written = target.with_name(f"{target.name}.{threading.get_ident()}.tmp")
    written.write_bytes(stored.read_bytes())
    written.replace(target)  # another request may be reading the object
    path = f"/{BUCKET}/{quote(key)}"
    url = f"{backend.file_host_url()}{path}?{backend.signer.presign_s3(path, ctx.now(), 60)}"
    page = f'<!DOCTYPE html><html><head><meta charset="UTF-8" /><title>Redirecting to {url}</title>'
    page += f'</head><body>Redirecting to <a href="{url}">{url}</a>.</body></html>'
    return Response(
        302, [("Location", url), ("Content-Type", "text/html; charset=utf-8")], page.encode()
    )

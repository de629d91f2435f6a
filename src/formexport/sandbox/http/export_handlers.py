"""Handlers of the export flow: start (sync CSV or async job), status, downloads.

Order inside the export controller: model binding (404) → validation (422) → policy
(403) → the sync/async decision on ``count(submissionIds)`` or the form's total.
"""

from __future__ import annotations

import base64
from urllib.parse import quote, unquote

from formexport.sandbox.backend.state import BUCKET
from formexport.sandbox.http.context import Context
from formexport.sandbox.http.downloads import file_response, inside
from formexport.sandbox.http.validation import read_input, validate_export
from formexport.sandbox.platform.signing import Check, decode_file_name
from formexport.sandbox.platform.wire import HttpError, Response, abort, json_response
from formexport.sandbox.writers.cells import plan_columns
from formexport.sandbox.writers.exports import Exporter

ASYNC_MESSAGE = "Export started. Large export will be processed in the background."
JOB_NOT_FOUND = "Export job not found or has expired."
_PNG = base64.b64decode(
    "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNkYPhfDwAChwGA60e6kgAAAABJRU5ErkJggg=="
)
_LOCAL_HEADERS = [
    ("X-Content-Type-Options", "nosniff"),
    ("X-Frame-Options", "DENY"),
    ("Content-Security-Policy", "default-src 'none'; style-src 'unsafe-inline'; sandbox"),
]


def export(ctx: Context) -> Response:
    """``POST /open/forms/{f}/submissions/export``."""
    form = ctx.bind_form()
    request = validate_export(read_input(ctx.req), form, ctx.profile)
    ctx.authorize_view(form)
    backend, profile = ctx.backend, ctx.profile
    count = len(request.submission_ids) if request.submission_ids else len(form.submissions)
    if profile.async_export and count > ctx.config.sync_threshold:
        job = backend.start_job(form, ctx.user_id, request.selected, request.submission_ids)
        body = {"type": "success", "message": ASYNC_MESSAGE, "job_id": job.id, "is_async": True}
        return json_response(200, body)
    link = backend.exporter.file_link(
        root=ctx.req.root,
        form_id=form.id,
        b64=profile.file_links_b64,
        expires=backend.link_expiry(ctx.now()),
    )
    columns = plan_columns(form, request.selected, attribution=profile.attribution)
    ids = Exporter.row_ids(form, request.submission_ids)
    csv, content_type = backend.exporter.sync_body(form, ids, columns, link)
    headers = [
        ("Content-Type", content_type),
        ("Content-Disposition", f"attachment; filename={form.slug}-submission-data.csv"),
        ("Cache-Control", "public"),
    ]
    return Response(200, headers, csv)


def export_status(ctx: Context) -> Response:
    """``GET …/export/status/{jobId}``: the job's cache entry, or 404 ``type: error``."""
    form = ctx.bind_form()
    ctx.authorize_view(form)
    # No ownership check: any job id is readable through any form the caller may view.
    body = ctx.backend.poll_job(ctx.params["job"])
    if body is None:
        raise HttpError(json_response(404, {"type": "error", "message": JOB_NOT_FOUND}))
    return json_response(200, body)


def local_temp(ctx: Context) -> Response:
    """``GET /local/temp/{path}``: a signed export file on the local disk (401 if unsigned)."""
    backend = ctx.backend
    path = ctx.req.route_path
    if backend.signer.check_route(path, ctx.req.raw_query, ctx.now()) is not Check.OK:
        raise abort(401, "")
    target = inside(backend.files_dir / "local", unquote(ctx.params["path"]))
    if target is None or not target.is_file():
        raise abort(404, "")
    headers = [
        ("Content-Type", "text/csv; charset=UTF-8"),
        ("Content-Disposition", f'attachment; filename="{target.name}"'),
        *_LOCAL_HEADERS,
    ]
    return file_response(
        target,
        headers=headers,
        range_header=ctx.req.headers.get("Range"),
        honour_range=ctx.config.range_requests,
        unsatisfiable=lambda size: Response(416, [("Content-Range", f"bytes */{size}")]),
    )


def file_link(ctx: Context) -> Response:
    """``GET /open/forms/{f}/submissions/file/{name}``: an uploaded file (signed link).

    Local storage answers with the file; S3 storage redirects (302) to a presigned URL
    valid for one minute.
    """
    form = ctx.bind_form()
    backend = ctx.backend
    path = ctx.req.route_path.rstrip("/")
    if backend.signer.check_route(path, ctx.req.raw_query, ctx.now()) is not Check.OK:
        raise abort(403, "Invalid signature.")
    name = decode_file_name(ctx.params["filename"], b64=ctx.profile.file_links_b64)
    if name is None or "/" in name:
        raise abort(404, "")
    content = _PNG if name.lower().endswith(".png") else f"Sandbox file {name}\n".encode()
    if ctx.config.file_host == "s3":
        return _redirect_to_s3(ctx, form.id, name, content)
    headers = [
        ("Content-Type", "application/octet-stream"),
        ("Content-Disposition", f'attachment; filename="{name}"'),
    ]
    return Response(200, headers, content)


def _redirect_to_s3(ctx: Context, form_id: int, name: str, content: bytes) -> Response:
    backend = ctx.backend
    key = f"forms/{form_id}/submissions/{name}"
    stored = backend.files_dir / "s3" / BUCKET / key
    stored.parent.mkdir(parents=True, exist_ok=True)
    stored.write_bytes(content)
    path = f"/{BUCKET}/{quote(key)}"
    url = f"{backend.file_host_url()}{path}?{backend.signer.presign_s3(path, ctx.now(), 60)}"
    page = f'<!DOCTYPE html><html><head><meta charset="UTF-8" /><title>Redirecting to {url}</title>'
    page += f'</head><body>Redirecting to <a href="{url}">{url}</a>.</body></html>'
    return Response(
        302, [("Location", url), ("Content-Type", "text/html; charset=utf-8")], page.encode()
    )

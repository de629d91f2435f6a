"""Handlers of the export flow: start (sync CSV or async job), status, the export file.

Order inside the export controller: model binding (404) → validation (422) → policy
(403) → the sync/async decision on ``count(submissionIds)`` or the form's total.
"""

from __future__ import annotations

from urllib.parse import unquote

from formexport.sandbox.http.context import Context
from formexport.sandbox.http.downloads import file_response, inside
from formexport.sandbox.http.validation import read_input, validate_export
from formexport.sandbox.platform.signing import Check
from formexport.sandbox.platform.wire import HttpError, Response, abort, json_response
from formexport.sandbox.writers.cells import plan_columns
from formexport.sandbox.writers.exports import Exporter

ASYNC_MESSAGE = "Export started. Large export will be processed in the background."
JOB_NOT_FOUND = "Export job not found or has expired."
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

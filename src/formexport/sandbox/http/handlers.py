"""Handlers of the JSON endpoints: workspaces, forms, submissions, token check, health.

Each handler runs after authentication, the token whitelist and the throttle; it binds
models (404), checks policies (403) and renders a resource.
"""

from __future__ import annotations

import json
import random
import re
from collections.abc import Sequence

from formexport.sandbox.data.catalog import STATUS_FILTERS, Form
from formexport.sandbox.http.context import Context
from formexport.sandbox.http.pagination import page_number, paginate
from formexport.sandbox.http.resources import (
    form_list_item,
    form_resource,
    submission_item,
    workspace_resource,
)
from formexport.sandbox.platform.wire import Response, abort, json_response

SUBMISSION_LINK_SECONDS = 600
_LEADING_INT = re.compile(r"^\s*([+-]?\d+)")


def php_intval(raw: str | None, default: int) -> int:
    """PHP ``(int)`` of a query value: its leading integer, else 0; ``default`` if absent."""
    if raw is None:
        return default
    match = _LEADING_INT.match(raw)
    return int(match.group(1)) if match else 0


def list_workspaces(ctx: Context) -> Response:
    """``GET /open/workspaces``: a bare array (``workspaces-read``)."""
    ctx.authorize(ctx.can("workspaces-read"))
    workspaces = ctx.backend.accounts.workspaces_of(ctx.user_id)
    return json_response(200, [workspace_resource(w, ctx.user_id) for w in workspaces])


def workspace_forms(ctx: Context) -> Response:
    """``GET /open/workspaces/{id}/forms``: paginated, newest update first."""
    workspace = ctx.bind_workspace()
    ctx.authorize(ctx.member_of(workspace.id) and ctx.can("forms-read"))
    profile, now, root = ctx.profile, ctx.now(), ctx.req.root
    forms = [f for f in ctx.backend.catalog.forms.values() if f.workspace_id == workspace.id]
    forms.sort(key=lambda f: (f.updated_at, f.id), reverse=True)
    per_page = 10
    if profile.forms_per_page:
        per_page = min(max(php_intval(ctx.req.query.get("per_page"), 10), 1), 100)
    page = page_number(ctx.req.query.get("page"))
    chunk = forms[(page - 1) * per_page : page * per_page]
    items = [
        form_list_item(f, root, now) if profile.light_form_list else form_resource(f, root)
        for f in chunk
    ]
    path = root + ctx.req.route_path.rstrip("/")
    query = ctx.req.query if profile.forms_per_page else None
    body = paginate(items, total=len(forms), per_page=per_page, page=page, path=path, query=query)
    return json_response(200, body)


def all_forms(ctx: Context) -> Response:
    """``GET /open/forms`` (deprecated): every form of the user's workspaces, a bare array.

    ``FormController::indexAll`` authorizes inside its loop over the workspaces, so a user in
    none gets ``[]`` whatever the token's abilities; forms come workspace by workspace, each
    workspace's in id order (no ``orderBy``).
    """
    items = []
    for workspace in ctx.backend.accounts.workspaces_of(ctx.user_id):
        ctx.authorize(ctx.can("forms-read"))
        forms = [f for f in ctx.backend.catalog.forms.values() if f.workspace_id == workspace.id]
        items += [form_resource(f, ctx.req.root) for f in sorted(forms, key=lambda f: f.id)]
    return json_response(200, items)


def show_form(ctx: Context) -> Response:
    """``GET /open/forms/{id|slug}``."""
    form = ctx.bind_form()
    ctx.authorize_view(form)
    return json_response(200, form_resource(form, ctx.req.root))


def submissions(ctx: Context) -> Response:
    """``GET /open/forms/{f}/submissions``: 100 per page, links without the query string."""
    form = ctx.bind_form()
    ctx.authorize_read(form)
    query = ctx.req.query
    per_page = min(php_intval(query.get("per_page"), 100), 100) or 15
    status = query.get("status", "all")
    ids: Sequence[int] = form.submissions.ordered_ids(status if status in STATUS_FILTERS else "all")
    if query.get("search"):
        ids = _search(form, ids, query["search"])
    page = page_number(query.get("page"))
    # A negative per_page is not guarded: Laravel drops the limit and the offset.
    start, stop = (0, len(ids)) if per_page < 0 else ((page - 1) * per_page, page * per_page)
    ties = random.Random() if ctx.config.tie_order == "random" else None
    chosen = form.submissions.window(ids, start, stop, ties)
    profile, backend = ctx.profile, ctx.backend
    link = backend.exporter.file_link(
        root=ctx.req.root,
        form_id=form.id,
        b64=profile.file_links_b64,
        expires=int(ctx.now() + SUBMISSION_LINK_SECONDS),
    )
    items = []
    for submission_id in chosen:
        submission = form.submissions.get(submission_id)
        if submission is not None:
            items.append(
                submission_item(
                    form,
                    submission,
                    link=link,
                    profile=profile,
                    encoder=backend.exporter.encoder,
                )
            )
    path = ctx.req.root + ctx.req.route_path.rstrip("/")
    body = paginate(items, total=len(ids), per_page=per_page, page=page, path=path)
    return json_response(200, body)


def _search(form: Form, ids: Sequence[int], needle: str) -> list[int]:
    """``search``: a case-insensitive substring of any stored value (MySQL/Postgres only)."""
    wanted = needle.lower()
    found = []
    for submission_id in ids:
        submission = form.submissions.get(submission_id)
        if submission is None:
            continue
        text = json.dumps(list(submission.data.values()), ensure_ascii=False).lower()
        if wanted in text:
            found.append(submission_id)
    return found


def zapier_validate(ctx: Context) -> Response:
    """``GET /external/zapier/validate``: the token's user."""
    user = ctx.backend.accounts.ensure_user(ctx.user_id)
    return json_response(200, {"name": user.name, "email": user.email})


def healthcheck(ctx: Context) -> Response:
    """``GET /healthcheck`` (self-hosted)."""
    return json_response(200, {"status": "ok", "dependencies": {"database": True, "redis": True}})


def blocked(ctx: Context) -> Response:
    """Routes outside the token whitelist; tokens never get here."""
    raise abort(404, "")

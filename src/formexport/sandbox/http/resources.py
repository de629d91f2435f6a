"""JSON shapes of the API resources (OpnForm's ``app/Http/Resources``).

``WorkspaceController::index`` items, ``FormResource`` (owner view, with ``properties``
and ``removed_properties``), ``FormListResource`` (v1.13.0+, no properties) and
``FormSubmissionResource`` (raw stored values; files become ``[{file_url, file_name}]``).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from formexport.sandbox.backend.accounts import Workspace
from formexport.sandbox.data.catalog import Form
from formexport.sandbox.data.fields import Submission, public_id
from formexport.sandbox.data.hashid import HashidEncoder
from formexport.sandbox.platform.clock import iso_model, iso_offset, ymd_his
from formexport.sandbox.platform.profiles import Profile

LinkMaker = Callable[[str], str]
_UNITS = (("year", 31536000), ("month", 2592000), ("week", 604800), ("day", 86400))
_SMALL_UNITS = (("hour", 3600), ("minute", 60), ("second", 1))


def workspace_resource(workspace: Workspace, user_id: int) -> dict[str, Any]:
    """An item of ``GET /open/workspaces``."""
    role = workspace.members.get(user_id)
    return {
        "id": workspace.id,
        "name": workspace.name,
        "icon": workspace.icon,
        "settings": {},
        "custom_domains": [],
        "created_at": iso_model(workspace.created_at),
        "updated_at": iso_model(workspace.created_at),
        "plan_tier": "pro",
        "is_trialing": False,
        "users_count": len(workspace.members),
        "is_yearly_plan": False,
        "max_file_size": 10,
        "is_readonly": role == "readonly",
        "is_admin": role == "admin",
        "features": [],
        "limits": {},
        "required_tiers": {},
        "is_grandfathered": False,
    }


def _common(form: Form, root: str) -> dict[str, Any]:
    return {
        "id": form.id,
        "slug": form.slug,
        "title": form.title,
        "visibility": "public",
        "tags": [],
        "views_count": len(form.submissions) * 3,
        "submissions_count": form.submissions.completed_count(),
        "closes_at": None,
        "is_closed": False,
        "max_submissions_count": None,
        "max_number_of_submissions_reached": False,
        "workspace_id": form.workspace_id,
        "share_url": f"{root}/forms/{form.slug}",
    }


def form_resource(form: Form, root: str) -> dict[str, Any]:
    """``FormResource`` as the form's owner sees it."""
    return {
        **_common(form, root),
        "description": None,
        "properties": form.properties,
        "removed_properties": form.removed_properties,
        "enable_partial_submissions": form.partial,
        "submissions_url": f"{root}/forms/{form.slug}/show/submissions",
        "created_at": iso_model(form.created_at),
        "updated_at": iso_model(form.updated_at),
    }


def form_list_item(form: Form, root: str, now: float) -> dict[str, Any]:
    """``FormListResource`` (v1.13.0+): no properties, ISO dates with an offset."""
    return {
        **_common(form, root),
        "created_at": iso_offset(form.created_at),
        "updated_at": iso_offset(form.updated_at),
        "last_edited_human": diff_for_humans(now - form.updated_at),
        "plan_tier": "pro",
    }


def diff_for_humans(seconds: float) -> str:
    """Carbon ``diffForHumans`` for a past moment: ``"3 days ago"``."""
    elapsed = max(int(seconds), 0)
    for unit, size in (*_UNITS, *_SMALL_UNITS):
        if elapsed >= size or unit == "second":
            count = max(elapsed // size, 1)
            return f"{count} {unit}{'s' if count != 1 else ''} ago"
    return "1 second ago"


def submission_item(
    form: Form,
    submission: Submission,
    *,
    link: LinkMaker,
    profile: Profile,
    encoder: HashidEncoder,
) -> dict[str, Any]:
    """``FormSubmissionResource`` for the JSON submissions list."""
    types = form.field_types()
    data: dict[str, Any] = {}
    for field_id, value in submission.data.items():
        if types.get(field_id) in ("files", "signature") and value:
            names = value if isinstance(value, list) else [value]
            data[field_id] = [{"file_url": link(str(n)), "file_name": str(n)} for n in names if n]
        else:
            data[field_id] = value
    visible_id = (
        public_id(submission.id) if profile.public_submission_id else encoder.encode(submission.id)
    )
    data.update(
        status="partial" if submission.partial else "completed",
        created_at=ymd_his(submission.created_at),
        id=submission.id,
        submission_id=visible_id,
    )
    item: dict[str, Any] = {
        "data": data,
        "completion_time": submission.completion_time,
        "form_id": form.id,
        "id": submission.id,
        "submission_id": visible_id,
    }
    if profile.attribution and submission.meta and submission.meta.get("attribution"):
        item["meta"] = {"attribution": submission.meta["attribution"]}
    return item

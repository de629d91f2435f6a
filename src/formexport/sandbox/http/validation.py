"""``FormSubmissionExportRequest``: the export body's validation, with Laravel's 422 shape.

Rules: ``columns`` required (v1.13.2+) and an array whose keys are field ids, removed field
ids, ``created_at``, ``status`` (v2.0.0+) or ``meta.attribution.<p>`` (v2.4.0+), each value
passing ``boolean``; ``submissionIds`` (v1.13.0+) an array of ids of this form. Input merges
the query string and the body.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Any

from formexport.sandbox.data.catalog import Form
from formexport.sandbox.platform.php import as_php_array, parse_str
from formexport.sandbox.platform.profiles import Profile
from formexport.sandbox.platform.wire import HttpError, Request, abort, json_response
from formexport.sandbox.writers.cells import ATTRIBUTION_PREFIX

ATTRIBUTION_PARAMS = (
    "utm_source",
    "utm_medium",
    "utm_campaign",
    "utm_id",
    "utm_term",
    "utm_content",
    "utm_source_platform",
    "utm_creative_format",
    "utm_marketing_tactic",
    "gclid",
    "gbraid",
    "wbraid",
    "dclid",
    "fbclid",
    "ttclid",
    "msclkid",
)
_INT = re.compile(r"^\s*[+-]?(0|[1-9]\d*)\s*$")


@dataclass(frozen=True)
class ExportInput:
    """A validated export request."""

    selected: list[str]  # column keys whose value is JSON true, in request order
    submission_ids: list[int] | None  # as given (duplicates kept), None when absent


def read_input(req: Request) -> dict[str, Any]:
    """``$request->all()``: query parameters overlaid by a JSON or form-encoded body."""
    merged = parse_str(req.raw_query)
    content_type = (req.headers.get("Content-Type") or "").lower()
    body: Any = {}
    if "application/x-www-form-urlencoded" in content_type:
        body = parse_str(req.body.decode("utf-8", "replace"))
    elif req.body.strip():
        try:
            body = json.loads(req.body)
        except (ValueError, UnicodeDecodeError):
            body = {}
    if isinstance(body, dict):
        merged.update(body)
    return merged


def allowed_columns(form: Form, profile: Profile) -> set[str]:
    """Column keys the request may name."""
    keys = {str(b["id"]) for b in (*form.properties, *form.removed_properties)}
    keys.add("created_at")
    if profile.status_column_key:
        keys.add("status")
    if profile.attribution:
        keys.update(ATTRIBUTION_PREFIX + p for p in ATTRIBUTION_PARAMS)
    return keys


def validate_export(payload: dict[str, Any], form: Form, profile: Profile) -> ExportInput:
    """Validate an export body; raise a 422 (or, before v1.13.2, a 500) on bad input."""
    errors: dict[str, list[str]] = {}
    columns = _columns(payload.get("columns"), profile, errors)
    if columns:
        invalid = [key for key in columns if key not in allowed_columns(form, profile)]
        if invalid:
            errors.setdefault("columns", []).append(
                "The columns contain invalid values: " + ", ".join(invalid)
            )
        for key, value in columns.items():
            if not _is_boolean(value):
                errors[f"columns.{key}"] = [f"The columns.{key} field must be true or false."]
    ids = _submission_ids(payload.get("submissionIds"), form, profile, errors)
    if errors:
        raise validation_error(errors)
    selected = [key for key, value in (columns or {}).items() if value is True]
    return ExportInput(selected=selected, submission_ids=ids)


def _columns(raw: Any, profile: Profile, errors: dict[str, list[str]]) -> dict[str, Any] | None:
    columns = as_php_array(raw)
    empty = raw is None or raw == "" or columns == {}
    if not profile.columns_required:
        if empty:
            return {}  # the old duplicate-key bug: no columns means an id-only CSV
        if columns is None:
            raise abort(500, "Server Error")  # array_keys() on a scalar
        return columns
    if empty:
        errors["columns"] = ["The columns field is required."]
    elif columns is None:
        errors["columns"] = ["The columns field must be an array."]
    return columns


def _submission_ids(
    raw: Any, form: Form, profile: Profile, errors: dict[str, list[str]]
) -> list[int] | None:
    if not profile.submission_ids or raw is None:
        return None
    values = as_php_array(raw)
    if values is None:
        errors["submissionIds"] = ["The submission ids field must be an array."]
        return None
    ids = []
    for key, value in values.items():
        number = _as_int(value)
        messages = []
        if number is None:
            messages.append(f"The submissionIds.{key} field must be an integer.")
        if number is None or number not in form.submissions:
            messages.append(f"The selected submissionIds.{key} is invalid.")
        if messages:
            errors[f"submissionIds.{key}"] = messages
        elif number is not None:
            ids.append(number)
    return ids


def _is_boolean(value: Any) -> bool:
    """Laravel's ``boolean`` rule: true, false, 1, 0, "1", "0"."""
    if value is True or value is False:
        return True
    if type(value) is int:
        return value in (0, 1)
    return type(value) is str and value in ("0", "1")


def _as_int(value: Any) -> int | None:
    """``FILTER_VALIDATE_INT``."""
    if isinstance(value, bool):
        return 1 if value else None
    if isinstance(value, int):
        return value
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, str) and _INT.match(value):
        return int(value)
    return None


def validation_error(errors: dict[str, list[str]]) -> HttpError:
    """A 422 with ``message`` (first error, "(and N more errors)") and ``errors``."""
    messages = [m for field_messages in errors.values() for m in field_messages]
    message = messages[0]
    more = len(messages) - 1
    if more:
        message += f" (and {more} more error{'s' if more != 1 else ''})"
    return HttpError(json_response(422, {"message": message, "errors": errors}))

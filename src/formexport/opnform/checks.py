"""The caller's form references and column choices, checked before anything is sent."""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from urllib.parse import quote

from formexport.errors import InvalidArgumentError
from formexport.opnform.models import FormInfo

FormRef = int | str

_SLUG = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_-]*$")


def form_path(form: FormRef) -> str:
    """The ``{form}`` path segment for a numeric id or a slug, checked and escaped."""
    if isinstance(form, bool) or not isinstance(form, (int, str)):
        raise InvalidArgumentError(
            f"A form is a numeric id or a slug, not {type(form).__name__} ({form!r})."
        )
    text = str(form).strip()
    if isinstance(form, int) and form <= 0:
        raise InvalidArgumentError(f"Form ids are positive integers; got {form}.")
    if not text.isdigit() and not _SLUG.match(text):
        raise InvalidArgumentError(
            f"{form!r} is neither a numeric form id nor a slug (like 'contact-us-k3x9qa')."
        )
    return quote(text, safe="")


def check_job_id(job_id: str) -> str:
    """An export job id as the server gave it (a UUID), or InvalidArgumentError."""
    if not isinstance(job_id, str) or not job_id.strip() or "/" in job_id:
        raise InvalidArgumentError(f"{job_id!r} is not an export job id.")
    return job_id


def normalize_columns(
    columns: Mapping[str, bool] | Sequence[str], form: FormInfo | None = None
) -> dict[str, bool]:
    """Turn ``columns`` into the object the server wants (only ``True`` selects).

    A list selects its items. Items that are not field ids but match exactly one field name
    are mapped to that field's id; with ``form``, keys the server would refuse raise
    :class:`InvalidArgumentError`.
    """
    if isinstance(columns, str):
        raise InvalidArgumentError("columns must be a list of field ids or a dict, not a str.")
    chosen = (
        {str(k): v is True for k, v in columns.items()}
        if isinstance(columns, Mapping)
        else {str(c): True for c in columns}
    )
    if not any(chosen.values()):
        raise InvalidArgumentError(
            "columns selects nothing; pass columns=None to export every field."
        )
    if form is None:
        return chosen
    keys = {_field_id_for(key, form): value for key, value in chosen.items()}
    form.check_columns(keys)  # the server would answer 422
    return keys


def _field_id_for(key: str, form: FormInfo) -> str:
    ids = {f.id for f in (*form.fields, *form.removed_fields)}
    if key in ids:
        return key
    named = [f.id for f in form.fields if f.name == key]
    return named[0] if len(named) == 1 else key

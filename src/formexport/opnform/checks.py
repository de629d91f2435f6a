"""The caller's form references and column choices, checked before anything is sent."""

from __future__ import annotations

import re
import shlex
from collections.abc import Mapping, Sequence
from urllib.parse import quote

from formexport.errors import InvalidArgumentError
from formexport.opnform.models import FormInfo

FormRef = int | str

_SLUG = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_-]*$")
# A form reference that names a file: an export downloaded from OpnForm's web page.
_FILE_NAME = re.compile(r"\.csv$", re.IGNORECASE)


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
            + _file_hint(text)
        )
    return quote(text, safe="")


def _file_hint(text: str) -> str:
    """What to do with a file name given where a form belongs."""
    if not _FILE_NAME.search(text):
        return ""
    return (
        f" To read an export file you already have, use formexport.read_export({text!r}) "
        f"(from a terminal: formexport convert {shlex.quote(text)} -o submissions.parquet)."
    )


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


def field_ids(keys: Sequence[str], form: FormInfo, *, option: str) -> tuple[str, ...]:
    """The ids of the fields ``keys`` name (ids, or names that match exactly one field).

    ``option`` names the argument in the error: a key that names no field is refused rather
    than ignored, since these options keep personal data out and a typo would let it in.
    """
    if isinstance(keys, str):
        raise InvalidArgumentError(f"{option} is a list of field names or ids, not a str.")
    ids = {f.id for f in (*form.fields, *form.removed_fields)}
    found = [_field_id_for(str(key), form) for key in keys]
    unknown = [str(key) for key, fid in zip(keys, found, strict=True) if fid not in ids]
    if unknown:
        raise InvalidArgumentError(
            f"{option} names {', '.join(map(repr, unknown))}, which no field of form "
            f"{form.id} is (or more than one is).{form.closest_names(unknown)} The form's "
            f"fields: {form.field_list()}."
        )
    return tuple(dict.fromkeys(found))


def without_fields(
    columns: Mapping[str, bool], exclude: Sequence[str], form: FormInfo
) -> dict[str, bool]:
    """``columns`` without the fields ``exclude`` names (never requested from the server)."""
    left_out = set(field_ids(exclude, form, option="exclude"))
    kept = {key: chosen for key, chosen in columns.items() if key not in left_out}
    if not any(kept.values()):
        raise InvalidArgumentError("exclude leaves no column to export.")
    return kept

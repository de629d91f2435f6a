"""Form blocks and submissions, shaped like OpnForm stores them.

A field is a plain dict, as in ``form.properties``: ``{"id", "name", "type", ...}`` plus
type-specific keys (``select.options``, matrix ``rows``/``columns``, ``date_range``...).
A submission keeps its raw stored values in ``data``, keyed by field id.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Any

#: Input field types the export formatter knows (OpnForm's ``blocks_types.json``).
FIELD_TYPES = frozenset(
    {
        "text",
        "rich_text",
        "date",
        "url",
        "phone_number",
        "email",
        "checkbox",
        "select",
        "radio",
        "multi_select",
        "matrix",
        "number",
        "rating",
        "scale",
        "slider",
        "files",
        "signature",
        "barcode",
        "qrcode",
        "password",
        "toggle_switch",
        "payment",
    }
)

#: Layout blocks: never exported, never hold values.
LAYOUT_TYPES = frozenset(
    {"nf-text", "nf-page-break", "nf-divider", "nf-image", "nf-video", "nf-audio", "nf-code"}
)

_OPTION_TYPES = ("select", "multi_select", "radio")
_FIELD_NAMESPACE = uuid.UUID("6f6e6661-726d-4000-8000-73616e64626f")
_DEFAULT_OPTIONS = ("Option A", "Option B", "Option C")


def make_field(field_type: str, name: str, **extra: Any) -> dict[str, Any]:
    """Build an OpnForm block with a deterministic UUID.

    Parameters
    ----------
    field_type : str
        An input type (``"text"``, ``"multi_select"``, ``"files"``...) or a layout block
        (``"nf-text"``...).
    name : str
        The field label; it becomes the CSV header (text from `` (`` on is dropped).
    **extra
        ``id`` overrides the UUID (derived from type and name otherwise); ``options``
        (list of names) fills ``select``/``multi_select``/``radio``; ``rows`` and
        ``columns`` fill a matrix; any other key is copied into the block.

    Examples
    --------
    >>> field = make_field("multi_select", "Topics", options=["Music", "Rock, Pop"])
    >>> field["multi_select"]["options"][1]
    {'id': 'Rock, Pop', 'name': 'Rock, Pop'}
    >>> make_field("text", "Name")["id"] == make_field("text", "Name")["id"]
    True
    """
    if field_type not in FIELD_TYPES and field_type not in LAYOUT_TYPES:
        raise ValueError(f"unknown OpnForm field type {field_type!r}")
    field_id = str(extra.pop("id", None) or uuid.uuid5(_FIELD_NAMESPACE, f"{field_type}:{name}"))
    block: dict[str, Any] = {
        "id": field_id,
        "name": name,
        "type": field_type,
        "hidden": False,
        "required": False,
        "help": None,
        "placeholder": None,
        "width": "full",
    }
    options = extra.pop("options", None)
    if field_type in _OPTION_TYPES:
        names = list(options) if options is not None else list(_DEFAULT_OPTIONS)
        block[field_type] = {"options": [{"id": o, "name": o} for o in names]}
    elif field_type == "matrix":
        block["rows"] = list(extra.pop("rows", ("Row 1", "Row 2")))
        block["columns"] = list(extra.pop("columns", ("Col A", "Col B")))
    elif field_type == "date":
        block.setdefault("date_range", False)
        block.setdefault("with_time", False)
        block.setdefault("date_format", "dd/MM/yyyy")
    block.update(extra)
    return block


def option_names(field: dict[str, Any]) -> list[str]:
    """The option names of a choice field (empty when it has none)."""
    for key in (field.get("type"), "select"):
        section = field.get(str(key))
        if isinstance(section, dict) and isinstance(section.get("options"), list):
            return [str(o.get("name", o.get("id"))) for o in section["options"]]
    return []


def is_layout(field: dict[str, Any]) -> bool:
    """Whether a block is a layout block (skipped by exports)."""
    return str(field.get("type", "")).startswith("nf-")


def check_fields(fields: list[dict[str, Any]]) -> None:
    """Raise ``ValueError`` for blocks without ``id``/``name``/``type`` or repeated ids."""
    seen: set[str] = set()
    for block in fields:
        missing = [key for key in ("id", "name", "type") if key not in block]
        if missing:
            raise ValueError(f"field {block!r} lacks {', '.join(missing)}")
        if block["id"] in seen:
            raise ValueError(f"two fields share the id {block['id']!r}; pass id=... to make_field")
        seen.add(block["id"])


@dataclass(slots=True)
class Submission:
    """One stored submission.

    Attributes
    ----------
    id : int
        Database id (global across forms, like an auto-increment column).
    form_id : int
        The form it belongs to.
    data : dict
        Raw stored values keyed by field id.
    partial : bool
        True for a partial ("In Progress") submission.
    created_at : int
        Unix seconds (the database keeps second precision).
    meta : dict or None
        ``{"attribution": {"utm_source": ...}}`` when attribution was captured.
    completion_time : int or None
        Seconds the respondent took.
    """

    id: int
    form_id: int
    data: dict[str, Any]
    partial: bool
    created_at: int
    meta: dict[str, Any] | None = None
    completion_time: int | None = None


def public_id(submission_id: int) -> str:
    """The UUID ``public_id`` of a submission (v2.1.0+), stable per database id."""
    return str(uuid.uuid5(_FIELD_NAMESPACE, f"submission:{submission_id}"))

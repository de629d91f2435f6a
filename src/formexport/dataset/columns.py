"""Finding a typed export's system columns, whatever the form's fields are called.

Field columns are named after the fields, so a field called ``created_at`` or ``submission_id``
would take the name: the columns are found by the metadata formexport writes on each one.
"""

from __future__ import annotations

import json
from typing import Any

from formexport.reading.typed_reader import METADATA_KEY


def column_of(schema: Any, kind: str, part: str | None = None) -> str | None:
    """The name of the column of ``kind`` (``"id"``, ``"created_at"``) in a typed export's
    Arrow schema (``part``: ``"submission_id"`` for the decoded id beside the ``id`` text)."""
    for schema_field in schema:
        raw = (schema_field.metadata or {}).get(METADATA_KEY)
        if raw is None:
            continue
        described = json.loads(raw)
        if described.get("kind") == kind and (part is None or described.get("type") == part):
            return str(schema_field.name)
    return None


def submission_ids(table: Any) -> Any:
    """The ``submission_id`` column of a typed export (an Arrow table), or None."""
    name = column_of(table.schema, "id", "submission_id")
    if name is None and "submission_id" in table.schema.names:
        name = "submission_id"
    return None if name is None else table.column(name)


def created_column(table: Any) -> Any:
    """The ``created_at`` column of a typed export, or None."""
    name = column_of(table.schema, "created_at")
    return None if name is None else table.column(name)


def newest_id(table: Any) -> int | None:
    """The highest submission id in a typed export."""
    import pyarrow.compute as pc

    ids = submission_ids(table)
    newest = pc.max(ids).as_py() if ids is not None else None
    return int(newest) if newest is not None else None

"""One column per field for the dataset's life, however the form is edited.

An export names its columns after the fields as they are named now, so a renamed field would
start a new column. The dataset instead ties each export column to its source by the metadata
formexport writes on it — the field's id, and the part of a date range — which is the column's
*key* (:func:`column_key`), never by its name. Each key gets one dataset column, named once:
after the field's name when the dataset first meets it. A renamed field keeps its column and
the codebook records the new name, which :func:`formexport.read_dataset` uses.

:func:`merge` folds one export's columns into a form's :class:`FormBook`: it names new columns,
records renames, type changes, options and deletions, and settles the schema every Parquet
file of the form has (the column types by :func:`~formexport.dataset.column_types.common_type`).
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any

from formexport.dataset.codebook_file import BookColumn, FormBook
from formexport.dataset.column_types import common_type, label, same_type
from formexport.reading.blocks import unique_names
from formexport.reading.typed_reader import METADATA_KEY

logger = logging.getLogger("formexport")

#: The dataset's hive partition keys: no column takes their names.
RESERVED_NAMES = frozenset({"form_id", "export_date"})
_SYSTEM_NAMES = {"id": "id", "submission_id": "submission_id", "created_at": "created_at"}


def column_key(described: Mapping[str, Any], name: str) -> str:
    """What ties a column to its source across exports, from formexport's metadata on it."""
    kind = described.get("kind")
    if kind == "field" and described.get("field_id"):
        part = described.get("part")
        return f"field:{described['field_id']}" + (f":{part}" if part else "")
    if kind == "id":
        return "submission_id" if described.get("type") == "submission_id" else "id"
    if kind in ("created_at", "status"):
        return str(kind)
    return f"{kind or 'extra'}:{described.get('header', name)}"


def described(schema_field: Any) -> dict[str, Any]:
    """formexport's metadata on a column (empty for a column it did not write)."""
    raw = (schema_field.metadata or {}).get(METADATA_KEY)
    return dict(json.loads(raw)) if raw is not None else {}


@dataclass(frozen=True)
class Incoming:
    """One column of an export: its key, name, Arrow type and formexport metadata."""

    key: str
    name: str
    type: Any
    described: Mapping[str, Any]

    @property
    def display(self) -> str:
        """The name :func:`formexport.load_export` gives it (before ``.1`` suffixes)."""
        return _display(self.key, self.described.get("field_name"), self.described.get("part"))


def _display(key: str, field_name: str | None, part: str | None) -> str:
    if key.startswith("field:") and field_name is not None:
        return f"{field_name} ({part})" if part else field_name
    return _SYSTEM_NAMES.get(key, key.split(":", 1)[-1])


def incoming_columns(schema: Any) -> list[Incoming]:
    """An export's columns (a ``pyarrow.Schema`` of a typed export), in order."""
    columns = []
    for schema_field in schema:
        info = described(schema_field)
        columns.append(Incoming(column_key(info, schema_field.name), schema_field.name,
                                schema_field.type, info))  # fmt: skip
    return columns


def export_columns(table: Any, book: FormBook | None) -> list[Incoming]:
    """An export's columns (a typed export as an Arrow table). A column without a single value
    has no say in its dataset column's type: an incremental run whose rows all left a date-time
    field empty does not move the column to UTC."""
    import pyarrow as pa

    known = book.by_key() if book is not None else {}
    items = incoming_columns(table.schema)
    return [
        replace(item, type=pa.null())
        if item.key in known and table.column(index).null_count == table.num_rows
        else item
        for index, item in enumerate(items)
    ]


def merge(form_id: int, book: FormBook | None, incoming: Sequence[Incoming], run: str) -> FormBook:
    """``book`` (None: a form new to the dataset) with one more export's columns, exported by
    ``run``.

    Columns the export lacks (a field gone from the form altogether, ``status`` after partial
    submissions were turned off) are kept as they were.
    """
    old = book.by_key() if book is not None else {}
    old_fields = {f.name: f for f in book.arrow_schema} if book is not None else {}
    taken = {c.dataset_column for c in old.values()} | set(RESERVED_NAMES)
    entries: list[BookColumn] = []
    target: dict[str, Any] = {}
    for item in incoming:
        entry = old.get(item.key)
        if entry is None:
            entry, kind = _new_entry(item, run, taken), item.type
            taken.add(entry.dataset_column)
        else:
            before = old_fields[entry.dataset_column].type
            kind = _updated_type(form_id, entry, before, item)
            entry = _updated(entry, item, run, (before, kind))
        target[entry.dataset_column] = _schema_field(entry, kind, item.described)
        entries.append(entry)
    seen = {e.key for e in entries}
    kept = [replace(c) for c in (book.columns if book is not None else []) if c.key not in seen]
    for entry in kept:
        target[entry.dataset_column] = old_fields[entry.dataset_column]
    ordered = _named([*entries, *kept])
    schema = _schema(target, [c.dataset_column for c in ordered], old_fields)
    return FormBook(form_id, ordered, updated_run=run).with_schema(schema)


def _updated_type(form_id: int, entry: BookColumn, old: Any, item: Incoming) -> Any:
    """The column's type once it holds ``item`` too; logged when it changes (a warning when
    the column becomes text)."""
    kind = common_type(old, item.type)
    if not same_type(kind, old):
        level = logging.WARNING if label(kind) == "text" else logging.INFO
        logger.log(
            level,
            "Form %s: column %r (%s) becomes %s to hold this export's %s; the form's files are "
            "written again with it",
            form_id, entry.dataset_column, entry.key, kind, item.type,
        )  # fmt: skip
    return kind


def absorb(book: FormBook, incoming: Sequence[Incoming], run: str) -> FormBook:
    """``book`` able to hold a file written before it: columns it lacks are added after the
    others, types are widened; names and history stay as the book has them."""
    import pyarrow as pa

    target = {f.name: f for f in book.arrow_schema}
    known = {c.key: replace(c) for c in book.columns}
    taken = set(target) | set(RESERVED_NAMES)
    for item in incoming:
        entry = known.get(item.key)
        if entry is None:
            entry = known[item.key] = _new_entry(item, run, taken)
            taken.add(entry.dataset_column)
            target[entry.dataset_column] = _schema_field(entry, item.type, item.described)
            continue
        before = target[entry.dataset_column]
        kind = _updated_type(book.form_id, entry, before.type, item)
        if not same_type(kind, before.type):
            entry.type = label(kind)
            target[entry.dataset_column] = before.with_type(kind)
    columns = _named(list(known.values()))
    schema = pa.schema(list(target.values()))
    return FormBook(book.form_id, columns, updated_run=book.updated_run).with_schema(schema)


def mark_gone(book: FormBook, field_ids: Iterable[str]) -> FormBook:
    """``book`` with the fields that are not among ``field_ids`` (the form's current and
    deleted fields) marked deleted: the form no longer knows them at all."""
    known = set(field_ids)
    for entry in book.columns:
        if entry.field_id is not None and entry.field_id not in known:
            entry.deleted = True
    return book


def _new_entry(item: Incoming, run: str, taken: Iterable[str]) -> BookColumn:
    info = item.described
    name = unique_names([*taken, item.display])[-1]
    return BookColumn(
        key=item.key,
        dataset_column=name,
        kind=str(info.get("kind", "extra")),
        field_id=info.get("field_id"),
        part=info.get("part"),
        field_name=info.get("field_name"),
        field_type=info.get("field_type"),
        type=str(info.get("type", "text")),
        options=list(info.get("options", [])),
        deleted=bool(info.get("deleted", False)),
        required=info.get("required"),
        help=info.get("help"),
        first_run=run,
    )


def _updated(entry: BookColumn, item: Incoming, run: str, types: tuple[Any, Any]) -> BookColumn:
    """``entry`` as this export shows its field (name, type, options, deleted or not); the
    dataset stored it as ``types[0]`` and stores it as ``types[1]``."""
    info = item.described
    new = replace(entry, earlier_names=list(entry.earlier_names),
                  earlier_types=list(entry.earlier_types))  # fmt: skip
    name, field_type = info.get("field_name"), info.get("field_type")
    if name is not None and name != entry.field_name and entry.field_name is not None:
        new.earlier_names.append({"name": entry.field_name, "run": run})
        logger.info(
            "Field %s was renamed %r (from %r); its column keeps the name %r",
            entry.field_id, name, entry.field_name, entry.dataset_column,
        )  # fmt: skip
    if field_type is not None and field_type != entry.field_type and entry.field_type is not None:
        new.earlier_types.append({"field_type": entry.field_type, "run": run})
    current = list(info.get("options", []))
    earlier = [o for o in entry.options if o not in current]
    new.field_name = name if name is not None else entry.field_name
    new.field_type = field_type if field_type is not None else entry.field_type
    new.options, new.earlier_options = [*current, *earlier], earlier
    new.deleted = bool(info.get("deleted", False))
    new.required, new.help = info.get("required"), info.get("help")
    before, kind = types
    if same_type(kind, item.type):
        new.type = str(info.get("type", entry.type))
    elif not same_type(kind, before):
        new.type = label(kind)
    return new


def _schema_field(entry: BookColumn, kind: Any, info: Mapping[str, Any]) -> Any:
    import pyarrow as pa

    metadata = {**info, "type": entry.type}
    return pa.field(entry.dataset_column, kind, metadata={METADATA_KEY: json.dumps(metadata)})


def _named(entries: list[BookColumn]) -> list[BookColumn]:
    """The entries with ``column`` set: current names, made unique in this order (and never
    ``form_id``, the column that tells forms apart when several are read)."""
    reserved = sorted(RESERVED_NAMES)
    names = unique_names([*reserved, *(_display(e.key, e.field_name, e.part) for e in entries)])
    names = names[len(reserved) :]
    for entry, name in zip(entries, names, strict=True):
        entry.column = name
    return entries


def _schema(target: Mapping[str, Any], order: list[str], old: Mapping[str, Any]) -> Any:
    """The files' schema: in read order when its columns or types change (every file is
    written again then anyway), else in the order the files already have."""
    import pyarrow as pa

    same = set(target) == set(old) and all(same_type(target[n].type, old[n].type) for n in old)
    names = list(old) if same else order
    return pa.schema([target[name] for name in names])

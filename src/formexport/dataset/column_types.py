"""One Arrow type per dataset column, whatever type each export gave it.

A form's exports may give a column another type from one run to the next: the field's type was
changed (text → number), a rating met a decimal, a value did not fit and the export kept the
column as text, the answers of a date-time field came with another UTC offset, a matrix gained
a row. The dataset column then takes the narrowest type that holds both without losing a value
(:func:`common_type`), and every partition is cast to it (:func:`cast_column`):

=====================================  ===========================================
the two types                          the dataset column
=====================================  ===========================================
whole numbers and decimals             decimals (``float64``)
date-times with different offsets      date-times in UTC (the same instants)
two matrices                           a matrix with the rows of both
anything else                          text: numbers as written, ``true``/``false``,
                                       dates ``2026-08-21``, date-times ISO 8601,
                                       lists and matrices as JSON
=====================================  ===========================================

Text never goes back to another type: once a column is text it stays text, and the codebook
says from which run (``earlier_types``).
"""

from __future__ import annotations

import json
from typing import Any

#: How the codebook names a dataset column's type when no export named it.
_LABELS = {"string": "text", "double": "number", "int64": "integer", "bool": "boolean"}


def arrow() -> Any:
    """The pyarrow module (imported on first use)."""
    import pyarrow as pa

    return pa


def same_type(left: Any, right: Any) -> bool:
    """Equal types, list item names aside (Parquet reads ``item`` back as ``element``)."""
    pa = arrow()
    if pa.types.is_list(left) and pa.types.is_list(right):
        return same_type(left.value_type, right.value_type)
    return bool(left.equals(right))


def common_type(old: Any, new: Any) -> Any:
    """The type a dataset column takes when a partition of type ``old`` meets one of ``new``."""
    pa = arrow()
    if same_type(old, new) or pa.types.is_null(new):
        return old
    if pa.types.is_null(old):
        return new
    numbers = (pa.types.is_integer, pa.types.is_floating)
    if any(kind(old) for kind in numbers) and any(kind(new) for kind in numbers):
        return pa.float64()
    if _zoned(old) and _zoned(new):
        return pa.timestamp("us", tz="UTC")
    if _text_struct(old) and _text_struct(new):
        rows = dict.fromkeys([*old.names, *new.names])
        return pa.struct([(row, pa.string()) for row in rows])
    return pa.string()


def _zoned(kind: Any) -> bool:
    return bool(arrow().types.is_timestamp(kind) and kind.tz is not None)


def _text_struct(kind: Any) -> bool:
    pa = arrow()
    if not pa.types.is_struct(kind):
        return False
    return all(pa.types.is_string(kind.field(i).type) for i in range(kind.num_fields))


def label(kind: Any) -> str:
    """The codebook's ``type`` for a dataset column's Arrow type, when no export named it."""
    pa = arrow()
    if pa.types.is_timestamp(kind):
        return "datetime" if kind.tz is not None else "date"
    if pa.types.is_struct(kind):
        return "matrix"
    if pa.types.is_dictionary(kind):
        return "category"
    if pa.types.is_list(kind):
        return "list"
    return _LABELS.get(str(kind), "text")


def cast_column(column: Any, target: Any) -> Any:
    """A chunked array of one partition, cast to the dataset column's type ``target``."""
    pa = arrow()
    if same_type(column.type, target):
        return column.cast(target) if not column.type.equals(target) else column
    if column.null_count == len(column):
        return pa.chunked_array([pa.nulls(len(column), target)], target)
    if pa.types.is_string(target):
        chunks = [as_text(chunk) for chunk in column.chunks]
        return pa.chunked_array(chunks, pa.string())
    if pa.types.is_struct(target):
        return pa.chunked_array([_wider_struct(c, target) for c in column.chunks], target)
    return column.cast(target)


def as_text(values: Any) -> Any:
    """One array as text, readable back: see the module's table."""
    pa, pc = arrow(), _compute()
    kind = values.type
    if pa.types.is_string(kind):
        return values
    if pa.types.is_dictionary(kind):
        return values.cast(pa.string())
    if pa.types.is_timestamp(kind):
        return _dates_as_text(values)
    if pa.types.is_list(kind) or pa.types.is_struct(kind) or pa.types.is_null(kind):
        cells = values.to_pylist()
        return pa.array([None if v is None else _json(v) for v in cells], pa.string())
    return pc.cast(values, pa.string())


def _json(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, default=str)


def _dates_as_text(values: Any) -> Any:
    pa, pc = arrow(), _compute()
    if values.type.tz is not None:
        seconds = pc.cast(values, pa.timestamp("s", values.type.tz), safe=False)
        return pc.strftime(seconds, "%Y-%m-%dT%H:%M:%S%Ez")
    # A date field's answers are stored as their midnight: the day is the answer.
    midnight = pc.all(pc.equal(pc.cast(values, pa.date32()).cast(values.type), values))
    form = "%Y-%m-%d" if midnight.as_py() in (True, None) else "%Y-%m-%dT%H:%M:%S"
    return pc.strftime(pc.cast(values, pa.timestamp("s"), safe=False), form)


def _wider_struct(values: Any, target: Any) -> Any:
    pa = arrow()
    missing = pa.nulls(len(values), pa.string())
    children = [
        values.field(name) if values.type.get_field_index(name) >= 0 else missing
        for name in target.names
    ]
    mask = values.is_null() if values.null_count else None
    return pa.StructArray.from_arrays(children, names=target.names, mask=mask)


def _compute() -> Any:
    import pyarrow.compute as pc

    return pc

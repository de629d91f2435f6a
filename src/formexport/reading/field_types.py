"""Which converter reads each field type: the one place that knows every converter."""

from __future__ import annotations

from formexport.opnform.models import FormField
from formexport.reading.converters import (
    BOOLEAN_TYPES,
    CHOICE_TYPES,
    NUMERIC_TYPES,
    STEP_KEYS,
    BooleanConverter,
    CategoryConverter,
    CellText,
    Converter,
    ListConverter,
    MatrixConverter,
    NumberConverter,
)
from formexport.reading.dates import DateConverter


def _integral_step(field: FormField) -> bool:
    if field.type == "number":
        return False
    if field.type == "rating":
        return True
    step = field.definition.get(STEP_KEYS.get(field.type, ""), 1)
    try:
        return float(step) == int(float(step))
    except (TypeError, ValueError):
        return False


def converter_for(field: FormField) -> Converter:
    """The converter for a form field's type (text for types without a better one)."""
    kind, definition = field.type, field.definition
    if kind in NUMERIC_TYPES:
        return NumberConverter(integer=_integral_step(field))
    if kind in BOOLEAN_TYPES:
        return BooleanConverter()
    if kind == "date":
        return DateConverter(
            with_time=bool(definition.get("with_time")),
            date_range=bool(definition.get("date_range")),
        )
    if kind in CHOICE_TYPES:
        return CategoryConverter(field.options)
    if kind == "multi_select":
        return ListConverter(",")
    if kind in ("files", "signature"):
        return ListConverter(", ")
    if kind == "matrix":
        rows = definition.get("rows")
        if isinstance(rows, list) and rows:
            return MatrixConverter([str(r) for r in rows])
    return Converter()


def deleted_field_converter(field: FormField) -> Converter:
    """A deleted field's column: text, written as the CSV writes the field's type (see
    ``docs/data-types.md`` for why it is not typed)."""
    return CellText(field.type)

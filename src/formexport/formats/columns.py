"""How each column of an export's frame goes into a file: its kind, and its cells as text.

Spreadsheets and statistics packages hold numbers, text and dates, and no time zones: lists
(multi-select answers, file links) become their items joined with ``"; "``, a matrix its
``row: answer`` pairs joined the same way, and date-times are written in UTC.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from formexport.reading.variable_names import variable_names

if TYPE_CHECKING:
    import pandas as pd

#: Between the items of a list, and between the rows of a matrix, in a file's text cell.
LIST_SEPARATOR = "; "

CATEGORY, LIST, MATRIX = "category", "list", "matrix"
DATE, DATETIME = "date", "datetime"
BOOLEAN, INTEGER, NUMBER, TEXT = "boolean", "integer", "number", "text"


def described(frame: pd.DataFrame, name: str) -> Mapping[str, Any]:
    """The column's entry in ``frame.attrs["columns"]`` (empty for a column it does not list)."""
    columns = frame.attrs.get("columns") or {}
    entry = columns.get(name)
    return entry if isinstance(entry, Mapping) else {}


def variables(frame: pd.DataFrame) -> dict[str, str]:
    """Each column's Stata and SPSS name: the codebook's ``variable``, or names made from the
    columns when the codebook lacks one or two of them clash."""
    given = [str(described(frame, name).get("variable") or "") for name in frame.columns]
    if all(given) and len({name.lower() for name in given}) == len(given):
        chosen = given
    else:
        chosen = variable_names(str(name) for name in frame.columns)
    return dict(zip(frame.columns, chosen, strict=True))


def kind_of(frame: pd.DataFrame, name: str) -> str:
    """What the column holds, as the writers tell it: from its dtype, and from the codebook
    for what a dtype cannot say (a date is a midnight ``datetime64``, lists are objects)."""
    import pandas as pd

    dtype = frame[name].dtype
    if isinstance(dtype, pd.CategoricalDtype):
        return CATEGORY
    if isinstance(dtype, pd.DatetimeTZDtype):
        return DATETIME
    if pd.api.types.is_datetime64_dtype(dtype):
        return DATE if described(frame, name).get("type") == DATE else DATETIME
    if pd.api.types.is_bool_dtype(dtype):
        return BOOLEAN
    if pd.api.types.is_integer_dtype(dtype):
        return INTEGER
    if pd.api.types.is_float_dtype(dtype):
        return NUMBER
    if described(frame, name).get("type") in (LIST, MATRIX):
        return str(described(frame, name)["type"])
    return _kind_of_objects(frame[name]) if pd.api.types.is_object_dtype(dtype) else TEXT


def _kind_of_objects(series: pd.Series[Any]) -> str:
    """A column the codebook does not describe: its first value says."""
    for value in series:
        if isinstance(value, dict):
            return MATRIX
        if hasattr(value, "__len__") and not isinstance(value, str):
            return LIST
        if value is not None:
            break
    return TEXT


def text_cells(series: pd.Series[Any], kind: str) -> list[str | None]:
    """The column's cells as text, ``None`` where a cell is empty (an empty list too)."""
    import pandas as pd

    if kind == LIST:
        return [_joined(cell) for cell in series]
    if kind == MATRIX:
        return [_pairs(cell) for cell in series]
    return [None if pd.isna(cell) else str(cell) for cell in series.astype(object)]


def _joined(cell: Any) -> str | None:
    if cell is None or isinstance(cell, float):  # missing (NaN in an object column)
        return None
    return LIST_SEPARATOR.join(str(item) for item in cell) or None


def _pairs(cell: Any) -> str | None:
    if not isinstance(cell, Mapping):
        return None
    pairs = (f"{row}: {answer}" for row, answer in cell.items() if answer is not None)
    return LIST_SEPARATOR.join(pairs) or None


def in_utc(series: pd.Series[Any]) -> pd.Series[Any]:
    """Date-times as UTC wall-clock times without a time zone (files hold no zones)."""
    import pandas as pd

    if isinstance(series.dtype, pd.DatetimeTZDtype):
        utc: pd.Series[Any] = series.dt.tz_convert("UTC").dt.tz_localize(None)
        return utc
    return series


def variable_label(frame: pd.DataFrame, name: str) -> str:
    """The field's name (with its part, ``Dates (start)``), or the column's for other columns:
    the label Stata and SPSS show beside the variable's short name."""
    info = described(frame, name)
    field = info.get("field_name")
    if not field:
        return name
    return f"{field} ({info['part']})" if info.get("part") else str(field)

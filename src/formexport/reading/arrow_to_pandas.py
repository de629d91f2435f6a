"""Typed Arrow tables as pandas DataFrames, with nullable NumPy dtypes or Arrow-backed ones."""

from __future__ import annotations

import contextlib
import gc
from collections.abc import Iterator, Mapping
from typing import TYPE_CHECKING, Any

from formexport.reading import frames

if TYPE_CHECKING:
    import pandas as pd
    import pyarrow as pa


def _nullable_types() -> dict[Any, Any]:
    import pandas as pd
    import pyarrow as pa

    return {
        pa.int64(): pd.Int64Dtype(),
        pa.float64(): pd.Float64Dtype(),
        pa.bool_(): pd.BooleanDtype(),
        pa.string(): pd.StringDtype(),
        pa.large_string(): pd.StringDtype(),
    }


def to_pandas(table: pa.Table, dtype_backend: str, attrs: Mapping[str, Any]) -> pd.DataFrame:
    """A DataFrame with nullable NumPy dtypes or Arrow-backed dtypes, ``attrs`` attached.

    The default backend gives option fields as ``Categorical`` (the form's options first, in
    order), lists as Python lists, and dates without time as ``datetime64[us]``.
    """
    import pandas as pd

    table = table.unify_dictionaries()
    if dtype_backend == "pyarrow":
        frame = table.to_pandas(types_mapper=pd.ArrowDtype)
    else:
        with _collection_paused():
            frame = _nullable_frame(table)
    frame.attrs.update(attrs)
    return frame


@contextlib.contextmanager
def _collection_paused() -> Iterator[None]:
    """Python's cyclic garbage collector paused while cells become Python objects.

    Lists and matrix dicts are container objects: creating millions of them sets off full
    collections that walk every object the process holds, which costs more than the
    conversion itself. None of them can be part of a cycle.
    """
    paused = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if paused:
            gc.enable()


def _nullable_frame(table: pa.Table) -> pd.DataFrame:
    import pandas as pd
    import pyarrow as pa

    objects: dict[int, Any] = {}
    for index, field in enumerate(table.schema):
        cells = _object_cells(table.column(index))
        if cells is not None:
            objects[index] = cells
            # Arrow converts an empty stand-in; the cells made here replace it below.
            table = table.set_column(index, field.with_type(pa.null()), pa.nulls(len(table)))
        elif pa.types.is_date32(field.type):
            dates = table.column(index).cast(pa.timestamp("us"))
            table = table.set_column(index, field.with_type(dates.type), dates)
    frame = table.to_pandas(types_mapper=_nullable_types().get)
    for index, cells in objects.items():
        # A Series is taken as it is; a bare array would be copied, one reference at a time.
        frame.isetitem(index, pd.Series(cells, index=frame.index, dtype=object, copy=False))
    return frame


def _object_cells(column: pa.ChunkedArray[Any]) -> Any:
    """A list or matrix column's cells as Python objects; ``None`` for other columns, and for
    a matrix whose rows are mostly distinct (Arrow's conversion is as fast)."""
    import pyarrow as pa

    kind = column.type
    if frames.is_string_list(kind):
        return frames.string_lists(column)
    if pa.types.is_list(kind):
        # Lists are what json.dumps takes (Arrow would make NumPy arrays).
        return frames.python_lists(column)
    if frames.is_string_struct(kind):
        return frames.string_dicts(column)
    return None

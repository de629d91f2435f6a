"""List and matrix columns as the Python objects of the default pandas backend.

Arrow's own conversion (``to_pylist``, or ``to_pandas`` for structs) makes a Python object for
every string of every cell, one cell at a time. Where strings repeat (options, matrix answers),
each distinct one here becomes one ``str`` (shared, as strings are immutable) and NumPy builds
the cells; every row still gets a list or dict of its own, so changing one cell never changes
another.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import numpy as np
    import numpy.typing as npt
    import pyarrow as pa

    Objects = npt.NDArray[np.object_]

# The fewest values that show whether a column repeats them: hashing values that rarely
# repeat costs more than making a string of each.
_SAMPLE = 2048


def is_string_list(kind: pa.DataType) -> bool:
    """Whether :func:`string_lists` converts a column of this type."""
    import pyarrow as pa

    return pa.types.is_list(kind) and _is_text(kind.value_type)


def is_string_struct(kind: pa.DataType) -> bool:
    """Whether :func:`string_dicts` may convert a column of this type: a struct of strings."""
    import pyarrow as pa

    if not pa.types.is_struct(kind) or kind.num_fields == 0:
        return False
    fields = [kind.field(i) for i in range(kind.num_fields)]
    names = [f.name for f in fields]
    return len(set(names)) == len(names) and all(_is_text(f.type) for f in fields)


def _is_text(kind: pa.DataType) -> bool:
    import pyarrow as pa

    return bool(pa.types.is_string(kind) or pa.types.is_large_string(kind))


def string_lists(column: pa.ChunkedArray[Any]) -> Objects:
    """One new Python ``list`` of ``str`` per row (``None`` for a missing cell).

    Equal to ``column.to_pylist()``. When items repeat (options), each distinct item becomes
    one ``str`` and rows are built in groups of equal length: ``tolist()`` of a 2-D object
    array makes one list per row in C.
    """
    import numpy as np
    import pyarrow.compute as pc

    count = len(column)
    values = pc.list_flatten(column)
    if not _repeats(values):
        # Each item a string of its own (file links): Arrow puts each one in its list as it
        # makes it, while a second pass over that many strings would wait on memory.
        return python_lists(column)
    codes, words = _encoded(values)
    lengths = pc.fill_null(pc.list_value_length(column), 0).to_numpy()
    starts = np.zeros(count, dtype=np.int64)
    np.cumsum(lengths[:-1], out=starts[1:])
    cells = np.empty(count, dtype=object)
    for length in np.flatnonzero(np.bincount(lengths)).tolist():
        rows = np.flatnonzero(lengths == length)
        block = words[codes[starts[rows, None] + np.arange(length)]]
        cells[rows] = np.fromiter(block.tolist(), dtype=object, count=len(rows))
    if column.null_count:
        cells[pc.is_null(column).to_numpy(zero_copy_only=False)] = None
    return cells


def string_dicts(column: pa.ChunkedArray[Any]) -> Objects | None:
    """One new ``dict`` (field → ``str`` or ``None``) per row, ``None`` for a missing cell.

    Equal to Arrow's conversion of a struct of strings. Each distinct row is built once and
    copied for every row holding it; ``None`` (convert as Arrow does) when most rows are
    distinct, where copies would only add work.
    """
    import numpy as np

    struct = _combined(column)
    count = len(struct)
    answers = [_encoded(child) for child in struct.flatten()]
    codes = np.column_stack([code for code, _ in answers]).astype(np.int32)
    indices, first = _distinct_rows(codes)
    if 2 * len(first) > count:
        return None
    names = [field.name for field in struct.type]
    words = [strings for _, strings in answers]
    built = [
        dict(zip(names, (w[c] for w, c in zip(words, row, strict=True)), strict=True))
        for row in codes[first].tolist()
    ]
    shapes = np.fromiter(built, dtype=object, count=len(built))
    # dict.copy keeps a dict of strings untracked by the garbage collector, as Arrow's are.
    cells = np.fromiter(map(dict.copy, shapes[indices].tolist()), dtype=object, count=count)
    if struct.null_count:
        cells[struct.is_null().to_numpy(zero_copy_only=False)] = None
    return cells


def python_lists(column: pa.ChunkedArray[Any]) -> Objects:
    """``column.to_pylist()`` as an object array: Arrow makes each list in one pass."""
    import numpy as np

    return np.fromiter(column.to_pylist(), dtype=object, count=len(column))


def _distinct_rows(codes: Any) -> tuple[Any, Any]:
    """For rows of codes (a 2-D ``int32`` array): each row's number among the distinct rows,
    and one row holding each distinct row."""
    import numpy as np
    import pyarrow as pa
    import pyarrow.compute as pc

    count, width = codes.shape
    # A row's codes as one fixed-width key, so Arrow's hashing finds the distinct rows.
    keys = pa.FixedSizeBinaryArray.from_buffers(
        pa.binary(4 * width), count, [None, pa.py_buffer(np.ascontiguousarray(codes).data)]
    )
    encoded: Any = pc.dictionary_encode(keys)
    indices = encoded.indices.to_numpy()
    first = np.empty(len(encoded.dictionary), dtype=np.int64)
    first[indices] = np.arange(count)  # any row holding a value stands for it
    return indices, first


def _repeats(values: pa.Array[Any]) -> bool:
    """Whether values repeat enough that making each distinct one once pays for hashing them
    all, judged on the first eighth of them (at least :data:`_SAMPLE`): options repeat, file
    links rarely do."""
    import pyarrow.compute as pc

    sample = values.slice(0, max(_SAMPLE, len(values) // 8))
    distinct = pc.count_distinct(sample, mode="all").as_py()
    return 2 * int(distinct) <= len(sample)


def _encoded(values: pa.Array[Any] | pa.ChunkedArray[Any]) -> tuple[Any, Objects]:
    """Codes into the distinct values, and those values as ``str`` with ``None`` last (the
    code of a missing value)."""
    import numpy as np
    import pyarrow as pa
    import pyarrow.compute as pc

    encoded: Any = pc.dictionary_encode(values)
    if isinstance(encoded, pa.ChunkedArray):
        joined = _one_dictionary(encoded)
        encoded = pc.dictionary_encode(_combined(values)) if joined is None else joined
    distinct = len(encoded.dictionary)
    words = np.empty(distinct + 1, dtype=object)
    words[:distinct] = encoded.dictionary.to_numpy(zero_copy_only=False)
    return pc.fill_null(encoded.indices, distinct).to_numpy(), words


def _one_dictionary(encoded: Any) -> Any:
    """Chunks encoded against one dictionary as one ``DictionaryArray`` (without copying the
    values), or ``None`` if their dictionaries differ."""
    import pyarrow as pa

    if not encoded.num_chunks:
        return None
    dictionary = encoded.chunk(0).dictionary
    # Arrow gives every chunk the final dictionary: the same array, so equals() is immediate.
    if not all(chunk.dictionary.equals(dictionary) for chunk in encoded.chunks):
        return None
    indices = pa.chunked_array([chunk.indices for chunk in encoded.chunks]).combine_chunks()
    return pa.DictionaryArray.from_arrays(indices, dictionary)


def _combined(values: pa.ChunkedArray[Any] | pa.Array[Any]) -> Any:
    """One array for a chunked array's chunks."""
    import pyarrow as pa

    return values.combine_chunks() if isinstance(values, pa.ChunkedArray) else values

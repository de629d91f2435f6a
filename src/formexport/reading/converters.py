"""Text cells → typed Arrow arrays, one converter per kind of OpnForm column.

Each converter reads what *both* OpnForm writers print (``docs/data-types.md``):
``TRUE`` or ``1`` for true, an empty cell for false and for 0 in the synchronous writer, the
stored date string, ``Row: Column | Row: Column`` for a matrix, and so on. It works on whole Arrow
arrays (one CSV block at a time), so the same code serves a DataFrame and a streamed Parquet
file.

A converter that meets a value it cannot read raises :class:`NotThisType`. Its :meth:`wider`
converter is tried next (whole numbers → decimals, one UTC offset → UTC); when there is none,
the column is read as text. :meth:`Converter.from_json` types the raw values of the JSON
submissions list, for exact values.
"""

from __future__ import annotations

import csv
from collections.abc import Callable, Mapping, Sequence
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import pyarrow as pa

NUMERIC_TYPES = frozenset({"number", "rating", "scale", "slider"})
BOOLEAN_TYPES = frozenset({"checkbox", "toggle_switch"})
LIST_TYPES = frozenset({"multi_select", "files", "signature"})
#: Fields that hold one of the form's options: read as categories in the form's order.
CHOICE_TYPES = frozenset({"select", "radio"})
_TRUE = ("1", "TRUE", "true", "True")
_FALSE = ("0", "FALSE", "false", "False")
# pyarrow arrays (their stubs are generic; the converters accept any value type).
ArrowArray = Any
STEP_KEYS = {"scale": "scale_step", "slider": "slider_step_value"}


class NotThisType(Exception):
    """A cell does not hold this converter's type."""

    def __init__(self, value: object) -> None:
        super().__init__(value)
        self.value = value


def arrow() -> Any:
    """The pyarrow module (imported on first use, like every heavy import here)."""
    import pyarrow as pa

    return pa


def compute() -> Any:
    """The pyarrow.compute module."""
    import pyarrow.compute as pc

    return pc


def _first_bad(values: ArrowArray, bad: ArrowArray) -> NotThisType:
    pc = compute()
    index = pc.index(bad, True).as_py()
    return NotThisType(values[index].as_py())


def require(values: ArrowArray, ok: ArrowArray) -> None:
    """Raise for the first non-null cell where ``ok`` is false."""
    pc = compute()
    bad = pc.and_(pc.is_valid(values), pc.invert(pc.fill_null(ok, False)))
    if pc.any(bad).as_py():
        raise _first_bad(values, bad)


def per_distinct(values: ArrowArray, parse: Callable[[Any], Any], kind: Any) -> ArrowArray:
    """``parse`` applied once to each distinct cell, as an array of ``kind`` (missing cells stay
    missing). Cells that need reading in Python repeat (option lists, matrix answers), so this
    costs a hash per cell and a Python call per distinct value. Exceptions come from the first
    cell that raises, as cell by cell."""
    pa, pc = arrow(), compute()
    encoded = pc.dictionary_encode(values)
    parsed = pa.array([parse(cell) for cell in encoded.dictionary.to_pylist()], kind)
    return parsed.take(encoded.indices)


def cast(values: ArrowArray, kind: Any) -> ArrowArray:
    """``values`` cast to ``kind``; :class:`NotThisType` names the first cell that does not fit."""
    pa, pc = arrow(), compute()
    try:
        return pc.cast(values, kind)
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
        pass
    for cell in values.to_pylist():
        if cell is not None:
            try:
                pc.cast(pa.array([cell], values.type), kind)
            except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
                raise NotThisType(cell) from None
    raise NotThisType(None)  # pragma: no cover - the block cast failed, so a cell did


class Converter:
    """Reads one text column as one or more typed arrays."""

    #: Suffixes of the output columns: one column, or a (start, end) pair for date ranges.
    parts: tuple[str, ...] = ("",)
    label = "text"

    def types(self) -> list[pa.DataType]:
        """Arrow types of the outputs (fixed once the first block is converted)."""
        return [arrow().string()]

    def convert(self, values: ArrowArray) -> list[ArrowArray]:
        """Typed arrays for one block of text cells (nulls are empty cells)."""
        return [values]

    def wider(self) -> Converter | None:
        """The converter to try when this one fails, or None (then: text)."""
        return None

    def from_json(self, value: Any) -> list[Any]:
        """Python values for one raw JSON value (None when unanswered)."""
        if value is None:
            return [None]
        if isinstance(value, list):
            return [",".join(str(v) for v in value)]
        return [str(value)]

    def merge(
        self, found: ArrowArray, exact: Sequence[Any], csv_values: ArrowArray, kind: Any
    ) -> ArrowArray:
        """``csv_values`` with the exact values (from :meth:`from_json`) where ``found``."""
        pa, pc = arrow(), compute()
        return pc.if_else(found, pa.array(exact, kind), csv_values)


class CellText(Converter):
    """A field's cells as text, the JSON list's raw values written as the CSV writes them
    (multi-select options joined with ``,`` and quoted when they hold one, matrix answers as
    ``Row: Column | Row: Column``), so that exact values and CSV values read the same text.

    Deleted fields are read this way: their text can be typed later by the field's type.
    """

    def __init__(self, field_type: str) -> None:
        self.field_type = field_type

    def from_json(self, value: Any) -> list[Any]:
        if isinstance(value, list) and self.field_type == "multi_select":
            return [",".join(_csv_safe(str(item)) for item in value)]
        if isinstance(value, Mapping) and self.field_type == "matrix":
            pairs = (f"{row}: {answer}" for row, answer in value.items() if answer is not None)
            return [" | ".join(pairs)]
        return super().from_json(value)


def _csv_safe(item: str) -> str:
    """An option as OpnForm joins it: quoted, quotes doubled, when it holds , " CR or LF."""
    if any(mark in item for mark in ',"\r\n'):
        return '"' + item.replace('"', '""') + '"'
    return item


class CategoryConverter(Converter):
    """One of the form's options: a dictionary array whose values are the options in the form's
    order, then any other value met (a removed option, free text), in order of appearance.

    Every block's dictionary starts with the same values, so pandas builds one ``Categorical``
    from them whatever the number of blocks, and options nobody chose stay categories.
    """

    label = "category"

    def __init__(self, options: Sequence[str]) -> None:
        self.options = list(dict.fromkeys(options))
        self._extras: list[str] = []
        self._dictionary: ArrowArray = None

    def types(self) -> list[pa.DataType]:
        pa = arrow()
        return [pa.dictionary(pa.int32(), pa.string())]

    def _values(self) -> ArrowArray:
        if self._dictionary is None:
            self._dictionary = arrow().array([*self.options, *self._extras], arrow().string())
        return self._dictionary

    def convert(self, values: ArrowArray) -> list[ArrowArray]:
        pa, pc = arrow(), compute()
        dictionary = self._values()
        indices = pc.index_in(values, value_set=dictionary)
        unknown = pc.and_(pc.is_valid(values), pc.is_null(indices))
        if pc.any(unknown).as_py():
            # unique() keeps the order of first appearance.
            self._extras += pc.unique(values.filter(unknown)).to_pylist()
            self._dictionary = None
            dictionary = self._values()
            indices = pc.index_in(values, value_set=dictionary)
        return [pa.DictionaryArray.from_arrays(indices, dictionary)]

    def merge(
        self, found: ArrowArray, exact: Sequence[Any], csv_values: ArrowArray, kind: Any
    ) -> ArrowArray:
        pa, pc = arrow(), compute()
        text = pc.if_else(found, pa.array(exact, pa.string()), csv_values.dictionary_decode())
        return self.convert(text)[0]

    def restart(self) -> None:
        """Forget the values met outside the options (a new pass over the export)."""
        self._extras, self._dictionary = [], None


class BooleanConverter(Converter):
    """``TRUE`` (sync writer) or ``1`` (background writer) is true; an empty cell is false."""

    label = "boolean"

    def types(self) -> list[pa.DataType]:
        return [arrow().bool_()]

    def convert(self, values: ArrowArray) -> list[ArrowArray]:
        pa, pc = arrow(), compute()
        true = pc.is_in(values, value_set=pa.array(_TRUE))
        require(values, pc.or_(true, pc.is_in(values, value_set=pa.array(_FALSE))))
        return [true]

    def from_json(self, value: Any) -> list[Any]:
        if value is None or isinstance(value, bool):
            return [value]
        text = str(value)
        if text in _TRUE or text in _FALSE:
            return [text in _TRUE]
        raise NotThisType(value)


class NumberConverter(Converter):
    """Numbers; whole-number fields try 64-bit integers first, then decimals."""

    def __init__(self, integer: bool) -> None:
        self.integer = integer
        self.label = "integer" if integer else "number"

    def types(self) -> list[pa.DataType]:
        pa = arrow()
        return [pa.int64() if self.integer else pa.float64()]

    def convert(self, values: ArrowArray) -> list[ArrowArray]:
        return [cast(values, self.types()[0])]

    def wider(self) -> Converter | None:
        return NumberConverter(integer=False) if self.integer else None

    def from_json(self, value: Any) -> list[Any]:
        if value is None or value == "":
            return [None]
        if isinstance(value, bool):
            raise NotThisType(value)
        if isinstance(value, (int, float)):
            number: int | float = value
        else:
            try:
                number = float(str(value))
            except ValueError:
                raise NotThisType(value) from None
        if self.integer:
            if float(number) != int(number):
                raise NotThisType(value)
            return [int(number)]
        return [float(number)]


class ListConverter(Converter):
    """Lists of strings: multi-select options, or file and signature links.

    A multi-select cell joins options with ``,`` and quotes an option holding a comma, quote or
    line break (``Music,"Rock, Pop"``); file links are joined with ``", "``. An empty cell is an
    empty list.
    """

    def __init__(self, separator: str) -> None:
        self.separator = separator
        self.label = "list"

    def types(self) -> list[pa.DataType]:
        pa = arrow()
        return [pa.list_(pa.string())]

    def convert(self, values: ArrowArray) -> list[ArrowArray]:
        pc = compute()
        filled = pc.fill_null(values, "")
        if self.separator == "," and pc.any(pc.match_substring(filled, '"')).as_py():
            return [per_distinct(filled, _split_quoted, self.types()[0])]
        return [_split(filled, self.separator)]

    def from_json(self, value: Any) -> list[Any]:
        if value is None:
            return [None]
        items = value if isinstance(value, list) else [value]
        return [[_file_url(v) if isinstance(v, Mapping) else str(v) for v in items]]


def _split(cells: ArrowArray, separator: str) -> ArrowArray:
    """Each cell split at ``separator``; an empty cell is an empty list (not ``[""]``)."""
    import numpy as np

    pa, pc = arrow(), compute()
    split = pc.split_pattern(cells, separator)
    empty = np.flatnonzero(pc.equal(cells, "").to_numpy(zero_copy_only=False))
    if not len(empty):
        return split
    offsets = split.offsets.to_numpy()
    keep = np.ones(len(split.values), bool)
    keep[offsets[empty]] = False  # the one "" item of each empty cell
    lengths = np.diff(offsets)
    lengths[empty] = 0
    starts = np.concatenate([[0], np.cumsum(lengths)]).astype(offsets.dtype)
    return pa.ListArray.from_arrays(pa.array(starts), split.values.filter(pa.array(keep)))


def _file_url(item: Mapping[str, Any]) -> str:
    return str(item.get("file_url") or item.get("file_name") or "")


def _split_quoted(cell: str) -> list[str]:
    if not cell:
        return []
    # The server quotes an option like a CSV field, so a CSV reader undoes it.
    try:
        return next(csv.reader([cell], strict=True), [])
    except csv.Error:
        raise NotThisType(cell) from None


class MatrixConverter(Converter):
    """``Row 1: Col A | Row 2: Col B`` → a struct with one entry per row of the matrix.

    Rows left unanswered are missing; an empty cell is a missing value.
    """

    label = "matrix"

    def __init__(self, rows: Sequence[str]) -> None:
        self.rows = list(dict.fromkeys(rows))
        # Longest row first, so "Row 10" is not read as "Row 1".
        self._ordered = sorted(self.rows, key=len, reverse=True)

    def types(self) -> list[pa.DataType]:
        pa = arrow()
        return [pa.struct([(row, pa.string()) for row in self.rows])]

    def convert(self, values: ArrowArray) -> list[ArrowArray]:
        return [per_distinct(values, self._parse, self.types()[0])]

    def _parse(self, cell: str) -> dict[str, str | None]:
        answers: dict[str, str | None] = dict.fromkeys(self.rows)
        rest = cell
        while rest:
            row = next((r for r in self._ordered if rest.startswith(r + ": ")), None)
            if row is None:
                raise NotThisType(cell)
            rest = rest[len(row) + 2 :]
            end = self._next_pair(rest)
            answers[row], rest = rest[:end], rest[end + 3 :]
        return answers

    def _next_pair(self, rest: str) -> int:
        starts = [rest.find(f" | {r}: ") for r in self.rows]
        found = [s for s in starts if s >= 0]
        return min(found) if found else len(rest)

    def from_json(self, value: Any) -> list[Any]:
        if value is None:
            return [None]
        if not isinstance(value, Mapping) or any(str(k) not in self.rows for k in value):
            raise NotThisType(value)
        answers: dict[str, str | None] = dict.fromkeys(self.rows)
        for key, answer in value.items():
            answers[str(key)] = None if answer is None else str(answer)
        # Like the CSV's empty cell: a matrix with no row answered is missing.
        return [answers if any(a is not None for a in answers.values()) else None]

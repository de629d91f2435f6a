"""Converters on whole blocks against their definitions, cell by cell."""

from __future__ import annotations

from typing import Any

import pyarrow as pa
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from formexport.reading import converters
from formexport.reading.converters import NotThisType

_PIECES = ["a", "b", "é", ",", '"', '""', "\n", "\r", " ", ", "]
_CELLS = st.lists(
    st.none() | st.lists(st.sampled_from(_PIECES), max_size=6).map("".join), max_size=30
)


def outcome(read: Any) -> tuple[str, Any]:
    """What reading gives: its values, or the cell it stops at."""
    try:
        return "values", read()
    except NotThisType as exc:
        return "stops at", exc.value


def one_by_one_lists(cells: list[str | None], separator: str) -> list[list[str]]:
    if separator == "," and any('"' in (c or "") for c in cells):
        return [converters._split_quoted(c or "") for c in cells]
    return [c.split(separator) if c else [] for c in cells]


@settings(max_examples=300, deadline=None)
@given(cells=_CELLS, separator=st.sampled_from([",", ", "]), start=st.integers(0, 3))
def test_lists_read_as_cell_by_cell(cells: list[str | None], separator: str, start: int) -> None:
    block = pa.array(["x", "y", "z", *cells], pa.string()).slice(start)
    cells = ["x", "y", "z", *cells][start:]
    reader = converters.ListConverter(separator)
    got = outcome(lambda: [a.to_pylist() for a in reader.convert(block)])
    assert got == outcome(lambda: [one_by_one_lists(cells, separator)])


def test_repeated_option_lists_are_read_once_each() -> None:
    cells = ['Music,"Rock, Pop"', "Tech", None, ""] * 5000
    reader = converters.ListConverter(",")
    (lists,) = reader.convert(pa.array(cells, pa.string()))
    assert lists.to_pylist() == [["Music", "Rock, Pop"], ["Tech"], [], []] * 5000


_ROWS = ["Row 1", "Row 10", "A | B", "B"]
_MATRIX_PIECES = [*(f"{r}: " for r in _ROWS), " | ", "x", "Col", ": ", "|"]


@settings(max_examples=300, deadline=None)
@given(
    cells=st.lists(
        st.none() | st.lists(st.sampled_from(_MATRIX_PIECES), max_size=6).map("".join),
        max_size=20,
    )
)
def test_matrix_reads_as_cell_by_cell(cells: list[str | None]) -> None:
    reader = converters.MatrixConverter(_ROWS)
    got = outcome(lambda: reader.convert(pa.array(cells, pa.string()))[0].to_pylist())
    expected = outcome(lambda: [None if c is None else reader._parse(c) for c in cells])
    assert got == expected


def test_the_first_unreadable_cell_is_named() -> None:
    reader = converters.MatrixConverter(["Row 1"])
    cells = ["Row 1: a", "nope", "Row 1: b", "also nope", "nope"]
    with pytest.raises(NotThisType) as caught:
        reader.convert(pa.array(cells, pa.string()))
    assert caught.value.value == "nope"

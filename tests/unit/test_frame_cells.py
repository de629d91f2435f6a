"""List and matrix cells of the default backend: Arrow's values, and a new object per row."""

from __future__ import annotations

import random
from typing import Any

import pandas as pd
import pyarrow as pa
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from formexport.reading import arrow_to_pandas, frames

LIST = pa.list_(pa.string())
MATRIX = pa.struct([("Morning", pa.string()), ("Afternoon", pa.string())])
OPTIONS = ["Music", "Rock, Pop", "Tech", "Café", ""]


def chunked(rows: list[Any], kind: pa.DataType, sizes: tuple[int, ...] = (3, 1, 7)) -> Any:
    """``rows`` in chunks of the given sizes (then one for the rest), the first one sliced."""
    head = pa.array([None, *rows[: sizes[0]]], kind).slice(1)  # a chunk with an offset
    chunks, start = [head], sizes[0]
    for size in (*sizes[1:], len(rows)):
        chunks.append(pa.array(rows[start : start + size], kind))
        start += size
    return pa.chunked_array(chunks, kind)


def nullable(table: pa.Table) -> pd.DataFrame:
    return arrow_to_pandas.to_pandas(table, "numpy_nullable", {})


def distinct_objects(cells: list[Any]) -> bool:
    present = [cell for cell in cells if cell is not None]
    return len({id(cell) for cell in present}) == len(present)


def option_lists(count: int, seed: int = 1) -> list[list[str] | None]:
    draw = random.Random(seed)
    return [
        None if draw.random() < 0.05 else draw.sample(OPTIONS, draw.randint(0, 4))
        for _ in range(count)
    ]


def link_lists(count: int) -> list[list[str]]:
    """File links: every item its own string, as in real exports."""
    return [
        [f"https://h/{row}-{i}.pdf?signature={row * 7 + i}" for i in range(row % 3)]
        for row in range(count)
    ]


@pytest.mark.parametrize("rows", [option_lists(5000), link_lists(5000)], ids=["options", "links"])
def test_list_cells_equal_arrows_lists_one_list_per_row(rows: list[Any]) -> None:
    column = chunked(rows, LIST)
    cells = nullable(pa.table({"Topics": column}))["Topics"].tolist()
    assert cells == column.to_pylist() == rows
    assert all(type(cell) is list for cell in cells if cell is not None)
    assert all(type(item) is str for cell in cells if cell is not None for item in cell)
    assert distinct_objects(cells)


def test_appending_to_one_list_cell_leaves_the_others_alone() -> None:
    rows = [["Music", "Tech"]] * 3000 + [[]] * 3000
    df = nullable(pa.table({"Topics": chunked(rows, LIST)}))
    df["Topics"][0].append("Café")
    df["Topics"][3000].append("Music")
    assert df["Topics"][0] == ["Music", "Tech", "Café"]
    assert df["Topics"].tolist()[1:3000] == [["Music", "Tech"]] * 2999
    assert df["Topics"].tolist()[3001:] == [[]] * 2999


def test_missing_items_and_cells_stay_missing() -> None:
    rows = [["a", None], None, [], [None], ["a"]] * 1000
    column = chunked(rows, LIST)
    cells = frames.string_lists(column).tolist()
    assert cells == column.to_pylist() == rows
    assert distinct_objects(cells)


@pytest.mark.parametrize("kind", [LIST, MATRIX], ids=["list", "matrix"])
def test_a_table_without_rows_keeps_the_object_column(kind: pa.DataType) -> None:
    for column in (pa.chunked_array([], kind), pa.chunked_array([pa.array([], kind)])):
        df = nullable(pa.table({"c": column}))
        assert len(df) == 0
        assert str(df["c"].dtype) == "object"


def test_lists_of_other_items_stay_python_lists() -> None:
    column = pa.chunked_array([pa.array([[1, 2], None, [], [3]], pa.list_(pa.int64()))])
    cells = nullable(pa.table({"n": column}))["n"].tolist()
    assert cells == [[1, 2], None, [], [3]]
    assert all(type(cell) is list for cell in cells if cell is not None)


def matrix_rows(
    count: int, answers: list[str | None], seed: int = 2
) -> list[dict[str, Any] | None]:
    draw = random.Random(seed)
    return [
        None
        if draw.random() < 0.05
        else {"Morning": draw.choice(answers), "Afternoon": draw.choice(answers)}
        for _ in range(count)
    ]


@pytest.mark.parametrize(
    "answers",
    [["Yes", "No", None], [f"answer {i}" for i in range(5000)]],
    ids=["few-distinct", "mostly-distinct"],
)
def test_matrix_cells_equal_arrows_dicts_one_dict_per_row(answers: list[str | None]) -> None:
    rows = matrix_rows(5000, answers)
    column = chunked(rows, MATRIX)
    table = pa.table({"Sessions": column})
    cells = nullable(table)["Sessions"].tolist()
    assert cells == column.to_pylist() == rows
    assert cells == table.to_pandas()["Sessions"].tolist()
    assert all(
        type(cell) is dict and list(cell) == ["Morning", "Afternoon"] for cell in cells if cell
    )
    assert distinct_objects(cells)


def test_changing_one_matrix_cell_leaves_the_others_alone() -> None:
    rows = [{"Morning": "Yes", "Afternoon": None}] * 4000
    df = nullable(pa.table({"Sessions": chunked(rows, MATRIX)}))
    df["Sessions"][0]["Afternoon"] = "No"
    assert df["Sessions"][0] == {"Morning": "Yes", "Afternoon": "No"}
    assert df["Sessions"].tolist()[1:] == rows[1:]


def test_object_cells_match_the_previous_conversion_beside_other_columns() -> None:
    rows = 3000
    table = pa.table(
        {
            "n": pa.chunked_array([pa.array(range(rows), pa.int64())]),
            "Topics": chunked(option_lists(rows), LIST),
            "Sessions": chunked(matrix_rows(rows, ["Yes", "No", None]), MATRIX),
            "Uploads": chunked(link_lists(rows), LIST),
            "text": pa.chunked_array([pa.array([str(i) for i in range(rows)])]),
        }
    )
    df = nullable(table)
    expected = table.to_pandas(types_mapper=arrow_to_pandas._nullable_types().get)
    for name in ("Topics", "Uploads"):
        expected[name] = pd.Series(table.column(name).to_pylist(), dtype=object)
    pd.testing.assert_frame_equal(df, expected, check_exact=True)
    assert [str(t) for t in df.dtypes] == ["Int64", "object", "object", "object", "string"]


@settings(max_examples=60, deadline=None)
@given(
    st.lists(
        st.none()
        | st.lists(st.none() | st.sampled_from(OPTIONS) | st.text(max_size=3), max_size=5),
        max_size=40,
    ),
    st.integers(0, 2),
    st.booleans(),
)
def test_any_list_column_converts_as_arrow_does(rows: list[Any], split: int, shared: bool) -> None:
    column = chunked(rows, LIST, (split, 1))
    # Both ways of building the cells, whatever the sample says about repeats.
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(frames, "_repeats", lambda values: shared)
        cells = frames.string_lists(column).tolist()
    assert cells == column.to_pylist()
    assert distinct_objects(cells)


def test_chunks_encoded_against_different_dictionaries_are_not_joined() -> None:
    chunks = [pa.array(["a", "b"]).dictionary_encode(), pa.array(["b"]).dictionary_encode()]
    assert frames._one_dictionary(pa.chunked_array(chunks)) is None
    shared = pa.chunked_array([pa.array(["a", "b"]), pa.array(["b", None])]).dictionary_encode()
    joined = frames._one_dictionary(shared)
    assert joined.to_pylist() == ["a", "b", "b", None]

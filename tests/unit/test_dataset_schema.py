"""One column per field: keys, names at first sight, common types and their text."""

from __future__ import annotations

import json
from datetime import datetime, timezone
from typing import Any

import pyarrow as pa
import pytest

from formexport import DatasetError
from formexport.dataset.codebook_file import Codebook, FormBook
from formexport.dataset.column_types import as_text, cast_column, common_type
from formexport.dataset.conform import conform, conforms
from formexport.dataset.stable_columns import (
    absorb,
    column_key,
    export_columns,
    incoming_columns,
    merge,
)
from formexport.reading.typed_reader import METADATA_KEY


def field(name: str, arrow_type: pa.DataType, **info: Any) -> pa.Field:
    return pa.field(name, arrow_type, metadata={METADATA_KEY: json.dumps(info)})


TEXT = pa.string()


def answer(name: str, field_id: str, arrow_type: pa.DataType = TEXT, **info: Any) -> pa.Field:
    info = {"kind": "field", "field_id": field_id, "field_name": name, "type": "text", **info}
    return field(name, arrow_type, **info)


SUBMISSION_ID = field("submission_id", pa.int64(), kind="id", type="submission_id")


def test_keys_follow_the_field_not_the_name() -> None:
    first, renamed = answer("Full name", "f1"), answer("Name", "f1")
    assert [i.key for i in incoming_columns(pa.schema([first]))] == ["field:f1"]
    assert [i.key for i in incoming_columns(pa.schema([renamed]))] == ["field:f1"]
    start = answer("Dates (start)", "f2", part="start")
    assert column_key(json.loads(start.metadata[METADATA_KEY]), start.name) == "field:f2:start"
    assert [i.key for i in incoming_columns(pa.schema([SUBMISSION_ID]))] == ["submission_id"]
    assert column_key({}, "utm_source") == "extra:utm_source"


def test_a_renamed_field_keeps_its_column_and_the_book_keeps_its_names() -> None:
    book = merge(7, None, incoming_columns(pa.schema([answer("Full name", "f1")])), "run-1")
    book = merge(7, book, incoming_columns(pa.schema([answer("Name", "f1")])), "run-2")
    (entry,) = book.columns
    assert (entry.dataset_column, entry.column, entry.field_name) == ("Full name", "Name", "Name")
    assert entry.earlier_names == [{"name": "Full name", "run": "run-2"}]
    assert book.arrow_schema.names == ["Full name"]


def test_a_new_field_takes_a_free_name_never_a_partition_key() -> None:
    book = merge(7, None, incoming_columns(pa.schema([answer("Email", "old")])), "run-1")
    later = pa.schema([answer("Email", "new"), answer("form_id", "f3"), answer("Email", "old")])
    book = merge(7, book, incoming_columns(later), "run-2")
    assert [(c.dataset_column, c.column) for c in book.columns] == [
        ("Email.1", "Email"), ("form_id.1", "form_id.1"), ("Email", "Email.1"),
    ]  # fmt: skip
    assert book.columns[0].first_run == "run-2"


def test_options_keep_the_forms_order_then_earlier_ones() -> None:
    kind = pa.dictionary(pa.int32(), pa.string())
    first = answer("Ticket", "f1", kind, type="category", options=["Standard", "VIP"])
    later = answer("Ticket", "f1", kind, type="category", options=["Student", "VIP"])
    book = merge(7, None, incoming_columns(pa.schema([first])), "run-1")
    book = merge(7, book, incoming_columns(pa.schema([later])), "run-2")
    assert book.columns[0].options == ["Student", "VIP", "Standard"]
    assert book.columns[0].earlier_options == ["Standard"]


def test_a_type_change_makes_the_column_text_from_then_on() -> None:
    text = answer("Score", "f1", field_type="text")
    number = answer("Score", "f1", pa.float64(), field_type="number", type="number")
    book = merge(7, None, incoming_columns(pa.schema([text])), "run-1")
    book = merge(7, book, incoming_columns(pa.schema([number])), "run-2")
    book = merge(7, book, incoming_columns(pa.schema([number])), "run-3")
    (entry,) = book.columns
    assert (entry.type, entry.field_type) == ("text", "number")
    assert entry.earlier_types == [{"field_type": "text", "run": "run-2"}]
    assert book.arrow_schema.field("Score").type == pa.string()


def test_common_types() -> None:
    dictionary = pa.dictionary(pa.int32(), pa.string())
    utc, paris = pa.timestamp("us", tz="UTC"), pa.timestamp("us", tz="+02:00")
    matrix = pa.struct([("Morning", pa.string())])
    wider = pa.struct([("Morning", pa.string()), ("Evening", pa.string())])
    assert common_type(pa.int64(), pa.float64()) == pa.float64()
    assert common_type(pa.float64(), pa.int64()) == pa.float64()
    assert common_type(paris, pa.timestamp("us", tz="+01:00")) == utc
    assert common_type(matrix, pa.struct([("Evening", pa.string())])) == wider
    assert common_type(dictionary, dictionary) == dictionary
    assert common_type(pa.list_(pa.string()), pa.list_(pa.field("element", pa.string()))) == (
        pa.list_(pa.string())
    )
    for other in (dictionary, pa.float64(), pa.bool_(), pa.timestamp("us"), pa.list_(pa.string())):
        assert common_type(pa.string(), other) == pa.string()
        assert common_type(other, pa.string()) == pa.string()
    assert common_type(pa.timestamp("us"), utc) == pa.string()  # a date field given a time


def test_values_become_text_that_reads_back() -> None:
    paris = pa.timestamp("us", tz="+02:00")
    moment = datetime(2026, 8, 21, 12, 30, tzinfo=timezone.utc)
    cases = [
        (pa.array([42.0, 3.5, None]), ["42", "3.5", None]),
        (pa.array([7], pa.int64()), ["7"]),
        (pa.array([True, False]), ["true", "false"]),
        (pa.array(["VIP"]).dictionary_encode(), ["VIP"]),
        (pa.array([datetime(2026, 8, 21)], pa.timestamp("us")), ["2026-08-21"]),
        (pa.array([moment], paris), ["2026-08-21T14:30:00+02:00"]),
        (pa.array([["Music", "Rock, Pop"], None]), ['["Music", "Rock, Pop"]', None]),
        (pa.array([{"Morning": "Talk"}]), ['{"Morning": "Talk"}']),
    ]
    for values, expected in cases:
        assert as_text(values).to_pylist() == expected, values.type


def test_a_matrix_that_gained_a_row_keeps_its_answers() -> None:
    wider = pa.struct([("Morning", pa.string()), ("Evening", pa.string())])
    answers = pa.chunked_array([pa.array([{"Morning": "Talk"}, None])])
    assert cast_column(answers, wider).to_pylist() == [{"Morning": "Talk", "Evening": None}, None]


def test_a_file_is_renamed_widened_and_filled_to_the_book() -> None:
    old = pa.schema([SUBMISSION_ID, answer("Full name", "f1"), answer("Rating", "f2", pa.int64())])
    new = pa.schema([SUBMISSION_ID, answer("Name", "f1"), answer("Rating", "f2", pa.float64()),
                     answer("Age", "f3", pa.float64())])  # fmt: skip
    book = merge(7, None, incoming_columns(old), "run-1")
    book = merge(7, book, incoming_columns(new), "run-2")
    table = pa.Table.from_pydict({"submission_id": [1], "Full name": ["Ann"], "Rating": [4]},
                                 schema=old)  # fmt: skip
    assert not conforms(table.schema, book)
    done = conform(table, book)
    assert conforms(done.schema, book)
    assert done.to_pylist() == [
        {"submission_id": 1, "Full name": "Ann", "Rating": 4.0, "Age": None}
    ]
    attrs = json.loads(done.schema.metadata[b"PANDAS_ATTRS"])
    assert list(attrs["columns"]) == ["submission_id", "Full name", "Rating", "Age"]
    assert done.to_pandas().dtypes.astype(str).to_dict() == {
        "submission_id": "Int64", "Full name": "string", "Rating": "Float64", "Age": "Float64",
    }  # fmt: skip


def test_a_file_the_book_does_not_cover_is_refused_until_absorbed() -> None:
    book = merge(7, None, incoming_columns(pa.schema([answer("Name", "f1")])), "run-1")
    stray = pa.schema([answer("Name", "f1"), answer("Notes", "f9")])
    table = pa.Table.from_pydict({"Name": ["Ann"], "Notes": ["x"]}, schema=stray)
    with pytest.raises(DatasetError, match="field:f9"):
        conform(table, book)
    widened = absorb(book, incoming_columns(stray), "2026-11-28")
    assert conform(table, widened).column_names == ["Name", "Notes"]
    assert widened.columns[0].earlier_names == []


def test_the_codebook_round_trips_through_json() -> None:
    book = merge(7, None, incoming_columns(pa.schema([answer("Name", "f1")])), "run-1")
    codebook = Codebook()
    codebook.put(book)
    again = Codebook.from_json(codebook.to_json()).get(7)
    assert isinstance(again, FormBook)
    assert again.columns == book.columns
    assert again.arrow_schema.equals(book.arrow_schema)
    with pytest.raises(DatasetError, match="move it away"):
        Codebook.from_json('{"forms": {"7": {}}}')


def test_a_column_without_values_keeps_its_dataset_type() -> None:
    paris, utc = pa.timestamp("us", tz="+02:00"), pa.timestamp("us", tz="UTC")
    first = pa.schema([SUBMISSION_ID, answer("Visit", "f1", paris, type="datetime")])
    book = merge(7, None, incoming_columns(first), "run-1")
    later = pa.schema([SUBMISSION_ID, answer("Visit", "f1", utc, type="datetime")])
    unanswered = pa.Table.from_pydict({"submission_id": [9], "Visit": [None]}, schema=later)
    book = merge(7, book, export_columns(unanswered, book), "run-2")
    assert book.arrow_schema.field("Visit").type == paris
    assert [c.type for c in book.columns] == ["submission_id", "datetime"]
    assert conform(unanswered, book).column("Visit").type == paris
    empty = pa.schema([SUBMISSION_ID, answer("Visit", "f1", pa.string())]).empty_table()
    assert merge(7, book, export_columns(empty, book), "run-3").arrow_schema == book.arrow_schema
    answered = pa.Table.from_pydict({"submission_id": [9], "Visit": [0]}, schema=later)
    assert (
        merge(7, book, export_columns(answered, book), "run-4").arrow_schema.field("Visit").type
        == utc
    )

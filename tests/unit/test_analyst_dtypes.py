"""The dtypes an analyst reaches for: lists, dates with ``.dt``, typed empty exports, Parquet."""

from __future__ import annotations

import io
import json
from datetime import date, datetime, timezone
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from formexport.opnform.models import ExactValues, FormInfo
from formexport.reading import arrow_to_pandas, parquet_output, sinks
from formexport.sandbox import make_field

BOM = b"\xef\xbb\xbf"
FIELDS = [
    make_field("select", "Ticket", id="f-ticket", options=["Standard", "VIP", "Press"]),
    make_field("multi_select", "Topics", id="f-topics", options=["Music", "Rock, Pop", 'Say "hi"']),
    make_field("files", "Documents", id="f-docs"),
    make_field("date", "Visit", id="f-visit"),
    make_field("date", "Stay", id="f-stay", date_range=True),
    make_field("date", "Slot", id="f-slot", with_time=True),
]
INFO = FormInfo.from_json({"id": 7, "properties": FIELDS, "enable_partial_submissions": True})
COLUMNS = {**dict.fromkeys((f["id"] for f in FIELDS), True), "created_at": True}
ASYNC = BOM + (
    b"id,Ticket,Topics,Documents,Visit,Stay,Slot,created_at,status\n"
    b'k5,VIP,"Music,""Say """"hi""""""",'
    b'"https://h/a.pdf, https://h/b.png",2026-08-21T00:00:00+02:00,'
    b'"2026-08-01T00:00:00+02:00,2026-08-03T00:00:00+02:00",2026-08-21T10:15:00+02:00,'
    b'"2026-08-21 14:02",Completed\n'
    b'jR,Legacy,,,,,,"2026-08-20 09:30","In Progress"\n'
)
EMPTY_SYNC = BOM + b'""\n'  # what the synchronous writer sends for no submissions


def frame(data: bytes, backend: str = "numpy_nullable", **options: object) -> pd.DataFrame:
    reader = sinks.make_reader(data, form=INFO, columns=COLUMNS, **options)  # type: ignore[arg-type]
    return arrow_to_pandas.to_pandas(sinks.read_arrow(data, reader), backend, reader.attrs())


def parquet(data: bytes) -> bytes:
    buffer = io.BytesIO()
    parquet_output.write_parquet(data, buffer, sinks.make_reader(data, form=INFO, columns=COLUMNS))
    return buffer.getvalue()


def test_list_cells_are_plain_python_lists() -> None:
    df = frame(ASYNC)
    topics, documents = df["Topics"].tolist(), df["Documents"].tolist()
    assert topics == [["Music", 'Say "hi"'], []]
    assert documents == [["https://h/a.pdf", "https://h/b.png"], []]
    assert all(type(cell) is list for cell in topics + documents)
    assert all(type(item) is str for cell in topics for item in cell)
    assert json.loads(json.dumps(topics)) == topics
    assert str(df["Topics"].dtype) == "object"


def test_never_answered_lists_are_missing_with_exact_values() -> None:
    exact = ExactValues({2: {"f-topics": ["Rock, Pop"]}, 1: {}})  # k5 is 2, jR is 1
    df = frame(ASYNC, exact_values=exact)
    assert df["Topics"].tolist() == [["Rock, Pop"], None]


def test_dates_without_time_are_datetime64_at_midnight() -> None:
    df = frame(ASYNC)
    for column in ("Visit", "Stay (start)", "Stay (end)"):
        assert str(df[column].dtype) == "datetime64[us]"
        assert df[column].dt.tz is None
    assert df["Visit"].iloc[0] == pd.Timestamp("2026-08-21")  # the picked day, offset dropped
    assert df["Stay (end)"].dt.day.tolist()[0] == 3
    assert pd.isna(df["Visit"].iloc[1])
    assert str(df["Slot"].dtype) == "datetime64[us, UTC+02:00]"
    assert df.attrs["columns"]["Visit"]["type"] == "date"


def test_pyarrow_backend_gets_the_arrow_equivalents() -> None:
    df = frame(ASYNC, "pyarrow")
    assert df["Ticket"].dtype == pd.ArrowDtype(pa.dictionary(pa.int32(), pa.string()))
    assert df["Topics"].dtype == pd.ArrowDtype(pa.list_(pa.string()))
    assert df["Visit"].dtype == pd.ArrowDtype(pa.date32())
    assert df["Visit"].iloc[0] == date(2026, 8, 21)
    assert pa.array(df["Ticket"]).dictionary.to_pylist() == ["Standard", "VIP", "Press", "Legacy"]


def test_categories_keep_options_nobody_chose() -> None:
    df = frame(ASYNC)
    assert list(df["Ticket"].cat.categories) == ["Standard", "VIP", "Press", "Legacy"]
    assert df["Ticket"].value_counts(sort=False).tolist() == [0, 1, 0, 1]
    assert list(df["status"].cat.categories) == ["Completed", "In Progress"]


@pytest.mark.parametrize("data", [EMPTY_SYNC, b"", ASYNC.split(b"\n")[0] + b"\n"])
def test_an_export_without_submissions_keeps_every_column_typed(data: bytes) -> None:
    empty, full = frame(data), frame(ASYNC)
    assert len(empty) == 0
    assert list(empty.columns) == list(full.columns)
    slot = "Slot"  # a date-time column's offset comes from its values: UTC when there are none
    assert str(empty[slot].dtype) == "datetime64[us, UTC]"
    same = [c for c in full.columns if c != slot]
    assert empty[same].dtypes.astype(str).tolist() == full[same].dtypes.astype(str).tolist()
    assert list(empty["Ticket"].cat.categories) == ["Standard", "VIP", "Press"]
    assert empty.attrs["columns"].keys() == full.attrs["columns"].keys()


def test_parquet_round_trip_keeps_the_dtypes(tmp_path: Path) -> None:
    path = tmp_path / "export.parquet"
    path.write_bytes(parquet(ASYNC))
    back, df = pd.read_parquet(path), frame(ASYNC)
    pd.testing.assert_frame_equal(back, df)
    assert back.dtypes.astype(str).tolist() == df.dtypes.astype(str).tolist()
    assert list(back["Ticket"].cat.categories) == ["Standard", "VIP", "Press", "Legacy"]
    # pandas turns Parquet lists into NumPy arrays; the items are the same.
    assert [list(cell) for cell in back["Topics"]] == df["Topics"].tolist()
    schema = pq.read_schema(path)
    assert schema.field("Visit").type == pa.timestamp("us")  # so pandas reads datetime64
    assert json.loads(schema.field("Visit").metadata[b"formexport"])["type"] == "date"
    assert schema.field("Ticket").type == pa.dictionary(pa.int32(), pa.string())


def test_parquet_of_an_empty_export_keeps_every_column(tmp_path: Path) -> None:
    back = pd.read_parquet(io.BytesIO(parquet(EMPTY_SYNC)))
    df = frame(EMPTY_SYNC)
    assert len(back) == 0
    # Parquet stores a dictionary only with values: an empty file has no categories.
    pd.testing.assert_frame_equal(back, df, check_categorical=False)


def test_arrow_table_keeps_dates_as_dates() -> None:
    reader = sinks.make_reader(ASYNC, form=INFO, columns=COLUMNS)
    table = sinks.read_arrow(ASYNC, reader)
    assert table.schema.field("Visit").type == pa.date32()
    assert table.schema.field("Ticket").type == pa.dictionary(pa.int32(), pa.string())
    assert table.column("created_at").to_pylist()[0] == datetime(
        2026, 8, 21, 14, 2, tzinfo=timezone.utc
    )


def test_attrs_describe_options_required_and_help() -> None:
    blocks = [
        make_field("select", "Country", id="f-c", options=["FR", "DE"], required=True, help="Hi"),
        make_field("text", "Note", id="f-n"),
    ]
    info = FormInfo.from_json({"id": 1, "properties": blocks})
    reader = sinks.make_reader(b"", form=info, columns={"f-c": True, "f-n": True})
    columns = reader.attrs()["columns"]
    assert columns["Country"]["options"] == ["FR", "DE"]
    assert columns["Country"]["required"] is True
    assert columns["Country"]["help"] == "Hi"
    assert columns["Country"]["field_name"] == "Country"
    assert "options" not in columns["Note"]
    assert columns["Note"]["required"] is False

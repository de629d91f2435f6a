from pathlib import Path

import pandas as pd
import pytest

from formexport.errors import CsvFormatError
from formexport.reading import blocks, parquet_output

BOM = b"\xef\xbb\xbf"
SYNC = BOM + (
    b'"id","Name","Email","Interests","Newsletter","created_at","status"\n'
    b'"k5","Jane Smith","jane@example.com","Music,""Rock, Pop""","TRUE",'
    b'"2026-08-21 14:02","Completed"\n'
    b'"jR","John","","","","2026-08-20 09:30","In Progress"\n'
)
ASYNC = BOM + (
    b"id,Name,Email,Interests,Newsletter,created_at,status\n"
    b'k5,"Jane Smith",jane@example.com,"Music,""Rock, Pop""",1,"2026-08-21 14:02",Completed\n'
    b'jR,John,,,,"2026-08-20 09:30","In Progress"\n'
)


@pytest.mark.parametrize("data", [SYNC, ASYNC], ids=["sync-writer", "async-writer"])
def test_both_writers_read_the_same(data: bytes) -> None:
    df = blocks.to_dataframe(data)
    assert list(df.columns) == [
        "id",
        "Name",
        "Email",
        "Interests",
        "Newsletter",
        "created_at",
        "status",
    ]
    assert df["id"].tolist() == ["k5", "jR"]
    assert df.loc[0, "Interests"] == 'Music,"Rock, Pop"'
    assert df["Email"].isna().tolist() == [False, True]


def test_values_are_kept_exactly_as_served() -> None:
    data = (
        b"id,Phone,Zip,Note,Flag\n"
        b'jR,+33612345678,01234,"line one\nline \xe2\x80\x9ctwo\xe2\x80\x9d \xf0\x9f\x8e\x89",NA\n'
    )
    row = blocks.to_dataframe(data).iloc[0]
    assert row["Phone"] == "+33612345678"
    assert row["Zip"] == "01234"
    assert row["Note"] == "line one\nline \u201ctwo\u201d \U0001f389"
    assert row["Flag"] == "NA"


def test_duplicate_headers_get_pandas_suffixes() -> None:
    data = b"id,Email,Email,Email.1,status\njR,a,b,c,d\n"
    df = blocks.to_dataframe(data)
    assert list(df.columns) == ["id", "Email", "Email.1", "Email.1.1", "status"]
    assert df.iloc[0].tolist() == ["jR", "a", "b", "c", "d"]


def test_header_with_quoted_newline() -> None:
    data = b'"id","Na\nme"\n"jR","x"\n'
    assert list(blocks.to_dataframe(data).columns) == ["id", "Na\nme"]
    assert blocks.split_header(data) == (b'"id","Na\nme"\n', b'"jR","x"\n')


@pytest.mark.parametrize("data", [b"", BOM + b'""\n'], ids=["empty", "sync-writer-zero-rows"])
def test_empty_exports_give_an_empty_frame(data: bytes) -> None:
    df = blocks.to_dataframe(data)
    assert df.shape == (0, 0)


def test_header_only_keeps_columns() -> None:
    df = blocks.to_dataframe(BOM + b"id,Name\n")
    assert list(df.columns) == ["id", "Name"]
    assert len(df) == 0


def test_parquet_round_trip_equals_dataframe(tmp_path: Path) -> None:
    source = tmp_path / "export.csv"
    source.write_bytes(SYNC)
    dest = tmp_path / "export.parquet"
    blocks.to_parquet(source, dest)
    pd.testing.assert_frame_equal(pd.read_parquet(dest), blocks.to_dataframe(source))


def test_ragged_csv_is_a_typed_error() -> None:
    with pytest.raises(CsvFormatError):
        blocks.to_dataframe(b"id,Name\njR,a,extra\n")


def test_invalid_utf8_is_a_typed_error() -> None:
    with pytest.raises(CsvFormatError):
        blocks.to_dataframe(b"id,Name\njR,\xff\xfe\n")


def test_unique_names() -> None:
    assert blocks.unique_names(["a", "a", "a.1", "b"]) == ["a", "a.1", "a.1.1", "b"]


def test_rows_longer_than_a_stream_block_are_read_with_larger_blocks(tmp_path: Path) -> None:
    from formexport.reading import sinks

    long_cell = "x" * (blocks.STREAM_BLOCK_SIZE * 2)
    data = f'id,Note\njR,short\nk5,"{long_cell}"\n'.encode()
    reader = sinks.make_reader(data, form=None, columns=None)
    table = sinks.read_arrow(data, reader)
    assert table.column("Note").to_pylist() == ["short", long_cell]
    sink = tmp_path / "long.parquet"
    parquet_output.write_parquet(data, sink, reader)
    assert pd.read_parquet(sink)["Note"].tolist() == ["short", long_cell]


@pytest.mark.parametrize(("data", "writer"), [(SYNC, "answer"), (ASYNC, "job")])
def test_the_writer_is_seen_from_the_first_bytes(data: bytes, writer: str) -> None:
    assert blocks.detect_writer(data) == writer

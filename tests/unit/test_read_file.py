"""read_export and convert_export on hand-made files, with the form given (no server).

The fixtures under tests/fixtures/exports are what OpnForm's writers write for the same three
submissions: ``answered.csv`` by the writer of exports answered at once (PhpSpreadsheet; it
loses the ``+``, the 0 and prints the hashid ``2E1`` as ``20``), ``job.csv`` and ``job-bom.csv``
by the server job's ``fputcsv`` (written by PHP 8.2 itself, before and since OpnForm 2.3 added
the byte-order mark), with ``\\"`` that standard CSV readers split wrongly.
"""

from __future__ import annotations

import csv
import io
import json
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import pandas as pd
import pytest

import formexport as fx
from formexport.cli import main
from formexport.opnform.checks import form_path
from formexport.read_file import convert_export
from formexport.sandbox import make_field

FIXTURES = Path(__file__).parents[1] / "fixtures" / "exports"
FORM = fx.FormInfo.from_json(
    {
        "id": 7,
        "slug": "contact-us-k3x9qa",
        "title": "Contact us",
        "properties": [
            make_field("text", "Name", id="f-name"),
            make_field("phone_number", "Phone", id="f-phone"),
            make_field("text", "Path", id="f-path"),
            make_field("number", "Amount", id="f-amount"),
            make_field("checkbox", "Subscribe", id="f-sub"),
            make_field("multi_select", "Topics", id="f-topics", options=["Music", "Rock, Pop"]),
        ],
    }
)
HEADER = ["id", "Name", "Phone", "Path", "Amount", "Subscribe", "Topics", "created_at"]
JOB_CELLS = [
    ["jR", 'Zoë "Z" 😀', "+33612345678", 'C:\\temp\\"x"', "0", "1", 'Music,"Rock, Pop"',
     "2026-08-21 14:02"],
    ["k5", "line one\nline two", "0123", "dir\\", None, None, None, "2026-08-20 09:30"],
    ["vm", 'a\\",b', None, None, "2.5", None, "Music", "2026-08-19 08:00"],
]  # fmt: skip
ANSWERED_CELLS = [
    ["jR", 'Zoë "Z" 😀', "33612345678", 'C:\\temp\\"x"', None, "TRUE", 'Music,"Rock, Pop"',
     "2026-08-21 14:02"],
    ["k5", "line one\nline two", "0123", "dir\\", None, None, None, "2026-08-20 09:30"],
    ["20", 'a\\",b', None, None, "2.5", None, "Music", "2026-08-19 08:00"],
]  # fmt: skip
CELLS = {"answered.csv": ANSWERED_CELLS, "job.csv": JOB_CELLS, "job-bom.csv": JOB_CELLS}
WRITERS = {"answered.csv": "answer", "job.csv": "job", "job-bom.csv": "job"}


def cells(frame: pd.DataFrame) -> list[list[Any]]:
    return [[None if pd.isna(v) else v for v in row] for row in frame.itertuples(index=False)]


@pytest.mark.parametrize("name", sorted(CELLS))
def test_every_cell_is_its_exact_text(name: str) -> None:
    frame = fx.read_export(FIXTURES / name)
    assert list(frame.columns) == HEADER
    assert all(str(dtype) == "string" for dtype in frame.dtypes)
    assert cells(frame) == CELLS[name]
    assert frame.attrs["writer"] == WRITERS[name]
    assert frame.attrs["form_id"] is None


def test_pandas_alone_gets_these_files_wrong() -> None:
    """What read_export is for: read_csv loses the + and the leading zero, splits the \\"."""
    with pytest.raises(pd.errors.ParserError):
        pd.read_csv(FIXTURES / "job.csv")
    guessed = pd.read_csv(FIXTURES / "answered.csv")
    assert guessed["Phone"].tolist()[1] == 123


@pytest.mark.parametrize("name", sorted(CELLS))
def test_bytes_a_path_and_its_text_read_alike(name: str) -> None:
    path = FIXTURES / name
    expected = fx.read_export(path)
    for source in (path.read_bytes(), str(path), f"file://{path}"):
        pd.testing.assert_frame_equal(fx.read_export(source), expected)


def test_the_servers_job_file_typed_from_the_form() -> None:
    frame = fx.read_export(FIXTURES / "job.csv", form=FORM)
    assert list(frame.columns) == ["id", "submission_id", *HEADER[1:]]
    assert frame["submission_id"].tolist() == [1, 2, 10]
    assert frame["Phone"].tolist()[:2] == ["+33612345678", "0123"]
    assert frame["Path"].tolist()[:2] == ['C:\\temp\\"x"', "dir\\"]
    assert frame["Amount"].tolist()[0] == 0
    assert pd.isna(frame["Amount"].iloc[1])
    assert frame["Subscribe"].tolist() == [True, False, False]
    assert frame["Topics"].tolist() == [["Music", "Rock, Pop"], [], ["Music"]]
    assert frame["created_at"].iloc[0] == pd.Timestamp(
        datetime(2026, 8, 21, 14, 2, tzinfo=timezone.utc)
    )
    assert str(frame["Amount"].dtype) == "Float64"
    assert frame.attrs["columns"]["Topics"]["field_id"] == "f-topics"
    assert (frame.attrs["form_id"], frame.attrs["values"]) == (7, "csv")


def test_the_answered_writers_numbers_are_read_as_the_form_says() -> None:
    frame = fx.read_export(FIXTURES / "answered.csv", form=FORM)
    assert frame["Phone"].tolist()[:2] == ["33612345678", "0123"]  # the writer dropped the +
    assert frame["Amount"].isna().tolist() == [True, True, False]  # and printed 0 as empty
    assert frame["Subscribe"].tolist() == [True, False, False]
    assert frame["id"].tolist() == ["jR", "k5", "20"]  # as served
    assert frame["submission_id"].tolist() == [1, 2, 935]  # "20" was the hashid 2E1
    assert frame.attrs["writer"] == "answer"


def test_both_writers_give_one_frame_where_no_value_was_lost() -> None:
    job = fx.read_export(FIXTURES / "job-bom.csv", form=FORM, dtype_backend="pyarrow")
    answered = fx.read_export(FIXTURES / "answered.csv", form=FORM, dtype_backend="pyarrow")
    kept = ["Name", "Path", "Topics", "created_at"]
    pd.testing.assert_frame_equal(job[kept].iloc[:2], answered[kept].iloc[:2])


def test_an_export_without_submissions() -> None:
    path = FIXTURES / "no-submissions.csv"
    assert fx.read_export(path).shape == (0, 0)
    frame = fx.read_export(path, form=FORM)
    assert list(frame.columns) == ["id", "submission_id", *HEADER[1:]]
    assert len(frame) == 0
    assert str(frame["Subscribe"].dtype) == "boolean"


@pytest.mark.parametrize(
    ("name", "said"),
    [
        ("empty.csv", r"empty.csv is empty: it holds no export"),
        ("sign-in.csv", r"sign-in.csv looks like an HTML page .* Download the CSV again from"),
        ("contacts.csv", r"not an OpnForm export: its columns are 'Name', 'Email', 'Signed up'"),
    ],
)
def test_files_that_are_no_export_are_told(name: str, said: str) -> None:
    with pytest.raises(fx.CsvFormatError, match=said):
        fx.read_export(FIXTURES / name)


@pytest.mark.parametrize(
    ("data", "said"),
    [
        (b'{"message": "Unauthenticated."}', "looks like JSON"),
        (b"PK\x03\x04\x14\x00", r"Excel workbook \(.xlsx\).*pandas.read_excel"),
        (b"PAR1\x15\x04", "a Parquet file, not a CSV export: read it with pandas.read_parquet"),
        ("id,Name\nx,Zoë\n".encode("latin-1"), "not UTF-8 text"),
        ("id,Name\nx,Zoë\n".encode("utf-16"), "UTF-16 text"),
        (b"id;Name\njR;Jane\n", "separated by semicolons: saved again by Excel"),
        (b",id,Name\n0,jR,Jane\n", "unnamed index: written again by pandas"),
        (b'"id","Name"\n"jR"\n', r"(?s)not well-formed CSV.*Download the export again"),
    ],
)
def test_bytes_that_are_no_export_are_told(data: bytes, said: str) -> None:
    with pytest.raises(fx.CsvFormatError, match=said):
        fx.read_export(data)


def test_a_missing_file_is_named(tmp_path: Path) -> None:
    with pytest.raises(fx.InvalidArgumentError, match=r"missing.csv': it does not exist"):
        fx.read_export(tmp_path / "missing.csv")
    with pytest.raises(fx.InvalidArgumentError, match="it is a folder"):
        fx.read_export(tmp_path)


def test_a_form_that_is_not_the_files_is_refused() -> None:
    other = fx.FormInfo.from_json(
        {"id": 8, "title": "Team retro", "properties": [make_field("rating", "Mood", id="m")]}
    )
    with pytest.raises(fx.InvalidArgumentError, match=r"none of its columns \['Name', 'Phone'"):
        fx.read_export(FIXTURES / "job.csv", form=other)


def test_a_file_name_where_a_form_belongs_points_to_read_export(
    capsys: pytest.CaptureFixture[str],
) -> None:
    told = r"formexport.read_export\('hand.csv'\)"
    with pytest.raises(fx.InvalidArgumentError, match=told):
        fx.load_export("hand.csv")  # before a token is looked for: there is none here
    with pytest.raises(fx.InvalidArgumentError, match=told):
        fx.start_export("hand.csv", to="hand.parquet")
    assert main(["export", "hand.csv", "-o", "subs.parquet"]) == 2
    assert "formexport convert hand.csv -o submissions.parquet" in capsys.readouterr().err
    with pytest.raises(fx.InvalidArgumentError, match=r"slug \(like 'contact-us-k3x9qa'\)\.$"):
        form_path("contact us")  # no file name: no hint


def test_conversion_to_standard_csv_keeps_every_cell(tmp_path: Path) -> None:
    out = convert_export(FIXTURES / "job.csv", tmp_path / "subs.csv")
    data = out.read_bytes()
    assert data.startswith(b"\xef\xbb\xbf")
    rows = list(csv.reader(io.StringIO(data.decode("utf-8-sig"), newline="")))
    assert rows == [HEADER] + [["" if v is None else v for v in row] for row in JOB_CELLS]
    read = pd.read_csv(out, dtype=str, keep_default_na=False)  # no quirk left for pandas
    assert read.values.tolist() == rows[1:]


def test_conversion_to_csv_writes_typed_values_as_text(tmp_path: Path) -> None:
    out = convert_export(FIXTURES / "job.csv", tmp_path / "typed.csv", FORM, naming="id")
    rows = list(csv.DictReader(io.StringIO(out.read_text("utf-8-sig"), newline="")))
    assert list(rows[0]) == ["id", "submission_id", "f-name", "f-phone", "f-path", "f-amount",
                             "f-sub", "f-topics", "created_at"]  # fmt: skip
    assert [row["submission_id"] for row in rows] == ["1", "2", "10"]
    assert json.loads(rows[0]["f-topics"]) == ["Music", "Rock, Pop"]
    assert [row["f-sub"] for row in rows] == ["true", "false", "false"]
    assert [row["f-amount"] for row in rows] == ["0", "", "2.5"]
    assert pd.Timestamp(rows[0]["created_at"]) == pd.Timestamp("2026-08-21 14:02", tz="UTC")


def test_conversion_to_parquet_reads_back_as_read_export(tmp_path: Path) -> None:
    for form in (None, FORM):
        out = convert_export(FIXTURES / "answered.csv", tmp_path / "subs.parquet", form)
        expected = fx.read_export(FIXTURES / "answered.csv", form)
        pd.testing.assert_frame_equal(pd.read_parquet(out), expected)


def test_an_unknown_output_is_refused(tmp_path: Path) -> None:
    with pytest.raises(fx.InvalidArgumentError, match=r"end its name in .parquet or .csv"):
        convert_export(FIXTURES / "job.csv", tmp_path / "subs.xlsx")
    assert list(tmp_path.iterdir()) == []

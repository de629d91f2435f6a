"""Reading PHP fputcsv output (the background writer) with its backslash quirk."""

from __future__ import annotations

import csv
import io
from pathlib import Path

import pytest

from formexport import frames, output, phpcsv
from formexport.errors import CsvFormatError
from formexport.sandbox.csv_writers import write_async_csv

HEADER = ["id", "a", "b", "c"]
ROWS = [
    ["jR", 'C:\\temp\\"quoted"', "Trailing backslash \\", 'x\\",y'],
    ["k5", "\\", '\\\\"x', ""],
    ["vm", "a\nb\\", 'He said "wow"', ",\\"],
    ["Mj3", "plain", "back\\slash", "line\r\nbreak"],
]


def written(rows: list[list[str]]) -> bytes:
    stream = io.BytesIO()
    write_async_csv(stream, HEADER, rows, bom=True)  # type: ignore[arg-type]
    return stream.getvalue()


def test_quirky_cells_come_back_exactly() -> None:
    data = written(ROWS)
    assert phpcsv.has_escaped_quotes(data)
    standard = phpcsv.to_standard(data)
    assert isinstance(standard, bytes)
    assert list(csv.reader(io.StringIO(standard.decode(), newline=""))) == [HEADER, *ROWS]


def test_files_are_rewritten_beside_the_export(tmp_path: Path) -> None:
    source = tmp_path / "export.csv"
    source.write_bytes(written(ROWS))
    readable, writer = output.readable(source, tmp_path)
    assert writer == "async"
    assert isinstance(readable, Path)
    assert readable != source
    frame = frames.to_dataframe(readable)
    assert frame.fillna("").values.tolist() == ROWS


def test_exports_without_the_quirk_are_read_as_they_are() -> None:
    data = written([["jR", "back\\slash", "x", "y"]])
    assert not phpcsv.has_escaped_quotes(data)
    assert output.readable(data) == (data, "async")


def test_parse_record_tries_both_meanings() -> None:
    assert phpcsv.parse_record('"a\\",b\n', 2) == ["a\\", "b"]
    assert phpcsv.parse_record('"a\\",b"\n', 1) == ['a\\",b']
    assert phpcsv.parse_record('"a\\",b"\n', 2) is None


def test_unterminated_record_is_a_typed_error() -> None:
    with pytest.raises(CsvFormatError):
        phpcsv.to_standard(b'id,a\njR,"open \\" and on\n')

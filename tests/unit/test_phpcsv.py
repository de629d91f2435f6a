"""Reading PHP fputcsv output (the background writer) with its backslash quirk."""

from __future__ import annotations

import contextlib
import csv
import io
import itertools
import tempfile
from pathlib import Path
from unittest.mock import patch

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from formexport.errors import CsvFormatError
from formexport.reading import blocks, fputcsv, sinks
from formexport.sandbox.writers.csv_writers import write_async_csv

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
    assert fputcsv.has_escaped_quotes(data)
    standard = fputcsv.to_standard(data)
    assert isinstance(standard, bytes)
    assert list(csv.reader(io.StringIO(standard.decode(), newline=""))) == [HEADER, *ROWS]


def test_files_are_rewritten_beside_the_export(tmp_path: Path) -> None:
    source = tmp_path / "export.csv"
    source.write_bytes(written(ROWS))
    readable, writer = sinks.readable(source, tmp_path)
    assert writer == "async"
    assert isinstance(readable, Path)
    assert readable != source
    frame = blocks.to_dataframe(readable)
    assert frame.fillna("").values.tolist() == ROWS


def test_exports_without_the_quirk_are_read_as_they_are() -> None:
    data = written([["jR", "back\\slash", "x", "y"]])
    assert not fputcsv.has_escaped_quotes(data)
    assert sinks.readable(data) == (data, "async")


def test_parse_record_tries_both_meanings() -> None:
    assert fputcsv.parse_record('"a\\",b\n', 2) == ["a\\", "b"]
    assert fputcsv.parse_record('"a\\",b"\n', 1) == ['a\\",b']
    assert fputcsv.parse_record('"a\\",b"\n', 2) is None


def test_unterminated_record_is_a_typed_error() -> None:
    with pytest.raises(CsvFormatError):
        fputcsv.to_standard(b'id,a\njR,"open \\" and on\n')


# --- the rewrite against the record-by-record reader it replaces --------------------------


def reference_standard(data: bytes) -> bytes:
    """Every record read with parse_record, line by line: the definition of the rewrite."""
    text = data.decode("utf-8-sig")
    lines = [line + "\n" for line in text.split("\n")]
    lines[-1] = lines[-1][:-1]
    lines = [line for line in lines if line]
    count = fputcsv._count_fields(lines[0]) if lines else 0
    out, record = [], ""
    for line in lines:
        record += line
        if '\\"' not in record:
            if record.count('"') % 2 == 0:
                out.append(record)
                record = ""
            continue
        fields = fputcsv.parse_record(record, count)
        if fields is not None:
            out.append(fputcsv._standard(fields))
            record = ""
    if record:
        fields = fputcsv.parse_record(record if record.endswith("\n") else record + "\n", count)
        if fields is None:
            raise CsvFormatError("The export ends inside a quoted field.")
        out.append(fputcsv._standard(fields))
    return "".join(out).encode()


def rows_of(data: bytes) -> list[list[str]]:
    return list(csv.reader(io.StringIO(data.decode(), newline="")))


def same_reading(data: bytes) -> None:
    """Read as the record-by-record reader reads it, whenever that reader accepts the file."""
    try:
        expected = rows_of(reference_standard(data))
    except CsvFormatError:
        # No fputcsv writes this file: rejected, or read on as standard CSV.
        with contextlib.suppress(CsvFormatError):
            fputcsv.to_standard(data)
        return
    rewritten = fputcsv.to_standard(data)
    assert isinstance(rewritten, bytes)
    assert rows_of(rewritten) == expected


_HEADERS = st.sampled_from(["id\n", "id,a\n", "id,a,b\n", '"x,y",b\n', '\ufeffid,"a\\",b\n'])
# Single characters, and the pieces that make the reading ambiguous.
_SOUP = st.lists(
    st.sampled_from(["a", "b", "\\", '"', ",", "\n", "\r", '\\",', '""', '\\"\n']), max_size=30
).map("".join)
_CELLS = st.text(alphabet='ab\\",\n\r é', max_size=8)


@settings(max_examples=400, deadline=None)
@given(header=_HEADERS, body=_SOUP)
# A quote in the text would end the record at its first line: the reading "field ends here"
# fits the header too, but only over two lines.
@example(header="id,a\n", body='"a\\",""",b\n"\n')
@example(header="id,a\n", body='"a\\",""",b\n"\n",c\n')
def test_any_bytes_read_as_record_by_record(header: str, body: str) -> None:
    same_reading((header + body).encode())


@settings(max_examples=200, deadline=None)
@given(rows=st.lists(st.lists(_CELLS, min_size=4, max_size=4), max_size=6), cut=st.booleans())
def test_written_rows_read_as_record_by_record(rows: list[list[str]], cut: bool) -> None:
    data = written(rows)
    same_reading(data[:-1] if cut else data)


@settings(max_examples=100, deadline=None)
@given(header=_HEADERS, body=_SOUP, block=st.integers(1, 40))
def test_files_in_small_blocks_match_bytes(header: str, body: str, block: int) -> None:
    data = (header + body).encode()
    try:
        expected = fputcsv.to_standard(data)
    except CsvFormatError:
        expected = None
    with tempfile.TemporaryDirectory() as folder:
        source = Path(folder) / "export.csv"
        source.write_bytes(data)
        with patch.object(fputcsv, "_BLOCK", block):
            if expected is None:
                with pytest.raises(CsvFormatError):
                    fputcsv.to_standard(source)
                assert [p.name for p in Path(folder).iterdir()] == ["export.csv"]
                return
            result = fputcsv.to_standard(source)
        assert isinstance(result, Path)
        assert result.read_bytes() == expected


def split_at(data: bytes, cuts: list[int]) -> list[bytes]:
    points = sorted({0, len(data), *(c % (len(data) + 1) for c in cuts)})
    return [data[a:b] for a, b in itertools.pairwise(points)] + [b""]


@settings(max_examples=150, deadline=None)
@given(header=_HEADERS, body=_SOUP, cuts=st.lists(st.integers(0, 200), max_size=8))
def test_streamed_chunks_match_bytes(header: str, body: str, cuts: list[int]) -> None:
    """Chunks cut anywhere (even inside the BOM, a \\" or the header) read as the whole file."""
    data = (header + body).encode()
    try:
        expected = fputcsv.to_standard(data)
    except CsvFormatError:
        with pytest.raises(CsvFormatError):
            b"".join(fputcsv.standard_pieces(split_at(data, cuts)))
        return
    assert b"".join(fputcsv.standard_pieces(split_at(data, cuts))) == expected


_RECORDS = st.lists(st.sampled_from(["a", "\\", '"', ",", "\n", '\\"', '""']), max_size=14)


@settings(max_examples=300, deadline=None)
@given(text=_RECORDS.map("".join), count=st.integers(1, 3))
def test_possible_records_are_the_ones_parse_record_reads(text: str, count: int) -> None:
    possible = fputcsv._record(count, fputcsv._ANY_FIELD)
    accepted = fputcsv.parse_record(text + "\n", count) is not None
    assert bool(possible.fullmatch((text + "\n").encode())) == accepted

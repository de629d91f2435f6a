"""Reading PHP fputcsv output (the background writer) exactly, with its backslash quirk.

The emulator's writer stands in for PHP here (``tests/php`` checks it gives PHP's bytes, and
checks the reader against PHP itself). The exact reader following every reading from the
file's start (:func:`whole_file_reading`) is the definition the fast rewrite must agree with.
"""

from __future__ import annotations

import codecs
import csv
import io
import itertools
import re
import tempfile
from pathlib import Path
from unittest.mock import patch

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from formexport.errors import CsvFormatError
from formexport.reading import blocks, fputcsv, sinks
from formexport.reading.fputcsv_readings import Readings, doubled_positions
from formexport.sandbox.writers.csv_writers import write_async_csv

HEADER = ["id", "a", "b", "c"]
ROWS = [
    ["jR", 'C:\\temp\\"quoted"', "Trailing backslash \\", 'x\\",y'],
    ["k5", "\\", '\\\\"x', ""],
    ["vm", "a\nb\\", 'He said "wow"', ",\\"],
    ["Mj3", "plain", "back\\slash", "line\r\nbreak"],
]


def written(rows: list[list[str]], header: list[str] = HEADER, bom: bool = True) -> bytes:
    stream = io.BytesIO()
    write_async_csv(stream, header, rows, bom=bom)  # type: ignore[arg-type]
    return stream.getvalue()


def rows_of(standard: bytes) -> list[list[str]]:
    return list(csv.reader(io.StringIO(standard.decode(), newline=""), strict=True))


def whole_file_reading(data: bytes) -> bytes:
    """Standard CSV from the exact reader alone, every reading followed from the start."""
    start = len(codecs.BOM_UTF8) if data.startswith(codecs.BOM_UTF8) else 0
    reading = Readings(start, 0, len(data)).advance(data, 0, final=True)
    assert reading is not None
    out, done = [], start
    for position in doubled_positions(reading):
        out += [data[done:position], b'"']
        done = position
    return b"".join([*out, data[done:]])


def split_at(data: bytes, cuts: list[int]) -> list[bytes]:
    points = sorted({0, len(data), *(c % (len(data) + 1) for c in cuts)})
    return [data[a:b] for a, b in itertools.pairwise(points)]


def streamed(data: bytes, cuts: list[int]) -> bytes:
    return b"".join(fputcsv.standard_pieces(iter(split_at(data, cuts))))


def from_file(data: bytes, block: int) -> bytes:
    with tempfile.TemporaryDirectory() as folder:
        source = Path(folder) / "export.csv"
        source.write_bytes(data)
        with patch.object(fputcsv, "_BLOCK", block):
            result = fputcsv.to_standard(source)
        assert isinstance(result, Path)
        return result.read_bytes()


def test_quirky_cells_come_back_exactly() -> None:
    data = written(ROWS)
    assert fputcsv.has_escaped_quotes(data)
    standard = fputcsv.to_standard(data)
    assert isinstance(standard, bytes)
    assert rows_of(standard) == [HEADER, *ROWS]


def test_files_are_rewritten_as_they_are_read(tmp_path: Path) -> None:
    source = tmp_path / "export.csv"
    source.write_bytes(written(ROWS))
    readable, writer = sinks.readable(source)
    assert writer == "job"
    assert isinstance(readable, fputcsv.StandardCopy)
    frame = blocks.to_dataframe(readable)
    assert frame.fillna("").values.tolist() == ROWS


def test_exports_without_the_quirk_are_read_as_they_are() -> None:
    data = written([["jR", "back\\slash", "x", "y"]])
    assert not fputcsv.has_escaped_quotes(data)
    assert sinks.readable(data) == (data, "job")


def test_a_file_with_nothing_to_rewrite_streams_in_the_chunks_it_came_in() -> None:
    data = written([["jR", "plain", "x y", "z"]] * 50, bom=False)
    chunks = split_at(data, [100, 200, 300])
    pieces = list(fputcsv.standard_pieces(iter(chunks)))
    assert b"".join(pieces) == data
    assert all(any(piece is chunk for chunk in chunks) for piece in pieces)


# --- every small row, exhaustively ------------------------------------------------------

_SMALL = ["", *("".join(p) for n in (1, 2) for p in itertools.product('a\\",\n', repeat=n))]


def test_every_small_row_reads_back_exactly() -> None:
    """Each pair of cells of up to two of ``a \\ " , LF``, alone after the header and next to
    its mirror: 961 files, all the ways \\" can meet a comma or a line end."""
    for row in itertools.product(_SMALL, repeat=2):
        rows = [["jR", *row], ["k5", *reversed(row)]]
        data = written(rows, ["id", "a", "b"], bom=False)
        assert rows_of(fputcsv.to_standard(data)) == [["id", "a", "b"], *rows]  # type: ignore[arg-type]


# --- generated rows ---------------------------------------------------------------------

_PIECES = st.sampled_from(["a", "\\", '"', ",", "\n", "\r", " ", '\\",', '\\"\n', '""', "é"])
_CELLS = st.one_of(
    st.lists(_PIECES, max_size=8).map("".join),
    st.lists(_PIECES, max_size=6).map(lambda p: "".join(p) + "\\"),
    st.lists(_PIECES, max_size=6).map(lambda p: "," + "".join(p)),
)


@st.composite
def exports(draw: st.DrawFn) -> tuple[list[str], list[list[str]]]:
    width = draw(st.integers(1, 4))
    header = ["id", *draw(st.lists(_CELLS, min_size=width - 1, max_size=width - 1))]
    rows = draw(st.lists(st.lists(_CELLS, min_size=width - 1, max_size=width - 1), max_size=8))
    return header, [[f"r{i}", *row] for i, row in enumerate(rows)]


@settings(max_examples=300, deadline=None)
@given(export=exports(), bom=st.booleans(), cuts=st.lists(st.integers(0, 400), max_size=8))
def test_written_rows_read_back_exactly_on_both_paths(
    export: tuple[list[str], list[list[str]]], bom: bool, cuts: list[int]
) -> None:
    header, rows = export
    data = written(rows, header, bom)
    standard = fputcsv.to_standard(data)
    assert isinstance(standard, bytes)
    assert rows_of(standard) == [header, *rows]
    assert standard == whole_file_reading(data)
    assert streamed(data, cuts) == standard
    assert from_file(data, 1 + sum(cuts) % 50) == standard


# --- any bytes --------------------------------------------------------------------------

_HEADERS = st.sampled_from(["id\n", "id,a\n", "id,a,b\n", '"x,y",b\n', '\ufeffid,"a\\",b\n'])
_SOUP = st.lists(
    st.sampled_from(["a", "b", "\\", '"', ",", "\n", "\r", " ", '\\",', '""', '\\"\n']), max_size=30
).map("".join)


@settings(max_examples=500, deadline=None)
@given(header=_HEADERS, body=_SOUP, cuts=st.lists(st.integers(0, 200), max_size=8))
@example(header="id,a\n", body='"a\\",""",b\n"\n', cuts=[])
@example(header="id,a\n", body='"a\\",""",b\n"\n",c\n', cuts=[])
def test_any_bytes_read_as_the_exact_reader_reads_them(
    header: str, body: str, cuts: list[int]
) -> None:
    """Where some reading is fputcsv output, the rewrite is that reading, whole or streamed;
    elsewhere a typed error, or (where no \\" is in doubt) the bytes read on as standard CSV."""
    data = (header + body).encode()
    try:
        expected: bytes | None = whole_file_reading(data)
    except CsvFormatError:
        expected = None
    try:
        rewritten: bytes | None = fputcsv.to_standard(data)  # type: ignore[assignment]
    except CsvFormatError:
        rewritten = None
    if expected is not None:
        assert rewritten == expected
    try:
        assert streamed(data, cuts) == rewritten
    except CsvFormatError:
        assert rewritten is None


# --- readings that stay open for long -------------------------------------------------


def test_two_readings_open_over_many_records_settle_exactly() -> None:
    """After ``"x\\",y`` the reading "quote in the text" lives on through every bare record
    below (no quote closes it) until the last record's quote: all of it is kept and read."""
    rows = [["jR", "x\\", "y"], *([f"r{i}", "a", "b"] for i in range(5000)), ["k5", "z z", "q"]]
    data = written(rows, ["id", "a", "b"])
    standard = fputcsv.to_standard(data)
    assert rows_of(standard) == [["id", "a", "b"], *rows]  # type: ignore[arg-type]
    assert streamed(data, list(range(0, len(data), 4096))) == standard


def test_a_field_starting_with_a_comma_after_a_trailing_backslash() -> None:
    rows = [["jR", "dir\\", ", and then\nmore"], ["k5", "C:\\temp\\", ",\nsee notes"]]
    data = written(rows, ["id", "a", "b"])
    assert rows_of(fputcsv.to_standard(data)) == [["id", "a", "b"], *rows]  # type: ignore[arg-type]


# --- files no fputcsv writes ------------------------------------------------------------

_ERROR = re.compile(r"record (\d+) .* starts at byte (\d+), (.*) at byte (\d+)\.")


def failure(read: object) -> tuple[int, int, str, int]:
    with pytest.raises(CsvFormatError) as caught:
        read() if callable(read) else None
    found = _ERROR.search(str(caught.value))
    assert found is not None, str(caught.value)
    record, start, reason, offset = found.groups()
    return int(record), int(start), reason, int(offset)


def test_a_malformed_record_is_named_by_number_and_byte(tmp_path: Path) -> None:
    good = written([[f"r{i}", "a b", "c\\", "d"] for i in range(2000)], bom=True)
    bad_record = b'zz,"open \\" and on,x,y\n'
    cut = good.index(b"\nr7,") + 1  # record 9: the header is 1, r0 is 2
    data = good[:cut] + bad_record + good[cut:]
    source = tmp_path / "export.csv"
    source.write_bytes(data)
    # Read as a quoted field, the bad record runs on into r7 and dies at its first quote.
    quote = cut + len(bad_record) + len("r7,")
    expected = (9, cut, "a quote inside quotes is neither doubled nor last", quote)
    assert failure(lambda: fputcsv.to_standard(data)) == expected
    assert failure(lambda: fputcsv.to_standard(source)) == expected
    assert failure(lambda: streamed(data, list(range(0, len(data), 1000)))) == expected
    assert [p.name for p in tmp_path.iterdir()] == ["export.csv"]  # no half-written copy


def test_a_quote_left_open_is_traced_to_its_record(tmp_path: Path) -> None:
    """No \\" is in doubt after it, so only the file's end shows the quote was never closed:
    reading the file again with the exact reader alone finds the record that opened it."""
    good = written([[f"r{i}", "a b", "c", "d"] for i in range(3000)], bom=False)
    bad_record = b'zz,"open \\" and on,x,y\n'
    cut = good.index(b"\nr5,") + 1  # record 7: the header is 1, r0 is 2
    data = good[:cut] + bad_record + good[cut:]
    source = tmp_path / "export.csv"
    source.write_bytes(data)
    quote = cut + len(bad_record) + len("r5,")
    expected = (7, cut, "a quote inside quotes is neither doubled nor last", quote)
    assert failure(lambda: fputcsv.to_standard(data)) == expected
    assert failure(lambda: fputcsv.to_standard(source)) == expected
    with pytest.raises(CsvFormatError, match="not CSV as OpnForm"):
        streamed(data, list(range(0, len(data), 4096)))


@pytest.mark.parametrize(
    ("record", "reason", "offset"),
    [
        # Both readings of \" in r1 fail; the one that got further is named.
        (b'r1,"x\\",",y",z\n', "a record has more than 3 fields", 19),
        (b'r1,"x\\"\n"\n', "a record has 2 fields where the header has 3", 16),
    ],
)
def test_a_record_with_the_wrong_field_count_is_named(
    record: bytes, reason: str, offset: int
) -> None:
    data = b"id,a,b\n" + record
    assert failure(lambda: fputcsv.to_standard(data)) == (2, 7, reason, offset)
    assert failure(lambda: streamed(data, [9, 14])) == (2, 7, reason, offset)


def test_a_file_ending_inside_quotes_is_named() -> None:
    data = b'id,a\nr1,"open \\" and on\n'
    record, start, reason, offset = failure(lambda: fputcsv.to_standard(data))
    assert (record, start, offset) == (2, 5, len(data))
    assert "ends inside quotes" in reason


def test_an_endless_record_stops_at_the_limit() -> None:
    data = b'id,a\nr1,"never closed ' + b"x" * 5000
    with patch.object(fputcsv, "_MAX_RECORD", 1000), pytest.raises(CsvFormatError) as caught:
        streamed(data, list(range(0, len(data), 500)))
    assert "record 2, which starts at byte 5, is longer than" in str(caught.value)

"""Every file PHP's own ``fputcsv`` writes reads back to the exact strings it was given.

PHP writes the rows (see ``conftest.py``); formexport reads them back through both paths users
take: a downloaded file (``to_standard`` on a path, in small blocks) and a download being read as
it arrives (``standard_pieces`` over chunks cut at random points); then Arrow reads the standard
CSV as the typed reader does. The emulator's background writer must give PHP's bytes too.
"""

from __future__ import annotations

import codecs
import csv
import io
import itertools
import tempfile
from pathlib import Path
from unittest.mock import patch

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from formexport.reading import blocks, fputcsv
from formexport.sandbox.writers.csv_writers import async_line
from tests.php.conftest import PhpWriter

# Pieces that make fputcsv's output ambiguous, and the characters it quotes for.
_PIECES = st.sampled_from(
    ["\\", '"', ",", "\r", "\n", " ", "\t", '\\"', '\\",', "\\\n", '"\n', "a", "é", "😀", "\\\\"]
)
_TRICKY = st.lists(_PIECES, max_size=8).map("".join)
_CELL = st.one_of(
    _TRICKY,
    _TRICKY.map(lambda text: text + "\\"),  # ends with a backslash: its closing quote follows it
    _TRICKY.map(lambda text: "," + text),  # starts with a comma
    _TRICKY.map(lambda text: "\n" + text),
    st.text(max_size=12),
    st.just(""),
)
_ID = st.text(alphabet="abcdefghjkmnpqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ0123456789", min_size=1)

# The issue's rows: last column ``line1 \"quoted\"`` + LF + ``line2`` and its kin, and a field
# ending in a backslash followed by one that starts with a comma and holds a line feed.
ISSUE_ROWS = [
    ["jR", "x", 'line1 \\"quoted\\"\nline2'],
    ["k5", "x", 'Saved to "C:\\Users\\me\\"\nnext line'],
    ["vm", "x", 'He wrote \\"hi\\"\n'],
    ["Mj3", "x", '\\"\n'],
    ["wp", "dir\\", ", and then\nmore"],
    ["qx", "C:\\temp\\", ",\nsee notes"],
]


@st.composite
def exports(draw: st.DrawFn, min_width: int = 1) -> list[list[str]]:
    """A header and rows of one width, the first column an OpnForm-like id."""
    width = draw(st.integers(min_width, 5))
    header = ["id", *draw(st.lists(_CELL, min_size=width - 1, max_size=width - 1))]
    rows = draw(st.lists(st.tuples(_ID, st.lists(_CELL, min_size=width - 1, max_size=width - 1))))
    return [header, *([row_id, *cells] for row_id, cells in rows)]


def read_standard(data: bytes, width: int) -> list[list[str]]:
    """Standard CSV read strictly by Python's csv module (an empty line is one empty field)."""
    reader = csv.reader(io.StringIO(data.decode("utf-8"), newline=""), strict=True)
    return [row or [""] * (width == 1) for row in reader]


def read_with_arrow(standard: bytes, width: int) -> list[list[str]]:
    """The text cells Arrow reads, as the typed reader reads them (header included)."""
    batches = list(blocks.iter_batches(standard, width, threads=False))
    header = blocks.read_header(standard)
    columns = ([c.to_pylist() for c in batch.columns] for batch in batches)
    rows = [row for batch in columns for row in zip(*batch, strict=True)]
    return [header, *([cell or "" for cell in row] for row in rows)]


def file_path_read(data: bytes, block: int) -> bytes:
    with tempfile.TemporaryDirectory() as folder:
        source = Path(folder) / "export.csv"
        source.write_bytes(data)
        with patch.object(fputcsv, "_BLOCK", block):
            result = fputcsv.to_standard(source)
        assert isinstance(result, Path)
        return result.read_bytes()


def streamed(data: bytes, cuts: list[int]) -> bytes:
    points = sorted({0, len(data), *(cut % (len(data) + 1) for cut in cuts)})
    chunks = [data[a:b] for a, b in itertools.pairwise(points)]
    return b"".join(fputcsv.standard_pieces(iter(chunks)))


@pytest.mark.parametrize("row", ISSUE_ROWS, ids=range(len(ISSUE_ROWS)))
def test_the_rows_that_failed_read_back_exactly(php: PhpWriter, row: list[str]) -> None:
    rows = [["id", "a", "b"], row, ["n5", "after", "it"]]
    data = php.write(rows, bom=True)
    standard = fputcsv.to_standard(data)
    assert isinstance(standard, bytes)
    assert read_standard(standard, 3) == rows
    assert read_with_arrow(standard, 3) == rows
    assert streamed(data, list(range(0, len(data), 3))) == standard


_SETTINGS = settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@_SETTINGS
@given(rows=exports(), bom=st.booleans())
@example(rows=[["id", "a"], ["jR", "\\"], ["k5", ',"x']], bom=False)
@example(rows=[["id", "a", "b"], ["jR", "a\\", ",b\nc\\"], ["k5", "\\", ","]], bom=True)
def test_php_output_reads_back_exactly(php: PhpWriter, rows: list[list[str]], bom: bool) -> None:
    data = php.write(rows, bom=bom)
    standard = fputcsv.to_standard(data)
    assert isinstance(standard, bytes)
    assert read_standard(standard, len(rows[0])) == rows
    assert read_with_arrow(standard, len(rows[0])) == rows


@_SETTINGS
@given(
    rows=exports(),
    bom=st.booleans(),
    block=st.integers(1, 64),
    cuts=st.lists(st.integers(0, 1 << 16), max_size=12),
)
def test_files_and_streams_read_alike(
    php: PhpWriter, rows: list[list[str]], bom: bool, block: int, cuts: list[int]
) -> None:
    """A file read in blocks and a download read in chunks cut anywhere (inside the BOM, a
    ``\\"``, a UTF-8 character) give the bytes of the whole-file rewrite."""
    data = php.write(rows, bom=bom)
    expected = fputcsv.to_standard(data)
    assert file_path_read(data, block) == expected
    assert streamed(data, cuts) == expected


@_SETTINGS
@given(rows=st.lists(st.lists(_CELL, min_size=1, max_size=4), min_size=1, max_size=8))
def test_the_emulator_writes_php_bytes(php: PhpWriter, rows: list[list[str]]) -> None:
    written = "".join(async_line(row) for row in rows).encode("utf-8")
    assert written == php.write(rows)


def test_a_byte_order_mark_is_dropped(php: PhpWriter) -> None:
    data = php.write([["id", "a"], ["jR", "x\\"]], bom=True)
    assert data.startswith(codecs.BOM_UTF8)
    assert fputcsv.to_standard(data) == b'id,a\njR,"x\\"\n'

"""One entry point reads a finished file and a stream of chunks the same way."""

from __future__ import annotations

import io
from collections.abc import Iterator
from pathlib import Path

import pytest

from formexport.reading import blocks, fputcsv, sinks
from formexport.reading.source import open_export, standard_file
from formexport.sandbox.writers.csv_writers import sync_csv, write_async_csv

HEADER = ["id", "Path", "Note"]
ROWS = [
    ["jR", 'C:\\temp\\"quoted"', "plain"],
    ["k5", "dir\\", 'He said "wow"'],
    ["vm", "a\nb", "x,y"],
]


def background_bytes() -> bytes:
    stream = io.BytesIO()
    write_async_csv(stream, HEADER, ROWS, bom=True)  # type: ignore[arg-type]
    return stream.getvalue()


def answered_bytes() -> bytes:
    return sync_csv(HEADER, ROWS)


def chunks(data: bytes, size: int) -> Iterator[bytes]:
    return (data[i : i + size] for i in range(0, len(data), size))


def rows_of(body: object) -> list[list[str]]:
    assert isinstance(body, (bytes, Path, fputcsv.StandardCopy)) or hasattr(body, "read")
    batches = blocks.iter_batches(body, len(HEADER))  # type: ignore[arg-type]
    return [
        ["" if cell is None else cell for cell in row.values()]
        for batch in batches
        for row in batch.to_pylist()
    ]


@pytest.mark.parametrize("written", [background_bytes, answered_bytes])
@pytest.mark.parametrize("chunk_size", [1, 7, 1 << 20])
def test_a_stream_reads_as_the_file_does(written: object, chunk_size: int) -> None:
    data = written()  # type: ignore[operator]
    from_file = open_export(data)
    from_stream = open_export(chunks(data, chunk_size))
    assert from_stream.writer == from_file.writer
    assert from_stream.header == from_file.header == HEADER
    assert from_stream.is_stream
    assert not from_file.is_stream
    assert rows_of(from_stream.body) == rows_of(from_file.body) == ROWS


def test_writers_are_told_apart() -> None:
    assert open_export(background_bytes()).writer == "job"
    assert open_export(answered_bytes()).writer == "answer"
    assert open_export(chunks(answered_bytes(), 3)).writer == "answer"


def test_a_file_holding_escaped_quotes_is_rewritten_on_the_way(tmp_path: Path) -> None:
    source = tmp_path / "export.csv"
    source.write_bytes(background_bytes())
    opened = open_export(source)
    assert opened.body == fputcsv.StandardCopy(source)
    assert not opened.is_stream
    # Read twice, as a second pass after a type change does; no copy is left on disk.
    for _ in range(2):
        assert rows_of(opened.body) == ROWS
    assert sorted(p.name for p in tmp_path.iterdir()) == ["export.csv"]
    assert opened.header == HEADER
    assert sinks.readable(source)[1] == "job"


def test_a_standard_file_is_read_where_it_is(tmp_path: Path) -> None:
    source = tmp_path / "export.csv"
    source.write_bytes(answered_bytes())
    assert standard_file(source) == (source, "answer")
    assert open_export(source).body == source


def test_the_typed_reader_takes_either(tmp_path: Path) -> None:
    data = background_bytes()
    tables = []
    for opened in (open_export(data), open_export(chunks(data, 5))):
        reader = sinks.make_reader(opened.head, form=None, columns=None, writer=opened.writer)
        tables.append(sinks.read_arrow(opened.body, reader))
    assert tables[0].equals(tables[1])
    assert tables[0].column("Path").to_pylist() == [row[1] for row in ROWS]

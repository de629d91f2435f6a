"""A DataFrame built in pieces while blocks arrive is the one built at once."""

from __future__ import annotations

import io

import pandas as pd
import pyarrow as pa
import pytest

from formexport.opnform.models import FormInfo
from formexport.reading import arrow_to_pandas, sinks
from formexport.sandbox import make_field
from formexport.sandbox.data.hashid import HashidEncoder
from formexport.sandbox.writers.csv_writers import write_async_csv

FIELDS = [
    make_field("select", "Plan", options=["Free", "Pro"], id="plan"),
    make_field("multi_select", "Topics", options=["Music", "Tech"], id="topics"),
    make_field("number", "Amount", id="amount"),
    make_field("date", "Visit", id="visit"),
    make_field("text", "Note", id="note"),
]


def export(rows: int) -> bytes:
    cells, hashid = [], HashidEncoder()
    for n in range(rows):
        # Plans outside the form's options appear as the file goes on: later blocks' categories
        # extend the earlier ones.
        plan = ["Free", "Pro", f"Legacy {n // 3000}"][n % 3]
        topics = ["Music", "Music,Tech", ""][n % 3]
        note = "C:\\temp\\" if n % 7 == 0 else f"note {n}\nsecond line"
        cells.append([hashid.encode(n + 1), plan, topics, str(n % 100), "2026-03-01", note])
    stream = io.BytesIO()
    write_async_csv(stream, ["id", "Plan", "Topics", "Amount", "Visit", "Note"], cells, bom=True)  # type: ignore[arg-type]
    return stream.getvalue()


def reader_for(data: bytes) -> sinks.TypedReader:
    form = FormInfo.from_json({"id": 1, "slug": "f", "properties": FIELDS})
    columns = {f["id"]: True for f in FIELDS}
    return sinks.make_reader(data, form=form, columns=columns, writer="job")


def test_pieces_join_into_the_frame_made_at_once(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(sinks, "TABLE_BLOCK_SIZE", 64 << 10)
    data, _ = sinks.readable(export(20_000))
    at_once = arrow_to_pandas.to_pandas(
        sinks.read_arrow(data, reader_for(export(1))), "numpy_nullable", {}
    )
    reader = reader_for(export(1))
    # Every block is here at once: make each one a piece, as a slow download would.
    pieces = sinks.FramePieces(reader, piece_rows=1)
    idle = _Idle(pieces)
    sinks._read_all(data, reader, idle)  # type: ignore[arg-type]
    assert idle.blocks > 3
    frame = pieces.frame()
    pd.testing.assert_frame_equal(frame, at_once, check_exact=True, check_like=False)
    assert frame.attrs == reader.attrs()
    assert list(frame["Plan"].cat.categories[:2]) == ["Free", "Pro"]
    assert frame["Plan"].cat.categories.size == 2 + 7  # Legacy 0 … Legacy 6
    cells = frame["Topics"].tolist()
    assert cells[0] == cells[3] == ["Music"]
    assert cells[0] is not cells[3]  # equal cells, lists of their own


def test_the_frame_made_in_pieces_is_the_one_load_export_gives() -> None:
    data, _ = sinks.readable(export(20_000))
    reader = reader_for(export(1))
    frame = sinks.read_frame(data, reader, "numpy_nullable")
    arrow_backed = sinks.read_frame(data, reader, "pyarrow")
    at_once = arrow_to_pandas.to_pandas(
        sinks.read_arrow(data, reader), "numpy_nullable", reader.attrs()
    )
    pd.testing.assert_frame_equal(frame, at_once, check_exact=True)
    assert len(arrow_backed) == len(frame) == 20_000


class _Idle:
    """Tells the pieces that every block came while the reader waited."""

    def __init__(self, pieces: sinks.FramePieces) -> None:
        self.pieces = pieces
        self.blocks = 0

    def restart(self) -> None:
        self.pieces.restart()

    def add(self, batch: pa.RecordBatch, idle: bool) -> None:
        self.blocks += 1
        self.pieces.add(batch, idle=True)

"""Property tests: any form and any answers, written by either OpnForm writer, read back typed.

The emulator's own column planner and writers (``formexport.sandbox.writers.cells``/``csv_writers``)
render the CSV; the typed frame must equal the stored values, up to the synchronous writer's
documented losses (0 is empty, numeric-looking text becomes a number) and the CSV's (a missing
checkbox reads as false, a missing list as empty, ``created_at`` to the minute).
"""

from __future__ import annotations

import io
import math
import string
from collections.abc import Callable
from datetime import date, datetime, timedelta, timezone
from typing import Any

import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from formexport.opnform.models import ExactValues, FormInfo
from formexport.reading import arrow_to_pandas, parquet_output, sinks
from formexport.sandbox import make_field
from formexport.sandbox.data.catalog import Form
from formexport.sandbox.data.fields import Submission
from formexport.sandbox.data.hashid import HashidEncoder
from formexport.sandbox.http.resources import submission_item
from formexport.sandbox.platform.php import php_float
from formexport.sandbox.platform.profiles import profile_for
from formexport.sandbox.writers.cells import RowFormatter, plan_columns
from formexport.sandbox.writers.csv_writers import sync_csv, sync_text, write_async_csv

TYPES = (
    "text", "email", "phone_number", "number", "rating", "slider", "checkbox", "toggle_switch",
    "multi_select", "date", "matrix", "files", "signature", "select",
)  # fmt: skip
_LETTERS = string.ascii_letters + "éüç😀 "
_WORDS = st.text(alphabet=_LETTERS + ",\"'\\\n\r\t-", min_size=1, max_size=12)
_LABELS = st.text(alphabet=_LETTERS + "()", min_size=1, max_size=10).filter(lambda s: s.strip())
_LINK = "https://files.example/{}".format
_SETTINGS = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@st.composite
def fields(draw: st.DrawFn) -> list[dict[str, Any]]:
    kinds = draw(st.lists(st.sampled_from(TYPES), min_size=1, max_size=7))
    result = []
    for index, kind in enumerate(kinds):
        name = draw(st.sampled_from(["Email", "Name (work)", "Score"]) | _LABELS)
        extra: dict[str, Any] = {"id": f"f{index}-{kind}"}
        if kind == "multi_select":
            extra["options"] = draw(st.lists(_WORDS, min_size=1, max_size=4, unique=True))
        elif kind == "matrix":
            extra["rows"] = draw(st.lists(_LABELS, min_size=1, max_size=3, unique=True))
            extra["columns"] = draw(st.lists(_LABELS, min_size=1, max_size=3, unique=True))
        elif kind == "date":
            extra["with_time"] = draw(st.booleans())
            extra["date_range"] = draw(st.booleans())
        result.append(make_field(kind, name, **extra))
    return result


_OFFSETS = st.sampled_from(["+02:00", "-05:30", "+00:00", "Z"])


@st.composite
def stamp(draw: st.DrawFn, with_time: bool) -> str:
    day = draw(st.dates(date(2020, 1, 1), date(2030, 12, 31)))
    clock = draw(st.times()).replace(microsecond=0) if with_time else datetime.min.time()
    return f"{day.isoformat()}T{clock.isoformat()}{draw(_OFFSETS)}"


def value_for(draw: st.DrawFn, field: dict[str, Any]) -> Any:
    kind = field["type"]
    if kind in ("number",):
        return draw(st.integers(-(10**9), 10**9) | st.floats(-1e9, 1e9, allow_nan=False))
    if kind in ("rating", "slider"):
        return draw(st.integers(0, 100))
    if kind in ("checkbox", "toggle_switch"):
        return draw(st.booleans())
    if kind == "multi_select":
        options = [o["name"] for o in field["multi_select"]["options"]]
        return draw(st.lists(st.sampled_from(options), unique=True))
    if kind == "matrix":
        cells = st.none() | st.sampled_from(field["columns"])
        return {row: draw(cells) for row in field["rows"]}
    if kind == "date":
        one = stamp(field["with_time"])
        return [draw(one), draw(one)] if field["date_range"] else draw(one)
    if kind == "files":
        return draw(st.lists(st.sampled_from(["cv_1.pdf", "a b.png", "x.jpg"]), max_size=2))
    if kind == "signature":
        return "sign_1.png"
    if kind == "phone_number":
        return draw(st.sampled_from(["+33612345678", "0612345678", "+1 415 555"]))
    return draw(st.sampled_from(["", "007", "1e3", "=1+2", "1.50"]) | _WORDS)


@st.composite
def exports(draw: st.DrawFn) -> tuple[list[dict[str, Any]], bool, list[Submission]]:
    blocks = draw(fields())
    partial = draw(st.booleans())
    first = draw(st.integers(1, 10**6))
    rows = []
    for offset in range(draw(st.integers(0, 6))):
        answered = draw(st.lists(st.sampled_from(blocks), unique_by=lambda b: b["id"]))
        data = {b["id"]: value_for(draw, b) for b in answered}
        when = 1_750_000_000 + draw(st.integers(0, 10**7))
        is_partial = partial and draw(st.booleans())
        rows.append(Submission(first + offset, 1, data, is_partial, when))
    return blocks, partial, rows


def render(blocks: list[dict[str, Any]], partial: bool, rows: list[Submission], writer: str):
    form = Form(1, 1, "Form", "form-abc123", blocks, [], partial, 0.0, 0.0)
    selected = [b["id"] for b in blocks] + ["created_at"]
    formatter = RowFormatter(plan_columns(form, selected, attribution=True), _LINK, HashidEncoder())
    cells = [formatter(s) for s in rows]
    if writer == "answer":
        return sync_csv(formatter.header if rows else [], cells), selected
    stream = io.BytesIO()
    write_async_csv(stream, formatter.header, cells, bom=True)
    return stream.getvalue(), selected


def _expected_scalar(kind: str, value: Any, writer: str) -> Any:
    if kind in ("number", "rating", "slider"):
        if value is None or (writer == "answer" and value == 0):
            return None
        return float(php_float(float(value))) if isinstance(value, float) else value
    if kind in ("checkbox", "toggle_switch"):
        return bool(value)
    if value is None or value == "":
        return None
    return sync_text(value) if writer == "answer" else value


def _dt(text: str | None, with_time: bool) -> Any:
    if text is None:
        return None
    if not with_time:
        return pd.Timestamp(date.fromisoformat(text[:10]))  # midnight, no time zone
    return pd.Timestamp(datetime.fromisoformat(text.replace("Z", "+00:00")))


def expected(block: dict[str, Any], value: Any, writer: str) -> list[Any]:
    kind = block["type"]
    if kind == "multi_select":
        # PhpSpreadsheet turns CR and CRLF into LF in the cell's text, options included.
        if writer == "answer":
            return [[item.replace("\r\n", "\n").replace("\r", "\n") for item in value or []]]
        return [list(value or [])]
    if kind in ("files", "signature"):
        names = value if isinstance(value, list) else [value] if value else []
        return [[_LINK(n) for n in names]]
    if kind == "matrix":
        if not value or all(v is None for v in value.values()):
            return [None]
        return [dict(value)]
    if kind == "date":
        items = value if isinstance(value, list) else [value]
        parts = 2 if block["date_range"] else 1
        items = ([*items, None, None])[:parts] if value is not None else [None] * parts
        return [_dt(item, block["with_time"]) for item in items]
    return [_expected_scalar(kind, value, writer)]


def _same(got: Any, want: Any) -> bool:
    if want is None:
        return got is None or (not isinstance(got, (list, dict)) and bool(pd.isna(got)))
    if isinstance(want, list):
        return list(got) == want
    if isinstance(want, float):
        return math.isclose(float(got), want, rel_tol=1e-12)
    return bool(got == want)


def assert_cells(
    frame: pd.DataFrame,
    blocks: list[dict[str, Any]],
    ordered: list[Submission],
    want: Callable[[dict[str, Any], Any, bool], list[Any]],
) -> None:
    """Rows in ``ordered``'s order, and every field's cells as ``want(block, stored value,
    answered)`` says."""
    assert frame["submission_id"].tolist() == [s.id for s in ordered]
    columns = frame.attrs["columns"]
    for block in blocks:
        names = [n for n, c in columns.items() if c.get("field_id") == block["id"]]
        for position, submission in enumerate(ordered):
            answered = block["id"] in submission.data
            wanted = want(block, submission.data.get(block["id"]), answered)
            got = [frame[name].iloc[position] for name in names]
            assert all(_same(g, w) for g, w in zip(got, wanted, strict=True)), (block, got, wanted)


@_SETTINGS
@given(exports(), st.sampled_from(["answer", "job"]))
def test_typed_frame_holds_the_stored_values(export: Any, writer: str) -> None:
    blocks, partial, rows = export
    ordered = sorted(rows, key=lambda s: (s.created_at, s.id), reverse=True)  # newest first
    data, selected = render(blocks, partial, ordered, writer)
    info = FormInfo.from_json(
        {
            "id": 1,
            "slug": "form-abc123",
            "properties": blocks,
            "enable_partial_submissions": partial,
        }
    )
    data, served_by = sinks.readable(data)
    assert served_by == writer
    reader = sinks.make_reader(
        data, form=info, columns=dict.fromkeys(selected, True), writer=served_by
    )
    table = sinks.read_arrow(data, reader)
    frame = arrow_to_pandas.to_pandas(table, "numpy_nullable", reader.attrs())
    if not rows:
        return
    assert_cells(frame, blocks, ordered, lambda block, answer, _: expected(block, answer, writer))
    minutes = [
        datetime.fromtimestamp(s.created_at - s.created_at % 60, timezone.utc) for s in ordered
    ]
    assert frame["created_at"].tolist() == [pd.Timestamp(m) for m in minutes]
    if partial:
        status = ["In Progress" if s.partial else "Completed" for s in ordered]
        assert frame["status"].tolist() == status
    buffer = io.BytesIO()
    parquet_output.write_parquet(data, buffer, reader)
    pd.testing.assert_frame_equal(pd.read_parquet(io.BytesIO(buffer.getvalue())), frame)


@pytest.mark.parametrize("writer", ["answer", "job"])
def test_a_minute_boundary_and_offsets_survive(writer: str) -> None:
    block = make_field("date", "When", with_time=True, id="w")
    stored = "2026-08-21T23:30:00-05:30"
    rows = [Submission(5, 1, {"w": stored}, False, 1_750_000_000)]
    data, selected = render([block], False, rows, writer)
    info = FormInfo.from_json({"id": 1, "properties": [block]})
    reader = sinks.make_reader(data, form=info, columns=dict.fromkeys(selected, True))
    frame = arrow_to_pandas.to_pandas(sinks.read_arrow(data, reader), "numpy_nullable", {})
    when = frame["When"].iloc[0]
    assert when == pd.Timestamp(stored)
    assert when.utcoffset() == -timedelta(hours=5, minutes=30)


def _exact_expected(block: dict[str, Any], value: Any, answered: bool) -> list[Any]:
    kind = block["type"]
    if kind in ("files", "signature", "matrix", "date"):
        return expected(block, value, "job")
    if not answered:
        return [None]
    if kind == "multi_select":
        return [list(value)]
    return [value]


@_SETTINGS
@given(exports(), st.sampled_from(["answer", "job"]))
def test_exact_values_hold_the_stored_values_whatever_the_writer(export: Any, writer: str) -> None:
    blocks, partial, rows = export
    ordered = sorted(rows, key=lambda s: (s.created_at, s.id), reverse=True)
    data, selected = render(blocks, partial, ordered, writer)
    form = Form(1, 1, "Form", "form-abc123", blocks, [], partial, 0.0, 0.0)
    items = {
        s.id: submission_item(
            form, s, link=_LINK, profile=profile_for("2.4.0"), encoder=HashidEncoder()
        )["data"]
        for s in rows
    }
    info = FormInfo.from_json(
        {"id": 1, "properties": blocks, "enable_partial_submissions": partial}
    )
    data, served_by = sinks.readable(data)
    reader = sinks.make_reader(
        data,
        form=info,
        columns=dict.fromkeys(selected, True),
        exact_values=ExactValues(items),
        writer=served_by,
    )
    frame = arrow_to_pandas.to_pandas(
        sinks.read_arrow(data, reader), "numpy_nullable", reader.attrs()
    )
    if not rows:
        return
    assert_cells(frame, blocks, ordered, _exact_expected)
    seconds = [datetime.fromtimestamp(s.created_at, timezone.utc) for s in ordered]
    assert frame["created_at"].tolist() == [pd.Timestamp(t) for t in seconds]

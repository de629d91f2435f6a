"""Option fields and ``status`` as categories in the form's order, block after block.

The property test renders exports with the emulator's own writers (both of them), reads them in
many small blocks and through a Parquet file of many row groups, and checks that the categories
always start with the form's options, in the form's order, followed by the other values met.
"""

from __future__ import annotations

import io
from typing import Any
from unittest import mock

import pandas as pd
import pyarrow as pa
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from formexport.opnform.models import ExactValues, FormField, FormInfo
from formexport.reading import arrow_to_pandas, blocks, field_types, parquet_output, sinks
from formexport.reading.converters import CategoryConverter
from formexport.sandbox import make_field
from formexport.sandbox.data.fields import Submission
from tests.unit.test_typed_properties import render

_SETTINGS = settings(max_examples=50, deadline=None, suppress_health_check=[HealthCheck.too_slow])
_OPTION = st.text(alphabet="abcXYZé😀 ,\"'\\\n-1.50", min_size=1, max_size=8).filter(
    lambda s: s.strip() == s and s not in ("", '""')
)


def test_options_in_form_order_then_other_values_as_met() -> None:
    reader = CategoryConverter(["Standard", "VIP", "Student", "Press"])
    first = reader.convert(pa.array(["VIP", None, "Legacy", "Standard"]))[0]
    second = reader.convert(pa.array(["Other", "Legacy", "Student"]))[0]
    assert first.dictionary.to_pylist() == ["Standard", "VIP", "Student", "Press", "Legacy"]
    assert second.dictionary.to_pylist()[:5] == first.dictionary.to_pylist()
    assert second.dictionary.to_pylist()[5:] == ["Other"]
    assert first.to_pylist() == ["VIP", None, "Legacy", "Standard"]
    table = pa.Table.from_batches(
        [pa.record_batch([a], names=["t"]) for a in (first, second)]
    ).unify_dictionaries()
    frame = arrow_to_pandas.to_pandas(table, "numpy_nullable", {})
    assert list(frame["t"].cat.categories) == [
        "Standard", "VIP", "Student", "Press", "Legacy", "Other",
    ]  # fmt: skip
    assert frame["t"].value_counts(sort=False).to_dict() == {
        "Standard": 1, "VIP": 1, "Student": 1, "Press": 0, "Legacy": 2, "Other": 1,
    }  # fmt: skip


def test_select_and_radio_fields_read_as_categories() -> None:
    for kind in ("select", "radio"):
        block = make_field(kind, "Plan", options=["Free", "Pro, yearly"])
        reader = field_types.converter_for(FormField.from_json(block))
        assert isinstance(reader, CategoryConverter)
        assert reader.options == ["Free", "Pro, yearly"]


def test_exact_values_are_merged_into_the_same_categories() -> None:
    reader = CategoryConverter(["A", "B", "C"])
    csv_values = reader.convert(pa.array(["B", None, "15"]))[0]
    merged = reader.merge(pa.array([False, True, True]), [None, "C", "1.50"], csv_values, None)
    assert merged.to_pylist() == ["B", "C", "1.50"]
    assert merged.dictionary.to_pylist()[:3] == ["A", "B", "C"]


def _form(options: list[str], partial: bool) -> tuple[dict[str, Any], FormInfo]:
    block = make_field("select", "Choice", id="f-choice", options=options)
    body = {"id": 1, "properties": [block], "enable_partial_submissions": partial}
    return block, FormInfo.from_json(body)


@st.composite
def choice_exports(draw: st.DrawFn) -> tuple[list[str], list[Any], bool]:
    options = draw(st.lists(_OPTION, min_size=1, max_size=6, unique=True))
    others = draw(st.lists(_OPTION.filter(lambda s: s not in options), max_size=3, unique=True))
    answers = draw(st.lists(st.none() | st.sampled_from(options + others or options), max_size=40))
    return options, answers, draw(st.booleans())


def _categories_start_with(frame: pd.DataFrame, column: str, expected: list[str]) -> None:
    categories = list(frame[column].cat.categories)
    assert categories[: len(expected)] == expected
    assert len(set(categories)) == len(categories)


@_SETTINGS
@given(choice_exports(), st.sampled_from(["answer", "job"]), st.booleans())
def test_categories_always_start_with_the_forms_options_in_order(
    export: tuple[list[str], list[Any], bool], writer: str, exact: bool
) -> None:
    options, answers, partial = export
    block, info = _form(options, partial)
    rows = [
        Submission(100 - i, 1, {} if a is None else {"f-choice": a}, partial and i % 3 == 0, i)
        for i, a in enumerate(answers)
    ]
    data, selected = render([block], partial, rows, writer)
    data, served_by = sinks.readable(data)
    stored = ExactValues({s.id: s.data for s in rows}) if exact else None
    reader = sinks.make_reader(
        data,
        form=info,
        columns=dict.fromkeys(selected, True),
        writer=served_by,
        exact_values=stored,
    )
    # Blocks of about 64 bytes: a few rows each, so dictionaries grow from block to block.
    with mock.patch.object(sinks, "TABLE_BLOCK_SIZE", 64):
        frame = arrow_to_pandas.to_pandas(
            sinks.read_arrow(data, reader), "numpy_nullable", reader.attrs()
        )
    assert len(frame) == len(rows)
    _categories_start_with(frame, "Choice", options)
    if exact or writer == "job":  # the synchronous writer's CSV turns "1.50" into "1.5"
        want = [s.data.get("f-choice") for s in rows]
        assert [None if pd.isna(v) else v for v in frame["Choice"]] == want
    if partial:
        _categories_start_with(frame, "status", ["Completed", "In Progress"])
    buffer = io.BytesIO()
    with (
        mock.patch.object(blocks, "STREAM_BLOCK_SIZE", 64),
        mock.patch.object(parquet_output, "ROW_GROUP_ROWS", 3),
    ):
        parquet_output.write_parquet(data, buffer, reader)
    back = pd.read_parquet(io.BytesIO(buffer.getvalue()))
    if not rows:
        # Parquet keeps a dictionary only along with values: an empty file has no categories.
        pd.testing.assert_frame_equal(back, frame, check_categorical=False)
        return
    pd.testing.assert_frame_equal(back, frame)
    _categories_start_with(back, "Choice", options)


@pytest.mark.parametrize("backend", ["numpy_nullable", "pyarrow"])
def test_status_categories_whatever_the_rows_hold(backend: str) -> None:
    data = b'\xef\xbb\xbf"id","created_at","status"\n"jR","2026-08-21 14:02","In Progress"\n'
    info = FormInfo.from_json({"id": 1, "properties": [], "enable_partial_submissions": True})
    reader = sinks.make_reader(data, form=info, columns={"created_at": True})
    frame = arrow_to_pandas.to_pandas(sinks.read_arrow(data, reader), backend, {})
    if backend == "pyarrow":
        assert frame["status"].dtype == pd.ArrowDtype(pa.dictionary(pa.int32(), pa.string()))
        chunk = pa.array(frame["status"]).dictionary.to_pylist()
        assert chunk == ["Completed", "In Progress"]
    else:
        assert list(frame["status"].cat.categories) == ["Completed", "In Progress"]
        assert frame["status"].tolist() == ["In Progress"]

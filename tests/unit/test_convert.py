"""Each converter on the cells both OpnForm writers print."""

from __future__ import annotations

from datetime import date, datetime, timedelta, timezone

import pyarrow as pa
import pytest

from formexport.opnform.models import FormField
from formexport.reading import converters, dates, field_types, ids
from formexport.reading.converters import NotThisType
from formexport.sandbox.data.hashid import HashidEncoder
from formexport.sandbox.writers.csv_writers import sync_text


def field(kind: str, **definition: object) -> FormField:
    return FormField("f1", "F", kind, definition={"type": kind, **definition})


def run(converter: converters.Converter, cells: list[str | None]) -> list[list[object]]:
    return [a.to_pylist() for a in converter.convert(pa.array(cells, pa.string()))]


@pytest.mark.parametrize("truth", ["TRUE", "1"], ids=["sync-writer", "async-writer"])
def test_booleans_of_both_writers(truth: str) -> None:
    reader = field_types.converter_for(field("checkbox"))
    assert run(reader, [truth, None, "0"]) == [[True, False, False]]


def test_a_stray_boolean_is_not_this_type() -> None:
    with pytest.raises(NotThisType) as caught:
        run(converters.BooleanConverter(), ["1", "yes"])
    assert caught.value.value == "yes"


def test_numbers_integers_then_decimals() -> None:
    rating = field_types.converter_for(field("rating"))
    assert run(rating, ["5", None, "0"]) == [[5, None, 0]]
    with pytest.raises(NotThisType):
        run(rating, ["4.5"])
    wider = rating.wider()
    assert wider is not None
    assert run(wider, ["4.5", "1.0E+25"]) == [[4.5, 1e25]]
    assert wider.wider() is None
    with pytest.raises(NotThisType) as caught:
        run(wider, ["1", "n/a"])
    assert caught.value.value == "n/a"


def test_fractional_slider_steps_read_as_decimals() -> None:
    assert isinstance(field_types.converter_for(field("slider", slider_step_value=0.5)).types()[0],
                      pa.DataType)  # fmt: skip
    assert field_types.converter_for(field("slider", slider_step_value=0.5)).types() == [
        pa.float64()
    ]
    assert field_types.converter_for(field("scale", scale_step=1)).types() == [pa.int64()]
    assert field_types.converter_for(field("number")).types() == [pa.float64()]


def test_multi_select_undoes_the_inner_quoting() -> None:
    reader = field_types.converter_for(field("multi_select"))
    cells = ['Music,"Rock, Pop"', "Tech", None, '"Say ""hi""","Two\nlines"', '"A\nB"']
    assert run(reader, cells) == [
        [["Music", "Rock, Pop"], ["Tech"], [], ['Say "hi"', "Two\nlines"], ["A\nB"]]
    ]
    assert run(reader, ["a,b", ""]) == [[["a", "b"], []]]


def test_file_links_split_on_comma_space() -> None:
    reader = field_types.converter_for(field("files"))
    assert run(reader, ["https://h/a?x=1, https://h/b", None]) == [
        [["https://h/a?x=1", "https://h/b"], []]
    ]
    assert reader.from_json([{"file_url": "https://h/a", "file_name": "a"}]) == [["https://h/a"]]


def test_matrix_rows_become_struct_entries() -> None:
    reader = field_types.converter_for(field("matrix", rows=["Row 1", "Row 10", "A | B"]))
    cells = ["Row 10: x | Row 1: y: z", "A | B: Col | Row 1: q", None]
    assert run(reader, cells) == [
        [
            {"Row 1": "y: z", "Row 10": "x", "A | B": None},
            {"Row 1": "q", "Row 10": None, "A | B": "Col"},
            None,
        ]
    ]
    with pytest.raises(NotThisType):
        run(reader, ["Unknown row: x"])


def test_dates_keep_the_picked_day_and_the_offset() -> None:
    day = field_types.converter_for(field("date"))
    assert run(day, ["2026-08-21T00:00:00+02:00", None]) == [[date(2026, 8, 21), None]]
    moment = field_types.converter_for(field("date", with_time=True))
    (values,) = run(moment, ["2026-08-21T10:15:00+02:00"])
    assert values[0] == datetime(2026, 8, 21, 10, 15, tzinfo=timezone(timedelta(hours=2)))
    assert moment.types() == [pa.timestamp("us", tz="+02:00")]


def test_mixed_offsets_widen_to_utc() -> None:
    moment = field_types.converter_for(field("date", with_time=True))
    run(moment, ["2026-08-21T10:15:00+02:00"])
    with pytest.raises(NotThisType):
        run(moment, ["2026-08-21T10:15:00-05:00"])
    utc = moment.wider()
    assert utc is not None
    (values,) = run(utc, ["2026-08-21T10:15:00+02:00", "2026-08-21T10:15:00Z"])
    assert [v.hour for v in values] == [8, 10]
    assert utc.types() == [pa.timestamp("us", tz="UTC")]


def test_date_ranges_split_into_start_and_end() -> None:
    reader = field_types.converter_for(field("date", date_range=True))
    assert reader.parts == ("start", "end")
    cells = ["2026-08-01T00:00:00+02:00,2026-08-03T00:00:00+02:00", "2026-08-05T00:00:00Z,", None]
    assert run(reader, cells) == [
        [date(2026, 8, 1), date(2026, 8, 5), None],
        [date(2026, 8, 3), None, None],
    ]
    assert reader.from_json(["2026-08-01T00:00:00+02:00", None]) == [date(2026, 8, 1), None]


def test_not_a_date_is_not_this_type() -> None:
    with pytest.raises(NotThisType):
        run(field_types.converter_for(field("date")), ["next tuesday"])


def test_created_at_is_utc_to_the_minute_or_second() -> None:
    reader = dates.CreatedAtConverter()
    (values,) = run(reader, ["2026-08-21 14:02", None])
    assert values == [datetime(2026, 8, 21, 14, 2, tzinfo=timezone.utc), None]
    assert reader.from_json("2026-08-21 14:02:11") == [
        datetime(2026, 8, 21, 14, 2, 11, tzinfo=timezone.utc)
    ]


def test_exact_values_keep_what_the_csv_loses() -> None:
    assert field_types.converter_for(field("number")).from_json(0) == [0.0]
    assert field_types.converter_for(field("checkbox")).from_json(False) == [False]
    assert field_types.converter_for(field("checkbox")).from_json(None) == [None]
    assert field_types.converter_for(field("phone_number")).from_json("+336") == ["+336"]
    assert field_types.converter_for(field("multi_select")).from_json(["a, b"]) == [["a, b"]]
    with pytest.raises(NotThisType):
        field_types.converter_for(field("rating")).from_json(4.5)


def test_ids_decode_with_the_hashids_package() -> None:
    assert ids.decode("jR", coerced=False) == 1
    assert ids.decode("Mj3", coerced=False) == 123
    assert ids.decode("not-a-hashid", coerced=False) is None
    assert ids.decode(None, coerced=False) is None
    assert ids.decode("Nyj6Xl6971B59p", coerced=False) is None  # 2**70: not a database id


def test_ids_the_sync_writer_printed_as_numbers() -> None:
    encoder = HashidEncoder()
    coerced = {
        n: encoder.encode(n)
        for n in range(1, 3000)
        if sync_text(encoder.encode(n)) != encoder.encode(n)
    }
    assert coerced  # e.g. 935 is "2E1", printed as 20
    for number, hashid in coerced.items():
        text = sync_text(hashid)
        assert number in ids.readings(text, coerced=True)
        assert ids.decode(text, coerced=True, known={number, number + 1}) == number


def test_id_column_takes_the_reading_nearest_the_export() -> None:
    encoder = HashidEncoder()
    neighbours = [encoder.encode(n) for n in range(570, 590)]
    cells = [sync_text(h) for h in neighbours]  # 580 is "3E9", printed as 3000000000
    column = ids.IdColumn(coerced=True)
    _, numbers = column.convert(pa.array(cells))
    assert numbers.to_pylist() == list(range(570, 590))
    assert column.undecoded == []


@pytest.mark.parametrize(
    ("reader", "cell"),
    [
        (
            field_types.converter_for(field("date", with_time=True)),
            "2026-08-21T10:15:30.123456789Z",
        ),
        (field_types.converter_for(field("date")), "2026-02-30T00:00:00+02:00"),
        (dates.CreatedAtConverter(), "2026-02-30 14:02"),
        (field_types.converter_for(field("number")), "12,5"),
    ],
)
def test_cells_arrow_cannot_read_are_named(reader: converters.Converter, cell: str) -> None:
    with pytest.raises(NotThisType) as caught:
        run(reader, [None, cell])
    assert str(caught.value.value).startswith(cell[:10])


@pytest.mark.parametrize(
    ("kind", "value"),
    [
        ("multi_select", ["Music", "Rock, Pop", 'Say "hi"']),
        ("matrix", {"Morning": "Talk", "Evening": None, "Noon": "A: B"}),
        ("date", ["2026-08-21T00:00:00+02:00", "2026-08-23T00:00:00+02:00"]),
        ("number", 7),
        ("text", "plain"),
    ],
)
def test_a_deleted_fields_exact_values_read_as_its_csv_cell(kind: str, value: object) -> None:
    from formexport.sandbox.writers.cells import render_value

    reader = field_types.deleted_field_converter(field(kind))
    assert reader.label == "text"
    assert reader.from_json(value) == [str(render_value(kind, value, lambda name: name))]

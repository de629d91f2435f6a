"""Files for colleagues over real HTTP: each format written by export_to_file, read back by its
own reader (openpyxl, pandas.read_stata, pyreadstat) and compared with load_export's frame."""

from __future__ import annotations

import re
import sys
import warnings
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import openpyxl
import pandas as pd
import pyreadstat
import pytest

import formexport as fx
from formexport.formats import excel
from formexport.sandbox import Sandbox, make_field

TICKETS = ["Standard", "VIP", "Student"]
FIELDS = [
    make_field("text", "Name", id="f-name"),
    make_field("phone_number", "Phone", id="f-phone"),
    make_field("number", "Amount (USD)", id="f-amount"),
    make_field("rating", "Rating", id="f-rating"),
    make_field("checkbox", "Subscribe", id="f-sub"),
    make_field("select", "Ticket type", id="f-ticket", options=TICKETS),
    make_field("multi_select", "Topics", id="f-topics", options=["Music", "Rock, Pop"]),
    make_field("date", "Visit date", id="f-visit"),
    make_field("date", "Appointment", id="f-appt", with_time=True),
    make_field("matrix", "Sessions", id="f-sessions", rows=["Morning", "Afternoon"],
               columns=["Workshop A", "Talk"]),
    make_field("text", "Name", id="f-name2"),
]  # fmt: skip
LONG = "x" * 40_000
ANSWERS: list[dict[str, Any]] = [
    {
        "f-name": "0123",
        "f-phone": "+33612345678",
        "f-amount": 0,
        "f-rating": 4,
        "f-sub": False,
        "f-ticket": "VIP",
        "f-topics": ["Rock, Pop", "Music"],
        "f-visit": "2026-08-21T00:00:00+02:00",
        "f-appt": "2026-08-21T14:30:00+02:00",
        "f-sessions": {"Morning": "Talk"},
        "f-name2": "=1+1",
    },
    {"f-name": "Zoë 😀\r\nline two", "f-ticket": "Legacy", "f-name2": "#N/A", "f-amount": 2.5},
    {"f-name": "ctrl\x01 _x0041_", "f-sub": True, "f-ticket": "Student"},
    {},
    {"f-name": LONG},
]
WHEN = datetime(2026, 8, 21, 14, 2, 11, tzinfo=timezone.utc)
VARIABLES = [
    "id", "submission_id", "Name", "Phone", "Amount_USD", "Rating", "Subscribe", "Ticket_type",
    "Topics", "Visit_date", "Appointment", "Sessions", "Name_1", "created_at", "status",
]  # fmt: skip


@pytest.fixture
def form(sandbox: Sandbox) -> int:
    created = sandbox.add_form("Take-away", FIELDS, partial=True)
    for index, data in enumerate(ANSWERS):
        sandbox.add_submission(created["id"], data, created_at=WHEN.timestamp() + index)
    return int(created["id"])


def load(sandbox: Sandbox, form: int | str, **options: Any) -> pd.DataFrame:
    return fx.load_export(
        form, token=sandbox.token, base_url=sandbox.base_url, progress=None, **options
    )


def export(sandbox: Sandbox, form: int | str, path: Path, **options: Any) -> Path:
    return fx.export_to_file(
        form, path, token=sandbox.token, base_url=sandbox.base_url, progress=None, **options
    )


def ooxml_text(text: str | None) -> str | None:
    """A cell's text as Excel shows it: OOXML's _xHHHH_ escapes read, left to right."""
    if text is None:
        return None
    return re.sub(r"_x([0-9A-Fa-f]{4})_", lambda m: chr(int(m.group(1), 16)), text)


def as_cells(series: pd.Series[Any], *, excel_lines: bool = False) -> list[Any]:
    """What the documented conversions make of a frame's column, as Python values: lists and
    matrices as text, date-times in UTC, missing as None (and Excel's LF line breaks)."""
    if isinstance(series.dtype, pd.DatetimeTZDtype):
        series = series.dt.tz_convert("UTC").dt.tz_localize(None)
    cells = []
    for value in series.astype(object):
        if isinstance(value, list):
            value = "; ".join(value) or None
        elif isinstance(value, dict):
            value = "; ".join(f"{k}: {v}" for k, v in value.items() if v is not None) or None
        elif isinstance(value, str) and excel_lines:
            value = value.replace("\r\n", "\n")
        cells.append(None if value is None or pd.isna(value) else value)
    return cells


# --- Excel -------------------------------------------------------------------------------


def test_excel_keeps_types_text_and_the_codebook(
    sandbox: Sandbox, form: int, tmp_path: Path
) -> None:
    df = load(sandbox, form)
    with pytest.warns(fx.FileFormatWarning, match=r"'Name' \(1\)"):
        path = export(sandbox, form, tmp_path / "take-away.xlsx")
    book = openpyxl.load_workbook(path)
    assert book.sheetnames == ["Submissions", "Codebook"]
    sheet = book["Submissions"]
    rows = list(sheet.iter_rows())
    headers = [cell.value for cell in rows[0]]
    zoned = {"Appointment", "created_at"}
    assert headers == [f"{c} (UTC)" if c in zoned else c for c in df.columns]
    assert len(rows) == len(df) + 1
    for index, name in enumerate(df.columns):
        written = [row[index].value for row in rows[1:]]
        if df[name].dtype == "string":
            written = [ooxml_text(value) for value in written]
        expected = as_cells(df[name], excel_lines=True)
        if name == "Name":
            assert written[expected.index(LONG)] == LONG[: excel.MAX_TEXT]
            expected[expected.index(LONG)] = LONG[: excel.MAX_TEXT]
        assert written == expected, name
    by_name = {name: [row[i] for row in rows[1:]] for i, name in enumerate(df.columns)}
    first = df.index[df["Phone"] == "+33612345678"][0]
    assert by_name["Name"][first].data_type == "s"  # "0123" stays text
    assert by_name["Name.1"][first].value == "=1+1"
    assert by_name["Name.1"][first].data_type == "s"  # not a formula
    assert any(c.value == "#N/A" and c.data_type == "s" for c in by_name["Name.1"])
    assert by_name["Subscribe"][first].value is False
    assert by_name["Visit date"][first].number_format == "yyyy-mm-dd"
    assert by_name["Appointment"][first].value == datetime(2026, 8, 21, 12, 30)
    assert "Zoë 😀\nline two" in [c.value for c in by_name["Name"]]
    assert "ctrl\x01 _x0041_" in [ooxml_text(c.value) for c in by_name["Name"]]
    codebook = list(book["Codebook"].iter_rows(values_only=True))
    described = fx.describe_form(form, token=sandbox.token, base_url=sandbox.base_url)
    assert [row[0] for row in codebook[1:]] == headers
    assert [row[1] for row in codebook[1:]] == described["variable"].tolist() == VARIABLES
    ticket = codebook[1 + list(df.columns).index("Ticket type")]
    assert ticket[codebook[0].index("options")] == "Standard; VIP; Student"
    assert "UTC" in codebook[1 + list(df.columns).index("created_at")][-1]


def test_excel_refuses_more_rows_than_a_sheet_holds(
    sandbox: Sandbox, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(excel, "MAX_ROWS", 100)  # form 1 has 250 submissions
    with pytest.raises(fx.FileFormatError, match="Excel sheet holds 99 rows"):
        export(sandbox, 1, tmp_path / "feedback.xlsx")
    assert list(tmp_path.iterdir()) == []


# --- Stata -------------------------------------------------------------------------------


def test_stata_labels_selects_in_the_forms_order(
    sandbox: Sandbox, form: int, tmp_path: Path
) -> None:
    df = load(sandbox, form)
    path = export(sandbox, form, tmp_path / "take-away.dta")
    codes = pd.read_stata(path, convert_categoricals=False, convert_missing=False)
    with pd.io.stata.StataReader(path) as reader:
        value_labels, variable_labels = reader.value_labels(), reader.variable_labels()
    assert list(codes.columns) == VARIABLES
    assert variable_labels["Amount_USD"] == "Amount (USD)"
    assert variable_labels["Name_1"] == "Name"
    assert value_labels["Ticket_type"] == {1: "Standard", 2: "VIP", 3: "Student", 4: "Legacy"}
    assert value_labels["status"] == {1: "Completed", 2: "In Progress"}
    options = [*TICKETS, "Legacy"]
    positions = [None if v is None else options.index(v) + 1 for v in as_cells(df["Ticket type"])]
    assert [None if v is None else int(v) for v in as_cells(codes["Ticket_type"])] == positions
    labelled = pd.read_stata(path)
    assert as_cells(labelled["Ticket_type"]) == as_cells(df["Ticket type"])
    _same_values(df, codes)


def test_spss_labels_selects_in_the_forms_order(
    sandbox: Sandbox, form: int, tmp_path: Path
) -> None:
    df = load(sandbox, form)
    path = export(sandbox, form, tmp_path / "take-away.sav")
    codes, meta = pyreadstat.read_sav(path)
    assert meta.column_names == VARIABLES
    assert meta.column_names_to_labels["Amount_USD"] == "Amount (USD)"
    assert meta.variable_value_labels["Ticket_type"] == {
        1: "Standard", 2: "VIP", 3: "Student", 4: "Legacy",
    }  # fmt: skip
    assert meta.variable_measure["Ticket_type"] == "nominal"
    assert meta.original_variable_types["Visit_date"] == "DATE11"
    labelled, _ = pyreadstat.read_sav(path, apply_value_formats=True)
    assert as_cells(labelled["Ticket_type"]) == as_cells(df["Ticket type"])
    _same_values(df, codes)


def _same_values(df: pd.DataFrame, back: pd.DataFrame) -> None:
    """A statistics file's values against the frame's: text as is (missing: empty, Stata and
    SPSS have no missing text), numbers and 0/1, dates, UTC date-times. Select fields are
    codes, checked by the callers."""
    for name, variable in zip(df.columns, back.columns, strict=True):
        series, written = df[name], back[variable].tolist()
        if isinstance(series.dtype, pd.CategoricalDtype):
            continue
        expected = as_cells(series)
        if series.dtype == "string" or series.dtype == object:
            assert written == ["" if v is None else v for v in expected], name
        elif pd.api.types.is_datetime64_any_dtype(series.dtype):
            got = pd.to_datetime(pd.Series(written)).astype("datetime64[us]")
            want = pd.Series(expected, dtype="datetime64[us]")
            pd.testing.assert_series_equal(got, want, check_names=False)
        else:
            numbers = [None if v is None else float(v) for v in expected]
            assert [None if pd.isna(v) else float(v) for v in written] == numbers, name


def test_without_pyreadstat_a_sav_file_names_the_extra(
    sandbox: Sandbox, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(sys.modules, "pyreadstat", None)  # `import pyreadstat` now fails
    sandbox.clear_requests()
    with pytest.raises(fx.ConfigurationError, match=r"pip install 'formexport\[spss\]'"):
        export(sandbox, 1, tmp_path / "feedback.sav")
    with pytest.raises(fx.ConfigurationError, match="pyreadstat"):
        fx.start_export(1, to=tmp_path / "feedback.sav", progress=None)
    assert sandbox.requests == []
    assert list(tmp_path.iterdir()) == []


# --- every format, the demo forms ---------------------------------------------------------


@pytest.mark.parametrize("suffix", [".xlsx", ".dta", ".sav", ".parquet", ".csv"])
def test_the_demo_forms_in_every_format(sandbox: Sandbox, tmp_path: Path, suffix: str) -> None:
    for form in (2, 3):  # every kind of column; no submission at all (form 1: the CLI's tests)
        df = load(sandbox, form)
        path = export(sandbox, form, tmp_path / f"form-{form}{suffix}")
        assert path == tmp_path / f"form-{form}{suffix}"
        if suffix == ".csv":  # as served: its own columns (one for a date range)
            assert _rows_and_columns(path)[0] == len(df)
        else:
            assert _rows_and_columns(path) == df.shape
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".")] == []


def _rows_and_columns(path: Path) -> tuple[int, int]:
    if path.suffix == ".xlsx":
        book = openpyxl.load_workbook(path, read_only=True)
        try:  # a read-only workbook holds its file open until closed
            rows = list(book["Submissions"].iter_rows(values_only=True))
        finally:
            book.close()
        return len(rows) - 1, len(rows[0])
    if path.suffix == ".dta":
        return pd.read_stata(path).shape
    if path.suffix == ".sav":
        return pyreadstat.read_sav(path)[0].shape
    if path.suffix == ".parquet":
        return pd.read_parquet(path).shape
    if not path.read_text(encoding="utf-8-sig").strip():
        return 0, 0
    return pd.read_csv(path, dtype=str, encoding="utf-8-sig").shape


def test_start_export_delivers_every_format(sandbox: Sandbox, tmp_path: Path) -> None:
    futures = {
        suffix: fx.start_export(
            1, to=tmp_path / f"f{suffix}", token=sandbox.token, base_url=sandbox.base_url,
            progress=None, columns=["Name", "Rating"],
        )
        for suffix in (".xlsx", ".dta", ".sav")
    }  # fmt: skip
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        for suffix, future in futures.items():
            assert future.result(timeout=60) == tmp_path / f"f{suffix}"
    assert pd.read_stata(tmp_path / "f.dta").columns.tolist() == [
        "id", "submission_id", "Name", "Rating",
    ]  # fmt: skip

"""Analyst-native frames over real HTTP, on every export route: categories in the form's order,
lists, dates with ``.dt``, typed empty exports, Parquet round trips, datasets and the codebook."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pandas as pd
import pyarrow as pa
import pytest

import formexport as fx
from formexport.cli import main
from formexport.sandbox import Sandbox, make_field

TICKETS = ["Standard", "VIP", "Student"]
FIELDS = [
    make_field("text", "Full name", id="f-name"),
    make_field("select", "Ticket type", id="f-ticket", options=TICKETS, required=True),
    make_field("multi_select", "Topics", id="f-topics", options=["Music", "Rock, Pop", 'Say "hi"']),
    make_field("files", "Documents", id="f-docs"),
    make_field("date", "Visit date", id="f-visit", help="The day you came"),
    make_field("date", "Appointment", id="f-appt", with_time=True),
    make_field("checkbox", "Subscribe", id="f-sub"),
]
# route → (generated submissions, status access, delivery mode, CSV writer)
ROUTES = {
    "answered": (40, "blocked", "answered", "answer"),
    "server_job": (1100, "open", "server_job", "job"),
    "batched": (1100, "blocked", "batched", "answer"),
}
LATE = {"f-ticket": "Legacy", "f-topics": ["Rock, Pop"], "f-name": "Late"}


def add_form(sandbox: Sandbox, rows: int, title: str = "Registrations") -> int:
    form = sandbox.add_form(title, FIELDS, rows, partial=True, seed=5)
    return int(form["id"])


@pytest.fixture(params=sorted(ROUTES))
def job(request: pytest.FixtureRequest, sandbox: Sandbox) -> Iterator[fx.ExportJob]:
    rows, access, mode, _ = ROUTES[request.param]
    sandbox.config.status_access = access
    form = add_form(sandbox, rows)
    sandbox.add_submission(form, LATE)  # the newest: a ticket type the form no longer offers
    with fx.Client(token=sandbox.token, base_url=sandbox.base_url) as client:
        started = client.start_export(form)
        assert started.delivery_mode == mode
        with started:
            yield started


def writer_of(job: fx.ExportJob) -> str:
    return next(w for _, _, s, w in ROUTES.values() if s == job.delivery_mode)


def test_every_route_gives_the_analyst_dtypes(job: fx.ExportJob) -> None:
    df = job.to_dataframe()
    assert df.attrs["writer"] == writer_of(job)
    ticket = df["Ticket type"]
    assert isinstance(ticket.dtype, pd.CategoricalDtype)
    assert list(ticket.cat.categories) == [*TICKETS, "Legacy"]
    assert ticket.iloc[0] == "Legacy"
    assert list(df["status"].cat.categories) == ["Completed", "In Progress"]
    assert set(df["status"].dropna()) == {"Completed", "In Progress"}
    for column in ("Topics", "Documents"):
        cells = df[column].dropna().tolist()
        assert cells
        assert all(type(c) is list and all(type(i) is str for i in c) for c in cells)
    assert df["Topics"].iloc[0] == ["Rock, Pop"]
    json.dumps(df["Topics"].tolist())
    visit = df["Visit date"]
    assert str(visit.dtype) == "datetime64[us]"
    assert (visit.dropna().dt.hour == 0).all()
    assert visit.dropna().dt.year.between(2020, 2030).all()
    assert isinstance(df["Appointment"].dtype, pd.DatetimeTZDtype)
    assert str(df["Subscribe"].dtype) == "boolean"


def test_every_route_gives_the_same_dtypes_after_parquet(job: fx.ExportJob, tmp_path: Path) -> None:
    path = job.to_parquet(tmp_path / "registrations.parquet")
    df, back = job.to_dataframe(), pd.read_parquet(path)
    pd.testing.assert_frame_equal(back, df)
    assert back.dtypes.astype(str).tolist() == df.dtypes.astype(str).tolist()
    assert list(back["Ticket type"].cat.categories) == [*TICKETS, "Legacy"]
    assert back["Visit date"].dt.day.equals(df["Visit date"].dt.day)


def test_every_route_gives_arrow_equivalents(job: fx.ExportJob, tmp_path: Path) -> None:
    df = job.to_dataframe(dtype_backend="pyarrow")
    assert df["Ticket type"].dtype == pd.ArrowDtype(pa.dictionary(pa.int32(), pa.string()))
    assert pa.array(df["Ticket type"]).dictionary.to_pylist() == [*TICKETS, "Legacy"]
    assert df["Topics"].dtype == pd.ArrowDtype(pa.list_(pa.string()))
    assert df["Visit date"].dtype == pd.ArrowDtype(pa.date32())
    assert df["status"].dtype == pd.ArrowDtype(pa.dictionary(pa.int32(), pa.string()))
    back = pd.read_parquet(job.to_parquet(tmp_path / "r.parquet"), dtype_backend="pyarrow")
    # Parquet holds dates as midnight timestamps, for pandas' default reader.
    assert back["Visit date"].dtype == pd.ArrowDtype(pa.timestamp("us"))
    same = [c for c in df.columns if c != "Visit date"]
    pd.testing.assert_frame_equal(back[same], df[same])


def test_a_form_without_submissions_gives_every_column_typed(
    sandbox: Sandbox, tmp_path: Path
) -> None:
    empty_form, full_form = add_form(sandbox, 0, "Empty"), add_form(sandbox, 3, "Full")
    kwargs: dict[str, Any] = {"token": sandbox.token, "base_url": sandbox.base_url}
    empty = fx.load_export(empty_form, progress=None, **kwargs)
    full = fx.load_export(full_form, progress=None, **kwargs)
    assert len(empty) == 0
    assert (
        list(empty.columns)
        == list(full.columns)
        == fx.describe_form(empty_form, **kwargs)["column"].tolist()
    )
    same = [c for c in full.columns if c != "Appointment"]  # its offset comes from its values
    assert empty[same].dtypes.astype(str).tolist() == full[same].dtypes.astype(str).tolist()
    assert list(empty["Ticket type"].cat.categories) == TICKETS
    path = fx.export_to_parquet(empty_form, tmp_path / "e.parquet", progress=None, **kwargs)
    back = pd.read_parquet(path)
    pd.testing.assert_frame_equal(back, empty, check_categorical=False)


def test_the_seeded_empty_survey_keeps_its_columns(sandbox: Sandbox) -> None:
    df = fx.load_export(3, token=sandbox.token, base_url=sandbox.base_url, progress=None)
    assert df.shape == (0, 5)
    assert df.dtypes.astype(str).tolist() == [
        "string", "Int64", "string", "Float64", "datetime64[us, UTC]",
    ]  # fmt: skip


@pytest.mark.parametrize("form", [2, "custom"])
def test_the_codebook_agrees_with_the_frames_attrs(sandbox: Sandbox, form: int | str) -> None:
    ref = add_form(sandbox, 12) if form == "custom" else int(form)
    kwargs: dict[str, Any] = {"token": sandbox.token, "base_url": sandbox.base_url}
    book = fx.describe_form(ref, **kwargs)
    df = fx.load_export(ref, progress=None, **kwargs)
    assert book["column"].tolist() == list(df.columns)
    for row in book.to_dict(orient="records"):
        info = df.attrs["columns"][row["column"]]
        assert {k: info.get(k) for k in row if k not in ("column", "options")} == {
            k: v for k, v in row.items() if k not in ("column", "options")
        }
        assert info.get("options", []) == row["options"]
    if form == "custom":
        ticket = book.set_index("column").loc["Ticket type"]
        assert (ticket["options"], ticket["required"], ticket["type"]) == (
            TICKETS,
            True,
            "category",
        )
        assert book.set_index("column").loc["Visit date", "help"] == "The day you came"
        assert book.attrs["title"] == "Registrations"


def test_the_codebook_of_a_form_at_hand_costs_no_request(sandbox: Sandbox) -> None:
    with fx.Client(token=sandbox.token, base_url=sandbox.base_url) as client:
        info = client.get_form(1)
    sandbox.clear_requests()
    book = fx.describe_form(info, columns=["Topics", "created_at"], naming="id")
    assert not sandbox.requests
    topics = next(f for f in info.fields if f.name == "Topics")
    assert book["column"].tolist() == ["id", "submission_id", topics.id, "created_at"]
    assert book["options"].iloc[2] == ["Music", "Rock, Pop", 'Say "hi"', "Sports", "Tech"]
    assert book["type"].iloc[2] == "list"


def test_cli_describe(env: Sandbox, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["describe", "2"]) == 0
    out = capsys.readouterr().out
    assert out.startswith("Event registration (form 2, ")
    assert "Ticket type" in out
    assert "Standard, VIP, Student" in out
    assert main(["describe", "2", "--json"]) == 0
    rows = json.loads(capsys.readouterr().out)
    ticket = next(r for r in rows if r["column"] == "Ticket type")
    assert ticket["options"] == ["Standard", "VIP", "Student"]
    assert ticket["type"] == "category"
    assert main(["describe", "999"]) == 1


def test_dataset_files_hold_the_same_dtypes(sandbox: Sandbox, tmp_path: Path) -> None:
    form = add_form(sandbox, 30)
    kwargs: dict[str, Any] = {"token": sandbox.token, "base_url": sandbox.base_url}
    fx.export_forms([form], tmp_path, progress=None, **kwargs)
    sandbox.add_submission(form, LATE)
    fx.export_forms([form], tmp_path, progress=None, incremental=True, **kwargs)
    files = sorted(tmp_path.glob(f"form_id={form}/export_date=*/*.parquet"))
    assert len(files) == 2
    loaded = fx.load_export(form, progress=None, **kwargs)
    # A date-time column's offset comes from its values (the late row has none: UTC).
    same = [c for c in loaded.columns if c != "Appointment"]
    for path in files:
        part = pd.read_parquet(path)
        assert part.dtypes[same].astype(str).tolist() == loaded.dtypes[same].astype(str).tolist()
        assert list(part["Ticket type"].cat.categories)[:3] == TICKETS
        assert str(part["Visit date"].dtype) == "datetime64[us]"
    whole = pd.read_parquet(tmp_path / f"form_id={form}")
    assert len(whole) == 31
    assert list(whole["Ticket type"].cat.categories) == [*TICKETS, "Legacy"]
    assert isinstance(whole["status"].dtype, pd.CategoricalDtype)

"""Typed frames over real HTTP: exact values, metadata, options, Parquet and fallbacks."""

from __future__ import annotations

import json
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import pandas as pd
import pyarrow.parquet as pq
import pytest

import formexport as fx
from formexport.reading import blocks, parquet_output
from formexport.sandbox import Sandbox, make_field
from tests.integration.helpers import exports, submission_ids

FIELDS = [
    make_field("text", "Name", id="f-name"),
    make_field("phone_number", "Phone", id="f-phone"),
    make_field("number", "Amount (USD)", id="f-amount"),
    make_field("checkbox", "Subscribe", id="f-sub"),
    make_field("multi_select", "Topics", id="f-topics", options=["Music", "Rock, Pop"]),
    make_field("text", "Name", id="f-name2"),
]
WHEN = datetime(2026, 8, 21, 14, 2, 11, tzinfo=timezone.utc)


def small_form(sandbox: Sandbox, answers: list[dict[str, Any]], **extra: Any) -> int:
    form = sandbox.add_form("Typed", FIELDS, **extra)
    for index, data in enumerate(answers):
        sandbox.add_submission(form["id"], data, created_at=WHEN.timestamp() + index)
    return int(form["id"])


def load(sandbox: Sandbox, form: int, **options: Any) -> pd.DataFrame:
    return fx.load_export(
        form, token=sandbox.token, base_url=sandbox.base_url, progress=None, **options
    )


LOSSY = {"f-name": "Zoë 😀\nline two", "f-phone": "+33612345678", "f-amount": 0, "f-sub": False}


def test_exact_values_for_the_synchronous_writer(sandbox: Sandbox) -> None:
    form = small_form(sandbox, [LOSSY, {"f-topics": ["Rock, Pop", "Music"], "f-amount": 2.5}])
    df = load(sandbox, form)
    newest, oldest = df.iloc[0], df.iloc[1]
    assert oldest["Phone"] == "+33612345678"
    assert oldest["Amount (USD)"] == 0
    assert oldest["Subscribe"] is False or oldest["Subscribe"] == False  # noqa: E712
    assert oldest["Name"] == "Zoë 😀\nline two"
    assert oldest["created_at"] == pd.Timestamp(WHEN)  # seconds, from the JSON list
    assert pd.isna(newest["Subscribe"])  # never answered: missing, not false
    assert list(newest["Topics"]) == ["Rock, Pop", "Music"]
    assert df.attrs["values"] == "exact"
    assert len(exports(sandbox)) == 1


def test_csv_values_show_the_writers_losses(sandbox: Sandbox) -> None:
    form = small_form(sandbox, [LOSSY])
    row = load(sandbox, form, values="csv").iloc[0]
    assert row["Phone"] == "33612345678"
    assert pd.isna(row["Amount (USD)"])
    assert row["Subscribe"] == False  # noqa: E712
    assert row["created_at"] == pd.Timestamp(WHEN.replace(second=0))


def test_dtypes_names_and_attrs(sandbox: Sandbox) -> None:
    form = small_form(sandbox, [LOSSY])
    df = load(sandbox, form)
    assert list(df.columns) == [
        "id", "submission_id", "Name", "Phone", "Amount (USD)", "Subscribe", "Topics",
        "Name.1", "created_at",
    ]  # fmt: skip
    assert str(df["submission_id"].dtype) == "Int64"
    assert str(df["Amount (USD)"].dtype) == "Float64"
    assert str(df["Subscribe"].dtype) == "boolean"
    assert str(df["created_at"].dtype) == "datetime64[us, UTC]"
    assert df["submission_id"].tolist() == submission_ids(sandbox, form)
    assert df.attrs["form_id"] == form
    assert df.attrs["server"] == sandbox.base_url
    assert df.attrs["job_id"] is None
    assert datetime.fromisoformat(df.attrs["exported_at"]).tzinfo is not None
    assert df.attrs["columns"]["Name.1"]["field_id"] == "f-name2"
    assert df.attrs["columns"]["Amount (USD)"]["field_type"] == "number"
    assert sandbox.token not in json.dumps(df.attrs)


def test_columns_named_by_field_id(sandbox: Sandbox) -> None:
    form = small_form(sandbox, [LOSSY])
    df = load(sandbox, form, naming="id")
    assert list(df.columns)[2:] == [f["id"] for f in FIELDS] + ["created_at"]


def test_pyarrow_backend(sandbox: Sandbox, tmp_path: Path) -> None:
    form = small_form(sandbox, [LOSSY, {"f-topics": ["Music"]}])
    df = load(sandbox, form, dtype_backend="pyarrow")
    assert all(isinstance(t, pd.ArrowDtype) for t in df.dtypes)
    assert df["Topics"].list.len().iloc[0] == 1
    assert pd.isna(df["Topics"].iloc[1])  # never answered (exact values)
    path = fx.export_to_parquet(
        form, tmp_path / "t.parquet", token=sandbox.token, base_url=sandbox.base_url,
        progress=None,
    )  # fmt: skip
    pd.testing.assert_frame_equal(pd.read_parquet(path, dtype_backend="pyarrow"), df)


def test_parquet_reads_back_as_load_export(sandbox: Sandbox, tmp_path: Path) -> None:
    sandbox.config.status_access = "open"
    with fx.Client(token=sandbox.token, base_url=sandbox.base_url) as client:
        job = client.start_export(2)  # one job: in-CSV file links are signed per export
        path = job.to_parquet(tmp_path / "events.parquet")
        frame = job.to_dataframe()
    back = pd.read_parquet(path)
    pd.testing.assert_frame_equal(back, frame)
    assert back.attrs["columns"] == frame.attrs["columns"]
    schema = pq.read_schema(path)
    info = json.loads(schema.field("Sessions").metadata[b"formexport"])
    assert info["field_type"] == "matrix"
    assert json.loads(schema.metadata[b"formexport"])["form_id"] == 2


def test_parquet_row_groups_gather_many_blocks(
    sandbox: Sandbox, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(blocks, "STREAM_BLOCK_SIZE", 16 << 10)  # about 80 rows a block
    monkeypatch.setattr(parquet_output, "ROW_GROUP_ROWS", 1000)
    sandbox.config.status_access = "open"
    with fx.Client(token=sandbox.token, base_url=sandbox.base_url) as client:
        job = client.start_export(2)
        path = job.to_parquet(tmp_path / "events.parquet")
        frame = job.to_dataframe()
    metadata = pq.ParquetFile(path).metadata
    groups = [metadata.row_group(i).num_rows for i in range(metadata.num_row_groups)]
    assert len(groups) == 3
    assert min(groups[:2]) >= 1000
    assert sum(groups) == 2500
    pd.testing.assert_frame_equal(pd.read_parquet(path), frame)


def test_to_arrow(sandbox: Sandbox) -> None:
    sandbox.config.status_access = "open"
    with fx.Client(token=sandbox.token, base_url=sandbox.base_url) as client:
        job = client.start_export(2)
        job.wait(progress=None)
        table = job.to_arrow()
        frame = job.to_dataframe()
    assert table.num_rows == 2500
    assert table.schema.field("Dates (start)").type == "date32[day]"
    assert json.loads(table.schema.metadata[b"formexport"])["job_id"] == job.job_id
    assert frame.attrs["job_id"] == job.job_id


def test_a_cell_of_the_wrong_type_keeps_the_column_as_text(sandbox: Sandbox) -> None:
    form = small_form(sandbox, [{"f-amount": 3}, {"f-amount": "n/a"}])
    with pytest.warns(fx.TypeFallbackWarning, match=r"'Amount'.*'n/a'"):
        df = load(sandbox, form, values="csv")
    assert df["Amount (USD)"].tolist() == ["n/a", "3"]
    assert df.attrs["columns"]["Amount (USD)"]["type"] == "text"


def test_deleted_fields_and_attribution_stay_text(sandbox: Sandbox) -> None:
    removed = make_field("number", "Old score", id="f-old")
    form = small_form(sandbox, [], removed_fields=[removed])
    sandbox.add_submission(form, {"f-old": 7}, meta={"attribution": {"utm_source": "newsletter"}})
    columns = ["f-amount", "f-old", "meta.attribution.utm_source"]
    df = load(sandbox, form, columns=columns)
    assert list(df.columns) == ["id", "submission_id", "Amount (USD)", "Old score", "utm_source"]
    assert df["Old score"].tolist() == ["7"]
    assert df["utm_source"].tolist() == ["newsletter"]
    assert df.attrs["columns"]["Old score"]["deleted"] is True


def test_invalid_options_are_refused_before_anything_is_sent(sandbox: Sandbox) -> None:
    with pytest.raises(fx.InvalidArgumentError, match="naming"):
        load(sandbox, 1, naming="label")
    with pytest.raises(fx.InvalidArgumentError, match="dtype_backend"):
        load(sandbox, 1, dtype_backend="numpy")
    with pytest.raises(fx.InvalidArgumentError, match="values"):
        fx.export_to_parquet(1, "x.parquet", token=sandbox.token, base_url=sandbox.base_url,
                             values="json")  # fmt: skip
    assert not exports(sandbox)


def test_batched_export_with_exact_values_matches_the_background_file(sandbox: Sandbox) -> None:
    batched = load(sandbox, 2, values="exact")  # the status route is closed: batches
    sandbox.config.status_access = "open"
    background = load(sandbox, 2)
    assert batched.attrs["values"] == "exact"
    assert background.attrs["values"] == "csv"
    assert background.attrs["writer"] == "job"
    for column in ("submission_id", "Satisfaction", "Full name", "Dates (start)", "status"):
        pd.testing.assert_series_equal(batched[column], background[column])
    assert (batched["Satisfaction"] == 0).any()  # zeros the synchronous writer left empty


def test_auto_keeps_the_csv_values_when_the_json_list_fails(sandbox: Sandbox) -> None:
    from formexport.sandbox import Fault

    form = small_form(sandbox, [LOSSY])
    with fx.Client(token=sandbox.token, base_url=sandbox.base_url) as client:
        job = client.start_export(form)
        sandbox.faults.add(Fault("submissions", http_status=403, times=None))
        with pytest.raises(fx.PermissionDeniedError):
            job.to_dataframe(values="exact")
        df = job.to_dataframe()
    assert df.attrs["values"] == "csv"
    assert df["Phone"].tolist() == ["33612345678"]


def test_attached_job_with_other_columns_is_matched_by_header(sandbox: Sandbox) -> None:
    sandbox.config.status_access = "open"
    with fx.Client(token=sandbox.token, base_url=sandbox.base_url) as client:
        fields = {f.name: f.id for f in client.get_form(2).fields}
        chosen = [fields["Satisfaction"], fields["Email (work)"], "created_at"]
        job_id = client.start_export(2, columns=chosen).job_id
        assert job_id is not None
        attached = client.attach(2, job_id)  # assumes every field was asked for
        with pytest.warns(fx.ColumnPlanWarning, match=r"read as text: \['Email'\]"):
            df = attached.to_dataframe()
    assert list(df.columns) == [
        "id",
        "submission_id",
        "Satisfaction",
        "Email",
        "created_at",
        "status",
    ]
    assert str(df["Satisfaction"].dtype) == "Int64"  # one field has that header: typed
    assert str(df["created_at"].dtype) == "datetime64[us, UTC]"
    assert df.attrs["columns"]["Email"]["kind"] == "extra"  # two fields share it: text


def test_batched_exports_take_exact_values_from_the_id_listing(sandbox: Sandbox) -> None:
    # The status route is hidden (the default): form 2 is exported in batches of 1000, and
    # the JSON pages listed for the ids carry the raw values, so no page is read twice.
    kwargs = {"token": sandbox.token, "base_url": sandbox.base_url, "progress": None}
    auto = fx.load_export(2, **kwargs)  # type: ignore[arg-type]
    listed = [r for r in sandbox.requests if r.path.endswith("/submissions")]
    # The count, 25 pages of 100 ids, and the empty 26th that shows the list ended (a full last
    # page may have lost its last row to an arrival between the server's count and its query).
    assert len(listed) == 1 + 25 + 1
    pages = [int(r.query["page"]) for r in listed if r.query["per_page"] == "100"]
    assert pages == list(range(1, 27))  # in order, none read twice
    sandbox.clear_requests()
    exact = fx.load_export(2, values="exact", **kwargs)  # type: ignore[arg-type]
    assert len([r for r in sandbox.requests if r.path.endswith("/submissions")]) == 1 + 25 + 1
    fields = ["Full name", "Ticket type", "Satisfaction", "Newsletter", "status"]
    pd.testing.assert_frame_equal(auto[fields], exact[fields])
    assert auto.attrs["values"] == exact.attrs["values"] == "exact"

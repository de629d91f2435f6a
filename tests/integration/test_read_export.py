"""read_export and formexport convert on files the emulator's two writers wrote, over HTTP.

Exports of up to 1000 submissions are answered at once by the writer OpnForm drives through
Laravel-Excel; larger ones are written by the server job's ``fputcsv``. A file read with its form
equals what load_export gives for the same export with ``values="csv"``: a file does not carry the
exact values load_export takes from the JSON submissions list.
"""

from __future__ import annotations

import csv
import io
import tempfile
import uuid
from collections.abc import Iterator
from pathlib import Path

import fsspec
import pandas as pd
import pytest

import formexport as fx
from formexport.cli import main
from formexport.sandbox import Sandbox

FEEDBACK_SLUG = "customer-feedback-8tc53r"


def server(sandbox: Sandbox) -> dict[str, str]:
    return {"token": sandbox.token, "base_url": sandbox.base_url}


def assert_same_frames(read: pd.DataFrame, loaded: pd.DataFrame) -> None:
    pd.testing.assert_frame_equal(read, loaded)
    assert read.attrs["columns"] == loaded.attrs["columns"]
    assert read.attrs["writer"] == loaded.attrs["writer"]


def test_the_answered_writers_file_reads_as_load_export(sandbox: Sandbox, tmp_path: Path) -> None:
    path = fx.download_export(1, tmp_path / "feedback.csv", progress=None, **server(sandbox))
    read = fx.read_export(path, form=1, **server(sandbox))
    assert_same_frames(read, fx.load_export(1, values="csv", progress=None, **server(sandbox)))
    assert read.attrs["writer"] == "answer"
    assert (read.attrs["form_id"], read.attrs["server"]) == (1, sandbox.base_url)
    assert len(read) == 250


def test_the_server_jobs_file_reads_as_load_export(sandbox: Sandbox, tmp_path: Path) -> None:
    sandbox.config.status_access = "open"
    with fx.Client(**server(sandbox)) as client:
        job = client.start_export(2)  # one job: in-CSV file links are signed per export
        path = job.download(tmp_path / "events.csv")
        loaded = job.to_dataframe(values="csv")
    assert job.job_id is not None
    read = fx.read_export(path, form=2, **server(sandbox))
    assert_same_frames(read, loaded)
    assert read.attrs["writer"] == "job"
    # Two fields share the header "Email": each column is tied to its own.
    assert read.attrs["columns"]["Email (home)"]["header"] == "Email"
    assert read["Email (home)"].notna().any()
    assert list(read["status"].cat.categories) == ["Completed", "In Progress"]


def test_without_a_form_every_cell_is_the_files_text(sandbox: Sandbox, tmp_path: Path) -> None:
    path = fx.download_export(1, tmp_path / "feedback.csv", progress=None, **server(sandbox))
    frame = fx.read_export(path)
    with path.open(encoding="utf-8-sig", newline="") as text:
        header, *rows = list(csv.reader(text))  # the answered writer's file is standard CSV
    assert list(frame.columns) == header
    assert all(str(dtype) == "string" for dtype in frame.dtypes)
    assert frame.fillna("").values.tolist() == rows
    assert frame["Phone"].str.startswith("+").sum() == 0  # what the writer printed, no more


def test_without_a_form_the_jobs_file_gives_the_typed_texts(
    sandbox: Sandbox, tmp_path: Path
) -> None:
    sandbox.config.status_access = "open"
    path = fx.download_export(2, tmp_path / "events.csv", progress=None, **server(sandbox))
    text = fx.read_export(path)
    typed = fx.read_export(path, form=2, **server(sandbox))
    assert text.attrs["writer"] == "job"
    assert len(text) == 2500
    same = {"id": "id", "Full name": "Full name", "Email": "Email (work)"}
    same.update({"Email.1": "Email (home)", "Ticket type": "Ticket type"})
    for header, name in same.items():
        assert text[header].tolist() == typed[name].astype("string").tolist(), header


def test_deleted_fields_are_read_from_the_header(sandbox: Sandbox, tmp_path: Path) -> None:
    with fx.Client(**server(sandbox)) as client:
        form = client.get_form(2)
    deleted = form.removed_fields[0]
    columns = ["Full name", deleted.id, "Ticket type", "created_at"]
    options = {"columns": columns, "progress": None, **server(sandbox)}
    path = fx.download_export(2, tmp_path / "events.csv", **options)  # batched: answered writer
    read = fx.read_export(path, form=2, **server(sandbox))
    assert_same_frames(read, fx.load_export(2, values="csv", **options))
    assert read.attrs["columns"][deleted.name]["deleted"] is True
    assert list(read.columns) == [
        "id", "submission_id", "Full name", "Dietary needs", "Ticket type", "created_at", "status",
    ]  # fmt: skip


def test_the_form_by_slug_and_the_token_from_the_environment(env: Sandbox, tmp_path: Path) -> None:
    path = fx.download_export(1, tmp_path / "feedback.csv", columns=["Name", "Rating"])
    frame = fx.read_export(path, form=FEEDBACK_SLUG, naming="id")
    assert frame.attrs["form_slug"] == FEEDBACK_SLUG
    assert str(frame.iloc[:, 3].dtype) == "Int64"
    assert frame.columns[3] == frame.attrs["columns"][frame.columns[3]]["field_id"]


def test_another_forms_file_names_the_columns_that_differ(sandbox: Sandbox, tmp_path: Path) -> None:
    path = fx.download_export(1, tmp_path / "feedback.csv", progress=None, **server(sandbox))
    with pytest.raises(fx.InvalidArgumentError, match=r"none of its columns \['Name', 'Email'"):
        fx.read_export(path, form=3, **server(sandbox))
    with pytest.warns(fx.ColumnPlanWarning, match=r"\['Name', 'Phone', 'Rating'"):
        frame = fx.read_export(path, form=2, **server(sandbox))  # only "Email" is form 2's
    assert str(frame["Name"].dtype) == "string"


def test_a_form_needs_a_token(sandbox: Sandbox, tmp_path: Path) -> None:
    path = fx.download_export(1, tmp_path / "feedback.csv", progress=None, **server(sandbox))
    with pytest.raises(fx.ConfigurationError, match="OPNFORM_API_TOKEN"):
        fx.read_export(path, form=1)
    assert len(fx.read_export(path)) == 250  # without a form, no server is asked


def test_a_signed_in_profile_reads_the_form(
    sandbox: Sandbox, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = fx.download_export(1, tmp_path / "feedback.csv", progress=None, **server(sandbox))
    fx.login(token=sandbox.token, base_url=sandbox.base_url, profile="work")
    frame = fx.read_export(path, form=1, profile="work")
    assert (frame.attrs["form_id"], frame.attrs["server"]) == (1, sandbox.base_url)
    out = tmp_path / "subs.parquet"
    assert main(["convert", str(path), "-o", str(out), "--form", "1", "--profile", "work"]) == 0
    assert "250 rows × 13 columns" in capsys.readouterr().out


@pytest.fixture
def memory_url() -> Iterator[str]:
    url = f"memory://exports/{uuid.uuid4().hex}/feedback.csv"
    yield url
    fs = fsspec.filesystem("memory")
    if fs.exists(url):
        fs.rm(url)


def test_an_fsspec_url_and_a_local_path_read_alike(
    sandbox: Sandbox, tmp_path: Path, memory_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = fx.download_export(1, tmp_path / "feedback.csv", progress=None, **server(sandbox))
    with fsspec.open(memory_url, "wb") as remote:
        remote.write(path.read_bytes())
    scratch = tmp_path / "scratch"
    scratch.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(scratch))
    local = fx.read_export(str(path), form=1, **server(sandbox))
    pd.testing.assert_frame_equal(fx.read_export(memory_url, form=1, **server(sandbox)), local)
    pd.testing.assert_frame_equal(fx.read_export(memory_url), fx.read_export(path))
    with pytest.raises(fx.InvalidArgumentError, match="no such file"):
        fx.read_export(memory_url + ".missing")
    with fsspec.open(memory_url, "wb") as remote:
        remote.write(b"<html><body>Sign in</body></html>")
    with pytest.raises(fx.CsvFormatError, match="HTML page"):
        fx.read_export(memory_url)
    assert list(scratch.iterdir()) == []  # the remote file's copy, personal data, is gone


def test_convert_to_parquet_from_the_command_line(
    env: Sandbox, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    env.config.status_access = "open"
    path = fx.download_export(2, tmp_path / "events.csv", progress=None)
    out = tmp_path / "subs.parquet"
    assert main(["convert", str(path), "-o", str(out), "--form", "2"]) == 0
    assert capsys.readouterr().out.strip() == f"Wrote {out}: 2500 rows × 15 columns"
    pd.testing.assert_frame_equal(pd.read_parquet(out), fx.read_export(path, form=2))
    assert main(["convert", str(path), "-o", str(out)]) == 0  # every cell's text
    pd.testing.assert_frame_equal(pd.read_parquet(out), fx.read_export(path))


def test_convert_to_standard_csv_from_the_command_line(
    sandbox: Sandbox, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    sandbox.config.status_access = "open"
    path = fx.download_export(2, tmp_path / "events.csv", progress=None, **server(sandbox))
    out = tmp_path / "standard.csv"
    assert main(["convert", str(path), "-o", str(out)]) == 0  # no token needed
    assert f"Wrote {out}: 2500 rows × 13 columns" in capsys.readouterr().out
    rows = list(csv.reader(io.StringIO(out.read_text("utf-8-sig"), newline="")))
    assert rows[1:] == fx.read_export(path).fillna("").values.tolist()


@pytest.mark.parametrize(
    ("body", "args", "code", "said"),
    [
        (b"<!doctype html><title>Sign in</title>", [], 1, "looks like an HTML page"),
        (b"Name,Email\nJane,j@x.org\n", [], 1, "not an OpnForm export"),
        (b'"id"\n"jR"\n', ["--form", "1"], 2, "OPNFORM_API_TOKEN"),
        (b'"id"\n"jR"\n', ["-o", "subs.xlsx"], 2, "end its name in .parquet or .csv"),
    ],
)
def test_convert_failures_exit_with_their_code(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    body: bytes,
    args: list[str],
    code: int,
    said: str,
) -> None:
    monkeypatch.chdir(tmp_path)
    Path("download.csv").write_bytes(body)
    assert main(["convert", "download.csv", "-o", "subs.parquet", *args]) == code
    assert said in capsys.readouterr().err
    assert sorted(p.name for p in tmp_path.iterdir()) == ["download.csv"]

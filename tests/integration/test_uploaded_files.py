"""Uploaded files saved with the export (``files=``), over loopback HTTP against the emulator.

The faults they meet (cuts, expired links, lost files, hostile names) are in
tests/reliability/test_uploaded_files.py.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pandas as pd
import pytest

import formexport as fx
from formexport.cli import main
from formexport.progress.events import ProgressEvent, describe
from formexport.sandbox import Sandbox
from tests.integration.helpers import exports
from tests.uploads import (
    RECORD,
    Form,
    applications,
    fetched_one_at_a_time,
    file_requests,
    load,
    saved_files,
)


@pytest.fixture
def form(sandbox: Sandbox) -> Form:
    return applications(sandbox)


def test_files_are_saved_and_cells_hold_their_paths(
    sandbox: Sandbox, form: Form, tmp_path: Path
) -> None:
    root = tmp_path / "attachments"
    frame = load(sandbox, form, root)
    expected = {
        f"{form.id}/{sub}/{field}/{name}"
        for sub, fields in form.files.items()
        for field, names in fields.items()
        for name in names
    }
    assert saved_files(root) == expected
    for path in expected:
        name = path.rsplit("/", 1)[1]
        assert (root / path).read_bytes() == sandbox.uploaded_file(form.id, name)
    first = frame.set_index("submission_id").loc[min(form.files)]
    assert first["Documents"] == [
        str(root / f"{form.id}/{min(form.files)}/{form.documents}/cv_1.pdf"),
        str(root / f"{form.id}/{min(form.files)}/{form.documents}/photo_1.jpg"),
    ]
    assert frame.set_index("submission_id").loc[min(form.files) + 1, "Documents"] == []
    listed = {entry["path"]: entry for entry in frame.attrs["files"]}
    assert set(listed) == {str(root / path) for path in expected}
    entry = listed[first["Signature"][0]]
    content = sandbox.uploaded_file(form.id, "sign_1.png")
    assert content is not None
    assert entry == {
        "submission_id": min(form.files),
        "field_id": form.signature,
        "name": "sign_1.png",
        "path": first["Signature"][0],
        "bytes": len(content),
        "sha256": hashlib.sha256(content).hexdigest(),
    }


def test_arrow_backed_frames_hold_paths_too(sandbox: Sandbox, form: Form, tmp_path: Path) -> None:
    nullable = load(sandbox, form, tmp_path)
    arrow = load(sandbox, form, tmp_path, dtype_backend="pyarrow")
    assert isinstance(arrow["Documents"].dtype, pd.ArrowDtype)
    assert arrow["Documents"].tolist() == nullable["Documents"].tolist()
    assert arrow.attrs["files"] == nullable.attrs["files"]


def test_pseudonymized_fields_keep_their_files_out(
    sandbox: Sandbox, form: Form, tmp_path: Path
) -> None:
    frame = load(sandbox, form, tmp_path, pseudonymize=["Documents"])
    assert {entry["field_id"] for entry in frame.attrs["files"]} == {form.signature}
    assert all(form.documents not in path for path in saved_files(tmp_path))
    assert len(file_requests(sandbox)) == 2


def test_no_token_is_sent_to_a_file_link(sandbox: Sandbox, form: Form, tmp_path: Path) -> None:
    load(sandbox, form, tmp_path)
    requests = file_requests(sandbox)
    assert len(requests) == 6
    assert all("Authorization" not in r.headers for r in requests)


def test_ctrl_c_keeps_what_was_saved_for_the_next_run(
    sandbox: Sandbox, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    form = fetched_one_at_a_time(sandbox, monkeypatch)

    def interrupt(event: ProgressEvent) -> None:
        if event.phase == "files" and event.completed == 2:
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        load(sandbox, form, tmp_path, progress=interrupt)
    record = json.loads((tmp_path / str(form.id) / RECORD).read_text())
    assert len(record["files"]) == 2
    sandbox.clear_requests()
    frame = load(sandbox, form, tmp_path)
    assert len(file_requests(sandbox)) == 3  # the five files, less the two saved
    assert len(frame.attrs["files"]) == 5


def test_a_parquet_file_holds_the_paths(sandbox: Sandbox, form: Form, tmp_path: Path) -> None:
    frame = load(sandbox, form, tmp_path / "files")
    sandbox.clear_requests()
    path = fx.export_to_parquet(
        form.id, tmp_path / "apps.parquet", token=sandbox.token, base_url=sandbox.base_url,
        progress=None, files=tmp_path / "files",
    )  # fmt: skip
    assert not file_requests(sandbox)  # the frame's call saved them already
    stored = pd.read_parquet(path)
    assert [list(cell) for cell in stored["Documents"]] == frame["Documents"].tolist()
    assert stored.attrs["files"] == frame.attrs["files"]
    assert not list(tmp_path.glob("*.parquet.*"))  # no scratch copy left beside it


def test_an_excel_file_holds_the_paths(sandbox: Sandbox, form: Form, tmp_path: Path) -> None:
    frame = load(sandbox, form, tmp_path / "files")
    path = fx.export_to_file(
        form.id, tmp_path / "apps.xlsx", token=sandbox.token, base_url=sandbox.base_url,
        progress=None, files=tmp_path / "files",
    )  # fmt: skip
    sheet = pd.read_excel(path, sheet_name="Submissions", dtype=str)
    joined = ["; ".join(cell) if cell else None for cell in frame["Documents"]]
    assert [None if pd.isna(cell) else cell for cell in sheet["Documents"]] == joined
    assert any(cell and str(tmp_path / "files") in cell for cell in joined)


def test_a_csv_keeps_the_servers_links(sandbox: Sandbox, form: Form, tmp_path: Path) -> None:
    path = fx.download_export(
        form.id, tmp_path / "apps.csv", token=sandbox.token, base_url=sandbox.base_url,
        progress=None, files=tmp_path / "files",
    )  # fmt: skip
    assert "/submissions/file/" in path.read_text(encoding="utf-8-sig")
    assert len(saved_files(tmp_path / "files")) == 6
    record = json.loads((tmp_path / "files" / str(form.id) / RECORD).read_text())
    assert {(e["submission_id"], e["name"]) for e in record["files"].values()} == {
        (sub, name) for sub, fields in form.files.items() for n in fields.values() for name in n
    }


def test_a_background_export_saves_files(sandbox: Sandbox, form: Form, tmp_path: Path) -> None:
    future = fx.start_export(
        form.id, token=sandbox.token, base_url=sandbox.base_url, progress=None, files=tmp_path
    )
    frame = future.result(timeout=60)
    assert len(frame.attrs["files"]) == 6


def test_progress_counts_files_and_bytes(sandbox: Sandbox, form: Form, tmp_path: Path) -> None:
    events: list[ProgressEvent] = []
    frame = load(sandbox, form, tmp_path, progress=events.append)
    files = [e for e in events if e.phase == "files"]
    assert [(e.completed, e.total) for e in files] == [(n, 6) for n in range(7)]
    assert files[-1].size == sum(e["bytes"] for e in frame.attrs["files"])
    assert describe(files[-1]).startswith("Files 6/6 · ")
    assert events[-1].phase == "done"
    assert "· 6 files ·" in events[-1].message


def test_a_destination_that_cannot_be_written_fails_before_exporting(
    sandbox: Sandbox, form: Form, tmp_path: Path
) -> None:
    blocker = tmp_path / "a-file"
    blocker.write_text("not a folder")
    with pytest.raises(fx.UploadedFilesError, match="folder you can write to"):
        load(sandbox, form, blocker / "uploads")
    with pytest.raises(fx.UploadedFilesError, match="is a file"):
        load(sandbox, form, blocker)
    assert not exports(sandbox)


def test_a_url_without_its_fsspec_package_is_explained(
    sandbox: Sandbox, form: Form, tmp_path: Path
) -> None:
    with pytest.raises(fx.UploadedFilesError, match="pip install"):
        load(sandbox, form, "gcs://bucket/uploads")
    with pytest.raises(fx.UploadedFilesError, match="fsspec URL"):
        load(sandbox, form, "nosuchprotocol://bucket/uploads")
    assert not exports(sandbox)


@pytest.mark.filterwarnings("default::formexport.uploads.saving.UploadedFileGoneWarning")
def test_the_command_saves_files_and_tells_what_was_lost(
    env: Sandbox, form: Form, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    env.lose_uploaded_file(form.id, "cv_3.pdf")
    out, files = tmp_path / "apps.parquet", tmp_path / "uploads"
    argv = ["export", str(form.id), "-o", str(out), "--files", str(files), "--no-progress"]
    assert main(argv) == 0
    printed = capsys.readouterr()
    assert f"Saved the uploaded files under {files}" in printed.out
    [warning] = [line for line in printed.err.splitlines() if "warning" in line]
    assert warning.startswith("formexport: warning: The server no longer has the file 'cv_3.pdf'")
    assert len(saved_files(files)) == 5
    assert len(pd.read_parquet(out).attrs["files"]) == 5


def test_the_dataset_command_saves_files_beside_it(
    env: Sandbox, form: Form, tmp_path: Path
) -> None:
    dataset = tmp_path / "dataset"
    argv = ["export-all", "1", "-o", str(dataset), "--forms", str(form.id), "--files"]
    assert main([*argv, "--no-progress"]) == 0
    assert len(saved_files(dataset / "_files")) == 6
    cells = pd.read_parquet(dataset)["Documents"].tolist()
    assert f"{form.id}/{min(form.files)}/{form.documents}/cv_1.pdf" in [p for c in cells for p in c]

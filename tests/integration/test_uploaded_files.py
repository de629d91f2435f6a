"""Uploaded files saved with the export (``files=``), over loopback HTTP against the emulator."""

from __future__ import annotations

import hashlib
import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd
import pytest

import formexport as fx
from formexport import config
from formexport.cli import main
from formexport.progress.events import ProgressEvent, describe
from formexport.sandbox import Fault, RecordedRequest, Sandbox
from tests.integration.helpers import exports, served

RECORD = "_formexport_files.json"


@dataclass
class Form:
    """A form with a file-upload and a signature field, its submissions' ids and file names."""

    id: int
    documents: str
    signature: str
    files: dict[int, dict[str, list[str]]]  # submission → field → names


def add_form(sandbox: Sandbox, answers: list[tuple[list[str], str | None]]) -> Form:
    made = sandbox.add_form(
        "Applications",
        [
            {"type": "text", "name": "Name"},
            {"type": "files", "name": "Documents"},
            {"type": "signature", "name": "Signature"},
        ],
    )
    name, documents, signature = (f["id"] for f in made["properties"])
    form = Form(made["id"], documents, signature, {})
    for n, (docs, sign) in enumerate(answers):
        data: dict[str, Any] = {name: f"Applicant {n}"}
        if docs:
            data[documents] = docs
        if sign:
            data[signature] = sign
        submission = sandbox.add_submission(form.id, data)
        form.files[submission] = {documents: list(docs), signature: [sign] if sign else []}
    return form


@pytest.fixture
def form(sandbox: Sandbox) -> Form:
    return add_form(
        sandbox,
        [
            (["cv_1.pdf", "photo_1.jpg"], "sign_1.png"),
            ([], None),
            (["cv_3.pdf"], "sign_3.png"),
            (["report_4.docx"], None),
        ],
    )


def load(sandbox: Sandbox, form: Form, files: Any, **options: Any) -> pd.DataFrame:
    options.setdefault("progress", None)
    return fx.load_export(
        form.id, token=sandbox.token, base_url=sandbox.base_url, files=files, **options
    )


def file_requests(sandbox: Sandbox) -> list[RecordedRequest]:
    return served(sandbox, "GET", "/submissions/file/")


def saved_files(root: Path) -> set[str]:
    """The files under ``root``, but the records and the partial files."""
    found = (p for p in root.rglob("*") if p.is_file() and p.name != RECORD)
    return {p.relative_to(root).as_posix() for p in found if not p.name.endswith(".part")}


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


def test_a_new_run_downloads_only_what_is_missing(
    sandbox: Sandbox, form: Form, tmp_path: Path
) -> None:
    first = load(sandbox, form, tmp_path)
    record = json.loads((tmp_path / str(form.id) / RECORD).read_text())
    assert len(record["files"]) == 6
    sandbox.clear_requests()
    again = load(sandbox, form, tmp_path)
    assert not file_requests(sandbox)
    assert again.attrs["files"] == first.attrs["files"]
    lost = Path(first.attrs["files"][0]["path"])
    lost.unlink()
    damaged = Path(first.attrs["files"][1]["path"])
    damaged.write_bytes(b"cut")
    load(sandbox, form, tmp_path)
    names = {r.path.rsplit("/", 1)[1] for r in file_requests(sandbox)}
    assert len(names) == 2  # the missing one and the one whose size is not the recorded one
    assert damaged.stat().st_size == first.attrs["files"][1]["bytes"]
    assert lost.exists()


@pytest.fixture
def one_at_a_time(sandbox: Sandbox, monkeypatch: pytest.MonkeyPatch) -> Form:
    """Files fetched one by one, the newest submission's first: its ``cv_1.pdf`` meets the
    first faults."""
    monkeypatch.setattr(config, "UPLOAD_WORKERS", 1)
    return add_form(
        sandbox, [(["report_4.docx", "cv_3.pdf"], "sign_4.png"), (["cv_1.pdf"], "sign_1.png")]
    )


def test_a_cut_transfer_resumes_where_it_stopped(
    sandbox: Sandbox, one_at_a_time: Form, tmp_path: Path
) -> None:
    form = one_at_a_time
    big = os.urandom(300_000)
    sandbox.store_uploaded_file(form.id, "cv_1.pdf", big)
    sandbox.faults.add(Fault("file", cut_after=120_000))
    frame = load(sandbox, form, tmp_path)
    saved = next(e for e in frame.attrs["files"] if e["name"] == "cv_1.pdf")
    assert Path(saved["path"]).read_bytes() == big
    assert saved["sha256"] == hashlib.sha256(big).hexdigest()
    ranges = [r.headers.get("Range") for r in file_requests(sandbox) if r.headers.get("Range")]
    assert ranges == ["bytes=120000-"]


def test_an_interrupted_run_is_resumed_by_the_next(
    sandbox: Sandbox, one_at_a_time: Form, tmp_path: Path
) -> None:
    form = one_at_a_time
    big = os.urandom(400_000)
    sandbox.store_uploaded_file(form.id, "cv_1.pdf", big)
    sandbox.faults.add(Fault("file", cut_after=40_000, times=6))  # 6 cuts: resumes give up
    with pytest.raises(fx.UploadedFilesError) as failed:
        load(sandbox, form, tmp_path)
    assert "cv_1.pdf" in str(failed.value)
    assert "run the export again" in str(failed.value)
    assert len(failed.value.failed) == 1
    assert len(saved_files(tmp_path)) == 4  # every other file is saved (and recorded)
    assert len(json.loads((tmp_path / str(form.id) / RECORD).read_text())["files"]) == 4
    [partial] = tmp_path.rglob(".formexport-*.part")  # hidden beside where the file goes
    assert partial.read_bytes() == big[:240_000]
    assert partial.stat().st_mode & 0o777 == 0o600
    sandbox.clear_requests()
    frame = load(sandbox, form, tmp_path)
    assert [r.headers.get("Range") for r in file_requests(sandbox)] == ["bytes=240000-"]
    saved = next(e for e in frame.attrs["files"] if e["name"] == "cv_1.pdf")
    assert Path(saved["path"]).read_bytes() == big
    assert not list(tmp_path.rglob("*.part"))


def test_ctrl_c_keeps_what_was_saved_for_the_next_run(
    sandbox: Sandbox, one_at_a_time: Form, tmp_path: Path
) -> None:
    form = one_at_a_time

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


def test_expired_links_are_renewed_from_the_submissions_list(
    sandbox: Sandbox, form: Form, tmp_path: Path
) -> None:
    # The export's links are signed for 24 h; the clock jumps past them once it is answered.
    sandbox.faults.add(Fault("export", advance_clock=25 * 3600))
    frame = load(sandbox, form, tmp_path)
    assert len(frame.attrs["files"]) == 6
    assert len(exports(sandbox)) == 1  # never a second export
    statuses = [r.status for r in file_requests(sandbox)]
    assert sorted(statuses) == [200] * 6 + [403] * 6
    assert served(sandbox, "GET", f"/open/forms/{form.id}/submissions")


def test_links_that_keep_expiring_end_in_an_error(
    sandbox: Sandbox, form: Form, tmp_path: Path
) -> None:
    sandbox.faults.add(
        Fault("file", http_status=403, body='{"message":"Invalid signature."}', times=None)
    )
    with pytest.raises(fx.UploadedFilesError, match="links kept expiring") as failed:
        load(sandbox, form, tmp_path)
    assert len(failed.value.failed) == 6
    assert len(exports(sandbox)) == 1
    listings = [r for r in sandbox.requests if r.path == f"/open/forms/{form.id}/submissions"]
    # The count and the exact values before the export, then one listing per renewal.
    assert len(listings) == 2 + config.UPLOAD_LINK_RENEWALS


def test_a_submission_deleted_before_its_links_are_renewed(
    sandbox: Sandbox, form: Form, tmp_path: Path
) -> None:
    newest = max(form.files)  # one file: report_4.docx
    sandbox.faults.add(Fault("export", advance_clock=25 * 3600))  # every export link expired

    def delete_once_read(event: ProgressEvent) -> None:
        if event.phase == "parse":  # the export is read; its files are not fetched yet
            sandbox.delete_submissions(form.id, [newest])

    with pytest.warns(fx.UploadedFileGoneWarning) as caught:
        frame = load(sandbox, form, tmp_path, progress=delete_once_read)
    [warning] = caught
    assert f"'report_4.docx' of submission {newest}, field {form.documents}" in str(warning.message)
    assert frame.set_index("submission_id").loc[newest, "Documents"] == []
    assert len(frame.attrs["files"]) == 5


def test_a_file_the_server_lost_is_a_warning_and_the_rest_is_kept(
    sandbox: Sandbox, form: Form, tmp_path: Path
) -> None:
    first = min(form.files)
    sandbox.lose_uploaded_file(form.id, "photo_1.jpg")
    with pytest.warns(fx.UploadedFileGoneWarning) as caught:
        frame = load(sandbox, form, tmp_path)
    [warning] = caught
    assert f"submission {first}, field {form.documents}" in str(warning.message)
    assert "photo_1.jpg" in str(warning.message)
    row = frame.set_index("submission_id").loc[first]
    assert row["Documents"] == [str(tmp_path / f"{form.id}/{first}/{form.documents}/cv_1.pdf")]
    assert len(frame.attrs["files"]) == 5
    assert len(saved_files(tmp_path)) == 5


def test_names_from_the_server_never_lead_outside_the_folder(
    sandbox: Sandbox, tmp_path: Path
) -> None:
    hostile = ["..", "CON", "nul.txt", "a\x01b\x7f.pdf", "x" * 300 + ".pdf", "cv.pdf", "CV.pdf"]
    hostile += ["cv.pdf", "  .hidden. ", "C:evil.exe", "é" * 150 + ".png"]
    form = add_form(sandbox, [(hostile, "../../../escape.png")])
    root = tmp_path / "files"
    with pytest.raises(fx.UploadedFilesError) as failed:  # the server fails on "/" (500)
        load(sandbox, form, root)
    assert failed.value.failed == [
        f"submission {min(form.files)}, field {form.signature}: '../../../escape.png'"
    ]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["files"]
    folder = root / str(form.id) / str(min(form.files)) / form.documents
    names = sorted(p.name for p in folder.iterdir())
    assert names == sorted(
        [
            "file",
            "_CON",
            "_nul.txt",
            "ab.pdf",
            "x" * 196 + ".pdf",
            "cv.pdf",
            "CV (2).pdf",
            "cv (3).pdf",
            "hidden",
            "Cevil.exe",
            "é" * 98 + ".png",
        ]
    )
    assert all(len(name.encode()) <= 200 for name in names)
    contents = sorted(p.read_bytes() for p in folder.iterdir())
    assert contents == sorted(sandbox.uploaded_file(form.id, n) or b"" for n in hostile)


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


def test_files_behind_the_s3_redirect(sandbox: Sandbox, form: Form, tmp_path: Path) -> None:
    sandbox.config.file_host = "s3"
    frame = load(sandbox, form, tmp_path)
    assert len(frame.attrs["files"]) == 6
    s3 = [r for r in sandbox.requests if r.host.startswith("127.0.0.2")]
    assert len(s3) == 6
    assert all("Authorization" not in r.headers for r in s3)


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

"""Uploaded files (``files=``) through faults: cut transfers, expired and refused links, files
and submissions the server lost, hostile names, a second run, the S3 redirect. Each file saved
is byte-identical to the one the file route serves."""

from __future__ import annotations

import base64
import hashlib
import itertools
import os
from pathlib import Path

import pytest

import formexport as fx
from formexport import config
from formexport.progress.events import ProgressEvent
from formexport.sandbox import Fault, RecordedRequest, Sandbox
from tests.reliability.figures import bytes_lost, doc_says
from tests.reliability.helpers import exports
from tests.uploads import (
    Form,
    add_form,
    applications,
    fetched_one_at_a_time,
    file_requests,
    load,
    recorded,
    saved_files,
)

DAY_AND_AN_HOUR = 25 * 3600


@pytest.fixture
def form(sandbox: Sandbox) -> Form:
    return applications(sandbox)


@pytest.fixture
def one_at_a_time(sandbox: Sandbox, monkeypatch: pytest.MonkeyPatch) -> Form:
    return fetched_one_at_a_time(sandbox, monkeypatch)


def files_lost(sandbox: Sandbox, form: Form, root: Path) -> int:
    """Bytes lost over every file saved under ``root``, each against the file route's bytes
    for its server name (the record tells which name each saved path holds)."""
    entries = recorded(root, form)
    assert set(entries) == saved_files(root)  # every file on the destination is compared
    lost = 0
    for path, entry in entries.items():
        served = sandbox.uploaded_file(form.id, entry["name"])
        assert served is not None
        lost += bytes_lost((root / path).read_bytes(), served)
    return lost


def served_name(request: RecordedRequest) -> str:
    """The file name a file route request asks for (base64url, unpadded, in the path)."""
    encoded = request.path.rsplit("/", 1)[1]
    return base64.urlsafe_b64decode(encoded + "=" * (-len(encoded) % 4)).decode()


def same_sha256(written: bytes, served: bytes) -> str:
    """How the SHA-256 of the file written compares with the served file's."""
    same = hashlib.sha256(written).digest() == hashlib.sha256(served).digest()
    return "same SHA-256" if same else "another SHA-256"


def renewals(sandbox: Sandbox, form: Form) -> int:
    """Submission lists read once files were being fetched: the renewals of expired links
    (the export reads the list before, for its count and its exact values)."""
    requests = sandbox.requests
    first_file = requests.index(file_requests(sandbox)[0])
    listing = f"/open/forms/{form.id}/submissions"
    return sum(r.method == "GET" and r.path == listing for r in requests[first_file:])


def test_a_cut_transfer_resumes_where_it_stopped(
    sandbox: Sandbox, one_at_a_time: Form, tmp_path: Path
) -> None:
    form = one_at_a_time
    big = os.urandom(300_000)
    sandbox.store_uploaded_file(form.id, "cv_1.pdf", big)
    sandbox.faults.add(Fault("file", cut_after=120_000))
    frame = load(sandbox, form, tmp_path)
    saved = next(e for e in frame.attrs["files"] if e["name"] == "cv_1.pdf")
    written = Path(saved["path"]).read_bytes()
    assert saved["sha256"] == hashlib.sha256(written).hexdigest()
    ranges = [r.headers["Range"] for r in file_requests(sandbox) if "Range" in r.headers]
    row = "A 300 000-byte file cut at 120 000 bytes"
    resumes = ", ".join(f"`Range: {header}`" for header in ranges)
    doc_says(row, "Measured", f"{len(ranges)} resume, {resumes}; {same_sha256(written, big)}")
    doc_says(row, "Bytes lost", bytes_lost(written, big))


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
    resumed = [r for r in file_requests(sandbox) if "Range" in r.headers]
    assert len(resumed) == config.DOWNLOAD_RESUMES  # "after five resumes"
    assert len(saved_files(tmp_path)) == 4  # every other file is saved (and recorded)
    assert len(recorded(tmp_path, form)) == 4
    [partial] = tmp_path.rglob(".formexport-*.part")  # hidden beside where the file goes
    assert partial.read_bytes() == big[:240_000]
    assert partial.stat().st_mode & 0o777 == 0o600
    sandbox.clear_requests()
    frame = load(sandbox, form, tmp_path)
    ranges = [r.headers.get("Range") for r in file_requests(sandbox)]
    saved = next(e for e in frame.attrs["files"] if e["name"] == "cv_1.pdf")
    assert not list(tmp_path.rglob("*.part"))
    row = "A 400 000-byte file cut six times at 40 000 bytes"
    doc_says(row, "Measured", f"Next run: {len(ranges)} request, `Range: {ranges[0]}`")
    doc_says(row, "Bytes lost", bytes_lost(Path(saved["path"]).read_bytes(), big))


def test_expired_links_are_renewed_from_the_submissions_list(
    sandbox: Sandbox, form: Form, tmp_path: Path
) -> None:
    # The export's links are signed for 24 h; the clock jumps past them once it is answered.
    sandbox.faults.add(Fault("export", advance_clock=DAY_AND_AN_HOUR))
    frame = load(sandbox, form, tmp_path)
    assert len(frame.attrs["files"]) == form.file_count()
    # Every file is tried behind the export's links before any renewal.
    runs = itertools.groupby(r.status for r in file_requests(sandbox))
    statuses = ", then ".join(f"{len(list(run))} × {status}" for status, run in runs)
    row = "Every link of the export expired"
    said = f"{statuses}; {len(exports(sandbox))} export request, "
    doc_says(row, "Measured", said + f"{renewals(sandbox, form)} listing")
    doc_says(row, "Bytes lost", files_lost(sandbox, form, tmp_path))


def test_links_that_keep_expiring_end_in_an_error(
    sandbox: Sandbox, form: Form, tmp_path: Path
) -> None:
    sandbox.faults.add(
        Fault("file", http_status=403, body='{"message":"Invalid signature."}', times=None)
    )
    with pytest.raises(fx.UploadedFilesError, match="links kept expiring") as failed:
        load(sandbox, form, tmp_path)
    assert len(failed.value.failed) == form.file_count()
    listings = renewals(sandbox, form)
    assert listings == config.UPLOAD_LINK_RENEWALS
    doc_says(
        "Every file link refused, again and again (403)",
        "Measured",
        f"{len(exports(sandbox))} export request, {listings} listings",
    )


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
    saved = len(saved_files(tmp_path))
    assert len(frame.attrs["files"]) == saved
    said = f"{saved} of {form.file_count()} files saved"
    doc_says('A file the server lost (404 "File not found.")', "Measured", said)


def test_a_submission_deleted_before_its_links_are_renewed(
    sandbox: Sandbox, form: Form, tmp_path: Path
) -> None:
    newest = max(form.files)  # one file: report_4.docx
    sandbox.faults.add(Fault("export", advance_clock=DAY_AND_AN_HOUR))  # every link expired

    def delete_once_read(event: ProgressEvent) -> None:
        if event.phase == "parse":  # the export is read; its files are not fetched yet
            sandbox.delete_submissions(form.id, [newest])

    with pytest.warns(fx.UploadedFileGoneWarning) as caught:
        frame = load(sandbox, form, tmp_path, progress=delete_once_read)
    [warning] = caught
    assert f"'report_4.docx' of submission {newest}, field {form.documents}" in str(warning.message)
    assert frame.set_index("submission_id").loc[newest, "Documents"] == []
    saved = len(saved_files(tmp_path))
    assert len(frame.attrs["files"]) == saved
    said = f"{saved} of {form.file_count()} files saved"
    doc_says("The submission deleted before its expired links were renewed", "Measured", said)


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
    longest = max(len(name.encode()) for name in names)
    assert longest <= 200
    assert len(saved_files(root)) == len(names)  # nothing beside the field's folder
    row = "Hostile names:"
    doc_says(row, "Measured", f"{len(names)} files, names ≤ {longest} bytes")
    doc_says(row, "Bytes lost", files_lost(sandbox, form, root))
    doc_says("A name holding `/`", "Measured", f"The other {len(names)} files saved")


def test_a_new_run_downloads_only_what_is_missing(
    sandbox: Sandbox, form: Form, tmp_path: Path
) -> None:
    first = load(sandbox, form, tmp_path)
    assert len(recorded(tmp_path, form)) == form.file_count()
    sandbox.clear_requests()
    again = load(sandbox, form, tmp_path)
    kept = file_requests(sandbox)
    assert again.attrs["files"] == first.attrs["files"]
    lost = Path(first.attrs["files"][0]["path"])
    lost.unlink()
    damaged = Path(first.attrs["files"][1]["path"])
    damaged.write_bytes(b"cut")
    sandbox.clear_requests()
    load(sandbox, form, tmp_path)
    fetched = file_requests(sandbox)
    # The missing one and the one whose size is not the recorded one.
    names = {served_name(r) for r in fetched}
    assert names == {first.attrs["files"][0]["name"], first.attrs["files"][1]["name"]}
    assert damaged.stat().st_size == first.attrs["files"][1]["bytes"]
    assert lost.exists()
    said = f"{len(kept)} file requests; a deleted file and a truncated one fetched again"
    doc_says("A second run", "Measured", f"{said} ({len(fetched)})")


def test_files_behind_the_s3_redirect(sandbox: Sandbox, form: Form, tmp_path: Path) -> None:
    sandbox.config.file_host = "s3"
    frame = load(sandbox, form, tmp_path)
    assert len(frame.attrs["files"]) == form.file_count()
    assert {r.status for r in file_requests(sandbox)} == {302}
    s3 = [r for r in sandbox.requests if r.host.startswith("127.0.0.2")]
    signed = sum("Authorization" in r.headers for r in s3)
    row = "The S3 storage (302 to a presigned URL)"
    doc_says(row, "Measured", f"{len(s3)} S3 requests, {signed or 'none'} with `Authorization`")
    doc_says(row, "Bytes lost", files_lost(sandbox, form, tmp_path))

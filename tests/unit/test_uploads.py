"""Uploaded files: where each goes, what is recorded, and which links are renewed (no HTTP)."""

from __future__ import annotations

import base64
import json
import logging
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from formexport.opnform.listing import Listed
from formexport.uploads.destination import Destination
from formexport.uploads.plan import Upload, plan_cell, server_name
from formexport.uploads.record import SavedFile, SavedRecord
from formexport.uploads.renew import renew_links


def link(name: str, *, b64: bool = True) -> str:
    segment = base64.urlsafe_b64encode(name.encode()).decode().rstrip("=") if b64 else name
    return (
        f"https://forms.example.com/open/forms/2/submissions/file/{segment}?expires=1&signature=ab"
    )


@pytest.mark.parametrize(
    "name", ["cv_6f1e.pdf", "..", "a b (1).pdf", "Café 😀.png", "../../etc/passwd", "x" * 300]
)
def test_the_server_name_comes_back_from_either_link_form(name: str) -> None:
    assert server_name(link(name)) == name
    if "/" not in name:
        assert server_name(link(name, b64=False).replace(" ", "%20")) == name


def test_a_raw_name_that_happens_to_decode_stays_raw() -> None:
    # "abcd" is valid base64url, but decodes to bytes that are not UTF-8 text.
    assert server_name(link("abcd", b64=False)) == "abcd"


def test_paths_follow_form_submission_field_and_name() -> None:
    planned = plan_cell(12, 1532, "1532", "f-1", [link("cv.pdf"), link("sign.png")])
    assert [u.path for u in planned] == ["12/1532/f-1/cv.pdf", "12/1532/f-1/sign.png"]
    assert [(u.submission_id, u.field_id, u.name) for u in planned] == [
        (1532, "f-1", "cv.pdf"),
        (1532, "f-1", "sign.png"),
    ]


def test_names_alike_in_one_cell_are_all_kept() -> None:
    names = ["cv.pdf", "CV.pdf", "cv.pdf", "c:v.pdf", "cv", "cv", ".."]
    planned = plan_cell(1, 2, "2", "f", [link(n) for n in names])
    assert [u.path.rsplit("/", 1)[1] for u in planned] == [
        "cv.pdf",
        "CV (2).pdf",
        "cv (3).pdf",
        "cv (4).pdf",
        "cv",
        "cv (2)",
        "file",
    ]
    assert plan_cell(1, 2, "2", "f", [link(n) for n in names]) == planned  # the same next run


def test_every_part_from_the_server_stays_one_folder_deep() -> None:
    [upload] = plan_cell(1, None, "../..", "../../../x", [link("/etc/passwd")])
    assert upload.path == "1/submission/x/passwd"
    long = plan_cell(1, 2, "2", "f", [link("é" * 200 + ".tar.gz")])[0].path.rsplit("/", 1)[1]
    assert long.endswith(".gz")
    assert len(long.encode()) <= 200


def test_cells_hold_full_or_relative_paths(tmp_path: Path) -> None:
    full = Destination.of(tmp_path / "files")
    assert full.cell("1/2/f/cv.pdf") == f"{tmp_path}/files/1/2/f/cv.pdf"
    relative = Destination.of(tmp_path / "files", relative=True)
    assert relative.cell("1/2/f/cv.pdf") == "1/2/f/cv.pdf"
    remote = Destination.of("s3://bucket/files", {"anon": True})  # no request is made
    assert remote.cell("1/2/f/cv.pdf") == "s3://bucket/files/1/2/f/cv.pdf"
    assert full.partial("1/2/f/" + "x" * 250, tmp_path).name.startswith(".formexport-")


def saved(path: str, size: int = 3) -> SavedFile:
    return SavedFile(2, "f", path.rsplit("/", 1)[1], path, size, "00")


def test_the_record_trusts_files_found_at_their_size(tmp_path: Path) -> None:
    destination = Destination.of(tmp_path)
    record = SavedRecord(destination, 1)
    record.add(saved("1/2/f/a.pdf"))
    record.flush()
    again = SavedRecord(destination, 1).load()
    upload = Upload(2, "f", "a.pdf", link("a.pdf"), "1/2/f/a.pdf")
    assert again.saved(upload, {"1/2/f/a.pdf": 3}) == saved("1/2/f/a.pdf")
    assert again.saved(upload, {"1/2/f/a.pdf": 2}) is None
    assert again.saved(upload, {}) is None


def test_a_damaged_record_is_ignored_not_fatal(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    (tmp_path / "1").mkdir()
    (tmp_path / "1" / "_formexport_files.json").write_text('{"files": {"x": [1,')
    record = SavedRecord(Destination.of(tmp_path), 1)
    with caplog.at_level(logging.WARNING, logger="formexport"):
        assert record.load().files == {}
    assert "fetched again" in caplog.text


def test_the_record_is_written_only_when_it_changed(tmp_path: Path) -> None:
    destination = Destination.of(tmp_path)
    record = SavedRecord(destination, 1)
    record.flush()
    assert not (tmp_path / "1" / "_formexport_files.json").exists()
    record.add(saved("1/2/f/a.pdf"))
    record.flush()
    body = json.loads((tmp_path / "1" / "_formexport_files.json").read_text())
    assert body["files"]["1/2/f/a.pdf"]["sha256"] == "00"


class ListingApi:
    """The JSON submissions list, newest first; counts the items read."""

    def __init__(self, items: list[dict[str, Any]]) -> None:
        self.items = items
        self.read = 0

    def list_submissions(self, form: int) -> Iterator[Listed]:
        for item in self.items:
            self.read += 1
            yield Listed(int(item["id"]), None, item)


def test_expired_links_are_renewed_by_name_and_the_listing_stops_early() -> None:
    fresh = "https://forms.example.com/open/forms/2/submissions/file/new?signature=fresh"
    items = [
        {"id": 9, "data": {}},
        {"id": 8, "data": {"f": [{"file_url": fresh, "file_name": "cv.pdf"}]}},
        {"id": 7, "data": {}},
    ]
    api = ListingApi(items)
    expired = [
        Upload(8, "f", "cv.pdf", link("cv.pdf"), "2/8/f/cv.pdf"),
        Upload(8, "f", "gone.pdf", link("gone.pdf"), "2/8/f/gone.pdf"),
    ]
    renewed = renew_links(api, 2, expired)  # type: ignore[arg-type]
    assert [u.link for u in renewed.fresh] == [fresh]
    assert renewed.fresh[0].path == "2/8/f/cv.pdf"
    assert [u.name for u in renewed.gone] == ["gone.pdf"]
    assert api.read == 2  # submission 7 is never read


def test_a_deleted_submissions_files_are_gone() -> None:
    api = ListingApi([{"id": 9, "data": {}}])
    renewed = renew_links(api, 2, [Upload(8, "f", "cv.pdf", link("cv.pdf"), "p")])  # type: ignore[arg-type]
    assert renewed.fresh == []
    assert len(renewed.gone) == 1


def test_a_large_record_is_written_a_tenth_at_a_time(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    writes: list[int] = []
    destination = Destination.of(tmp_path)
    record = SavedRecord(destination, 1)
    monkeypatch.setattr(
        Destination, "write_text", lambda self, relative, text: writes.append(len(record.files))
    )
    for n in range(3000):
        record.add(saved(f"1/{n}/f/a.pdf"))
    # Every 100 files up to 1000, then every tenth of the record.
    assert writes[:3] == [100, 200, 300]
    assert writes[9:12] == [1000, 1111, 1234]
    assert len(writes) == 20  # not 30

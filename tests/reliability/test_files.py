"""Files on disk: names from the server stay in their folder, temporary files are private to the
user (0600 files, 0700 folders) and gone after a failure, Ctrl-C included."""

from __future__ import annotations

import json
import stat
import tempfile
from pathlib import Path

import pytest
import requests

import formexport as fx
from formexport.progress.reporters import ProgressEvent
from formexport.sandbox import Fault, Sandbox
from formexport.transfer.download import safe_filename
from tests.reliability.helpers import FIGURES, leftovers


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def form_with_slug(sandbox: Sandbox, slug: str) -> None:
    """Make the API describe form 1 with ``slug``, as a hostile or broken server could."""
    body = requests.get(
        f"{sandbox.base_url}/open/forms/1",
        headers={"Authorization": f"Bearer {sandbox.token}"},
        timeout=10,
    ).json()
    body["slug"] = slug
    sandbox.clear_requests()
    sandbox.faults.add(Fault("form", http_status=200, body=json.dumps(body), times=None))


@pytest.mark.parametrize(
    ("slug", "name"),
    [
        ("../../escaped", "escaped-submissions.csv"),
        ("/etc/cron.d/job", "job-submissions.csv"),
        ("..\\..\\windows", "windows-submissions.csv"),
        ("", "1-submissions.csv"),  # no slug: the form id stands in
        ("..", "1-submissions.csv"),
        ("a\x00b\nc", "abc-submissions.csv"),
    ],
)
def test_a_slug_from_the_server_cannot_leave_the_folder(
    sandbox: Sandbox, tmp_path: Path, slug: str, name: str
) -> None:
    folder = tmp_path / "out"
    folder.mkdir()
    form_with_slug(sandbox, slug)
    written = fx.download_export(
        1, folder, token=sandbox.token, base_url=sandbox.base_url, progress=None
    )
    assert written == folder / name
    assert leftovers(tmp_path) == ["out"]
    assert leftovers(folder) == [name]


def test_a_content_disposition_name_is_never_used(sandbox: Sandbox, tmp_path: Path) -> None:
    folder = tmp_path / "out"
    folder.mkdir()
    sandbox.faults.add(
        Fault(
            "export",
            http_status=200,
            body='"id","Email"\n"1","a@example.org"\n',
            headers={
                "Content-Type": "text/csv",
                "Content-Disposition": 'attachment; filename="../../evil.csv"',
            },
        )
    )
    written = fx.download_export(
        1, folder, token=sandbox.token, base_url=sandbox.base_url, progress=None
    )
    assert written.parent == folder
    assert leftovers(tmp_path) == ["out"]


@pytest.mark.parametrize(
    ("name", "safe"),
    [
        ("a/b/c.csv", "c.csv"),
        ("..", "export.csv"),
        (" .hidden. ", "hidden"),
        ("é" * 200, "é" * 127),
        ("CON", "_CON"),
        ("lpt1.tar.gz", "_lpt1.tar.gz"),
        ("x" * 300 + ".pdf", "x" * 251 + ".pdf"),
        ("cv\u202efdp.exe", "cvfdp.exe"),
        ("a\x85b\udc80.pdf", "ab.pdf"),
    ],
)
def test_safe_filename(name: str, safe: str) -> None:
    assert safe_filename(name) == safe


def test_the_temporary_download_is_private(sandbox: Sandbox, tmp_path: Path) -> None:
    seen: dict[str, int] = {}

    def watch(event: ProgressEvent) -> None:
        if event.phase == "download":
            for part in tmp_path.glob(".*.part"):
                seen[part.name] = mode(part)

    sandbox.config.status_access = "open"
    path = fx.download_export(
        2, tmp_path / "events.csv", token=sandbox.token, base_url=sandbox.base_url, progress=watch
    )
    assert seen
    assert set(seen.values()) == {0o600}
    assert mode(path) == 0o600  # the export holds personal data: it stays the user's
    assert leftovers(tmp_path) == ["events.csv"]
    FIGURES["temporary download file mode"] = "0600"


@pytest.fixture
def scratch(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The folder formexport's scratch space goes to, watched by the test."""
    folder = tmp_path / "tmp"
    folder.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(folder))
    return folder


def test_the_scratch_folder_is_private_and_removed(sandbox: Sandbox, scratch: Path) -> None:
    seen: dict[str, int] = {}

    def watch(event: ProgressEvent) -> None:
        for path in scratch.rglob("*"):
            seen[str(path.relative_to(scratch))] = mode(path)

    sandbox.config.status_access = "open"
    df = fx.load_export(2, token=sandbox.token, base_url=sandbox.base_url, progress=watch)
    assert len(df) == 2500
    folders = {name: m for name, m in seen.items() if "/" not in name}
    files = {name: m for name, m in seen.items() if "/" in name}
    assert folders
    assert set(folders.values()) == {0o700}
    assert files
    assert set(files.values()) == {0o600}
    assert leftovers(scratch) == []  # gone once the DataFrame is made
    FIGURES["scratch folder mode, files in it"] = ("0700", "0600")


def test_everything_is_removed_after_a_failure(
    sandbox: Sandbox, tmp_path: Path, scratch: Path
) -> None:
    sandbox.config.status_access = "open"
    sandbox.faults.add(Fault("download", cut_after=50_000, times=None))
    with pytest.raises(fx.DownloadError):
        fx.load_export(2, token=sandbox.token, base_url=sandbox.base_url, progress=None)
    with pytest.raises(fx.DownloadError):
        fx.download_export(
            2, tmp_path / "out.csv", token=sandbox.token, base_url=sandbox.base_url, progress=None
        )
    assert leftovers(scratch) == []
    assert leftovers(tmp_path) == ["tmp"]


def test_ctrl_c_during_the_download_leaves_nothing(sandbox: Sandbox, tmp_path: Path) -> None:
    def interrupt(event: ProgressEvent) -> None:
        if event.phase == "download" and event.completed:
            raise KeyboardInterrupt  # what Ctrl-C raises in the middle of the transfer

    sandbox.config.status_access = "open"
    with pytest.raises(KeyboardInterrupt):
        fx.download_export(
            2,
            tmp_path / "events.csv",
            token=sandbox.token,
            base_url=sandbox.base_url,
            progress=interrupt,
        )
    assert leftovers(tmp_path) == []


def test_an_unwritable_destination_is_a_download_error(sandbox: Sandbox, tmp_path: Path) -> None:
    blocker = tmp_path / "a-file"
    blocker.write_text("not a folder")
    with pytest.raises(fx.DownloadError, match="Could not write"):
        fx.download_export(
            1,
            blocker / "out.csv",
            token=sandbox.token,
            base_url=sandbox.base_url,
            progress=None,
        )
    assert leftovers(tmp_path) == ["a-file"]

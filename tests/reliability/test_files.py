"""Files on disk: names from the server stay in their folder; temporary files and formexport's
own folder are private to the user (0600 files, 0700 folders) whatever the umask, and gone after
a failure, Ctrl-C included; the files written for the user follow the umask, as any program's."""

from __future__ import annotations

import io
import json
import os
import stat
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests

import formexport as fx
from formexport import config
from formexport.demo import run_demo
from formexport.progress.reporters import ProgressEvent
from formexport.sandbox import Fault, Sandbox
from formexport.sandbox.data.fields import make_field
from formexport.transfer.download import safe_filename
from tests.reliability.figures import doc_says
from tests.reliability.helpers import leftovers

PRIVATE_ROW = "Temporary files and formexport's own folder are private"
OUTPUT_ROW = "Files written for the user follow the umask"


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def modes_under(folder: Path) -> dict[str, int]:
    """The mode of every file and folder below ``folder``, by relative path."""
    return {str(path.relative_to(folder)): mode(path) for path in sorted(folder.rglob("*"))}


def umask_of(request: pytest.FixtureRequest) -> Iterator[int]:
    """The process's umask set to the fixture's parameter (child processes inherit it)."""
    mask: int = request.param
    saved = os.umask(mask)
    try:
        yield mask
    finally:
        os.umask(saved)


@pytest.fixture(params=[0o022, 0o077], ids=["umask022", "umask077"])
def umask(request: pytest.FixtureRequest) -> Iterator[int]:
    """A usual umask, and a private one."""
    yield from umask_of(request)


@pytest.fixture(params=[0o000, 0o022], ids=["umask000", "umask022"])
def loose_umask(request: pytest.FixtureRequest) -> Iterator[int]:
    """A umask that lets everyone read and write new files, and a usual one."""
    yield from umask_of(request)


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


def test_the_temporary_download_is_private(sandbox: Sandbox, tmp_path: Path, umask: int) -> None:
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
    (part_mode,) = set(seen.values())
    assert leftovers(tmp_path) == ["events.csv"]
    # Half a file stays the user's alone; the whole one is theirs to share, as the umask says.
    doc_says(PRIVATE_ROW, "Result", f"`.part` files beside the destination {part_mode:04o}")
    doc_says(OUTPUT_ROW, "Result", f"{mode(path):04o} under umask {umask:03o}")


def written_for_the_user(sandbox: Sandbox, out: Path) -> None:
    """Every way formexport writes a file the user asked for, into ``out``."""
    options = {"token": sandbox.token, "base_url": sandbox.base_url, "progress": None}
    fx.download_export(1, out / "answered.csv", **options)  # type: ignore[arg-type]
    fx.download_export(1, out / "cached.csv", cache=True, **options)  # type: ignore[arg-type]
    fx.download_export(1, out / "from-cache.csv", cache=True, **options)  # type: ignore[arg-type]
    fx.download_export(2, out / "batched.csv", **options)  # type: ignore[arg-type]
    fx.start_export(1, to=out / "background.parquet", **options).result()  # type: ignore[arg-type]
    fx.export_forms([1], out / "dataset", **options)  # type: ignore[arg-type]
    uploads = sandbox.add_form("Uploads", [make_field("files", "CV")], 3, seed=1)
    fx.load_export(uploads["id"], files=out / "uploads", **options)  # type: ignore[arg-type]
    sandbox.config.status_access = "open"
    fx.download_export(2, out / "server-job.csv", **options)  # type: ignore[arg-type]
    fx.export_to_parquet(2, out / "server-job.parquet", **options)  # type: ignore[arg-type]
    with fx.Client(token=sandbox.token, base_url=sandbox.base_url) as client:
        client.start_export(1).download(out / "job.csv")
        client.start_export(1).to_parquet(out / "job.parquet")
    env = {**os.environ, config.TOKEN_ENV: sandbox.token, config.BASE_URL_ENV: sandbox.base_url}
    commands = [["export", "2", "-o", str(out / name)] for name in ("cli.csv", "cli.parquet")]
    commands += [
        ["convert", str(out / "answered.csv"), "-o", str(out / name)]
        for name in ("converted.csv", "converted.parquet")
    ]
    for command in commands:
        done = subprocess.run(
            [sys.executable, "-m", "formexport", *command],
            env=env,
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert done.returncode == 0, done.stderr


def test_files_written_for_the_user_follow_the_umask(
    sandbox: Sandbox, tmp_path: Path, umask: int
) -> None:
    out = tmp_path / "out"
    written_for_the_user(sandbox, out)
    modes = modes_under(out)
    files = {name: m for name, m in modes.items() if (out / name).is_file()}
    folders = {name: m for name, m in modes.items() if name not in files}
    assert len(files) >= 14
    assert any(name.startswith("dataset/form_id=1/") for name in files)
    assert sum(name.startswith("uploads/") for name in files) >= 3  # the files and their record
    assert set(files.values()) == {0o666 & ~umask}, files
    assert set(folders.values()) == {0o777 & ~umask}, folders
    assert mode(out) == 0o777 & ~umask
    (file_mode,) = set(files.values())
    doc_says(OUTPUT_ROW, "Result", f"{file_mode:04o} under umask {umask:03o}")


def test_the_demo_s_files_follow_the_umask(tmp_path: Path, umask: int) -> None:
    written = run_demo(io.StringIO(), progress=None, output_dir=tmp_path / "demo")
    assert len(written) == 2
    assert {mode(path) for path in written} == {0o666 & ~umask}


def test_formexport_s_own_folder_stays_private_whatever_the_umask(
    sandbox: Sandbox, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, loose_umask: int
) -> None:
    root = tmp_path / "formexport"
    monkeypatch.setenv(config.CACHE_DIR_ENV, str(root))
    sandbox.config.status_access = "open"
    # A server job (its record) and a cached export; then one that times out (kept on record).
    options = {"token": sandbox.token, "base_url": sandbox.base_url, "progress": None}
    fx.download_export(2, tmp_path / "events.csv", cache=True, **options)  # type: ignore[arg-type]
    sandbox.config.job_progression = "stuck"
    with pytest.raises(fx.ExportTimeoutError):
        fx.load_export(2, columns=["created_at"], timeout=0.2, **options)  # type: ignore[arg-type]
    modes = {name: m for name, m in modes_under(root).items() if not name.startswith(".")}
    files = {name for name in modes if (root / name).is_file()}
    assert {"jobs.json", "exports"} <= set(modes)
    assert any(name.endswith(".csv") for name in files)  # the cached export
    assert {modes[name] for name in files} == {0o600}, modes
    assert {m for name, m in modes.items() if name not in files} | {mode(root)} == {0o700}
    doc_says(PRIVATE_ROW, "Result", "the job record and cache 0700/0600")


@pytest.fixture
def scratch(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The folder formexport's scratch space goes to, watched by the test."""
    folder = tmp_path / "tmp"
    folder.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(folder))
    return folder


@pytest.mark.parametrize("status_access", ["open", "blocked"])  # a download, or batches
def test_the_scratch_folder_is_private_and_removed(
    sandbox: Sandbox, scratch: Path, loose_umask: int, status_access: str
) -> None:
    seen: dict[str, int] = {}

    def watch(event: ProgressEvent) -> None:
        for path in scratch.rglob("*"):
            seen[str(path.relative_to(scratch))] = mode(path)

    sandbox.config.status_access = status_access
    df = fx.load_export(2, token=sandbox.token, base_url=sandbox.base_url, progress=watch)
    assert len(df) == 2500
    folders = {name: m for name, m in seen.items() if "/" not in name}
    files = {name: m for name, m in seen.items() if "/" in name}
    assert folders
    assert set(folders.values()) == {0o700}
    assert files
    assert set(files.values()) == {0o600}
    assert leftovers(scratch) == []  # gone once the DataFrame is made
    (folder_mode,), (file_mode,) = set(folders.values()), set(files.values())
    said = f"the scratch folder {folder_mode:04o} with {file_mode:04o} files"
    doc_says(PRIVATE_ROW, "Result", said)


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

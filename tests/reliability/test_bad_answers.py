"""Answers that are wrong rather than missing: failed or stuck jobs, bodies shorter or longer than
their Content-Length, HTML from a proxy where JSON or CSV was expected, broken JSON."""

from __future__ import annotations

from pathlib import Path

import pytest

import formexport as fx
from formexport import config
from formexport.sandbox import Fault, Sandbox
from tests.reliability.figures import bytes_lost, doc_says
from tests.reliability.helpers import file_requests, finished_job, leftovers, served_bytes


def download(sandbox: Sandbox, path: Path, form: int = 2) -> Path:
    return fx.download_export(
        form, path, token=sandbox.token, base_url=sandbox.base_url, progress=None, timeout=30
    )


def test_failed_job_names_the_server_reason(sandbox: Sandbox, tmp_path: Path) -> None:
    sandbox.config.status_access = "open"
    sandbox.config.fail_jobs = "Disk quota exceeded"
    with pytest.raises(fx.ExportFailedError, match="Disk quota exceeded") as info:
        download(sandbox, tmp_path / "events.csv")
    assert info.value.error_message == "Disk quota exceeded"
    assert info.value.job_id
    assert leftovers(tmp_path) == []


def test_job_stuck_in_queued_points_at_the_queue_worker(
    sandbox: Sandbox, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Any time in the queue counts as too long here (the threshold is unit-tested): a timeout
    # budget spent under load before the first poll must not make this test flaky.
    monkeypatch.setattr(config, "QUEUE_STALL_SECONDS", 0.0)
    sandbox.config.status_access = "open"
    sandbox.config.job_progression = "stuck"
    with pytest.raises(fx.ExportTimeoutError, match="queue worker") as info:
        fx.download_export(
            2,
            tmp_path / "e.csv",
            token=sandbox.token,
            base_url=sandbox.base_url,
            progress=None,
            timeout=0.3,
        )
    assert info.value.job_id is not None
    assert f"attach(2, {info.value.job_id!r})" in str(info.value)
    assert leftovers(tmp_path) == []


@pytest.mark.parametrize("file_host", ["local", "s3"])
@pytest.mark.parametrize("delta", [10, 1000, -10, -1000])
def test_body_length_not_matching_content_length(
    sandbox: Sandbox, tmp_path: Path, file_host: str, delta: int
) -> None:
    sandbox.config.file_host = file_host
    job = finished_job(sandbox)
    original = served_bytes(job)
    sandbox.clear_requests()
    sandbox.faults.add(Fault("download", length_mismatch=delta))
    path = job.download(tmp_path / "events.csv")
    size = len(original)
    ranges = [r.headers.get("Range") for r in file_requests(sandbox)]
    if delta > 0 and file_host == "local":  # announced more than sent: resumed, and the
        assert ranges == [None, f"bytes={size}-"]  # 416 "bytes */size" confirms the end
        row = "Body 10 or 1000 bytes shorter than its `Content-Length` (local host)"
    elif delta > 0:  # S3's 416 does not say the size: the file is fetched once more, whole
        assert ranges == [None, f"bytes={size}-", None, f"bytes={size}-"]
        row = "Same on the S3 host (its `416` gives no size)"
    else:  # announced less than it had: the check after the end fetched the rest
        assert ranges == [None, f"bytes={size + delta}-", f"bytes={size}-"]
        row = "Body 10 or 1000 bytes longer than its `Content-Length`"
    doc_says(row, "Measured", f"{len(ranges)} requests")
    doc_says(row, "Bytes lost", bytes_lost(path.read_bytes(), original))


def test_length_lie_on_a_host_that_ignores_range(sandbox: Sandbox, tmp_path: Path) -> None:
    job = finished_job(sandbox)
    original = served_bytes(job)
    sandbox.config.range_requests = False
    sandbox.faults.add(Fault("download", length_mismatch=-100))
    path = job.download(tmp_path / "events.csv")
    lost = bytes_lost(path.read_bytes(), original)
    doc_says("Same on a host that ignores `Range`", "Bytes lost", lost)


@pytest.mark.parametrize("file_host", ["local", "s3"])
def test_a_resume_answered_with_another_range_is_refused(
    sandbox: Sandbox, tmp_path: Path, file_host: str
) -> None:
    # Asked for bytes=500-, the host answers 206 from byte 600 on and says so: appending
    # those bytes would leave out 100 and shift the rest.
    sandbox.config.file_host = file_host
    job = finished_job(sandbox)
    size = len(served_bytes(job))
    sandbox.clear_requests()
    sandbox.faults.add(Fault("download", cut_after=500))
    sandbox.faults.add(Fault("download", range_shift=100))
    with pytest.raises(fx.DownloadError, match=r"mismatched Content-Range.*600-") as info:
        job.download(tmp_path / "events.csv")
    assert f"bytes 600-{size - 1}/{size}" in str(info.value)
    fetched = file_requests(sandbox)
    assert [r.headers.get("Range") for r in fetched] == [None, "bytes=500-"]
    assert leftovers(tmp_path) == []
    row = "Resume answered `206` with another range than asked"
    doc_says(row, "Measured", f"{len(fetched)} requests; nothing written")


def test_html_instead_of_the_status_json(sandbox: Sandbox, tmp_path: Path) -> None:
    sandbox.config.status_access = "open"
    sandbox.config.job_progression = "per_poll"
    with fx.Client(token=sandbox.token, base_url=sandbox.base_url) as client:
        job = client.start_export(2)
        sandbox.faults.add(Fault("status", html=True))
        with pytest.raises(fx.UnexpectedResponseError, match=r"HTML page.*base URL"):
            job.download(tmp_path / "events.csv")
    assert leftovers(tmp_path) == []


def test_html_instead_of_the_export_file_is_never_saved(sandbox: Sandbox, tmp_path: Path) -> None:
    job = finished_job(sandbox)
    sandbox.faults.add(Fault("download", html=True))
    with pytest.raises(fx.DownloadError, match="HTML page"):
        job.download(tmp_path / "events.csv")
    assert leftovers(tmp_path) == []


def test_html_instead_of_the_export_answer(sandbox: Sandbox, tmp_path: Path) -> None:
    sandbox.faults.add(Fault("export", html=True))
    with pytest.raises(fx.UnexpectedResponseError, match="HTML page"):
        download(sandbox, tmp_path / "feedback.csv", form=1)
    assert leftovers(tmp_path) == []


def test_broken_status_json(sandbox: Sandbox, tmp_path: Path) -> None:
    sandbox.config.status_access = "open"
    sandbox.config.job_progression = "per_poll"
    with fx.Client(token=sandbox.token, base_url=sandbox.base_url) as client:
        job = client.start_export(2)
        sandbox.faults.add(Fault("status", invalid_json=True))
        with pytest.raises(fx.UnexpectedResponseError, match="invalid JSON"):
            job.wait(progress=None)


def test_status_json_of_the_wrong_shape(sandbox: Sandbox) -> None:
    sandbox.config.status_access = "open"
    sandbox.config.job_progression = "per_poll"
    with fx.Client(token=sandbox.token, base_url=sandbox.base_url) as client:
        job = client.start_export(2)
        sandbox.faults.add(Fault("status", http_status=200, body='{"state": "done"}'))
        with pytest.raises(fx.UnexpectedResponseError, match="no 'status' field"):
            job.wait(progress=None)

"""5xx bursts, connection resets and read time-outs on status and download requests."""

from __future__ import annotations

from pathlib import Path

import pytest

import formexport as fx
from formexport import config
from formexport.sandbox import Fault, Sandbox
from tests.reliability.figures import bytes_lost, doc_says, unsigned
from tests.reliability.helpers import (
    file_requests,
    finished_job,
    on_route,
    served_bytes,
)

# Seconds a slow server keeps the client waiting, against the client's read time-out.
READ_TIMEOUT = 0.2
STALL = 0.6


def run_to_completion(sandbox: Sandbox, *faults: Fault) -> fx.ExportJob:
    """An export waited for with the given faults on its status polls (file not fetched)."""
    sandbox.config.status_access = "open"
    sandbox.config.job_progression = "per_poll"
    with fx.Client(token=sandbox.token, base_url=sandbox.base_url) as client:
        job = client.start_export(2)
        for fault in faults:
            sandbox.faults.add(fault)
        job.wait(progress=None, timeout=60)
    return job


def downloaded_whole(job: fx.ExportJob, folder: Path) -> int:
    """Download a completed job; return the bytes lost against the file as served."""
    assert job.status is not None
    assert job.status.status == "completed"
    return bytes_lost(job.download(folder / "events.csv").read_bytes(), served_bytes(job))


STATUS_BURSTS = [1, config.HTTP_RETRIES]


@pytest.mark.parametrize("burst", STATUS_BURSTS)
def test_status_5xx_burst_is_retried(sandbox: Sandbox, tmp_path: Path, burst: int) -> None:
    job = run_to_completion(sandbox, Fault("status", http_status=503, times=burst))
    survived = [r.status for r in on_route(sandbox, "/export/status/")].count(503)
    assert survived == burst
    row = "Status poll answered 503"
    doc_says(row, "Bytes lost", downloaded_whole(job, tmp_path))
    if burst == max(STATUS_BURSTS):
        doc_says(row, "Measured", f"Longest burst survived per poll: {survived}")


def test_status_5xx_beyond_the_retries_is_a_server_error(sandbox: Sandbox) -> None:
    with pytest.raises(fx.ServerError, match="HTTP 502") as info:
        run_to_completion(sandbox, Fault("status", http_status=502, times=None))
    assert info.value.status_code == 502


def test_status_connection_resets_are_retried(sandbox: Sandbox, tmp_path: Path) -> None:
    job = run_to_completion(sandbox, Fault("status", reset=True, times=3))
    assert [r.status for r in on_route(sandbox, "/export/status/")].count(None) == 3
    doc_says("Status poll reset 3 times", "Bytes lost", downloaded_whole(job, tmp_path))


# Two transport retries per attempt, five resumes: 3 x 6 answers, the last of them good.
LONGEST_DOWNLOAD_BURST = (config.DOWNLOAD_HTTP_RETRIES + 1) * (config.DOWNLOAD_RESUMES + 1) - 1


DOWNLOAD_BURSTS = [1, 3, LONGEST_DOWNLOAD_BURST]


@pytest.mark.parametrize("burst", DOWNLOAD_BURSTS)
def test_download_5xx_burst_is_retried(sandbox: Sandbox, tmp_path: Path, burst: int) -> None:
    job = finished_job(sandbox)
    sandbox.faults.add(Fault("download", http_status=503, times=burst))
    path = job.download(tmp_path / "events.csv")
    survived = [r.status for r in file_requests(sandbox)].count(503)
    assert survived == burst
    row = "Download answered 503, 1, 3 or 17 times"
    doc_says(row, "Bytes lost", bytes_lost(path.read_bytes(), served_bytes(job)))
    if burst == max(DOWNLOAD_BURSTS):
        doc_says(row, "Measured", f"Longest burst survived: {survived}")


def test_download_5xx_one_longer_is_a_download_error(sandbox: Sandbox, tmp_path: Path) -> None:
    job = finished_job(sandbox)
    sandbox.faults.add(Fault("download", http_status=503, times=LONGEST_DOWNLOAD_BURST + 1))
    with pytest.raises(fx.DownloadError, match="HTTP 503"):
        job.download(tmp_path / "events.csv")
    assert list(tmp_path.iterdir()) == []


def test_download_5xx_forever_is_a_download_error(sandbox: Sandbox, tmp_path: Path) -> None:
    job = finished_job(sandbox)
    sandbox.faults.add(Fault("download", http_status=500, times=None))
    with pytest.raises(fx.DownloadError, match="HTTP 500"):
        job.download(tmp_path / "events.csv")
    assert list(tmp_path.iterdir()) == []


def test_download_resets_before_the_answer_are_retried(sandbox: Sandbox, tmp_path: Path) -> None:
    job = finished_job(sandbox)
    sandbox.faults.add(Fault("download", reset=True, times=4))
    path = job.download(tmp_path / "events.csv")
    assert [r.status for r in file_requests(sandbox)].count(None) == 4
    lost = bytes_lost(path.read_bytes(), served_bytes(job))
    doc_says("Download reset 4 times before any byte", "Bytes lost", lost)


def test_slow_status_answers_are_retried(
    sandbox: Sandbox, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(config.READ_TIMEOUT_ENV, str(READ_TIMEOUT))
    job = run_to_completion(sandbox, Fault("status", delay=STALL, times=2))
    monkeypatch.delenv(config.READ_TIMEOUT_ENV)
    doc_says("Status answer delayed 0.6 s", "Bytes lost", downloaded_whole(job, tmp_path))


def test_a_server_that_never_answers_is_a_network_error(
    sandbox: Sandbox, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(config.READ_TIMEOUT_ENV, str(READ_TIMEOUT))
    monkeypatch.setattr(config, "HTTP_RETRIES", 1)
    sandbox.faults.add(Fault("form", delay=STALL, times=None))
    with pytest.raises(fx.NetworkError, match=config.READ_TIMEOUT_ENV) as info:
        fx.load_export(1, token=sandbox.token, base_url=sandbox.base_url, progress=None)
    assert "0.2 s between bytes" in str(info.value)


STALL_AFTER = 300_000


def test_a_body_stalled_mid_download_resumes_where_it_stopped(
    sandbox: Sandbox, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    job = finished_job(sandbox)
    monkeypatch.setenv(config.READ_TIMEOUT_ENV, str(READ_TIMEOUT))
    sandbox.faults.add(Fault("download", stall=STALL, stall_after=STALL_AFTER))
    path = job.download(tmp_path / "events.csv")
    ranges = [r.headers.get("Range") for r in file_requests(sandbox)]
    assert ranges[0] is None
    assert ranges[1] is not None
    resumed_from = int(ranges[1].removeprefix("bytes=").rstrip("-"))
    row = "Download body stalled 0.6 s after 300 000 bytes"
    # The first answer sent STALL_AFTER bytes before it stalled; the resume asked from here.
    doc_says(row, "Measured", f"Bytes fetched twice: {STALL_AFTER - resumed_from}")
    doc_says(row, "Bytes lost", bytes_lost(path.read_bytes(), served_bytes(job)))


def test_timeouts_come_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    assert config.timeouts() == (config.CONNECT_TIMEOUT, config.READ_TIMEOUT)
    monkeypatch.setenv(config.CONNECT_TIMEOUT_ENV, "3")
    monkeypatch.setenv(config.READ_TIMEOUT_ENV, "600")
    assert config.timeouts() == (3.0, 600.0)


@pytest.mark.parametrize("value", ["soon", "0", "-1", "nan", "inf"])
def test_bad_timeout_variables_are_configuration_errors(
    monkeypatch: pytest.MonkeyPatch, value: str
) -> None:
    monkeypatch.setenv(config.READ_TIMEOUT_ENV, value)
    with pytest.raises(fx.ConfigurationError, match=config.READ_TIMEOUT_ENV):
        config.timeouts()


@pytest.mark.parametrize(
    "fault",
    [
        Fault("export", http_status=502, times=2),
        Fault("export", reset=True, times=2),
        Fault("export", cut_after=1000, times=2),
    ],
    ids=["5xx", "reset", "cut"],
)
def test_batches_are_repeated_after_a_failure(sandbox: Sandbox, fault: Fault) -> None:
    # A batch names at most 1000 submissions, so the server answers it at once and never
    # starts a job: repeating it is safe. (Where status is hidden, large forms go this way.)
    sandbox.faults.add(fault)
    df = fx.load_export(2, token=sandbox.token, base_url=sandbox.base_url, progress=None)
    assert df["id"].is_unique
    posted = on_route(sandbox, "/submissions/export", "POST")
    batches = -(-len(df) // config.SYNC_EXPORT_LIMIT)
    assert len(posted) == batches + 2  # every batch once, and the two that failed again
    doc_says(
        "Batch request (≤ 1000 chosen submissions)",
        "Measured",
        f"{batches} batches + {len(posted) - batches} repeats; {len(df)} rows, each once",
    )


def test_batches_repeated_after_a_failure_lose_no_byte(sandbox: Sandbox, tmp_path: Path) -> None:
    options = {"token": sandbox.token, "base_url": sandbox.base_url, "progress": None}
    expected = fx.download_export(2, tmp_path / "calm.csv", **options).read_bytes()  # type: ignore[arg-type]
    sandbox.faults.add(Fault("export", http_status=502, times=2))
    path = fx.download_export(2, tmp_path / "stormy.csv", **options)  # type: ignore[arg-type]
    lost = bytes_lost(unsigned(path.read_bytes()), unsigned(expected))
    doc_says("Batch request (≤ 1000 chosen submissions)", "Bytes lost", lost)


def test_a_whole_export_request_is_not_repeated(sandbox: Sandbox) -> None:
    # Without chosen submissions the server may have started a job before failing.
    sandbox.faults.add(Fault("export", http_status=502))
    with pytest.raises(fx.ServerError):
        fx.load_export(1, token=sandbox.token, base_url=sandbox.base_url, progress=None)
    posted = on_route(sandbox, "/submissions/export", "POST")
    assert len(posted) == 1
    doc_says("Whole-form export request answered 502", "Measured", f"{len(posted)} request")

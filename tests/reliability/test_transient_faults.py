"""5xx bursts, connection resets and read time-outs on status and download requests."""

from __future__ import annotations

from pathlib import Path

import pytest

import formexport as fx
from formexport import config
from formexport.sandbox import Fault, Sandbox
from tests.reliability.helpers import FIGURES, file_requests, finished_job, on_route, served_bytes

# Seconds a slow server keeps the client waiting, against the client's read time-out.
READ_TIMEOUT = 0.2
STALL = 0.6


def run_to_completion(sandbox: Sandbox, *faults: Fault) -> fx.ExportJob:
    """An export waited for with the given faults on its status polls."""
    sandbox.config.status_access = "open"
    sandbox.config.job_progression = "per_poll"
    with fx.Client(token=sandbox.token, base_url=sandbox.base_url) as client:
        job = client.start_export(2)
        for fault in faults:
            sandbox.faults.add(fault)
        job.wait(progress=None, timeout=60)
    return job


@pytest.mark.parametrize("burst", [1, config.HTTP_RETRIES])
def test_status_5xx_burst_is_retried(sandbox: Sandbox, burst: int) -> None:
    job = run_to_completion(sandbox, Fault("status", http_status=503, times=burst))
    assert job.status is not None
    assert job.status.status == "completed"
    assert [r.status for r in on_route(sandbox, "/export/status/")].count(503) == burst
    FIGURES["status: longest 5xx burst survived per poll"] = config.HTTP_RETRIES


def test_status_5xx_beyond_the_retries_is_a_server_error(sandbox: Sandbox) -> None:
    with pytest.raises(fx.ServerError, match="HTTP 502") as info:
        run_to_completion(sandbox, Fault("status", http_status=502, times=None))
    assert info.value.status_code == 502


def test_status_connection_resets_are_retried(sandbox: Sandbox) -> None:
    job = run_to_completion(sandbox, Fault("status", reset=True, times=3))
    assert job.status is not None
    assert job.status.status == "completed"
    assert [r.status for r in on_route(sandbox, "/export/status/")].count(None) == 3


# Two transport retries per attempt, five resumes: 3 x 6 answers, the last of them good.
LONGEST_DOWNLOAD_BURST = (config.DOWNLOAD_HTTP_RETRIES + 1) * (config.DOWNLOAD_RESUMES + 1) - 1


@pytest.mark.parametrize("burst", [1, 3, LONGEST_DOWNLOAD_BURST])
def test_download_5xx_burst_is_retried(sandbox: Sandbox, tmp_path: Path, burst: int) -> None:
    job = finished_job(sandbox)
    sandbox.faults.add(Fault("download", http_status=503, times=burst))
    path = job.download(tmp_path / "events.csv")
    assert path.read_bytes() == served_bytes(job)
    assert [r.status for r in file_requests(sandbox)].count(503) == burst
    FIGURES["download: longest 5xx burst survived"] = LONGEST_DOWNLOAD_BURST


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
    assert path.read_bytes() == served_bytes(job)


def test_slow_status_answers_are_retried(sandbox: Sandbox, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(config.READ_TIMEOUT_ENV, str(READ_TIMEOUT))
    job = run_to_completion(sandbox, Fault("status", delay=STALL, times=2))
    assert job.status is not None
    assert job.status.status == "completed"


def test_a_server_that_never_answers_is_a_network_error(
    sandbox: Sandbox, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(config.READ_TIMEOUT_ENV, str(READ_TIMEOUT))
    monkeypatch.setattr(config, "HTTP_RETRIES", 1)
    sandbox.faults.add(Fault("form", delay=STALL, times=None))
    with pytest.raises(fx.NetworkError, match=config.READ_TIMEOUT_ENV) as info:
        fx.load_export(1, token=sandbox.token, base_url=sandbox.base_url, progress=None)
    assert "0.2 s between bytes" in str(info.value)


def test_a_body_stalled_mid_download_resumes_where_it_stopped(
    sandbox: Sandbox, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    job = finished_job(sandbox)
    monkeypatch.setenv(config.READ_TIMEOUT_ENV, str(READ_TIMEOUT))
    sandbox.faults.add(Fault("download", stall=STALL, stall_after=300_000))
    path = job.download(tmp_path / "events.csv")
    assert path.read_bytes() == served_bytes(job)
    ranges = [r.headers.get("Range") for r in file_requests(sandbox)]
    assert ranges[:2] == [None, "bytes=300000-"]  # not one byte fetched twice
    FIGURES["download stalled after 300000 bytes: resumed from"] = ranges[1]


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
    assert len(df) == 2500
    assert df["id"].is_unique
    posted = on_route(sandbox, "/submissions/export", "POST")
    assert len(posted) == 3 + 2  # three batches, two of them sent twice
    FIGURES["batched route: failed batch requests repeated (up to)"] = config.HTTP_RETRIES


def test_a_whole_export_request_is_not_repeated(sandbox: Sandbox) -> None:
    # Without chosen submissions the server may have started a job before failing.
    sandbox.faults.add(Fault("export", http_status=502))
    with pytest.raises(fx.ServerError):
        fx.load_export(1, token=sandbox.token, base_url=sandbox.base_url, progress=None)
    assert len(on_route(sandbox, "/submissions/export", "POST")) == 1

"""429 storms on export, status and download: Retry-After honoured, never retried early, and a
RateLimitError as soon as the wait would not fit the caller's timeout."""

from __future__ import annotations

from pathlib import Path

import pytest

import formexport as fx
from formexport.sandbox import Fault, Sandbox
from tests.reliability.figures import bytes_lost, doc_says
from tests.reliability.helpers import (
    answered_bytes,
    exports,
    file_requests,
    finished_job,
    gaps_after,
    on_route,
    served_bytes,
)

RETRY_AFTER = 1


def too_many(times: int | None, retry_after: int = RETRY_AFTER) -> dict[str, object]:
    return {
        "http_status": 429,
        "headers": {"Retry-After": str(retry_after)},
        "body": '{"message":"Too Many Attempts."}',
        "times": times,
    }


def download(sandbox: Sandbox, path: Path) -> Path:
    return fx.download_export(
        1, path, token=sandbox.token, base_url=sandbox.base_url, progress=None
    )


def waits(gaps: list[float]) -> str:
    """The waits as docs/reliability.md states them: how many, and that none was early."""
    assert min(gaps) >= RETRY_AFTER  # never early
    return f"{len(gaps)} waits, each ≥ {RETRY_AFTER} s"


def test_export_storm_is_waited_out(sandbox: Sandbox, tmp_path: Path) -> None:
    sandbox.faults.add(Fault("export", **too_many(2)))  # type: ignore[arg-type]
    path = download(sandbox, tmp_path / "feedback.csv")
    posted = exports(sandbox)
    assert [r.status for r in posted] == [429, 429, 200]
    row = "Export request answered 429 twice"
    doc_says(row, "Measured", waits(gaps_after(posted, 429)))
    doc_says(row, "Bytes lost", bytes_lost(path.read_bytes(), answered_bytes(sandbox)))


def test_status_storm_is_waited_out(sandbox: Sandbox, tmp_path: Path) -> None:
    sandbox.config.status_access = "open"
    sandbox.config.job_progression = "per_poll"
    with fx.Client(token=sandbox.token, base_url=sandbox.base_url) as client:
        job = client.start_export(2)
        sandbox.faults.add(Fault("status", **too_many(2)))  # type: ignore[arg-type]
        status = job.wait(progress=None, timeout=60)
        assert status.status == "completed"
        path = job.download(tmp_path / "events.csv")
    polls = on_route(sandbox, "/export/status/")
    assert [r.status for r in polls].count(429) == 2
    row = "Status poll answered 429 twice"
    doc_says(row, "Measured", waits(gaps_after(polls, 429)))
    doc_says(row, "Bytes lost", bytes_lost(path.read_bytes(), served_bytes(job)))


def test_download_storm_is_waited_out(sandbox: Sandbox, tmp_path: Path) -> None:
    job = finished_job(sandbox)
    sandbox.faults.add(Fault("download", **too_many(2)))  # type: ignore[arg-type]
    path = job.download(tmp_path / "events.csv")
    fetched = file_requests(sandbox)
    assert [r.status for r in fetched][:3] == [429, 429, 200]
    row = "Download answered 429 twice"
    doc_says(row, "Measured", waits(gaps_after(fetched, 429)))
    doc_says(row, "Bytes lost", bytes_lost(path.read_bytes(), served_bytes(job)))


def test_export_wait_beyond_the_timeout_raises_at_once(sandbox: Sandbox) -> None:
    sandbox.faults.add(Fault("export", **too_many(None, retry_after=3600)))  # type: ignore[arg-type]
    with pytest.raises(fx.RateLimitError, match="timeout") as info:
        fx.load_export(1, token=sandbox.token, base_url=sandbox.base_url, progress=None, timeout=5)
    assert info.value.retry_after == 3600
    posted = exports(sandbox)
    assert len(posted) == 1  # not repeated early, not waited for in vain
    doc_says("Export request: 429 with `Retry-After: 3600`", "Measured", f"{len(posted)} request")


def test_status_wait_beyond_the_timeout_raises_at_once(sandbox: Sandbox) -> None:
    sandbox.config.status_access = "open"
    sandbox.config.job_progression = "per_poll"
    with fx.Client(token=sandbox.token, base_url=sandbox.base_url) as client:
        job = client.start_export(2)
        sandbox.faults.add(Fault("status", **too_many(None, retry_after=3600)))  # type: ignore[arg-type]
        with pytest.raises(fx.RateLimitError, match=r"3600 s wait .* does not fit") as info:
            job.wait(progress=None, timeout=5)
    assert info.value.retry_after == 3600
    assert job.job_id is not None
    polls = on_route(sandbox, job.job_id)
    assert len(polls) == 1  # one poll, then the error
    doc_says("Status poll: 429 with `Retry-After: 3600`", "Measured", f"{len(polls)} poll")


def test_form_and_submission_reads_wait_out_their_limit(sandbox: Sandbox, tmp_path: Path) -> None:
    # Reads share the 100-a-minute "api" limit; a 429 there is waited out like the others.
    sandbox.faults.add(Fault("form", **too_many(1)))  # type: ignore[arg-type]
    path = download(sandbox, tmp_path / "feedback.csv")
    reads = on_route(sandbox, "/open/forms/1")
    reads = [r for r in reads if r.path.endswith("/open/forms/1")]
    assert [r.status for r in reads] == [429, 200]
    assert reads[1].at - reads[0].at >= RETRY_AFTER
    row = "Form read answered 429"
    doc_says(row, "Measured", f"Wait ≥ {RETRY_AFTER} s")
    doc_says(row, "Bytes lost", bytes_lost(path.read_bytes(), answered_bytes(sandbox)))


def test_a_storm_that_never_ends_is_reported(
    sandbox: Sandbox, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(fx.config, "MIN_RATE_LIMIT_WAIT", 0.01)  # as many waits, shorter
    sandbox.faults.add(Fault("form", **too_many(None, retry_after=0)))  # type: ignore[arg-type]
    with pytest.raises(fx.RateLimitError, match="rate limit"):
        fx.load_export(1, token=sandbox.token, base_url=sandbox.base_url, progress=None)
    reads = on_route(sandbox, "/open/forms/1")
    assert len(reads) == fx.config.RATE_LIMIT_RETRIES + 1
    doc_says("A read answered 429 without end", "Measured", f"{len(reads) - 1} + 1 requests")

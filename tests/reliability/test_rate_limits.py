"""429 storms on export, status and download: Retry-After honoured, never retried early, and a
RateLimitError as soon as the wait would not fit the caller's timeout."""

from __future__ import annotations

from pathlib import Path

import pytest

import formexport as fx
from formexport.sandbox import Fault, Sandbox
from tests.reliability.helpers import (
    FIGURES,
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


def test_export_storm_is_waited_out(sandbox: Sandbox) -> None:
    sandbox.faults.add(Fault("export", **too_many(2)))  # type: ignore[arg-type]
    df = fx.load_export(1, token=sandbox.token, base_url=sandbox.base_url, progress=None)
    assert len(df) == 250
    posted = exports(sandbox)
    assert [r.status for r in posted] == [429, 429, 200]
    gaps = gaps_after(posted, 429)
    assert min(gaps) >= RETRY_AFTER  # never early
    FIGURES["export 429 (Retry-After 1 s): waits before the retries (s)"] = [
        round(g, 3) for g in gaps
    ]


def test_status_storm_is_waited_out(sandbox: Sandbox) -> None:
    sandbox.config.status_access = "open"
    sandbox.config.job_progression = "per_poll"
    with fx.Client(token=sandbox.token, base_url=sandbox.base_url) as client:
        job = client.start_export(2)
        sandbox.faults.add(Fault("status", **too_many(2)))  # type: ignore[arg-type]
        status = job.wait(progress=None, timeout=60)
        assert status.status == "completed"
        assert len(job.to_dataframe()) == 2500
    polls = on_route(sandbox, "/export/status/")
    assert [r.status for r in polls].count(429) == 2
    gaps = gaps_after(polls, 429)
    assert min(gaps) >= RETRY_AFTER
    FIGURES["status 429 (Retry-After 1 s): waits before the next poll (s)"] = [
        round(g, 3) for g in gaps
    ]


def test_download_storm_is_waited_out(sandbox: Sandbox, tmp_path: Path) -> None:
    job = finished_job(sandbox)
    sandbox.faults.add(Fault("download", **too_many(2)))  # type: ignore[arg-type]
    path = job.download(tmp_path / "events.csv")
    assert path.read_bytes() == served_bytes(job)
    fetched = file_requests(sandbox)
    assert [r.status for r in fetched][:3] == [429, 429, 200]
    gaps = gaps_after(fetched, 429)
    assert min(gaps) >= RETRY_AFTER
    FIGURES["download 429 (Retry-After 1 s): waits before the retries (s)"] = [
        round(g, 3) for g in gaps
    ]


def test_export_wait_beyond_the_timeout_raises_at_once(sandbox: Sandbox) -> None:
    sandbox.faults.add(Fault("export", **too_many(None, retry_after=3600)))  # type: ignore[arg-type]
    with pytest.raises(fx.RateLimitError, match="timeout") as info:
        fx.load_export(1, token=sandbox.token, base_url=sandbox.base_url, progress=None, timeout=5)
    assert info.value.retry_after == 3600
    assert len(exports(sandbox)) == 1  # not repeated early, not waited for in vain


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
    assert len(on_route(sandbox, job.job_id)) == 1  # one poll, then the error


def test_form_and_submission_reads_wait_out_their_limit(sandbox: Sandbox) -> None:
    # Reads share the 100-a-minute "api" limit; a 429 there is waited out like the others.
    sandbox.faults.add(Fault("form", **too_many(1)))  # type: ignore[arg-type]
    df = fx.load_export(1, token=sandbox.token, base_url=sandbox.base_url, progress=None)
    assert len(df) == 250
    reads = on_route(sandbox, "/open/forms/1")
    reads = [r for r in reads if r.path.endswith("/open/forms/1")]
    assert [r.status for r in reads] == [429, 200]
    assert reads[1].at - reads[0].at >= RETRY_AFTER


def test_a_storm_that_never_ends_is_reported(
    sandbox: Sandbox, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(fx.config, "RATE_LIMIT_RETRIES", 2)
    monkeypatch.setattr(fx.config, "MIN_RATE_LIMIT_WAIT", 0.01)
    sandbox.faults.add(Fault("form", **too_many(None, retry_after=0)))  # type: ignore[arg-type]
    with pytest.raises(fx.RateLimitError, match="rate limit"):
        fx.load_export(1, token=sandbox.token, base_url=sandbox.base_url, progress=None)
    assert len(on_route(sandbox, "/open/forms/1")) == 3

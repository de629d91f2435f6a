"""Signed-link downloads: resume, hosts that ignore Range, lying lengths, expiry."""

from __future__ import annotations

from pathlib import Path

import pytest
import requests

import formexport as fx
from formexport.sandbox import Fault, Sandbox
from tests.integration.helpers import exports


def finished_job(sandbox: Sandbox) -> fx.ExportJob:
    sandbox.config.status_access = "open"
    client = fx.Client(token=sandbox.token, base_url=sandbox.base_url)
    job = client.start_export(2)
    job.wait(progress=None)
    return job


def original(job: fx.ExportJob) -> bytes:
    assert job.status is not None
    assert job.status.file_url is not None
    return requests.get(job.status.file_url, timeout=10).content


def downloads(sandbox: Sandbox) -> list[dict[str, str]]:
    return [dict(r.headers) for r in sandbox.requests if "/local/temp/" in r.path]


@pytest.mark.parametrize("cut", [1, 100_000, 1_000_000])
def test_cut_download_resumes_with_range(sandbox: Sandbox, tmp_path: Path, cut: int) -> None:
    job = finished_job(sandbox)
    sandbox.faults.add(Fault("download", cut_after=cut))
    path = job.download(tmp_path / "events.csv")
    assert path.read_bytes() == original(job)
    ranges = [h.get("Range") for h in downloads(sandbox)]
    assert ranges[:2] == [None, f"bytes={cut}-"]


def test_host_that_ignores_range_is_downloaded_again(sandbox: Sandbox, tmp_path: Path) -> None:
    job = finished_job(sandbox)
    sandbox.config.range_requests = False
    sandbox.faults.add(Fault("download", cut_after=300_000))
    path = job.download(tmp_path / "events.csv")
    assert path.read_bytes() == original(job)


def test_body_shorter_than_its_length_is_resumed(sandbox: Sandbox, tmp_path: Path) -> None:
    job = finished_job(sandbox)
    sandbox.faults.add(Fault("download", length_mismatch=10))
    path = job.download(tmp_path / "events.csv")
    assert path.read_bytes() == original(job)


def test_expired_link_starts_a_fresh_export(sandbox: Sandbox, tmp_path: Path) -> None:
    job = finished_job(sandbox)
    first_job = job.job_id
    sandbox.clock.advance(25 * 3600)
    path = job.download(tmp_path / "events.csv")
    assert job.job_id != first_job
    assert len(exports(sandbox)) == 2
    assert path.read_bytes() == original(job)


def test_link_refused_by_the_host_starts_a_fresh_export(sandbox: Sandbox, tmp_path: Path) -> None:
    job = finished_job(sandbox)
    sandbox.faults.add(Fault("download", http_status=401, body='{"message":""}'))
    job.download(tmp_path / "events.csv")
    assert len(exports(sandbox)) == 2


def test_expired_link_of_an_attached_job_raises(sandbox: Sandbox, tmp_path: Path) -> None:
    sandbox.config.status_ttl_seconds = 30 * 3600  # so the link dies before the status
    job = finished_job(sandbox)
    assert job.job_id is not None
    sandbox.clock.advance(25 * 3600)
    attached = fx.ExportJob.attach(2, job.job_id, token=sandbox.token, base_url=sandbox.base_url)
    with pytest.raises(fx.ExportExpiredError, match="expired"):
        attached.download(tmp_path / "events.csv")
    assert not (tmp_path / "events.csv").exists()


def test_attach_picks_up_a_running_job(sandbox: Sandbox) -> None:
    sandbox.config.status_access = "open"
    sandbox.config.job_progression = "per_poll"
    with fx.Client(token=sandbox.token, base_url=sandbox.base_url) as client:
        job_id = client.start_export(2).job_id
        assert job_id is not None
        attached = client.attach(2, job_id)
        assert attached.refresh().status in ("queued", "processing")
        assert len(attached.to_dataframe()) == 2500
    assert len(exports(sandbox)) == 1


def test_status_expired_while_waiting_starts_a_fresh_export(sandbox: Sandbox) -> None:
    sandbox.config.status_access = "open"
    sandbox.config.job_progression = "per_poll"
    with fx.Client(token=sandbox.token, base_url=sandbox.base_url) as client:
        job = client.start_export(2)
        sandbox.clock.advance(7300)  # past the 2 h the server keeps a job's status
        assert len(job.to_dataframe()) == 2500
    assert len(exports(sandbox)) == 2

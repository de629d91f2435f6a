"""Links that expire mid-download and job status that expires while waiting: a fresh export,
never a file mixing bytes of two exports, or ExportExpiredError with nothing written."""

from __future__ import annotations

from pathlib import Path

import pytest

import formexport as fx
from formexport import config
from formexport.sandbox import Fault, Sandbox
from tests.reliability.figures import bytes_lost, doc_says
from tests.reliability.helpers import (
    exports,
    file_requests,
    finished_job,
    leftovers,
    served_bytes,
)

DAY_AND_AN_HOUR = 25 * 3600


def test_link_expiring_mid_download_gives_the_fresh_export_whole(
    sandbox: Sandbox, tmp_path: Path
) -> None:
    job = finished_job(sandbox)
    first = served_bytes(job)
    first_job = job.job_id
    sandbox.clear_requests()
    # A new submission makes the next export differ from the one being downloaded.
    sandbox.add_submission(2, {}, created_at=sandbox.clock.now() + 60)
    sandbox.faults.add(Fault("download", cut_after=400_000, advance_clock=DAY_AND_AN_HOUR))
    path = job.download(tmp_path / "events.csv")
    statuses = [r.status for r in file_requests(sandbox)]
    second = served_bytes(job)
    assert job.job_id != first_job
    assert second != first
    assert leftovers(tmp_path) == ["events.csv"]
    assert len(exports(sandbox)) == 1
    cut, expired, fresh, end = statuses  # the resume met the expired link
    row = "Link expires while its download is under way"
    said = f"File requests: {cut} (cut), {expired}, {fresh}, {end} (end check)"
    doc_says(row, "Measured", said)
    # Not first[:400_000] + second[400_000:]: the new export whole.
    doc_says(row, "Bytes lost", bytes_lost(path.read_bytes(), second))


def test_link_expiring_mid_download_on_s3(sandbox: Sandbox, tmp_path: Path) -> None:
    sandbox.config.file_host = "s3"
    job = finished_job(sandbox)
    sandbox.clear_requests()
    sandbox.add_submission(2, {}, created_at=sandbox.clock.now() + 60)
    sandbox.faults.add(Fault("download", cut_after=10_000, advance_clock=8 * 86400))
    path = job.download(tmp_path / "events.csv")
    assert [r.status for r in file_requests(sandbox)][:2] == [200, 403]
    lost = bytes_lost(path.read_bytes(), served_bytes(job))
    doc_says("Same on the S3 host (clock moved 8 days)", "Bytes lost", lost)


def test_status_expiring_while_waiting_starts_a_fresh_export(
    sandbox: Sandbox, tmp_path: Path
) -> None:
    sandbox.config.status_access = "open"
    sandbox.config.job_progression = "per_poll"
    with fx.Client(token=sandbox.token, base_url=sandbox.base_url) as client:
        job = client.start_export(2)
        first_job = job.job_id
        sandbox.clock.advance(sandbox.config.status_ttl_seconds + 60)
        df = job.to_dataframe()
        path = job.download(tmp_path / "events.csv")
    assert df["id"].is_unique
    assert job.job_id != first_job
    assert len(exports(sandbox)) == 2
    row = "Job status expires while waiting"
    doc_says(row, "Measured", f"{len(df)} rows, each once")
    doc_says(row, "Bytes lost", bytes_lost(path.read_bytes(), served_bytes(job)))


def test_links_that_keep_expiring_end_in_export_expired(sandbox: Sandbox, tmp_path: Path) -> None:
    job = finished_job(sandbox)
    sandbox.faults.add(Fault("download", http_status=403, body="", times=None))
    with pytest.raises(fx.ExportExpiredError, match="start a new export"):
        job.download(tmp_path / "events.csv")
    assert leftovers(tmp_path) == []
    started = len(exports(sandbox))
    assert started == 1 + config.MAX_REEXPORTS
    doc_says("Every link refused (403)", "Measured", f"{started} export requests")


def test_expired_link_of_an_attached_job_is_export_expired(
    sandbox: Sandbox, tmp_path: Path
) -> None:
    # An attached job may not start exports of its own: it only knows the job it was given.
    sandbox.config.status_ttl_seconds = 30 * 3600  # the status outlives the link
    job = finished_job(sandbox)
    assert job.job_id is not None
    sandbox.clock.advance(DAY_AND_AN_HOUR)
    attached = fx.ExportJob.attach(2, job.job_id, token=sandbox.token, base_url=sandbox.base_url)
    with pytest.raises(fx.ExportExpiredError, match="start a new export"):
        attached.download(tmp_path / "events.csv")
    assert [r.status for r in file_requests(sandbox)] == [401]
    assert leftovers(tmp_path) == []
    assert len(exports(sandbox)) == 1

"""Picking a job up again after a restart, and the opt-in cache, over real HTTP."""

from __future__ import annotations

import gc
import os
import stat
from datetime import timedelta
from pathlib import Path

import pandas as pd
import pytest

import formexport as fx
from formexport import html_tables
from formexport.cli import main
from formexport.local.export_cache import ExportCache
from formexport.local.job_records import JobRecords
from formexport.opnform.endpoints import OpnFormAPI
from formexport.sandbox import Sandbox
from tests.integration.helpers import exports, served


def _open(sandbox: Sandbox) -> None:
    sandbox.config.status_access = "open"
    sandbox.config.job_progression = "per_poll"


def test_a_restarted_kernel_picks_up_the_running_job(env: Sandbox) -> None:
    _open(env)
    env.config.job_progression = "stuck"
    with pytest.raises(fx.ExportTimeoutError) as caught:
        fx.load_export(2, progress=None, timeout=0.2)
    job_id = caught.value.job_id
    assert [r.job_id for r in JobRecords().all()] == [job_id]
    # The kernel restarts (a new client, nothing in memory); the queue worker comes back.
    env.config.job_progression = "per_poll"
    frame = fx.load_export(2, progress=None)
    assert len(frame) == 2500
    assert len(exports(env)) == 1
    assert served(env, "GET", job_id)  # the same job was polled to the end


def test_a_delivered_job_is_never_picked_up_again(env: Sandbox) -> None:
    _open(env)
    fx.load_export(2, progress=None)
    record = JobRecords().all()[0]
    assert record.delivered
    assert record.expires is not None  # its link still works, yet the job is spent
    fx.load_export(2, progress=None)
    assert len(exports(env)) == 2
    assert JobRecords().all()[0].job_id != record.job_id


def test_an_undelivered_job_is_not_picked_up_once_its_link_expired(env: Sandbox) -> None:
    _open(env)
    env.config.status_ttl_seconds = 30 * 3600  # the status outlives the link
    with fx.Client() as client:
        job = client.start_export(2)
        job.wait(progress=None)  # finished, never downloaded
    env.clock.advance(25 * 3600)
    assert len(fx.load_export(2, progress=None)) == 2500
    assert len(exports(env)) == 2
    assert JobRecords().all()[0].job_id != job.job_id


def test_another_request_starts_its_own_job(env: Sandbox) -> None:
    _open(env)
    fx.load_export(2, progress=None)
    fx.load_export(2, columns=["Full name", "created_at"], progress=None)
    assert len(exports(env)) == 2
    assert len(JobRecords().all()) == 2


def test_a_failed_job_is_not_picked_up(env: Sandbox) -> None:
    _open(env)
    env.config.fail_jobs = "Out of memory"
    with pytest.raises(fx.ExportFailedError):
        fx.load_export(2, progress=None)
    env.config.fail_jobs = None
    assert len(fx.load_export(2, progress=None)) == 2500
    assert len(exports(env)) == 2


def test_a_job_unknown_to_the_server_is_forgotten(env: Sandbox) -> None:
    _open(env)
    env.config.job_progression = "stuck"
    with pytest.raises(fx.ExportTimeoutError):
        fx.load_export(2, progress=None, timeout=0.2)
    env.reset()  # the server lost every job (its cache was flushed)
    _open(env)
    assert len(fx.load_export(2, progress=None)) == 2500
    assert len(exports(env)) == 1  # counted since the reset
    assert len(JobRecords().all()) == 1


def test_reattach_can_be_turned_off(client: fx.Client, sandbox: Sandbox) -> None:
    _open(sandbox)
    first = client.start_export(2)
    second = client.start_export(2, reattach=False)
    assert first.job_id != second.job_id
    again = client.start_export(2)
    assert again.job_id == second.job_id


def test_the_cache_serves_the_same_request_without_exporting(env: Sandbox) -> None:
    _open(env)
    first = fx.load_export(2, progress=None, cache=True)
    env.clear_requests()
    second = fx.load_export(2, progress=None, cache=True)
    pd.testing.assert_frame_equal(first, second)
    assert exports(env) == []
    assert not served(env, "GET", "/export/status")
    entries = ExportCache().entries()
    assert len(entries) == 1
    assert stat.S_IMODE(entries[0].path.stat().st_mode) == 0o600
    assert stat.S_IMODE(entries[0].path.parent.stat().st_mode) == 0o700
    assert stat.S_IMODE(os.stat(fx.cache_dir()).st_mode) == 0o700


def test_cache_keys_cover_columns_and_age(env: Sandbox, tmp_path: Path) -> None:
    fx.load_export(1, progress=None, cache=True)
    env.clear_requests()
    narrow = fx.load_export(1, columns=["Name"], progress=None, cache=True)
    assert list(narrow.columns) == ["id", "submission_id", "Name"]
    assert len(exports(env)) == 1  # other columns: not the cached file
    env.clear_requests()
    fx.load_export(1, progress=None, max_age=0)  # too old by definition: exported again
    assert len(exports(env)) == 1
    env.clear_requests()
    out = fx.export_to_parquet(1, tmp_path / "f.parquet", progress=None, max_age=3600)
    csv = fx.download_export(1, tmp_path / "f.csv", progress=None, cache=True)
    assert exports(env) == []
    assert len(pd.read_parquet(out)) == 250
    assert csv.read_bytes() == ExportCache().entries()[0].path.read_bytes()


def test_without_cache_nothing_is_kept(env: Sandbox) -> None:
    fx.load_export(1, progress=None)
    assert ExportCache().entries() == []


def test_clearing_removes_exports_and_records(env: Sandbox) -> None:
    _open(env)
    fx.load_export(2, progress=None, cache=True)
    assert fx.clear_cache() == 3  # the CSV, its completion file, one recorded job
    assert ExportCache().entries() == []
    assert JobRecords().all() == []


def test_the_cache_command(env: Sandbox, capsys: pytest.CaptureFixture[str]) -> None:
    _open(env)
    fx.load_export(2, progress=None, cache=True)
    assert main(["cache"]) == 0
    listing = capsys.readouterr().out
    assert "1 cached exports, 1 recorded jobs" in listing
    assert JobRecords().all()[0].job_id in listing
    assert env.token not in listing
    assert main(["cache", "clear"]) == 0
    assert "Removed 3" in capsys.readouterr().out
    assert main(["cache", "dir"]) == 0
    assert capsys.readouterr().out.strip() == str(fx.cache_dir())


def test_notebook_reprs_show_state_and_never_secrets(client: fx.Client, sandbox: Sandbox) -> None:
    _open(sandbox)
    job = client.start_export(2)
    before = job._repr_html_()
    assert job.job_id is not None
    assert job.job_id in before
    assert "not checked yet" in before
    job.wait(progress=None)
    after = job._repr_html_()
    status = job.status
    assert status is not None
    assert status.file_url
    for html in (after, status._repr_html_()):
        assert "completed" in html
        assert "100%" in html
        assert "2500 of 2500" in html
        assert "left (until" in html
        assert sandbox.token not in html
        assert "signature" not in html
        assert status.file_url not in html
    assert status.expires_at is not None
    later = status.expires_at + timedelta(seconds=1)
    assert html_tables.time_left(status.expires_at, later).startswith("expired")


def _closed_sessions(monkeypatch: pytest.MonkeyPatch) -> list[OpnFormAPI]:
    """The API sessions closed from now on, in order."""
    closed: list[OpnFormAPI] = []
    close = OpnFormAPI.close

    def recorded(api: OpnFormAPI) -> None:
        closed.append(api)
        close(api)

    monkeypatch.setattr(OpnFormAPI, "close", recorded)
    return closed


def test_a_job_attached_without_a_client_closes_the_session_it_opened(
    env: Sandbox, monkeypatch: pytest.MonkeyPatch
) -> None:
    closed = _closed_sessions(monkeypatch)
    job = fx.ExportJob.attach(2, "a1b2c3")
    assert closed == []
    job.close()
    assert len(closed) == 1
    job.close()  # closing again closes nothing twice
    assert len(closed) == 1
    # A job dropped without close() closes its session when it is freed.
    fx.ExportJob.attach(2, "a1b2c3")
    gc.collect()
    assert len(closed) == 2


def test_a_job_attached_with_a_client_leaves_the_client_s_session_open(
    client: fx.Client, sandbox: Sandbox, monkeypatch: pytest.MonkeyPatch
) -> None:
    closed = _closed_sessions(monkeypatch)
    fx.ExportJob.attach(2, "a1b2c3", client=client).close()
    assert closed == []
    assert client.get_form(2).id == 2


def test_a_failed_attach_closes_the_session_it_opened(
    env: Sandbox, monkeypatch: pytest.MonkeyPatch
) -> None:
    closed = _closed_sessions(monkeypatch)
    with pytest.raises(fx.NotFoundError):
        fx.ExportJob.attach(404404, "a1b2c3")
    assert len(closed) == 1

"""A re-run returns the submissions of now; only this machine's undelivered job is picked up."""

from __future__ import annotations

import logging
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pandas as pd
import pytest

import formexport as fx
from formexport.local.job_records import JobRecords
from formexport.progress.events import ProgressEvent
from formexport.sandbox import Sandbox
from tests.integration.helpers import exports, served

Verb = Callable[..., int]


def add_submission(sandbox: Sandbox, form: int = 2) -> int:
    fields = fx.Client(token=sandbox.token, base_url=sandbox.base_url).get_form(form).fields
    return sandbox.add_submission(form, {fields[0].id: "Arrived since the last run"})


def frame_rows(folder: Path, **options: Any) -> int:
    return len(fx.load_export(2, **options))


def parquet_rows(folder: Path, **options: Any) -> int:
    return len(pd.read_parquet(fx.export_to_parquet(2, folder / "events.parquet", **options)))


def csv_rows(folder: Path, **options: Any) -> int:
    return len(pd.read_csv(fx.download_export(2, folder / "events.csv", **options), dtype=str))


VERBS = [frame_rows, parquet_rows, csv_rows]


@pytest.mark.parametrize("status_access", ["open", "blocked"])
@pytest.mark.parametrize("verb", VERBS, ids=lambda verb: verb.__name__)
def test_a_rerun_returns_the_submissions_that_arrived(
    env: Sandbox, tmp_path: Path, verb: Callable[..., int], status_access: str
) -> None:
    env.config.status_access = status_access
    assert verb(tmp_path, progress=None) == 2500
    add_submission(env)
    assert verb(tmp_path, progress=None) == 2501
    if status_access == "open":
        assert len(exports(env)) == 2  # a background job each, the first one never reused


# Every way an ExportJob hands its data over; each must spend the job's record.
def job_frame(job: fx.ExportJob, folder: Path) -> int:
    return len(job.to_dataframe())


def job_arrow(job: fx.ExportJob, folder: Path) -> int:
    return int(job.to_arrow().num_rows)


def job_parquet(job: fx.ExportJob, folder: Path) -> int:
    return len(pd.read_parquet(job.to_parquet(folder / "events.parquet")))


def job_download(job: fx.ExportJob, folder: Path) -> int:
    return len(pd.read_csv(job.download(folder / "events.csv"), dtype=str))


def background_frame(folder: Path) -> int:
    return len(fx.start_export(2, progress=None).result())


def background_file(folder: Path) -> int:
    path = fx.start_export(2, to=folder / "events.parquet", progress=None).result()
    return len(pd.read_parquet(path))


@pytest.mark.parametrize(
    "deliver",
    [job_frame, job_arrow, job_parquet, job_download],
    ids=lambda deliver: deliver.__name__,
)
def test_a_job_that_delivered_is_never_picked_up(
    env: Sandbox, tmp_path: Path, deliver: Callable[[fx.ExportJob, Path], int]
) -> None:
    env.config.status_access = "open"
    with fx.Client() as client:
        assert deliver(client.start_export(2), tmp_path) == 2500
    add_submission(env)
    assert len(fx.load_export(2, progress=None)) == 2501  # not the stale 2500 of that job
    assert len(exports(env)) == 2


@pytest.mark.parametrize(
    "deliver", [background_frame, background_file], ids=lambda deliver: deliver.__name__
)
def test_a_background_export_that_delivered_is_never_picked_up(
    env: Sandbox, tmp_path: Path, deliver: Callable[[Path], int]
) -> None:
    env.config.status_access = "open"
    assert deliver(tmp_path) == 2500
    add_submission(env)
    assert deliver(tmp_path) == 2501
    assert len(exports(env)) == 2


@pytest.mark.parametrize("verb", VERBS, ids=lambda verb: verb.__name__)
def test_a_timed_out_job_is_picked_up_once_and_only_once(
    env: Sandbox, tmp_path: Path, verb: Callable[..., int]
) -> None:
    env.config.status_access = "open"
    env.config.job_progression = "stuck"
    with pytest.raises(fx.ExportTimeoutError) as caught:
        verb(tmp_path, progress=None, timeout=0.2)
    job_id = caught.value.job_id
    assert job_id is not None
    env.config.job_progression = "immediate"  # the queue worker comes back
    shown: list[ProgressEvent] = []
    assert verb(tmp_path, progress=shown.append) == 2500
    assert len(exports(env)) == 1  # the job of back then, picked up
    assert served(env, "GET", job_id)
    note = shown[0]
    assert (note.phase, note.job_id) == ("export", job_id)
    assert job_id in note.message
    started = JobRecords().all()[0].started
    assert f"started {started:%Y-%m-%d %H:%M} UTC" in note.message
    assert "reattach=False" in note.message
    # Its data was delivered: the next call exports afresh and sees a new submission.
    add_submission(env)
    assert verb(tmp_path, progress=None) == 2501
    assert len(exports(env)) == 2


def test_reattach_false_always_starts_a_fresh_export(env: Sandbox, tmp_path: Path) -> None:
    env.config.status_access = "open"
    env.config.job_progression = "stuck"
    with pytest.raises(fx.ExportTimeoutError) as caught:
        fx.load_export(2, progress=None, timeout=0.2)
    env.config.job_progression = "immediate"
    env.clear_requests()
    assert len(fx.load_export(2, progress=None, reattach=False)) == 2500
    assert len(exports(env)) == 1
    assert not served(env, "GET", str(caught.value.job_id))


def test_the_pickup_shows_in_log_lines(env: Sandbox, caplog: pytest.LogCaptureFixture) -> None:
    env.config.status_access = "open"
    env.config.job_progression = "stuck"
    with pytest.raises(fx.ExportTimeoutError) as caught:
        fx.load_export(2, progress=None, timeout=0.2)
    env.config.job_progression = "immediate"
    with caplog.at_level(logging.INFO, logger="formexport.progress"):
        fx.load_export(2, progress="log")
    shown = [r.getMessage() for r in caplog.records if r.name == "formexport.progress"]
    assert f"picked up export job {caught.value.job_id}" in shown[0]


def test_one_server_spelled_two_ways_is_one_request(env: Sandbox) -> None:
    env.config.status_access = "open"
    env.config.job_progression = "stuck"
    spelled = env.base_url.replace("http://", "HTTP://") + "/"
    with pytest.raises(fx.ExportTimeoutError):
        fx.load_export(2, base_url=spelled, progress=None, timeout=0.2)
    env.config.job_progression = "immediate"
    assert len(fx.load_export(2, progress=None)) == 2500
    assert len(exports(env)) == 1  # picked up under the other spelling


def test_export_forms_reruns_see_new_submissions(env: Sandbox, tmp_path: Path) -> None:
    env.config.status_access = "open"
    first = fx.export_forms([2], tmp_path, progress=None)
    assert {r.form_id: r.rows for r in first.forms.values()} == {2: 2500}
    add_submission(env)
    second = fx.export_forms([2], tmp_path, progress=None)
    assert {r.form_id: r.rows for r in second.forms.values()} == {2: 2501}
    assert len(exports(env)) == 2
    assert len(pd.read_parquet(tmp_path / "form_id=2")) == 2501


def cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "formexport", "export", "2", *args],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def test_the_command_reruns_see_new_submissions(env: Sandbox, tmp_path: Path) -> None:
    env.config.status_access = "open"
    out = tmp_path / "events.parquet"
    assert cli("-o", str(out), "--no-progress").returncode == 0
    add_submission(env)
    assert cli("-o", str(out), "--no-progress").returncode == 0
    assert len(pd.read_parquet(out)) == 2501
    assert len(exports(env)) == 2


def test_the_command_picks_up_or_not(env: Sandbox, tmp_path: Path) -> None:
    env.config.status_access = "open"
    env.config.job_progression = "stuck"
    out = tmp_path / "events.csv"
    assert cli("-o", str(out), "--timeout", "0.3").returncode == 4
    job_id = JobRecords().all()[0].job_id
    env.config.job_progression = "immediate"
    fresh = cli("-o", str(out), "--no-reattach")
    assert fresh.returncode == 0, fresh.stderr
    assert "picked up" not in fresh.stderr
    assert len(exports(env)) == 2
    # The fresh export took the request's place: nothing is left to pick up.
    again = cli("-o", str(out))
    assert again.returncode == 0, again.stderr
    assert len(exports(env)) == 3
    assert job_id not in again.stderr


def test_the_command_announces_a_pickup(env: Sandbox, tmp_path: Path) -> None:
    env.config.status_access = "open"
    env.config.job_progression = "stuck"
    out = tmp_path / "events.csv"
    assert cli("-o", str(out), "--timeout", "0.3").returncode == 4
    job_id = JobRecords().all()[0].job_id
    env.config.job_progression = "immediate"
    result = cli("-o", str(out))
    assert result.returncode == 0, result.stderr
    # Not a terminal: the progress display is log lines, and the pickup is one of them.
    assert f"Server export (job {job_id}): 100% - picked up export job {job_id}" in result.stderr
    assert "--no-reattach" in result.stderr
    assert len(exports(env)) == 1

"""Several exports of one form at once: each delivers its own request's columns and rows.

OpnForm names a server job's file after the form and the second the job finished, so two jobs
of one form finishing in the same second share one file. formexport's exports of a form take
turns on this machine (threads and processes, the form named by id or slug), and every server
job's file is checked against its request before anything is handed over; a file that is
another export's is exported again. The emulator reproduces the clash (files named by form and
second, the later replacing the earlier) and a third client that is not formexport
(``Sandbox.add_rival_export``).
"""

from __future__ import annotations

import os
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

import pandas as pd
import pytest

import formexport as fx
from formexport import config
from formexport.jobs.cached import CachedExport
from formexport.progress.events import ProgressEvent
from formexport.sandbox import Fault, Sandbox
from tests.integration.helpers import submission_ids
from tests.reliability.helpers import FIGURES, LogCapture, exports

BOUND = 120.0  # seconds: a bound on waits for what takes a few
FULL = [
    "id",
    "submission_id",
    "Full name",
    "Email (work)",
    "Email (home)",
    "Ticket type",
    "Sessions",
    "Documents",
    "Signature",
    "Dates (start)",
    "Dates (end)",
    "Satisfaction",
    "Newsletter",
    "created_at",
    "status",
]
NARROW = ["id", "submission_id", "Email (work)", "created_at", "status"]
# Runs of the same two exports: with status hidden they are answered in batches (slower, and no
# file is shared), so fewer.
RUNS = {"open": 4, "blocked": 2}


def kwargs(sandbox: Sandbox) -> dict[str, Any]:
    return {"token": sandbox.token, "base_url": sandbox.base_url, "progress": None}


def default_columns(sandbox: Sandbox) -> list[str]:
    """The column keys of a request for every field of form 2 (a third client's request)."""
    with fx.Client(token=sandbox.token, base_url=sandbox.base_url) as client:
        return list(client.get_form(2).default_columns())


def slug(sandbox: Sandbox) -> str:
    with fx.Client(token=sandbox.token, base_url=sandbox.base_url) as client:
        return client.get_form(2).slug


def assert_own(frame: pd.DataFrame, columns: list[str], ids: list[int]) -> None:
    """The frame holds these columns and exactly these submissions."""
    assert frame.columns.tolist() == columns
    assert sorted(frame["submission_id"].tolist()) == sorted(ids)


@pytest.mark.parametrize("status_access", ["open", "blocked"])
def test_an_id_and_its_slug_at_once_each_get_their_own_columns_and_rows(
    sandbox: Sandbox, status_access: str
) -> None:
    sandbox.config.status_access = status_access
    everyone, name = submission_ids(sandbox, 2), slug(sandbox)
    again, runs = [], RUNS[status_access]
    for _ in range(runs):
        sandbox.clear_requests()
        every = fx.start_export(2, **kwargs(sandbox))
        few = fx.start_export(name, columns=["Email (work)", "created_at"], **kwargs(sandbox))
        whole, narrow = every.result(timeout=BOUND), few.result(timeout=BOUND)
        assert_own(whole, FULL, everyone)
        assert_own(narrow, NARROW, everyone)
        emails = narrow.set_index("submission_id")["Email (work)"]
        assert emails.equals(whole.set_index("submission_id")["Email (work)"].loc[emails.index])
        again.append(len(exports(sandbox)) - (2 if status_access == "open" else 6))
    # The two took turns: neither met the other's file, so neither was exported again.
    assert again == [0] * runs
    FIGURES[f"id and slug at once ({status_access} status), runs right"] = f"{runs} of {runs}"


def test_an_export_waiting_for_its_turn_says_so(sandbox: Sandbox, logs: LogCapture) -> None:
    sandbox.config.status_access = "open"
    sandbox.config.job_progression = "stuck"
    first = fx.start_export(2, columns=["Full name"], **kwargs(sandbox))
    shown: list[ProgressEvent] = []
    second = fx.start_export(slug(sandbox), **{**kwargs(sandbox), "progress": shown.append})
    until_true(lambda: first.job is not None)
    until_true(lambda: any("another export of this form" in e.message for e in shown))
    assert len(exports(sandbox)) == 1  # the second waits before its request
    assert "Waiting for the turn at form 2" in logs.text()
    sandbox.config.job_progression = "immediate"
    assert first.result(timeout=BOUND).columns.tolist()[2] == "Full name"
    assert second.result(timeout=BOUND).columns.tolist() == FULL
    assert len(exports(sandbox)) == 2


def test_a_cancelled_export_stops_waiting_for_its_turn(sandbox: Sandbox) -> None:
    sandbox.config.status_access = "open"
    sandbox.config.job_progression = "stuck"
    first = fx.start_export(2, **kwargs(sandbox))
    shown: list[ProgressEvent] = []
    second = fx.start_export(slug(sandbox), **{**kwargs(sandbox), "progress": shown.append})
    until_true(lambda: any("another export of this form" in e.message for e in shown))
    assert second.cancel()
    assert shown[-1].phase == "stopped"
    # Its thread ends while the first still holds the turn: the wait ended on the cancel.
    until_true(lambda: not any(t.name.endswith(slug(sandbox)) for t in threading.enumerate()))
    sandbox.config.job_progression = "immediate"
    assert first.result(timeout=BOUND).shape == (2500, 15)
    assert len(exports(sandbox)) == 1  # the cancelled one never sent its request
    assert fx.load_export(2, **kwargs(sandbox)).shape == (2500, 15)  # nobody holds the turn


def test_a_turn_wait_ends_at_the_timeout(sandbox: Sandbox) -> None:
    sandbox.config.status_access = "open"
    sandbox.config.job_progression = "stuck"
    first = fx.start_export(2, **kwargs(sandbox))
    until_true(lambda: first.job is not None)
    with pytest.raises(fx.ExportTimeoutError, match="another export of form 2 on this machine"):
        fx.load_export(slug(sandbox), timeout=0.3, **kwargs(sandbox))
    assert len(exports(sandbox)) == 1
    sandbox.config.job_progression = "immediate"
    assert first.result(timeout=BOUND).shape == (2500, 15)


CLI = [sys.executable, "-m", "formexport", "export", "2"]


def test_two_processes_writing_two_parquet_files_of_one_form_each_get_their_own(
    sandbox: Sandbox, tmp_path: Path
) -> None:
    sandbox.config.status_access = "open"
    env = {
        **os.environ,
        config.TOKEN_ENV: sandbox.token,
        config.BASE_URL_ENV: sandbox.base_url,
        config.PROGRESS_ENV: "log",
    }
    everyone, waited = submission_ids(sandbox, 2), 0
    for run in range(3):
        # Slow downloads: each process holds the form's turn for a second or more.
        sandbox.faults.add(Fault("download", bytes_per_second=1_000_000, times=2))
        every, few = tmp_path / f"all-{run}.parquet", tmp_path / f"few-{run}.parquet"
        processes = [
            subprocess.Popen(command, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
            for command in (
                [*CLI, "-o", str(every)],
                [*CLI, "-o", str(few), "--columns", "Email (work)", "created_at"],
            )
        ]
        errors = [p.communicate(timeout=BOUND)[1].decode() for p in processes]
        assert [p.returncode for p in processes] == [0, 0], errors
        assert_own(pd.read_parquet(every), FULL, everyone)
        assert_own(pd.read_parquet(few), NARROW, everyone)
        waited += any("another export of this form" in text for text in errors)
        assert not any("another export's" in text for text in errors)  # no clash to catch
    assert waited == 3  # every run, one process waited for the other's turn
    FIGURES["two processes, one form, two Parquet files: runs right"] = "3 of 3"


@pytest.mark.parametrize("deliver", ["frame", "parquet", "csv"])
def test_a_third_client_finishing_in_the_same_second_is_caught_and_exported_again(
    sandbox: Sandbox, tmp_path: Path, logs: LogCapture, deliver: str
) -> None:
    sandbox.config.status_access = "open"
    sandbox.add_rival_export(2, ["created_at"])  # its file replaces the next job's
    frame = delivered(sandbox, tmp_path, deliver)
    assert_own(frame, FULL, submission_ids(sandbox, 2))
    assert len(exports(sandbox)) == 2  # this export, exported again once
    assert "another export's" in logs.text()
    FIGURES["third client's export in the same second: export requests"] = len(exports(sandbox))


def delivered(sandbox: Sandbox, tmp_path: Path, deliver: str, **options: Any) -> pd.DataFrame:
    """Form 2 exported the way ``deliver`` names, as a frame."""
    options = {**kwargs(sandbox), **options}
    if deliver == "parquet":
        return pd.read_parquet(fx.export_to_parquet(2, tmp_path / "out.parquet", **options))
    if deliver == "csv":
        path = fx.download_export(2, tmp_path / "out.csv", **options)
        with fx.Client(token=sandbox.token, base_url=sandbox.base_url) as client:
            form = client.get_form(2)  # the file read as the frame of an export of every field
            saved = fx.ExportJob(client.api, form, form.default_columns(), CachedExport(2, path))
            return saved.to_dataframe()
    return fx.load_export(2, **options)


def test_a_file_of_other_rows_with_the_same_columns_is_caught(
    sandbox: Sandbox, logs: LogCapture
) -> None:
    sandbox.config.status_access = "open"
    everyone = submission_ids(sandbox, 2)
    # Every column, but 1500 chosen submissions: only the row count tells the files apart.
    sandbox.add_rival_export(2, default_columns(sandbox), submission_ids=everyone[:1500])
    assert_own(fx.load_export(2, **kwargs(sandbox)), FULL, everyone)
    assert "it holds 1500 rows where this export's job counted 2500" in logs.text()


def test_a_file_of_other_submissions_than_chosen_is_caught(
    sandbox: Sandbox, logs: LogCapture
) -> None:
    sandbox.config.status_access = "open"
    completed = fx.load_export(2, status="completed", **kwargs(sandbox))
    # The whole form, with the same columns: it holds the partial submissions too.
    sandbox.add_rival_export(2, default_columns(sandbox))
    sandbox.clear_requests()
    chosen = fx.load_export(2, status="completed", **kwargs(sandbox))
    assert_own(chosen, FULL, completed["submission_id"].tolist())
    assert len(exports(sandbox)) == 2
    assert "it holds submissions this export did not choose" in logs.text()


@pytest.mark.parametrize("deliver", ["frame", "parquet", "csv"])
def test_a_clash_past_the_bound_fails_and_says_why(
    sandbox: Sandbox, tmp_path: Path, deliver: str
) -> None:
    sandbox.config.status_access = "open"
    sandbox.add_rival_export(2, ["created_at"], times=config.SAME_SECOND_TRIES)
    with pytest.raises(fx.ExportFailedError) as failed:
        delivered(sandbox, tmp_path, deliver)
    message = str(failed.value)
    assert f"got another export's file {config.SAME_SECOND_TRIES} times" in message
    assert "names an export's file after the form and the second" in message
    assert "Export again once they are done" in message
    assert failed.value.job_id is not None
    assert len(exports(sandbox)) == config.SAME_SECOND_TRIES
    assert not (tmp_path / "out.parquet").exists()
    assert not (tmp_path / "out.csv").exists()
    assert [p.name for p in tmp_path.iterdir()] == []  # no temporary file either
    FIGURES["clash every time: exports before ExportFailedError"] = len(exports(sandbox))


def test_a_form_edited_between_request_and_read_stays_a_warning(sandbox: Sandbox) -> None:
    sandbox.config.status_access = "open"
    sandbox.config.job_progression = "stuck"
    with fx.Client(token=sandbox.token, base_url=sandbox.base_url) as client:
        job = client.start_export(2)  # the form read, the job queued
        name = next(f for f in job.form.fields if f.name == "Full name")
        sandbox.rename_field(2, name.id, "Name in full")  # the job writes the new header
        sandbox.config.job_progression = "immediate"
        with pytest.warns(fx.ColumnPlanWarning, match="do not match the form's current fields"):
            frame = job.to_dataframe()
    assert frame.columns.tolist()[2] == "Name in full"
    assert len(frame) == 2500
    assert len(exports(sandbox)) == 1  # not taken for another export's file


def until_true(condition: Any) -> None:
    deadline = time.monotonic() + 30
    while not condition():
        assert time.monotonic() < deadline, "never happened"
        time.sleep(0.01)

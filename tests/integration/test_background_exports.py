"""Exports in the background against the emulator: start now, keep working, collect later."""

from __future__ import annotations

import asyncio
import concurrent.futures
import logging
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pandas as pd
import pytest

import formexport as fx
from formexport import config
from formexport.progress.events import FINAL_PHASES, ProgressEvent, describe
from formexport.sandbox import Sandbox, make_field
from tests.integration.helpers import exports

# Form 2 ("Event registration"): 2500 submissions, a background job on the server.
BOUND = 30.0  # seconds: a bound on waits for something that takes well under one


class Recorder:
    """A progress display that remembers what it showed.

    ``ended`` is set once it shows a final event (done, failed, stopped); ``closed`` when it is
    closed, which a stage of the export may do before the end.
    """

    def __init__(self) -> None:
        self.events: list[ProgressEvent] = []
        self.ended = threading.Event()
        self.closed = threading.Event()

    def update(self, event: ProgressEvent) -> None:
        self.events.append(event)
        if event.phase in FINAL_PHASES:
            self.ended.set()

    def close(self) -> None:
        self.closed.set()


def without_links(frame: pd.DataFrame) -> pd.DataFrame:
    """The frame without its file links, which are signed anew for every export."""
    return frame.drop(columns=["Documents", "Signature"])


def until(condition: object, what: str) -> None:
    deadline = time.monotonic() + BOUND
    while not callable(condition) or not condition():
        if time.monotonic() > deadline:
            pytest.fail(f"never happened: {what}")
        time.sleep(0.01)


@pytest.fixture
def jobs(env: Sandbox) -> Sandbox:
    """Token and server in the environment; tokens may watch jobs."""
    env.config.status_access = "open"
    return env


def test_it_returns_at_once_and_delivers_what_load_export_does(jobs: Sandbox) -> None:
    jobs.config.job_progression = "stuck"  # the job stays queued until released
    fut = fx.start_export(2, progress=None)
    assert not fut.done()
    assert fut.running()
    until(lambda: fut.job is not None, "the server accepted the job")
    assert fut.job is not None
    assert fut.job.job_id is not None
    assert not fut.done()  # the job runs on; nobody waits for it
    jobs.config.job_progression = "immediate"
    frame = fut.result(timeout=BOUND)
    assert fut.done()
    assert not fut.cancelled()
    assert fut.exception() is None
    assert frame.shape == (2500, 15)
    blocking = fx.load_export(2, progress=None)
    pd.testing.assert_frame_equal(without_links(frame), without_links(blocking))
    assert len(exports(jobs)) == 2  # one each: the same request was not picked up twice


def test_errors_come_back_from_result_with_the_types_load_export_raises(jobs: Sandbox) -> None:
    with pytest.raises(fx.NotFoundError) as blocking:
        fx.load_export(98765, progress=None)
    with pytest.raises(fx.NotFoundError) as background:
        fx.start_export(98765, progress=None).result(timeout=BOUND)
    assert str(background.value) == str(blocking.value)

    jobs.config.fail_jobs = "Disk full"
    fut = fx.start_export(2, progress=None)
    assert isinstance(fut.exception(timeout=BOUND), fx.ExportFailedError)
    with pytest.raises(fx.ExportFailedError, match="Disk full"):
        fut.result()

    jobs.config.fail_jobs = None
    jobs.config.job_progression = "stuck"
    with pytest.raises(fx.ExportTimeoutError):
        fx.start_export(2, progress=None, timeout=0.2).result(timeout=BOUND)


def test_a_failure_ends_the_display_even_if_nobody_asks_for_the_result(jobs: Sandbox) -> None:
    jobs.config.fail_jobs = "Disk full"
    shown = Recorder()
    fx.start_export(2, progress=shown)  # never asked for its result
    # The final event, not the first close: a stage of the export closes the display before.
    assert shown.ended.wait(BOUND)
    assert shown.closed.wait(BOUND)
    assert shown.events[0].message == "starting"  # shown before anything was sent
    final = shown.events[-1]
    assert final.phase == "failed"
    assert describe(final).startswith("Failed · ExportFailedError: Export job ")
    assert "Disk full" in final.message


def test_the_display_ends_on_what_was_delivered(jobs: Sandbox) -> None:
    shown = Recorder()
    fx.start_export(2, progress=shown).result(timeout=BOUND)
    assert shown.closed.is_set()
    phases = [event.phase for event in shown.events]
    assert phases[0] == "export"
    assert phases[-1] == "done"
    assert {"download", "parse"} <= set(phases)
    line = describe(shown.events[-1])
    assert line.startswith("Done · 2 500 rows × 15 columns · ")
    assert line.endswith(f" · job {shown.events[-1].job_id[:8]}")  # type: ignore[index]


def test_five_exports_at_once_keep_to_the_limits_with_no_429(
    jobs: Sandbox, monkeypatch: pytest.MonkeyPatch
) -> None:
    # OpnForm's limits (10 exports, 180 status requests a window) in a 2 s window: the sandbox
    # fixture polls every 10 ms, so five jobs would ask far more often than allowed.
    jobs.config.rate_window_seconds = 2.0
    monkeypatch.setattr(config, "RATE_LIMIT_WINDOW", 2.0)
    monkeypatch.setattr(config, "RATE_LIMIT_MARGIN", 0.2)
    fields = [make_field("text", "Answer"), make_field("number", "Score")]
    forms = [2] + [jobs.add_form(f"Survey {n}", fields, 1200, seed=n)["id"] for n in range(4)]
    jobs.config.job_progression = "timed"
    # Jobs of about five seconds: over two windows' worth of polls even when a loaded machine
    # slows each request down.
    jobs.config.seconds_per_step = 0.6
    displays = [Recorder() for _ in forms]
    futures = [fx.start_export(f, progress=shown) for f, shown in zip(forms, displays, strict=True)]
    frames = [fut.result(timeout=60) for fut in futures]
    assert [frame.shape[0] for frame in frames] == [2500, 1200, 1200, 1200, 1200]
    assert [shown.events[-1].phase for shown in displays] == ["done"] * 5  # five bars
    assert len({fut.job.job_id for fut in futures if fut.job}) == 5
    statuses = [r.status for r in jobs.requests]
    assert 429 not in statuses
    polls = [r for r in jobs.requests if "/export/status/" in r.path]
    assert len(polls) > 180  # more than one window's worth: the pace held them back


def test_more_exports_than_a_window_allows_wait_for_the_next(
    env: Sandbox, monkeypatch: pytest.MonkeyPatch
) -> None:
    env.config.rate_window_seconds = 1.0
    monkeypatch.setattr(config, "RATE_LIMIT_WINDOW", 1.0)
    monkeypatch.setattr(config, "RATE_LIMIT_MARGIN", 0.2)
    names = ["Name", "Email", "Rating", "Subscribe", "Topics", "created_at"]
    selections = [[a, b] for a in names for b in names if a < b][:12]
    futures = [fx.start_export(1, columns=s, progress=None) for s in selections]
    done, _ = concurrent.futures.wait(futures, timeout=60)
    assert len(done) == 12
    assert all(fut.result().shape == (250, 4) for fut in futures)
    posted = exports(env)
    assert [r.status for r in posted] == [200] * 12  # 12 > 10: two waited, none refused
    assert posted[10].at - posted[0].at >= 1.0


def test_await_leaves_the_event_loop_free(jobs: Sandbox) -> None:
    jobs.config.job_progression = "timed"
    jobs.config.seconds_per_step = 0.1

    async def main() -> tuple[list[pd.DataFrame], int]:
        ticks = 0
        finished = asyncio.Event()

        async def tick() -> None:
            nonlocal ticks
            while not finished.is_set():
                ticks += 1
                await asyncio.sleep(0.01)

        ticker = asyncio.create_task(tick())
        frames = await asyncio.gather(
            fx.load_export_async(2, progress=None),
            fx.load_export_async(1, progress=None),
        )
        finished.set()
        await ticker
        return list(frames), ticks

    frames, ticks = asyncio.run(main())
    assert [f.shape for f in frames] == [(2500, 15), (250, 13)]
    assert ticks > 10  # the loop ran on while both exports did


def test_a_rerun_returns_the_running_export_and_says_so(
    jobs: Sandbox, caplog: pytest.LogCaptureFixture
) -> None:
    jobs.config.job_progression = "stuck"
    caplog.set_level(logging.WARNING, logger="formexport")
    first = fx.start_export(2, columns=["Full name"], progress=None)
    again = fx.start_export(2, columns=["Full name"], progress=None)
    assert again is first
    assert "already running" in caplog.text
    other = fx.start_export(2, columns=["Email (work)"], progress=None)  # another request
    assert other is not first
    jobs.config.job_progression = "immediate"
    first.result(timeout=BOUND)
    other.result(timeout=BOUND)
    assert len(exports(jobs)) == 2
    later = fx.start_export(2, columns=["Full name"], progress=None)  # the first one is done
    assert later is not first
    later.result(timeout=BOUND)
    assert len(exports(jobs)) == 3


def test_cancel_stops_watching_and_the_same_call_picks_the_job_up(
    jobs: Sandbox, caplog: pytest.LogCaptureFixture
) -> None:
    jobs.config.job_progression = "stuck"
    shown = Recorder()
    fut = fx.start_export(2, progress=shown)
    until(lambda: fut.job is not None and fut.job.status is not None, "the job was polled")
    job_id = fut.job.job_id  # type: ignore[union-attr]
    assert fut.cancel()
    assert fut.cancelled()
    assert fut.done()
    assert fut.cancel()  # as concurrent.futures has it; said once
    assert caplog.text.count("Stopped watching") == 1
    assert f"formexport.ExportJob.attach(2, {job_id!r})" in caplog.text
    assert (shown.events[-1].phase, shown.closed.is_set()) == ("stopped", True)
    with pytest.raises(fx.ExportCancelled, match="keeps running on the server") as cancelled:
        fut.result()
    assert isinstance(cancelled.value, concurrent.futures.CancelledError)
    assert cancelled.value.job_id == job_id
    polls = len([r for r in jobs.requests if job_id in r.path])
    time.sleep(0.3)  # thirty poll intervals of the sandbox fixture
    assert len([r for r in jobs.requests if job_id in r.path]) == polls  # nobody polls it

    jobs.config.job_progression = "immediate"
    picked = fx.start_export(2, progress=None)
    assert picked.result(timeout=BOUND).shape == (2500, 15)
    assert picked.job is not None
    assert picked.job.job_id == job_id
    assert len(exports(jobs)) == 1


def test_files_instead_of_a_dataframe(jobs: Sandbox, tmp_path: Path) -> None:
    parquet = fx.start_export(2, to=tmp_path / "events.parquet", progress=None)
    csv = fx.start_export(2, to=str(tmp_path / "events.csv"), progress=None)
    assert parquet.result(timeout=BOUND) == tmp_path / "events.parquet"
    assert csv.result(timeout=BOUND) == tmp_path / "events.csv"
    pd.testing.assert_frame_equal(
        without_links(pd.read_parquet(tmp_path / "events.parquet")),
        without_links(fx.load_export(2, progress=None)),
    )
    assert (tmp_path / "events.csv").read_bytes().count(b"\n") >= 2501
    with pytest.raises(fx.InvalidArgumentError, match=r"\.parquet, \.csv, \.xlsx, \.dta or \.sav"):
        fx.start_export(2, to=tmp_path / "events.txt")
    with pytest.raises(fx.InvalidArgumentError, match="dtype_backend"):
        fx.start_export(2, to=tmp_path / "x.parquet", dtype_backend="pyarrow")


def test_exports_of_one_form_take_turns(jobs: Sandbox) -> None:
    # OpnForm names the file after the form and the second: two exports of one form finishing
    # together would share a file. The second waits, and its display says so.
    jobs.config.job_progression = "stuck"
    first = fx.start_export(2, columns=["Full name"], progress=None)
    # Turns are taken once the form is read, in whichever order the threads get there: the
    # second starts once the first holds the turn.
    until(lambda: first.job is not None, "the first job was accepted")
    shown = Recorder()
    second = fx.start_export(2, columns=["Email (work)"], progress=shown)
    until(lambda: any("one at a time" in e.message for e in shown.events), "the wait shown")
    assert len(exports(jobs)) == 1
    jobs.config.job_progression = "immediate"
    assert list(first.result(timeout=BOUND).columns[2:3]) == ["Full name"]
    assert list(second.result(timeout=BOUND).columns[2:3]) == ["Email (work)"]
    assert len(exports(jobs)) == 2


SCRIPT = """
import formexport as fx
import time

fut = fx.start_export(2, progress=None)
while fut.job is None or fut.job.status is None:
    time.sleep(0.01)
print("waiting for", fut.job.job_id, flush=True)
fut.result()
"""


def test_ctrl_c_in_a_script_stops_watching_as_a_blocking_call_does(
    jobs: Sandbox, tmp_path: Path
) -> None:
    jobs.config.job_progression = "stuck"
    script = tmp_path / "export.py"
    script.write_text(SCRIPT)
    run = subprocess.Popen(
        [sys.executable, str(script)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)},
    )
    try:
        assert run.stdout is not None
        line = run.stdout.readline()
        assert line.startswith("waiting for ")
        job_id = line.split()[-1]
        time.sleep(0.5)  # the script goes on from print() into fut.result()
        run.send_signal(signal.SIGINT)
        _, stderr = run.communicate(timeout=BOUND)
    finally:
        run.kill()
    assert run.returncode != 0
    last = stderr.strip().splitlines()[-1]
    assert last.startswith("formexport.errors.ExportInterrupted: Stopped watching export job")
    assert last.endswith(f"Re-attach with formexport.ExportJob.attach(2, {job_id!r}).")
    assert "Traceback" in stderr
    assert jobs.token not in stderr

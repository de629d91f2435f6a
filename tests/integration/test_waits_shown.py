"""Every wait an export makes shows where the user looks, with what it waits for and a countdown:
the rate limit, a 429's Retry-After, a queued job, a retry's pause; against the emulator."""

from __future__ import annotations

import itertools
import logging
import math
import os
import pty
import re
import struct
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

import formexport as fx
from formexport import ProgressEvent, config
from formexport.progress.events import describe
from formexport.sandbox import Fault, Sandbox

if sys.platform != "win32":
    import fcntl
    import termios


def waits_of(events: list[ProgressEvent]) -> list[ProgressEvent]:
    return [event for event in events if event.phase == "wait"]


def counts_down(waits: list[ProgressEvent]) -> None:
    """One wait, told every second: its seconds left fall by one each time, then it is over."""
    left = [event.seconds_left for event in waits]
    assert all(seconds is not None for seconds in left), left
    assert left == sorted(left, reverse=True)
    assert len(left) == len(set(left))  # never the same second twice
    assert left[0] is not None
    assert left[0] >= config.SHOWN_WAIT_SECONDS - 0.1
    assert waits[-1].wait_over
    assert not any(event.wait_over for event in waits[:-1])
    assert len(waits) >= 3


@pytest.fixture
def one_export_per_window(monkeypatch: pytest.MonkeyPatch) -> None:
    """This process keeps to one export request per (2-s) window: the second one waits."""
    monkeypatch.setattr(config, "RATE_LIMITS", {**config.RATE_LIMITS, "export": 1})


def test_an_export_request_held_back_by_the_rate_limit_counts_down(
    env: Sandbox, one_export_per_window: None
) -> None:
    with fx.Client() as client:
        client.api.pace.acquire("export")  # this process's one export request of the window
    events: list[ProgressEvent] = []
    frame = fx.load_export(1, progress=events.append)
    assert len(frame) == 250
    waits = waits_of(events)
    assert events[: len(waits)] == waits  # shown before the export had a display of its own
    assert {(e.reason, e.message) for e in waits} == {
        ("rate_limit", "OpnForm allows 1 export requests per 2 s")
    }
    counts_down(waits)
    assert events[-1].phase == "done"
    assert {r.status for r in env.requests} <= {200, 404}  # kept to the limit: no 429


def test_log_mode_says_each_wait_of_a_batched_export_once(
    env: Sandbox, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    # The case: the server hides job status, so form 2 is exported in three batches;
    # with two export requests allowed a window, the third one waits in the middle.
    monkeypatch.setattr(config, "RATE_LIMITS", {**config.RATE_LIMITS, "export": 2})
    monkeypatch.setattr(config, "RATE_LIMIT_WINDOW", 4.0)  # stricter than the server's 2 s
    caplog.set_level(logging.INFO, logger="formexport")
    assert len(fx.load_export(2, progress="log")) == 2500
    lines = [r.getMessage() for r in caplog.records if r.name == "formexport.progress"]
    said = [i for i, line in enumerate(lines) if line.startswith("waiting ")]
    assert len(said) == 1, lines  # one line for the wait, not one a second
    assert re.fullmatch(
        r"waiting \d s for the rate limit \(OpnForm allows 2 export requests per 4 s\)",
        lines[said[0]],
    )
    assert lines[said[0] - 1] == "Export in batches: 2000/2500 rows"  # it interrupts the batches
    assert lines[said[0] + 1] == "Export in batches: 2500/2500 rows"
    # The low layer's own line gave way to the display's.
    said_low = "export requests per 4 s per user"
    held = [r.levelno for r in caplog.records if said_low in r.getMessage()]
    assert logging.INFO not in held


def test_a_retry_after_is_counted_down(env: Sandbox) -> None:
    refused = Fault("export", http_status=429, headers={"Retry-After": "3"}, times=1)
    env.faults.add(refused)
    events: list[ProgressEvent] = []
    assert len(fx.load_export(1, progress=events.append)) == 250
    waits = waits_of(events)
    assert {(e.reason, e.message) for e in waits} == {
        ("retry_after", "the server refused a request: 429 Too Many Requests")
    }
    counts_down(waits)
    assert describe(waits[0]) == (
        "Rate limit · next request in 3 s (the server refused a request: 429 Too Many Requests)"
    )


def test_a_queued_job_shows_how_long_it_waits_and_when_no_worker_may_run(
    env: Sandbox, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(config, "QUEUE_STALL_SECONDS", 3.5)
    env.config.status_access = "open"
    env.config.job_progression = "stuck"  # no queue worker
    events: list[ProgressEvent] = []
    future = fx.start_export(2, progress=events.append)
    deadline = time.monotonic() + 30
    while not any("no queue worker may be running" in e.message for e in events):
        assert time.monotonic() < deadline, "the stalled queue was never shown"
        time.sleep(0.05)
    env.config.job_progression = "immediate"  # a worker starts
    assert len(future.result(timeout=30)) == 2500
    waits = waits_of(events)
    assert {e.reason for e in waits} == {"queued"}
    assert waits[0].completed >= config.SHOWN_WAIT_SECONDS  # a moment in the queue is no wait
    # Told every second (and when the message changes), not at every poll.
    shown = [(math.floor(e.completed), e.message) for e in waits]
    assert len(shown) == len(set(shown))
    seconds = [second for second, _ in shown]
    assert all(b - a in (0, 1) for a, b in itertools.pairwise(seconds))
    assert all(e.total is None for e in waits)  # nobody knows when a worker comes
    job = future.job
    assert job is not None
    assert job.job_id is not None
    assert waits[0].message == f"job {job.job_id[:8]}"
    assert "php artisan queue:work" in waits[-1].message
    # While queued the display shows the wait alone: the same "queued" status polled again and
    # again does not interrupt it.
    first, last = events.index(waits[0]), events.index(waits[-1])
    assert events[first : last + 1] == waits
    assert events[last + 1].phase == "export"
    assert events[last + 1].message != "queued"


def test_a_retry_after_a_server_error_counts_down(env: Sandbox) -> None:
    env.config.status_access = "open"
    failing = Fault("status", http_status=503, headers={"Retry-After": "2"}, times=1)
    env.faults.add(failing)
    events: list[ProgressEvent] = []
    assert len(fx.load_export(2, progress=events.append)) == 2500
    waits = waits_of(events)
    assert {e.reason for e in waits} == {"retry"}
    assert {e.message for e in waits} == {"the server answered HTTP 503"}
    counts_down(waits)


def test_a_download_resumed_after_a_pause_counts_it_down(
    env: Sandbox, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    env.config.status_access = "open"
    monkeypatch.setattr(config, "HTTP_BACKOFF_FACTOR", 2.0)  # the first pause: 2 s and more
    env.faults.add(Fault("download", cut_after=50_000, times=1))
    events: list[ProgressEvent] = []
    path = fx.download_export(2, tmp_path / "events.csv", progress=events.append)
    assert path.stat().st_size > 50_000
    waits = waits_of(events)
    assert {e.reason for e in waits} == {"retry"}
    assert all(e.message.startswith("the download broke off: ") for e in waits)
    counts_down(waits)
    before = events[events.index(waits[0]) - 1]
    assert before.phase == "download"  # it interrupts the download, which goes on after it
    assert events[events.index(waits[-1]) + 1].phase == "download"


def _run_in_a_terminal(command: list[str], env: dict[str, str]) -> tuple[int, str]:
    """Run ``command`` with its stderr on a pseudo-terminal 160 columns wide; its output."""
    leader, follower = pty.openpty()
    fcntl.ioctl(follower, termios.TIOCSWINSZ, struct.pack("HHHH", 40, 160, 0, 0))
    process = subprocess.Popen(
        command, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=follower, env=env
    )
    os.close(follower)
    chunks = list(_read_all(leader))
    process.wait(timeout=120)
    assert process.stdout is not None
    process.stdout.close()
    os.close(leader)
    return process.returncode, b"".join(chunks).decode("utf-8", "replace")


def _read_all(fd: int) -> Iterator[bytes]:
    while True:
        try:
            chunk = os.read(fd, 65536)
        except OSError:  # the terminal's other end closed
            return
        if not chunk:
            return
        yield chunk


@pytest.mark.skipif(sys.platform == "win32", reason="pseudo-terminals are POSIX")
def test_in_a_terminal_waits_count_down_in_the_bar_and_log_lines_never_splice_it(
    sandbox: Sandbox, tmp_path: Path
) -> None:
    sandbox.config.status_access = "open"
    # A status request refused with Retry-After 3 (a wait), and a download cut short, whose
    # resume is said in a log line while the download's bar is on the terminal.
    sandbox.faults.add(Fault("status", http_status=429, headers={"Retry-After": "3"}, times=1))
    sandbox.faults.add(Fault("download", cut_after=50_000, times=1))
    variables = {
        **os.environ,
        "OPNFORM_API_TOKEN": sandbox.token,
        "OPNFORM_API_BASE_URL": sandbox.base_url,
        "TERM": "xterm",
    }
    out = tmp_path / "events.parquet"
    command = [sys.executable, "-m", "formexport", "export", "2", "-o", str(out)]
    code, terminal = _run_in_a_terminal(command, variables)
    assert code == 0, terminal
    assert out.exists()
    countdown = [int(n) for n in re.findall(r"Rate limit · next request in (\d) s", terminal)]
    assert countdown[0] == 3
    assert sorted(set(countdown), reverse=True) == [3, 2, 1]
    assert countdown == sorted(countdown, reverse=True)
    logged = list(re.finditer(r"\d\d:\d\d:\d\d (?:DEBUG|INFO|WARNING) ", terminal))
    assert any("Download interrupted" in terminal[m.end() : m.end() + 40] for m in logged)
    for line in logged:
        # Each log line starts a line of its own (after the bar was taken off it): never
        # written onto the end of a bar's text.
        assert line.start() == 0 or terminal[line.start() - 1] in "\r\n", terminal
    assert sandbox.token not in terminal


def test_uploaded_files_held_back_by_the_file_rate_limit_count_down(
    sandbox: Sandbox, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    # The files download four at a time in worker threads; their waits for OpnForm's file-link
    # limit count down on the export's one display.
    from formexport.opnform.ratelimit import link_pace
    from formexport.opnform.retry import RetryPolicy
    from formexport.sandbox.data.fields import make_field

    monkeypatch.setattr(config, "RATE_LIMIT_WINDOW", 4.0)  # stricter than the server's 2 s
    form = sandbox.add_form("Uploads", [make_field("files", "CV")], 3, seed=1)
    pace = link_pace(sandbox.base_url, RetryPolicy())
    for _ in range(config.RATE_LIMITS["api"]):
        pace.acquire("links")  # this window's file requests, all spent
    events: list[ProgressEvent] = []
    frame = fx.load_export(
        form["id"],
        token=sandbox.token,
        base_url=sandbox.base_url,
        files=tmp_path / "files",
        progress=events.append,
    )
    assert len(frame.attrs["files"]) >= 3
    waits = [e for e in waits_of(events) if e.reason == "rate_limit"]
    assert waits, "the file requests' wait was never shown"
    assert {e.message for e in waits} == {"OpnForm allows 100 file requests per 4 s"}
    left = [e.seconds_left for e in waits if not e.wait_over]
    assert left[0] is not None
    assert left[0] >= config.SHOWN_WAIT_SECONDS - 0.1
    assert left == sorted(left, reverse=True)  # a countdown, whichever worker told it
    assert waits[-1].wait_over
    assert events[-1].phase == "done"

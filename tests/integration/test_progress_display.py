"""What users see of an export's progress where they run it: real processes, real emulator."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import time
from datetime import datetime, timezone

from formexport import ProgressEvent, load_export
from formexport.sandbox import Sandbox

UUID = r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}"


def _status_requests(sandbox: Sandbox) -> int:
    return sum("/status" in r.path for r in sandbox.requests)


def test_progress_starts_when_the_job_is_accepted_not_at_the_first_poll(
    sandbox: Sandbox,
) -> None:
    sandbox.config.status_access = "open"
    sandbox.config.job_progression = "per_poll"
    seen: list[tuple[ProgressEvent, int]] = []
    before = datetime.now(timezone.utc)
    load_export(
        2,
        token=sandbox.token,
        base_url=sandbox.base_url,
        progress=lambda event: seen.append((event, _status_requests(sandbox))),
    )
    first, polls_before_it = seen[0]
    assert (first.phase, first.completed, first.message) == ("export", 0, "queued")
    assert re.fullmatch(UUID, first.job_id or "")
    # Only the probe for status access (a made-up job) was sent: the job was not polled yet.
    assert polls_before_it == 1
    assert first.started_at is not None
    assert before.replace(microsecond=0) <= first.started_at <= datetime.now(timezone.utc)
    # Later events carry the job's own start, the server's created_at.
    later = [event for event, _ in seen if event.phase == "export"][1:]
    assert later
    assert all(event.started_at is not None for event in later)


def _run(sandbox: Sandbox, code: str, **env: str) -> subprocess.CompletedProcess[str]:
    variables = {
        **os.environ,
        "OPNFORM_API_TOKEN": sandbox.token,
        "OPNFORM_API_BASE_URL": sandbox.base_url,
        **env,
    }
    return subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        env=variables,
        timeout=120,
        check=False,
    )


EXPORT = "import formexport as fx\nprint(len(fx.load_export(2, progress={progress!r})))\n"


def test_log_mode_without_logging_configured_writes_to_stderr(sandbox: Sandbox) -> None:
    sandbox.config.status_access = "open"
    run = _run(sandbox, EXPORT.format(progress="log"))
    assert run.returncode == 0, run.stderr
    assert run.stdout == "2500\n"
    lines = run.stderr.splitlines()
    assert re.fullmatch(rf"formexport: Server export \(job {UUID}\): 0% - queued", lines[0])
    assert any(re.match(rf"formexport: Download \(job {UUID}\): ", line) for line in lines)
    assert re.fullmatch(rf"formexport: Read CSV \(job {UUID}\): 2500/2500 rows", lines[-2])
    done = r"formexport: Done · 2 500 rows × 15 columns · \d+\.\d s · job [0-9a-f]{8}"
    assert re.fullmatch(done, lines[-1])
    assert sandbox.token not in run.stderr


def test_a_program_that_configures_logging_keeps_control(sandbox: Sandbox) -> None:
    sandbox.config.status_access = "open"
    setup = (
        "import logging\nlogging.basicConfig(level='INFO', format='LOGGED %(name)s %(message)s')\n"
    )
    run = _run(sandbox, setup + EXPORT.format(progress="log"))
    assert run.returncode == 0, run.stderr
    assert "formexport: " not in run.stderr
    assert re.search(rf"^LOGGED formexport.progress Server export \(job {UUID}\)", run.stderr, re.M)
    quiet = "import logging\nlogging.basicConfig(level='WARNING')\n"
    run = _run(sandbox, quiet + EXPORT.format(progress="log"))
    assert run.returncode == 0, run.stderr
    assert run.stderr == ""  # their choice: warnings only


def test_the_terminal_bar_names_the_job_by_its_short_id_and_shows_no_absurd_rate(
    sandbox: Sandbox,
) -> None:
    sandbox.config.status_access = "open"
    sandbox.config.job_progression = "timed"
    sandbox.config.seconds_per_step = 0.2
    started = time.monotonic()
    run = _run(sandbox, EXPORT.format(progress="tqdm"), COLUMNS="80")
    assert run.returncode == 0, run.stderr
    job_ids = set(re.findall(UUID, run.stderr))
    assert not job_ids  # the whole id is too wide for the bar
    short = re.findall(r"job ([0-9a-f]{8})\b", run.stderr)
    assert short
    assert len(set(short)) == 1
    read = [line for line in re.split(r"[\r\n]", run.stderr) if line.startswith("Read CSV")]
    assert read
    assert all("/s" not in line for line in read)
    assert "2500/2500 rows" in read[-1]
    # The bar is drawn when the job is accepted, and its timer counts from the job's start:
    # the first poll, 2 s later, already finds the job done.
    assert re.search(r"Server export:   0%\|.*\| \[00:00, job [0-9a-f]{8}, queued\]", run.stderr)
    timers = re.findall(r"Server export: 100%\|.*\| \[00:(\d\d)", run.stderr)
    assert timers
    assert 2 <= int(timers[-1]) <= time.monotonic() - started

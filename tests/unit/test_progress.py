import io
import logging
import re
from datetime import datetime, timedelta, timezone

import pytest

from formexport.errors import ExportTimeoutError, InvalidArgumentError
from formexport.progress.events import delivered, describe, failure, waiting
from formexport.progress.reporters import (
    CallbackReporter,
    LogReporter,
    NullReporter,
    ProgressEvent,
    TqdmReporter,
    detect_progress_mode,
    make_reporter,
)
from formexport.waits import Wait, WaitReason


def test_modes_map_to_reporters(monkeypatch: pytest.MonkeyPatch) -> None:
    assert isinstance(make_reporter(None), NullReporter)
    assert isinstance(make_reporter("none"), NullReporter)
    assert isinstance(make_reporter("log"), LogReporter)
    assert isinstance(make_reporter("tqdm"), TqdmReporter)
    events: list[ProgressEvent] = []
    reporter = make_reporter(events.append)
    assert isinstance(reporter, CallbackReporter)
    reporter.update(ProgressEvent("export", 5, 100))
    assert events == [ProgressEvent("export", 5, 100)]
    assert make_reporter(reporter) is reporter


def test_unknown_mode_is_a_typed_error() -> None:
    with pytest.raises(InvalidArgumentError, match="progress"):
        make_reporter("fancy")


def test_auto_outside_a_terminal_logs(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("sys.stderr", io.StringIO())
    assert detect_progress_mode() == "log"


def test_environment_overrides_auto(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("FORMEXPORT_PROGRESS", "none")
    assert isinstance(make_reporter("auto"), NullReporter)
    monkeypatch.setenv("FORMEXPORT_PROGRESS", "sparkles")
    with pytest.raises(InvalidArgumentError, match="FORMEXPORT_PROGRESS"):
        make_reporter("auto")


def test_log_reporter_logs_state_changes_and_every_tenth(caplog: pytest.LogCaptureFixture) -> None:
    now = [0.0]
    reporter = LogReporter(clock=lambda: now[0])
    caplog.set_level(logging.INFO, logger="formexport.progress")
    reporter.update(ProgressEvent("export", 0, 100, "queued", job_id="j"))
    reporter.update(ProgressEvent("export", 0, 100, "processing", job_id="j"))
    for percent in range(1, 96):
        reporter.update(ProgressEvent("export", percent, 100, "processing", job_id="j"))
    now[0] = 100.0
    reporter.update(ProgressEvent("export", 95, 100, "processing", job_id="j"))
    lines = [r.getMessage() for r in caplog.records]
    assert lines[0] == "Server export (job j): 0% - queued"
    assert lines[1] == "Server export (job j): 0% - processing"
    # 10, 20, ... 90, then the 30 s heartbeat at 95
    assert [line.split(": ")[1].split("%")[0] for line in lines[2:]] == [
        "10", "20", "30", "40", "50", "60", "70", "80", "90", "95",
    ]  # fmt: skip


def test_text_bar_shows_phases_without_carriage_return_floods() -> None:
    out = io.StringIO()
    reporter = TqdmReporter(file=out)
    reporter.update(ProgressEvent("export", 44, 100, "500/1001 submissions", job_id="j1"))
    reporter.update(ProgressEvent("download", 1024, 2048))
    reporter.close()
    text = out.getvalue()
    assert "Server export" in text
    assert "job j1" in text
    assert "Download" in text


def test_the_final_line_says_what_was_delivered() -> None:
    event = delivered(5.06, rows=2500, columns=15, job_id="acfc3703-5b0f-4c61-a8f4-1e9d2b7c6a30")
    assert describe(event) == "Done · 2 500 rows × 15 columns · 5.1 s · job acfc3703"
    assert (event.phase, event.fraction) == ("done", 1.0)
    one = delivered(0.04, rows=1, columns=1, file="one.parquet")
    assert describe(one) == "Done · 1 row × 1 column → one.parquet · 0.0 s"
    saved = delivered(1.25, size=1_338_812, file="events.csv", job_id="5b0f3c9e-7d2a")
    assert describe(saved) == "Done · 1.3 MB → events.csv · 1.2 s · job 5b0f3c9e"


def test_a_failure_line_names_the_error_and_the_job_once() -> None:
    error = ExportTimeoutError("Export job 5b0f3c9e-7d2a did not finish.", job_id="5b0f3c9e-7d2a")
    event = failure(error, job_id="5b0f3c9e-7d2a")
    said = "Failed · ExportTimeoutError: Export job 5b0f3c9e-7d2a did not finish."
    assert describe(event) == said  # the re-attach hint comes with the error, where it is handled
    other = failure(ValueError("boom"), job_id="5b0f3c9e-7d2a")
    assert describe(other) == "Failed · ValueError: boom · job 5b0f3c9e"


def test_log_and_text_bar_end_on_the_final_line(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO, logger="formexport.progress")
    done = delivered(2.0, rows=10, columns=3, job_id="j1")
    LogReporter().update(done)
    assert caplog.records[-1].getMessage() == "Done · 10 rows × 3 columns · 2.0 s · job j1"
    out = io.StringIO()
    reporter = TqdmReporter(file=out)
    reporter.update(ProgressEvent("parse", 10, 10, job_id="j1"))
    reporter.update(done)
    reporter.close()
    assert out.getvalue().splitlines()[-1] == "Done · 10 rows × 3 columns · 2.0 s · job j1"


JOB = "e0d0b93b-1c2d-4e5f-8a9b-0c1d2e3f4a5b"


def test_log_lines_go_to_stderr_when_nobody_configured_logging(
    capsys: pytest.CaptureFixture[str],
) -> None:
    unconfigured = logging.Logger("formexport.progress")  # no handlers, no root above
    reporter = LogReporter(log=unconfigured)
    reporter.update(ProgressEvent("export", 0, 100, "queued", job_id=JOB))
    reporter.update(ProgressEvent("export", 0, 100, "queued", job_id=JOB))  # no news
    assert capsys.readouterr().err == f"formexport: Server export (job {JOB}): 0% - queued\n"


def test_a_configured_handler_keeps_logging_in_charge(capsys: pytest.CaptureFixture[str]) -> None:
    configured = logging.Logger("formexport.progress")
    records: list[logging.LogRecord] = []
    handler = logging.Handler()
    handler.emit = records.append  # type: ignore[method-assign]
    configured.addHandler(handler)
    LogReporter(log=configured).update(ProgressEvent("download", 5e5, 1e6, job_id=JOB))
    assert [r.getMessage() for r in records] == [f"Download (job {JOB}): 0.5 MB of 1.0 MB"]
    assert capsys.readouterr().err == ""


def test_the_bar_shows_a_short_job_id() -> None:
    out = io.StringIO()
    reporter = TqdmReporter(file=out)
    reporter.update(ProgressEvent("export", 44, 100, "500/1001 submissions", job_id=JOB))
    reporter.close()
    assert "job e0d0b93b, 500/1001 submissions" in out.getvalue()
    assert JOB not in out.getvalue()


def test_a_phase_done_in_one_step_shows_no_rate() -> None:
    out = io.StringIO()
    reporter = TqdmReporter(file=out)
    reporter.update(ProgressEvent("parse", 2501, 2501, job_id=JOB))
    reporter.close()
    text = out.getvalue()
    assert "Read CSV: 100%" in text
    assert "2501/2501 rows" in text
    assert "/s" not in text


def test_the_export_timer_counts_from_the_jobs_start() -> None:
    out = io.StringIO()
    reporter = TqdmReporter(file=out)
    started = datetime.now(timezone.utc) - timedelta(seconds=95)
    reporter.update(ProgressEvent("export", 17, 100, "processing", job_id=JOB, started_at=started))
    reporter.close()
    assert re.search(r"\[01:3[5-7], job e0d0b93b", out.getvalue())


def test_a_start_in_the_future_does_not_run_the_timer_backwards() -> None:
    out = io.StringIO()
    reporter = TqdmReporter(file=out)
    ahead = datetime.now(timezone.utc) + timedelta(hours=1)  # a server clock that runs ahead
    reporter.update(ProgressEvent("export", 0, 100, "queued", job_id=JOB, started_at=ahead))
    reporter.close()
    assert "[00:00, job e0d0b93b, queued]" in out.getvalue()


class FakeClock:
    def __init__(self) -> None:
        self.now = 1_000_000.0

    def __call__(self) -> float:
        return self.now


def _rates(text: str) -> list[float]:
    scale = {"": 1, "k": 1024, "M": 1024**2, "G": 1024**3}
    return [float(n) * scale[p] for n, p in re.findall(r"([\d.]+)([kMG]?)B/s", text)]


def test_download_rates_stay_near_the_real_rate(monkeypatch: pytest.MonkeyPatch) -> None:
    """2 MB/s in 64-kB chunks, with a stall every 2 s that the late chunks make up at once;
    the first MB arrived before the bar opened."""
    clock = FakeClock()
    monkeypatch.setattr("tqdm.std.time", clock)
    out = io.StringIO()
    reporter = TqdmReporter(file=out)
    chunk, rate = 64 << 10, 2 << 20
    received, total = 1 << 20, 41 << 20
    reporter.update(ProgressEvent("download", received, total, job_id=JOB))
    count = 0
    while received < total:
        count += 1
        if count % 64 == 48:
            clock.now += 17 * chunk / rate  # a stall, then the late chunks all at once
        elif count % 64 < 48:
            clock.now += chunk / rate
        received += chunk
        reporter.update(ProgressEvent("download", received, total, job_id=JOB))
    reporter.close()
    rates = _rates(out.getvalue())
    assert len(rates) >= 40  # redrawn a few times a second
    assert all(0.7 * rate < shown < 1.3 * rate for shown in rates), rates


RATE = "OpnForm allows 100 API requests a minute"


def rate_limit_events(seconds: float = 41.0) -> list[ProgressEvent]:
    """A rate-limit wait as a display receives it: every second, then over."""
    wait = Wait(WaitReason.RATE_LIMIT, RATE, clock_start=0.0, until=seconds)
    return [waiting(wait, now) for now in (0.0, 1.0, 2.0)] + [waiting(wait, seconds)]


def test_a_wait_reads_what_it_waits_for_and_counts_down() -> None:
    first, second, _, over = rate_limit_events()
    assert describe(first) == f"Rate limit · next request in 41 s ({RATE})"
    assert describe(second) == f"Rate limit · next request in 40 s ({RATE})"
    assert (first.seconds_left, second.seconds_left, over.seconds_left) == (41, 40, 0)
    assert over.wait_over
    assert not second.wait_over
    queued = Wait(WaitReason.QUEUED, "job 5b0f3c9e", clock_start=0.0)
    assert describe(waiting(queued, 125.0)) == (
        "Queued · waiting for a server worker for 2 min 5 s (job 5b0f3c9e)"
    )


def test_the_text_bar_counts_a_wait_down_on_its_own_line_then_goes_on() -> None:
    out = io.StringIO()
    reporter = TqdmReporter(file=out)
    reporter.update(ProgressEvent("batches", 1000, 2500))
    for event in rate_limit_events():
        reporter.update(event)
    reporter.update(ProgressEvent("batches", 2000, 2500))
    reporter.close()
    # Redrawn in place (each state after a carriage return), never a second line.
    drawn = out.getvalue().split("\r")
    waits = [line for line in drawn if "Rate limit" in line]
    assert [line.strip() for line in waits] == [
        f"Export in batches:  40% · Rate limit · next request in {n} s ({RATE})"
        for n in (41, 40, 39)
    ]
    after = drawn[drawn.index(waits[-1]) + 1 :]
    assert after[0].startswith("Export in batches:  40%|")  # the bar again, once over
    assert "\n" not in "".join(drawn[: drawn.index(waits[-1]) + 1])


def test_a_wait_before_any_phase_has_a_line_that_goes_at_its_end() -> None:
    out = io.StringIO()
    reporter = TqdmReporter(file=out)
    for event in rate_limit_events(5.0):
        reporter.update(event)
    reporter.update(ProgressEvent("export", 0, 100, "queued", job_id="5b0f3c9e-7d2a"))
    reporter.close()
    drawn = out.getvalue().split("\r")
    assert [line for line in drawn if "Rate limit" in line] == [
        f"Rate limit · next request in {n} s ({RATE})" for n in (5, 4, 3)
    ]
    assert drawn[-1].startswith("Server export:   0%")
    assert out.getvalue().count("\n") == 1  # the export bar's own, as it closed


def test_log_mode_says_a_wait_once_as_it_starts(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO, logger="formexport.progress")
    reporter = LogReporter()
    reporter.update(ProgressEvent("batches", 1000, 2500))
    for event in rate_limit_events(57.0):
        reporter.update(event)
    queued = Wait(WaitReason.QUEUED, "job 5b0f3c9e", clock_start=0.0)
    stalled = Wait(WaitReason.QUEUED, "job 5b0f3c9e; no queue worker may be running", 0.0)
    for now in (2.0, 3.0, 4.0):
        reporter.update(waiting(queued, now))
    reporter.update(waiting(stalled, 120.0))
    reporter.update(waiting(stalled, 121.0))
    lines = [r.getMessage() for r in caplog.records]
    assert lines == [
        "Export in batches: 1000/2500 rows",
        f"waiting 57 s for the rate limit ({RATE})",
        "waiting for a server worker, 2 s so far (job 5b0f3c9e)",
        "waiting for a server worker, 2 min so far (job 5b0f3c9e; no queue worker may be running)",
    ]


def test_the_files_phase_counts_files_and_bytes(caplog: pytest.LogCaptureFixture) -> None:
    assert describe(ProgressEvent("files", 37, 120, size=14_200_000)) == "Files 37/120 · 14.2 MB"
    assert describe(ProgressEvent("files", 3, 12, size=42_000)) == "Files 3/12 · 42 kB"
    done = delivered(2.04, rows=250, columns=13, files=1)
    assert describe(done) == "Done · 250 rows × 13 columns · 1 file · 2.0 s"
    caplog.set_level(logging.INFO, logger="formexport.progress")
    reporter = LogReporter(clock=lambda: 0.0)
    for count in range(21):
        reporter.update(ProgressEvent("files", count, 20, size=count * 1000))
    lines = [r.getMessage() for r in caplog.records]
    assert lines[0] == "Files 0/20 · 0 kB"  # a line every tenth, however the bytes move
    assert lines[-1] == "Files 20/20 · 20 kB"
    assert len(lines) == 11
    out = io.StringIO()
    bar = TqdmReporter(file=out)
    bar.update(ProgressEvent("files", 1, 4, size=3_000_000))
    bar.update(ProgressEvent("files", 2, 4, size=5_000_000))
    bar.close()
    assert "Files" in out.getvalue()
    assert "2/4" in out.getvalue()
    assert "5.0 MB" in out.getvalue()

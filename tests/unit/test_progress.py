import io
import logging

import pytest

from formexport.errors import ExportTimeoutError, InvalidArgumentError
from formexport.progress.events import delivered, describe, failure
from formexport.progress.reporters import (
    CallbackReporter,
    LogReporter,
    NullReporter,
    ProgressEvent,
    TqdmReporter,
    detect_progress_mode,
    make_reporter,
)


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
    assert (
        describe(event) == "Failed · ExportTimeoutError: Export job 5b0f3c9e-7d2a did not finish."
    )
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

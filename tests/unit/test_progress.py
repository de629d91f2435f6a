import io
import logging

import pytest

from formexport.errors import InvalidArgumentError
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

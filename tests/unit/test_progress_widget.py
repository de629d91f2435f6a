"""The notebook bar and environment detection, without a kernel (tests/notebooks has one)."""

from __future__ import annotations

import sys
import threading
import types
from typing import Any

import pytest

from formexport.errors import ExportFailedError
from formexport.progress.events import delivered, failure, waiting
from formexport.progress.reporters import (
    ProgressEvent,
    detect_progress_mode,
    jupyter,
    make_reporter,
)
from formexport.progress.widget import WIDGET_MIME, WidgetReporter
from formexport.waits import Wait, WaitReason


class Handle:
    def __init__(self, shown: list[dict[str, Any]]) -> None:
        self.shown = shown

    def update(self, bundle: dict[str, Any], raw: bool) -> None:
        assert raw
        self.shown.append(bundle)


def _reporter(now: list[float]) -> tuple[WidgetReporter, list[dict[str, Any]]]:
    shown: list[dict[str, Any]] = []

    def display(bundle: dict[str, Any]) -> Handle:
        shown.append(bundle)
        return Handle(shown)

    return WidgetReporter(display=display, clock=lambda: now[0]), shown


def test_one_widget_follows_the_whole_export() -> None:
    now = [0.0]
    reporter, shown = _reporter(now)
    reporter.update(ProgressEvent("export", 44, 100, "440/1001 submissions", job_id="j-1"))
    box = reporter.widget
    label, bar, text = box.children
    assert "Server export" in label.value
    assert bar.value == pytest.approx(0.44)
    assert "440/1001 submissions" in text.value
    assert "j-1" in text.value
    reporter.update(ProgressEvent("export", 95, 100, "Generating export file...", job_id="j-1"))
    assert "Generating export file..." in text.value
    reporter.update(ProgressEvent("export", 100, 100, "completed", job_id="j-1"))
    reporter.close()
    assert bar.bar_style == "success"
    now[0] = 1.0
    reporter.update(ProgressEvent("download", 512_000, 1_024_000, job_id="j-1"))
    assert reporter.widget is box  # the same bar, not a second one
    assert "Download" in label.value
    assert bar.value == pytest.approx(0.5)
    assert "0.5 of 1.0 MB" in text.value
    reporter.update(ProgressEvent("parse", 1001, 1001))
    reporter.close()
    assert "Read CSV" in label.value
    assert bar.value == 1.0
    assert bar.bar_style == "success"
    # Displayed once; later bundles only refresh the plain-text twin of the same widget.
    model_ids = {b[WIDGET_MIME]["model_id"] for b in shown}
    assert model_ids == {box.model_id}
    assert shown[-1]["text/plain"] == "Read CSV: 1001/1001 rows"
    assert all("HBox" not in b["text/plain"] for b in shown)


def test_a_stopped_export_leaves_an_orange_bar() -> None:
    reporter, _ = _reporter([0.0])
    reporter.update(ProgressEvent("download", 100, 1000, job_id="j-2"))
    reporter.close()
    _, bar, text = reporter.widget.children
    assert bar.bar_style == "warning"
    assert "stopped" in text.value


def test_redraws_are_throttled_within_a_phase() -> None:
    now = [0.0]
    reporter, _ = _reporter(now)
    reporter.update(ProgressEvent("download", 0, 10_000_000))
    _, bar, _ = reporter.widget.children
    reporter.update(ProgressEvent("download", 5_000_000, 10_000_000))
    assert bar.value == 0.0  # too soon after the last redraw
    now[0] = 0.5
    reporter.update(ProgressEvent("download", 6_000_000, 10_000_000))
    assert bar.value == pytest.approx(0.6)
    reporter.update(ProgressEvent("download", 10_000_000, 10_000_000))
    assert bar.value == 1.0  # the end is always drawn


def test_messages_are_escaped() -> None:
    reporter, _ = _reporter([0.0])
    reporter.update(ProgressEvent("export", 5, 100, "<script>x</script>", job_id="<b>"))
    _, _, text = reporter.widget.children
    assert "<script>" not in text.value
    assert "&lt;script&gt;" in text.value


def _fake_kernel(monkeypatch: pytest.MonkeyPatch, allow_stdin: bool | None) -> None:
    """An IPython shell object shaped like ipykernel's, answering one execute request."""

    class ZMQInteractiveShell:
        kernel = types.SimpleNamespace(
            get_parent=lambda channel=None: (
                {} if allow_stdin is None else {"content": {"allow_stdin": allow_stdin}}
            )
        )

    shell = ZMQInteractiveShell()
    monkeypatch.setitem(sys.modules, "IPython", types.SimpleNamespace(get_ipython=lambda: shell))
    monkeypatch.setitem(sys.modules, "ipykernel", types.ModuleType("ipykernel"))


def test_a_kernel_with_a_front_end_gets_the_widget(monkeypatch: pytest.MonkeyPatch) -> None:
    _fake_kernel(monkeypatch, allow_stdin=True)
    assert jupyter.in_jupyter_kernel()
    assert detect_progress_mode() == "widget"
    monkeypatch.setattr(jupyter, "widgets_available", lambda: False)
    assert detect_progress_mode() == "tqdm"


def test_papermill_and_nbclient_kernels_get_log_lines(monkeypatch: pytest.MonkeyPatch) -> None:
    _fake_kernel(monkeypatch, allow_stdin=False)
    assert not jupyter.frontend_attached()
    assert detect_progress_mode() == "log"
    monkeypatch.setenv("FORMEXPORT_PROGRESS", "widget")
    assert detect_progress_mode() == "widget"


def test_widget_without_ipywidgets_falls_back_to_text(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    monkeypatch.setitem(sys.modules, "ipywidgets", None)  # import raises ImportError
    reporter = make_reporter("widget")
    assert type(reporter).__name__ == "TqdmReporter"
    assert "needs ipywidgets" in caplog.text


def test_outside_jupyter_nothing_is_attached() -> None:
    assert not jupyter.in_jupyter_kernel()
    assert not jupyter.frontend_attached()


def test_a_delivered_export_ends_on_what_was_delivered() -> None:
    reporter, shown = _reporter([0.0])
    job = "acfc3703-5b0f-4c61-a8f4-1e9d2b7c6a30"
    reporter.update(ProgressEvent("parse", 2500, 2500, job_id=job))
    reporter.update(delivered(5.06, rows=2500, columns=15, job_id=job))
    reporter.close()
    label, bar, text = reporter.widget.children
    assert "Done" in label.value
    assert (bar.value, bar.bar_style) == (1.0, "success")
    assert "2 500 rows × 15 columns · 5.1 s" in text.value
    assert f'title="{job}">acfc3703</code>' in text.value
    assert "stopped" not in text.value
    assert shown[-1]["text/plain"] == "Done · 2 500 rows × 15 columns · 5.1 s · job acfc3703"


def test_a_failed_export_turns_red_with_the_message() -> None:
    reporter, shown = _reporter([0.0])
    reporter.update(ProgressEvent("export", 40, 100, "processing", job_id="j-3"))
    error = ExportFailedError("Export job j-3 failed <here>.", job_id="j-3", error_message="x")
    reporter.update(failure(error, job_id="j-3"))
    reporter.close()
    label, bar, text = reporter.widget.children
    assert "Failed" in label.value
    assert bar.bar_style == "danger"
    assert bar.value == bar.max  # red from end to end, whatever was done before
    assert "ExportFailedError: Export job j-3 failed &lt;here&gt;." in text.value
    assert shown[-1]["text/plain"] == "Failed · ExportFailedError: Export job j-3 failed <here>."


def test_a_failure_before_any_progress_fills_the_bar_red() -> None:
    reporter, _ = _reporter([0.0])
    error = ExportFailedError("Export job j-4 failed.", job_id="j-4", error_message="x")
    reporter.update(failure(error))
    reporter.close()
    _, bar, _ = reporter.widget.children
    assert (bar.value, bar.bar_style) == (bar.max, "danger")


def test_the_bar_shown_again_keeps_every_view_s_twin_current() -> None:
    reporter, shown = _reporter([0.0])
    handles: list[Handle] = []
    original = reporter._display

    def display(bundle: dict[str, Any]) -> Handle:
        handle = original(bundle)
        handles.append(handle)
        return handle

    reporter._display = display
    reporter.update(ProgressEvent("export", 10, 100, job_id="j-4"))
    reporter.show_again()
    assert len(handles) == 2
    assert {b[WIDGET_MIME]["model_id"] for b in shown} == {reporter.widget.model_id}
    before = len(shown)
    reporter.update(delivered(1.0, rows=3, columns=2, job_id="j-4"))
    assert len(shown) == before + 2  # both views' twins say it is done
    done = "Done · 3 rows × 2 columns · 1.0 s · job j-4"
    assert shown[-1]["text/plain"] == shown[-2]["text/plain"] == done


def test_updates_from_two_threads_draw_one_at_a_time() -> None:
    reporter, _ = _reporter([0.0])
    reporter.update(ProgressEvent("download", 0, 1000))

    def move() -> None:
        for done in range(1, 1001):
            reporter.update(ProgressEvent("download", done, 1000))

    thread = threading.Thread(target=move)
    thread.start()
    for _ in range(50):
        reporter.show_again()
    thread.join()
    reporter.close()
    _, bar, _ = reporter.widget.children
    assert (bar.value, bar.bar_style) == (1.0, "success")


def test_the_widget_shows_a_short_job_id_and_keeps_the_whole_one_at_hand() -> None:
    job = "e0d0b93b-1c2d-4e5f-8a9b-0c1d2e3f4a5b"
    reporter, shown = _reporter([0.0])
    reporter.update(ProgressEvent("export", 44, 100, "440/1001 submissions", job_id=job))
    text = reporter.widget.children[2].value
    assert f'job <code title="{job}">e0d0b93b</code>' in text
    assert f">{job}<" not in text
    # The plain-text twin (saved notebooks, GitHub) names the whole id, to re-attach with.
    assert shown[0]["text/plain"] == f"Server export (job {job}): 44% - 440/1001 submissions"


def test_a_wait_shows_what_it_waits_for_and_counts_down_on_the_phase_s_bar() -> None:
    now = [0.0]
    reporter, shown = _reporter(now)
    reporter.update(ProgressEvent("batches", 1000, 2500))
    label, bar, text = reporter.widget.children
    why = "OpnForm allows 100 API requests a minute"
    wait = Wait(WaitReason.RATE_LIMIT, why, clock_start=0.0, until=41.0)
    reporter.update(waiting(wait, 0.0))
    assert "Rate limit" in label.value
    assert f"next request in 41 s ({why})" in text.value
    assert bar.value == pytest.approx(0.4)  # the export's progress stays in view
    assert shown[-1]["text/plain"] == f"Rate limit · next request in 41 s ({why})"
    reporter.update(waiting(wait, 1.0))  # a second later: redrawn, however soon
    assert f"next request in 40 s ({why})" in text.value
    reporter.update(waiting(wait, 41.0))
    assert "Export in batches" in label.value
    assert "1000/2500 rows" in text.value
    assert "Rate limit" not in text.value
    assert bar.value == pytest.approx(0.4)


def test_a_queued_job_counts_up_and_gives_way_to_the_export() -> None:
    reporter, _ = _reporter([0.0])
    reporter.update(ProgressEvent("export", 0, 100, "queued", job_id="5b0f3c9e-7d2a"))
    label, bar, text = reporter.widget.children
    queued = Wait(WaitReason.QUEUED, "job 5b0f3c9e", clock_start=0.0)
    reporter.update(waiting(queued, 3.0))
    assert "Queued" in label.value
    assert "waiting for a server worker for 3 s (job 5b0f3c9e)" in text.value
    reporter.update(waiting(queued, 4.0))
    assert "for 4 s" in text.value
    reporter.update(ProgressEvent("export", 30, 100, "processing", job_id="5b0f3c9e-7d2a"))
    assert "Server export" in label.value
    assert "processing" in text.value
    assert bar.value == pytest.approx(0.3)


def test_the_files_phase_shows_count_and_size() -> None:
    reporter, shown = _reporter([0.0])
    reporter.update(ProgressEvent("files", 30, 120, size=14_200_000))
    label, bar, text = reporter.widget.children
    assert "Files" in label.value
    assert bar.value == pytest.approx(0.25)
    assert "30/120 files" in text.value
    assert "14.2 MB" in text.value
    assert shown[-1]["text/plain"] == "Files 30/120 · 14.2 MB"

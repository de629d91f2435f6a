"""ExportFuture without a server: the concurrent.futures contract, callbacks, cancelling."""

from __future__ import annotations

import asyncio
import concurrent.futures
import threading
import time
from pathlib import Path

import pytest

from formexport.errors import ExportCancelled, ExportFailedError
from formexport.futures import ExportFuture, run_in_background
from formexport.local.form_turns import WAITING, FormTurn
from formexport.progress.events import ProgressEvent
from formexport.progress.reporters import NullReporter


class Shown:
    def __init__(self) -> None:
        self.events: list[ProgressEvent] = []
        self.closes = 0

    def update(self, event: ProgressEvent) -> None:
        self.events.append(event)

    def close(self) -> None:
        self.closes += 1


def start(work, shown: Shown | None = None, key: object = None):  # type: ignore[no-untyped-def]
    key = key if key is not None else object()
    return run_in_background(work, form=7, reporter=shown or Shown(), key=key)


def test_it_is_a_concurrent_future_whose_callbacks_get_it() -> None:
    gate = threading.Event()
    seen: list[object] = []
    fut = start(lambda f: gate.wait(5) and 42)
    assert isinstance(fut, concurrent.futures.Future)
    assert fut.running()
    assert not fut.done()
    fut.add_done_callback(seen.append)
    with pytest.raises(concurrent.futures.TimeoutError):
        fut.result(timeout=0.01)
    gate.set()
    done, _ = concurrent.futures.wait([fut], timeout=5)
    assert done == {fut}
    assert fut.result() == 42
    assert seen == [fut]
    assert repr(fut) == "ExportFuture(form=7, state='finished', job_id=None)"


def test_the_display_shows_at_once_and_a_failure_ends_it_red() -> None:
    shown = Shown()

    def fail(future: ExportFuture[int]) -> int:
        raise ExportFailedError("Export job j failed: disk full.", job_id="j", error_message="x")

    fut = start(fail, shown)
    assert isinstance(fut.exception(timeout=5), ExportFailedError)
    assert [e.phase for e in shown.events] == ["export", "failed"]
    assert shown.events[0].message == "starting"
    assert shown.closes == 1
    with pytest.raises(ExportFailedError, match="disk full"):
        fut.result()


def test_cancel_stops_the_work_at_its_next_wait_and_result_says_where_the_job_is() -> None:
    shown = Shown()
    reached = threading.Event()

    def work(future: ExportFuture[int]) -> int:
        reached.set()
        future.sleep(60)  # a retry policy's wait: ends at once when cancelled
        return 1

    fut = start(work, shown)
    assert reached.wait(5)
    assert fut.cancel()
    assert fut.cancelled()
    with pytest.raises(ExportCancelled, match="before the server named a job") as raised:
        fut.result()
    assert isinstance(raised.value, concurrent.futures.CancelledError)
    with pytest.raises(ExportCancelled):
        fut.exception()
    assert shown.events[-1].phase == "stopped"
    assert shown.closes == 1


def test_the_same_key_returns_the_running_future_and_a_finished_one_is_replaced() -> None:
    gate = threading.Event()
    key = ("server", "form", "columns")
    first = start(lambda f: gate.wait(5), key=key)
    assert start(lambda f: None, key=key) is first
    gate.set()
    first.result(timeout=5)
    second = start(lambda f: 2, key=key)
    assert second is not first
    assert second.result(timeout=5) == 2


def test_once_the_display_shows_the_end_the_same_call_starts_anew() -> None:
    # A stage may show the final event before the export's thread returns: a re-run made
    # from then on must not be handed the export that ended.
    shown, gate, key = Shown(), threading.Event(), ("server", "form", "ended")

    def ends_then_lingers(future: ExportFuture[int]) -> int:
        future.progress.update(ProgressEvent("failed", 0, None, "Disk full"))
        gate.wait(5)
        raise ExportFailedError("Disk full", job_id="j", error_message="Disk full")

    first = start(ends_then_lingers, shown, key=key)
    deadline = time.monotonic() + 5
    while not any(event.phase == "failed" for event in shown.events):
        assert time.monotonic() < deadline, "the final event was never shown"
        time.sleep(0.01)
    again = start(lambda f: 2, key=key)
    assert again is not first
    gate.set()
    assert isinstance(first.exception(timeout=5), ExportFailedError)
    assert again.result(timeout=5) == 2


def test_await_gives_the_result_and_a_cancelled_task_cancels_the_future() -> None:
    async def main() -> tuple[int, ExportFuture[int]]:
        value = await start(lambda f: 5)
        waiting = start(lambda f: (f.sleep(60), 6)[1])
        task = asyncio.ensure_future(_await(waiting))
        await asyncio.sleep(0.05)
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        return value, waiting

    value, waiting = asyncio.run(main())
    assert value == 5
    assert waiting.cancelled()


async def _await(future: ExportFuture[int]) -> int:
    return await future


def test_waiting_for_the_turn_is_a_wait_that_ends_when_the_turn_comes(tmp_path: Path) -> None:
    gate = threading.Event()
    shown = Shown()

    def holds_the_turn(future: ExportFuture[None]) -> None:
        turn = FormTurn("https://forms.example.com/api", 7, tmp_path)
        turn.take(sleep=future.sleep)
        try:
            gate.wait(5)
        finally:
            turn.release()

    first = run_in_background(holds_the_turn, form=7, reporter=Shown(), key=1)
    deadline = time.monotonic() + 5
    while not any(path.suffix == ".lock" for path in tmp_path.rglob("*")):
        assert time.monotonic() < deadline, "the first export never took its turn"
        time.sleep(0.01)
    second = run_in_background(holds_the_turn, form=7, reporter=shown, key=2)
    while not any(e.phase == "wait" for e in shown.events):
        assert time.monotonic() < deadline, "the wait was never shown"
        time.sleep(0.01)
    time.sleep(1.2)  # the wait is told again as its seconds pass
    gate.set()
    concurrent.futures.wait([first, second], timeout=5)
    waits = [e for e in shown.events if e.phase == "wait"]
    assert {(e.reason, e.message) for e in waits} == {("turn", WAITING)}
    assert [e.completed for e in waits] == sorted(e.completed for e in waits)
    assert len(waits) >= 3  # at once, a second later, and over
    assert waits[-1].wait_over
    assert not any(e.wait_over for e in waits[:-1])


@pytest.mark.parametrize("display", ["shown", "silent"])
def test_cancelling_ends_a_wait_at_once(display: str) -> None:
    # Shown, the wait is told every second; silent, it sleeps in one piece: either way the
    # cancelled future's sleep ends it, not the minute.
    shown = Shown() if display == "shown" else NullReporter()
    waiting, ended = threading.Event(), threading.Event()

    def waits_a_minute(future: ExportFuture[None]) -> None:
        policy = future.retry_policy()
        waiting.set()
        try:
            policy.pause_before_retry(60, "HTTP 503")
        finally:
            ended.set()

    fut = run_in_background(waits_a_minute, form=7, reporter=shown, key=display)
    assert waiting.wait(5)
    time.sleep(0.05)  # into the sleep
    if isinstance(shown, Shown):
        assert shown.events[-1].seconds_left == pytest.approx(60, abs=1)
    assert fut.cancel()
    assert ended.wait(5)

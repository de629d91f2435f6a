"""Waits told to a display second by second, on a fake clock; and the places that wait."""

from __future__ import annotations

import logging
import threading

import pytest

from formexport import config
from formexport.errors import ConnectionFailedError
from formexport.jobs.polling import JobWaiter
from formexport.opnform.models import ExportStatus
from formexport.opnform.ratelimit import RequestPace
from formexport.opnform.retry import RetryPolicy
from formexport.waits import Wait, Waiting, WaitReason, shown_to, wait_for, wait_out
from tests.fake_clock import FakeTime


class Told:
    """A listener: every wait it is told of, with the seconds left (or waited) at that moment."""

    def __init__(self) -> None:
        self.waits: list[tuple[Wait, float]] = []

    def __call__(self, wait: Wait, now: float) -> None:
        self.waits.append((wait, now))

    def left(self) -> list[float]:
        return [round(w.until - now, 6) for w, now in self.waits if w.until is not None]

    def reasons(self) -> set[WaitReason]:
        return {w.reason for w, _ in self.waits}


def test_a_shown_wait_counts_down_in_slices_that_end_on_whole_seconds() -> None:
    fake, told = FakeTime(), Told()
    wait = Wait(WaitReason.RATE_LIMIT, "OpnForm allows 10 export requests a minute", 1000, 1005.5)
    with shown_to(told):
        wait_out(wait, sleep=fake.sleep, clock=fake.clock)
    assert fake.sleeps == [0.5, 1, 1, 1, 1, 1]
    assert fake.now == 1005.5
    assert told.left() == [5.5, 5, 4, 3, 2, 1, 0]  # the last one: over
    assert {w for w, _ in told.waits} == {wait}


def test_a_wait_nobody_is_shown_sleeps_in_one_piece() -> None:
    fake = FakeTime()
    wait_out(Wait(WaitReason.RETRY, "HTTP 503", 1000, 1030), sleep=fake.sleep, clock=fake.clock)
    assert fake.sleeps == [30]


def test_a_wait_too_short_to_notice_is_not_shown() -> None:
    fake, told = FakeTime(), Told()
    short = config.SHOWN_WAIT_SECONDS - 0.5
    with shown_to(told):
        wait_out(Wait(WaitReason.RETRY, "", 1000, 1000 + short), sleep=fake.sleep, clock=fake.clock)
    assert fake.sleeps == [short]
    assert told.waits == []


def test_a_wait_without_an_end_counts_the_seconds_waited_and_ends_when_told() -> None:
    fake, told = FakeTime(), Told()
    with shown_to(told):
        waiting = Waiting(
            Wait(WaitReason.QUEUED, "job 5b0f", clock_start=fake.now - 2.5),
            sleep=fake.sleep,
            clock=fake.clock,
        )
        waiting.sleep(2.0)
        waiting.sleep(2.0)
        waiting.end()
    waited = [round(now - w.clock_start, 6) for w, now in told.waits]
    assert waited == [2.5, 3, 4, 5, 6, 6.5]
    assert fake.sleeps == [0.5, 1, 0.5, 0.5, 1, 0.5]
    last, now = told.waits[-1]
    assert last.is_over(now)  # the end is told with the wait's end set


def test_wait_for_asks_in_slices_of_at_most_a_second_until_ready() -> None:
    fake, told = FakeTime(), Told()
    asked: list[float] = []

    def ready(seconds: float) -> bool:
        asked.append(seconds)
        fake.sleep(seconds)
        return len(asked) == 3

    with shown_to(told):
        wait_for(ready, Wait(WaitReason.TURN, "one at a time", fake.now), clock=fake.clock)
    assert asked == [1.0, 1.0, 1.0]
    assert [round(now - w.clock_start) for w, now in told.waits] == [0, 1, 2, 3]
    assert told.waits[-1][0].is_over(told.waits[-1][1])


def test_each_thread_shows_its_own_waits() -> None:
    told, elsewhere = Told(), Told()
    fake = FakeTime()

    def other_thread() -> None:
        wait_out(Wait(WaitReason.RETRY, "", 0, 5), sleep=lambda s: None, clock=lambda: 5.0)

    with shown_to(told):
        thread = threading.Thread(target=other_thread)
        thread.start()
        thread.join()
        three = Wait(WaitReason.RETRY, "", fake.now, fake.now + 3)
        wait_out(three, sleep=fake.sleep, clock=fake.clock)
    assert elsewhere.waits == []
    assert len(told.waits) == 4  # 3, 2, 1, over: this thread's wait only


def test_a_429_is_counted_down_as_the_server_asked(caplog: pytest.LogCaptureFixture) -> None:
    fake, told = FakeTime(), Told()
    policy = RetryPolicy(sleep=fake.sleep, clock=fake.clock)
    caplog.set_level(logging.DEBUG, logger="formexport")
    with shown_to(told):
        policy.wait_out_rate_limit(3, subject="GET /open/forms/2")
    assert told.reasons() == {WaitReason.RETRY_AFTER}
    assert told.waits[0][0].detail == "the server refused a request: 429 Too Many Requests"
    assert told.left() == [3, 2, 1, 0]
    # Shown, the wait's log line drops to DEBUG: a display in log mode says it once.
    assert [r.levelno for r in caplog.records] == [logging.DEBUG]
    caplog.clear()
    policy.wait_out_rate_limit(3, subject="GET /open/forms/2")
    assert [r.levelno for r in caplog.records] == [logging.INFO]


def test_the_pace_shows_what_the_server_allows() -> None:
    fake, told = FakeTime(), Told()
    pace = RequestPace({"export": 1}, 60.0, clock=fake.clock, sleep=fake.sleep)
    pace.acquire("export")
    with shown_to(told):
        pace.acquire("export")
    assert told.reasons() == {WaitReason.RATE_LIMIT}
    assert told.waits[0][0].detail == "OpnForm allows 1 export requests a minute"
    assert told.left()[0] == 61.0
    assert told.left()[-1] == 0
    assert sum(fake.sleeps) == 61.0


def test_a_backoff_long_enough_is_shown_as_a_retry() -> None:
    fake, told = FakeTime(), Told()
    rules = RetryPolicy(sleep=fake.sleep, clock=fake.clock, jitter=lambda: 0.0, backoff_factor=2.0)
    down = ConnectionFailedError("could not connect to h:80")
    statuses: list[ExportStatus | BaseException] = [down, ExportStatus(status="completed")]

    def fetch() -> ExportStatus:
        item = statuses.pop(0)
        if isinstance(item, BaseException):
            raise item
        return item

    with shown_to(told):
        JobWaiter(fetch, job_id="j", retry=rules).wait()
    assert told.reasons() == {WaitReason.RETRY}
    assert told.waits[0][0].detail == "the server cannot be reached"
    assert told.left() == [2, 1, 0]


def queued_waiter(fake: FakeTime, polls: int) -> JobWaiter:
    states = [ExportStatus(status="queued")] * polls + [ExportStatus(status="completed")]

    def fetch() -> ExportStatus:
        return states.pop(0)

    return JobWaiter(
        fetch, job_id="5b0f3c9e-7d2a", sleep=fake.sleep, clock=fake.clock, jitter=lambda: 0.0
    )


def test_a_job_queued_for_a_while_shows_as_a_wait_for_a_worker(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(config, "QUEUE_STALL_SECONDS", 10.0)
    fake, told = FakeTime(), Told()
    with shown_to(told):
        queued_waiter(fake, polls=8).wait()
    assert told.reasons() == {WaitReason.QUEUED}
    waited = [round(now - w.clock_start, 6) for w, now in told.waits]
    # Not at once (every job starts queued), then every second; not per poll.
    assert waited[0] == 2.0
    assert waited == sorted(set(waited))
    assert waited[-1] == 15.0
    details = [w.detail for w, _ in told.waits]
    assert details[0] == "job 5b0f3c9e"
    stalled = [d for d in details if "no queue worker may be running" in d]
    assert stalled
    assert details.index(stalled[0]) == waited.index(10.0)

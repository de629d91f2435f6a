"""The status schedule on a fake clock, against a job that writes its statuses as OpnForm's does."""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from formexport import config
from formexport.errors import RateLimitError
from formexport.jobs.poll_schedule import PollSchedule, least_gap
from formexport.jobs.polling import JobWaiter
from formexport.local.job_timings import JobTiming, TimingForecast
from formexport.opnform.models import ExportStatus
from tests.fake_clock import FakeTime

EPOCH = datetime(2026, 8, 22, 10, 0, tzinfo=timezone.utc)


@dataclass
class ServerJob:
    """A job on a server whose clock reads ``skew`` seconds more than the fake clock: queued
    for ``queued`` s, then chunks of 500 rows at ``rate`` rows a second, 95 % right after the
    last chunk, and ``completed`` ``tail`` seconds later."""

    fake: FakeTime
    rows: int
    rate: float
    queued: float = 0.0
    tail: float = 0.0
    skew: float = 0.0
    refusals: dict[int, float] = field(default_factory=dict)  # request number -> Retry-After
    sent: list[float] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.created = self.fake.clock()

    @property
    def start(self) -> float:
        return self.created + self.queued

    @property
    def end(self) -> float:
        return self.start + self.rows / self.rate + self.tail

    def fetch(self) -> ExportStatus:
        self.sent.append(self.fake.clock())
        if len(self.sent) in self.refusals:
            raise RateLimitError("Too Many Attempts.", retry_after=self.refusals[len(self.sent)])
        return self.status_at(self.fake.clock())

    def status_at(self, now: float) -> ExportStatus:
        chunks_end = self.start + self.rows / self.rate
        if now >= self.end:
            return self._status("completed", 100, self.end, self.rows)
        if now >= chunks_end:
            return self._status("processing", 95, chunks_end, None)
        if now < self.start:
            return self._status("queued", 0, self.created, None)
        done = min(self.rows, 500 * math.floor((now - self.start) * self.rate / 500))
        if not done:
            return self._status("processing", 0, self.start, None)
        written = self.start + done / self.rate
        return self._status("processing", int(min(90, done / self.rows * 90)), written, done)

    def _status(self, state: str, progress: int, at: float, done: int | None) -> ExportStatus:
        return ExportStatus(
            status=state,
            progress=progress,
            processed_submissions=done,
            total_submissions=self.rows if done is not None else None,
            created_at=self._date(self.created),
            updated_at=self._date(at),
            error_message="Generating export file..." if progress == 95 else None,
        )

    def _date(self, clock: float) -> datetime:
        return EPOCH + timedelta(seconds=clock - 1000.0 + self.skew)


def wait_for(
    job: ServerJob,
    *,
    history: TimingForecast | None = None,
    rows: int | None = None,
    jitter: float = 0.0,
) -> tuple[float, PollSchedule]:
    """Wait for ``job`` as a client that just started it; returns the lag and the schedule."""
    fake = job.fake
    schedule = PollSchedule(fake.clock(), rows=rows, history=history, jitter=lambda: jitter)
    waiter = JobWaiter(job.fetch, job_id="j", sleep=fake.sleep, clock=fake.clock, schedule=schedule)
    assert waiter.wait().status == "completed"
    return fake.clock() - job.end, schedule


def budget_kept(job: ServerJob) -> None:
    """The n-th request no sooner than 2 (n - 1) s after the job was accepted, none closer to
    the one before than the status limit allows, and at most one per 2 s of life plus one."""
    since = [t - job.created for t in job.sent]
    for n, elapsed in enumerate(since):
        assert elapsed >= n * config.POLL_BUDGET_SECONDS - 1e-9
    for before, after in zip(job.sent, job.sent[1:], strict=False):
        assert after - before >= least_gap() - 1e-9
    assert len(job.sent) <= 1 + since[-1] / config.POLL_BUDGET_SECONDS + 1e-9


def earlier(rows: int, seconds: float, **more: float) -> TimingForecast:
    return TimingForecast((JobTiming(rows=rows, seconds=seconds, **more),))  # type: ignore[arg-type]


def test_a_short_job_forecast_by_an_earlier_one_is_asked_about_once_just_after_it_ends() -> None:
    job = ServerJob(FakeTime(), rows=20_000, rate=20_000 / 0.3)
    lag, _ = wait_for(job, history=earlier(20_000, 0.3), rows=20_000)
    assert len(job.sent) == 1
    assert 0 < lag <= 0.1


def test_the_earlier_jobs_rate_scales_to_the_new_jobs_rows() -> None:
    job = ServerJob(FakeTime(), rows=20_000, rate=10_000 / 0.5, queued=0.2)
    lag, _ = wait_for(job, history=earlier(10_000, 0.7, queued=0.2), rows=20_000)
    assert job.end == pytest.approx(job.created + 1.2)
    assert len(job.sent) == 1
    assert 0 < lag <= 0.1


def test_without_history_a_job_is_asked_about_early_once() -> None:
    job = ServerJob(FakeTime(), rows=5_000, rate=5_000 / 0.3)
    lag, _ = wait_for(job, rows=5_000)
    assert job.sent == [job.created + config.POLL_FIRST_ASK]
    assert lag == pytest.approx(0.2)


@pytest.mark.parametrize("seconds", [3.0, 30.0, 120.0])
def test_without_history_the_end_is_forecast_from_the_servers_progress(seconds: float) -> None:
    # The file after the last chunk takes the ninth of the chunks' time the server's own
    # progress gives it: the forecast has nothing else to learn.
    rows = 20_000
    job = ServerJob(FakeTime(), rows=rows, rate=rows / (seconds * 0.9), tail=seconds * 0.1)
    lag, _ = wait_for(job, rows=rows)
    assert 0 < lag <= 0.1 + 0.03 * config.POLL_MAX_INTERVAL
    budget_kept(job)


@pytest.mark.parametrize("seconds", [3.0, 30.0, 120.0])
def test_the_earlier_jobs_queue_and_file_times_sharpen_the_forecast(seconds: float) -> None:
    rows = 20_000
    job = ServerJob(FakeTime(), rows=rows, rate=rows / (seconds * 0.7), queued=seconds * 0.2,
                    tail=seconds * 0.1)  # fmt: skip
    history = earlier(rows, seconds, queued=seconds * 0.2, tail_share=1 / 7)
    lag, _ = wait_for(job, history=history, rows=rows)
    assert 0 < lag <= 0.1 + 0.03 * config.POLL_MAX_INTERVAL
    budget_kept(job)


def test_the_dates_of_a_server_whose_clock_is_hours_off_are_only_compared_with_each_other() -> None:
    shape = {"rows": 20_000, "rate": 20_000 / 27.0, "tail": 3.0}
    on_time = ServerJob(FakeTime(), **shape)  # type: ignore[arg-type]
    skewed = ServerJob(FakeTime(), **shape, skew=-7200)  # type: ignore[arg-type]
    lag, _ = wait_for(on_time, rows=20_000)
    assert wait_for(skewed, rows=20_000)[0] == pytest.approx(lag)
    assert skewed.sent == pytest.approx(on_time.sent)
    assert 0 < lag <= 0.1 + 0.03 * config.POLL_MAX_INTERVAL


def test_a_job_slower_than_forecast_is_asked_about_again_within_the_budget() -> None:
    # Earlier jobs ran twice as fast: the first question comes too early, the progress it
    # shows puts the end right.
    rows = 20_000
    job = ServerJob(FakeTime(), rows=rows, rate=rows / 5.4, tail=0.6)
    lag, _ = wait_for(job, history=earlier(rows, 3.0), rows=rows)
    assert len(job.sent) > 1
    assert 0 < lag <= 0.5
    budget_kept(job)


def test_a_job_still_queued_at_its_forecast_end_is_forecast_from_then_on() -> None:
    rows = 20_000
    job = ServerJob(FakeTime(), rows=rows, rate=rows / 2.0, queued=4.0)
    lag, _ = wait_for(job, history=earlier(rows, 2.5, queued=0.5), rows=rows)
    assert 0 < lag <= 1.0
    budget_kept(job)


def test_a_rate_limited_question_waits_retry_after_and_the_budget() -> None:
    job = ServerJob(FakeTime(), rows=20_000, rate=20_000 / 0.3, refusals={1: 3.0})
    wait_for(job, history=earlier(20_000, 0.3), rows=20_000)
    assert len(job.sent) == 2
    assert job.sent[1] - job.sent[0] == pytest.approx(3.0)  # Retry-After, then at once


def test_a_refusal_soon_after_the_start_is_followed_by_the_budgets_wait() -> None:
    job = ServerJob(FakeTime(), rows=20_000, rate=20_000 / 0.3, refusals={1: 1.0})
    wait_for(job, history=earlier(20_000, 0.3), rows=20_000)
    assert job.sent[1] - job.created == pytest.approx(config.POLL_BUDGET_SECONDS)
    budget_kept(job)


def test_the_completed_job_leaves_its_timing() -> None:
    rows = 20_000
    job = ServerJob(FakeTime(), rows=rows, rate=rows / 20.0, queued=1.0, tail=4.0)
    _, schedule = wait_for(job, rows=rows)
    timing = schedule.timing()
    assert timing is not None
    assert timing.rows == rows
    assert timing.seconds == pytest.approx(25.0)
    assert timing.queued == pytest.approx(1.0, abs=1e-3)
    assert timing.tail_share == pytest.approx(4.0 / 20.0, abs=1e-3)
    assert timing.finished == EPOCH + timedelta(seconds=25.0)


def test_a_job_seen_only_completed_leaves_its_duration_alone() -> None:
    job = ServerJob(FakeTime(), rows=2_000, rate=2_000 / 0.2)
    _, schedule = wait_for(job, rows=2_000)
    assert schedule.timing() == JobTiming(
        rows=2_000, seconds=pytest.approx(0.2), finished=EPOCH + timedelta(seconds=0.2)
    )


@settings(max_examples=150, deadline=None)
@given(
    rows=st.integers(1_001, 2_000_000),
    seconds=st.floats(0.05, 600),
    queued=st.floats(0, 30),
    tail=st.floats(0, 0.5),
    history_speed=st.one_of(st.none(), st.floats(0.2, 5.0)),
    jitter=st.floats(0, 0.999),
    skew=st.floats(-1e5, 1e5),
)
def test_the_budget_is_never_exceeded(
    rows: int,
    seconds: float,
    queued: float,
    tail: float,
    history_speed: float | None,
    jitter: float,
    skew: float,
) -> None:
    job = ServerJob(FakeTime(), rows=rows, rate=rows / seconds, queued=queued,
                    tail=seconds * tail, skew=skew)  # fmt: skip
    history = None
    if history_speed is not None:  # an earlier job of the same size, faster or slower
        history = earlier(rows, (queued + seconds * (1 + tail)) * history_speed)
    lag, _ = wait_for(job, history=history, rows=rows, jitter=jitter)
    budget_kept(job)
    assert lag >= 0
    # Noticed by the next question at the docs' pace at the latest, or when the budget next
    # allows one.
    assert lag <= config.POLL_MAX_INTERVAL * (1 + config.POLL_JITTER) + config.POLL_BUDGET_SECONDS

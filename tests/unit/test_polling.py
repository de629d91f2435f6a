from datetime import datetime, timedelta, timezone

import pytest

from formexport.errors import (
    ConnectionFailedError,
    ExportFailedError,
    ExportInterrupted,
    ExportTimeoutError,
    RateLimitError,
)
from formexport.jobs.poll_schedule import PollSchedule, poll_interval
from formexport.jobs.polling import JobWaiter
from formexport.opnform.models import ExportStatus
from formexport.opnform.retry import RetryPolicy
from tests.fake_clock import FakeTime


def waiter(
    states: list[ExportStatus | BaseException],
    fake: FakeTime,
    schedule: PollSchedule | None = None,
    sent: list[float] | None = None,
) -> JobWaiter:
    queue = list(states)

    def fetch() -> ExportStatus:
        if sent is not None:
            sent.append(fake.clock())
        item = queue.pop(0) if len(queue) > 1 else queue[0]
        if isinstance(item, BaseException):
            raise item
        return item

    return JobWaiter(
        fetch,
        job_id="job-1",
        sleep=fake.sleep,
        clock=fake.clock,
        jitter=lambda: 0.0,
        schedule=schedule,
    )


QUEUED = ExportStatus(status="queued")
HALF = ExportStatus(status="processing", progress=44, processed_submissions=500)
DONE = ExportStatus(status="completed", progress=100, file_url="http://h/f.csv")


def test_intervals_stay_between_two_and_five_seconds() -> None:
    assert poll_interval(0) == 2.0
    assert poll_interval(10) == 2.0
    assert 2.0 < poll_interval(40) < 5.0
    assert poll_interval(3600) == 5.0
    assert poll_interval(3600, jitter=1.0) == pytest.approx(5.5)
    assert poll_interval(0, jitter=0.0) == pytest.approx(2.0)


def test_waits_until_completed_and_reports_every_status() -> None:
    fake = FakeTime()
    seen: list[str] = []
    job = waiter([QUEUED, HALF, HALF, DONE], fake)
    job._on_status = lambda s: seen.append(s.status)
    assert job.wait() is DONE
    assert seen == ["queued", "processing", "processing", "completed"]
    assert fake.sleeps == [2.0, 2.0, 2.0]


def test_a_job_just_accepted_is_first_asked_about_early_then_at_the_docs_pace() -> None:
    fake = FakeTime()
    accepted = PollSchedule(fake.clock(), jitter=lambda: 0.0)
    assert waiter([QUEUED, HALF, DONE], fake, accepted).wait() is DONE
    assert fake.sleeps == [0.5, 2.0, 2.0]  # nothing forecasts it: the statuses carry no dates


def test_the_first_poll_never_waits_past_the_deadline() -> None:
    fake = FakeTime()
    late = PollSchedule(fake.clock() - 100, jitter=lambda: 0.0)  # accepted 100 s ago
    late.record_sent(fake.clock() - 1)  # and asked about a second ago: next at the docs' 5 s
    assert waiter([DONE], fake, late).wait(timeout=3) is DONE
    assert fake.sleeps == [3.0]  # one last look at the deadline instead
    fake = FakeTime()
    waiting = PollSchedule(fake.clock(), jitter=lambda: 0.0)
    for _ in range(10):
        waiting.record_sent(fake.clock())  # the next allowed in 20 s
    with pytest.raises(ExportTimeoutError):
        waiter([DONE], fake, waiting).wait(timeout=5)
    assert fake.sleeps == [5.0]  # no request beyond the budget, even at the deadline


def test_completion_is_status_not_percent() -> None:
    fake = FakeTime()
    stuck_at_100 = ExportStatus(status="processing", progress=100)
    assert waiter([stuck_at_100, DONE], fake).wait() is DONE
    assert len(fake.sleeps) == 1


def test_failed_job_raises_with_server_reason() -> None:
    failed = ExportStatus(status="failed", error_message="No submissions to export")
    with pytest.raises(ExportFailedError, match="No submissions to export") as info:
        waiter([QUEUED, failed], FakeTime()).wait()
    assert info.value.job_id == "job-1"


def test_timeout_names_job_and_does_not_blame_a_queue_for_a_short_wait() -> None:
    fake = FakeTime()
    with pytest.raises(ExportTimeoutError) as info:
        waiter([QUEUED], fake).wait(timeout=30)
    assert info.value.job_id == "job-1"
    assert "queue worker" not in str(info.value)
    assert (
        info.value.reason == "Export job job-1 did not finish within 30 s (last seen: queued 0%)."
    )
    assert str(info.value).endswith("re-attach with formexport.ExportJob.attach(form, 'job-1').")
    assert sum(fake.sleeps) == pytest.approx(30)
    assert max(fake.sleeps) <= 5.0


def test_a_job_queued_far_longer_than_normal_points_at_the_queue_worker() -> None:
    fake = FakeTime()
    with pytest.raises(ExportTimeoutError, match=r"queued for 5 min.*queue worker"):
        waiter([QUEUED], fake).wait(timeout=300)


def test_a_job_created_long_ago_and_still_queued_points_at_the_queue_worker() -> None:
    created = datetime.now(timezone.utc) - timedelta(hours=3)
    stale = ExportStatus(status="queued", created_at=created)
    with pytest.raises(ExportTimeoutError, match=r"queued for 3 h.*queue worker"):
        waiter([stale], FakeTime()).wait(timeout=10)


def test_a_job_that_left_the_queue_is_not_blamed_on_it() -> None:
    with pytest.raises(ExportTimeoutError) as info:
        waiter([HALF], FakeTime()).wait(timeout=3600)
    assert "queue worker" not in str(info.value)


def test_errors_carry_the_form_for_the_reattach_hint() -> None:
    fake = FakeTime()
    job = JobWaiter(lambda: QUEUED, job_id="job-1", form_id=12, sleep=fake.sleep, clock=fake.clock)
    with pytest.raises(ExportTimeoutError) as info:
        job.wait(timeout=5)
    assert info.value.form_id == 12
    assert "formexport.ExportJob.attach(12, 'job-1')" in str(info.value)


def test_rate_limited_status_waits_retry_after_then_asks_at_once() -> None:
    fake = FakeTime()
    limited = RateLimitError("slow down", retry_after=7.0)
    assert waiter([limited, DONE], fake).wait() is DONE
    assert fake.sleeps == [7.0]  # the server's wait, not a poll interval on top


def test_rate_limited_status_without_retry_after_waits_the_policy_default() -> None:
    fake = FakeTime()
    limited = RateLimitError("slow down", retry_after=None)
    assert waiter([HALF, limited, DONE], fake).wait(timeout=120) is DONE
    assert fake.sleeps == [2.0, 60.0]


def test_rate_limits_without_end_are_reported_after_the_policy_limit() -> None:
    fake = FakeTime()
    limited = RateLimitError("slow down", retry_after=1.0)
    sent: list[float] = []
    with pytest.raises(RateLimitError, match="11 times in a row"):
        waiter([limited], fake, sent=sent).wait()
    # Each Retry-After is honoured, and the budget of one request per 2 s on top of it.
    assert fake.sleeps == [1.0, 1.0] * 10
    assert [t - sent[0] for t in sent] == [2.0 * n for n in range(11)]


def test_a_server_restarting_mid_job_is_asked_again_after_the_backoff() -> None:
    fake = FakeTime()
    down = ConnectionFailedError("could not connect to h:80")
    assert waiter([HALF, down, down, DONE], fake).wait() is DONE
    assert fake.sleeps == [2.0, 0.5, 1.0]


def test_a_server_that_stays_down_is_reported() -> None:
    fake = FakeTime()
    down = ConnectionFailedError("could not connect to h:80")
    with pytest.raises(ConnectionFailedError):
        waiter([HALF, down], fake).wait()
    assert fake.sleeps == [2.0, 0.5, 1.0, 2.0, 4.0, 8.0]


def test_the_waiter_takes_its_clock_and_sleep_from_the_policy() -> None:
    fake = FakeTime()
    statuses = iter([QUEUED, HALF, DONE])
    rules = RetryPolicy(sleep=fake.sleep, clock=fake.clock, jitter=lambda: 0.5)
    job = JobWaiter(lambda: next(statuses), job_id="job-1", retry=rules)
    assert job.wait(timeout=60) is DONE
    assert fake.sleeps == [pytest.approx(2.1), pytest.approx(2.1)]  # jitter lengthens only


def test_rate_limit_beyond_the_deadline_is_raised() -> None:
    limited = RateLimitError("slow down", retry_after=60.0)
    with pytest.raises(RateLimitError):
        waiter([limited], FakeTime()).wait(timeout=10)


def test_ctrl_c_names_the_job_left_running() -> None:
    fake = FakeTime()

    def interrupted(seconds: float) -> None:
        raise KeyboardInterrupt

    job = JobWaiter(lambda: QUEUED, job_id="job-1", sleep=interrupted, clock=fake.clock)
    with pytest.raises(ExportInterrupted, match="job-1") as info:
        job.wait()
    assert info.value.job_id == "job-1"
    assert (
        info.value.reason == "Stopped waiting for export job job-1; it keeps running on the server."
    )
    assert "ExportJob.attach(form, 'job-1')" in str(info.value)

"""The client's own pace under OpnForm's rate limits, on a fake clock."""

from __future__ import annotations

import threading
import time

import pytest

from formexport import config
from formexport.errors import RateLimitError
from formexport.opnform.ratelimit import RequestPace, forget_paces, limit_of, shared_pace
from formexport.opnform.retry import RetryPolicy
from tests.fake_clock import FakeTime


def paced(limits: dict[str, int], window: float = 60.0) -> tuple[RequestPace, FakeTime]:
    fake = FakeTime()
    return RequestPace(limits, window, clock=fake.clock, sleep=fake.sleep), fake


@pytest.mark.parametrize(
    ("method", "path", "limit"),
    [
        ("POST", "/open/forms/12/submissions/export", "export"),
        ("GET", "/open/forms/12/submissions/export/status/5b0f", "export-status"),
        ("GET", "/open/forms/12/submissions/export/5b0f/status", "export-status"),
        ("GET", "/open/forms/12/submissions", "api"),
        ("GET", "/open/forms/contact-us", "api"),
    ],
)
def test_each_request_counts_against_the_server_s_limiter(
    method: str, path: str, limit: str
) -> None:
    assert limit_of(method, path) == limit


def test_requests_within_the_limit_go_at_once() -> None:
    pace, fake = paced({"export": 10})
    for _ in range(10):
        pace.acquire("export")
    assert fake.sleeps == []


def test_one_request_beyond_the_limit_waits_a_window_plus_the_margin() -> None:
    pace, fake = paced({"export": 10})
    for _ in range(11):
        pace.acquire("export")
    assert fake.sleeps == [60.0 + config.RATE_LIMIT_MARGIN]


def test_the_window_slides_requests_spread_out_never_wait() -> None:
    pace, fake = paced({"export-status": 3}, window=9.0)
    for _ in range(12):
        pace.acquire("export-status")
        fake.now += 4.0  # three in any 10 s
    assert fake.sleeps == []


def test_limiters_are_counted_apart() -> None:
    pace, fake = paced({"export": 1, "api": 1})
    pace.acquire("export")
    pace.acquire("api")
    assert fake.sleeps == []


def test_a_wait_that_does_not_fit_the_deadline_raises_at_once_and_counts_nothing() -> None:
    pace, fake = paced({"export": 1})
    pace.acquire("export")
    with pytest.raises(RateLimitError, match="1 export requests a minute") as info:
        pace.acquire("export", deadline=fake.now + 30, subject="POST /export")
    assert info.value.retry_after == pytest.approx(61.0)
    assert fake.sleeps == []
    fake.now += 61.0
    pace.acquire("export", deadline=fake.now)  # nothing was counted for the refused one
    assert fake.sleeps == []


def test_a_429_holds_every_request_of_its_kind_back() -> None:
    pace, fake = paced({"export-status": 180, "api": 100})
    pace.hold("export-status", 7.0)
    pace.acquire("api")
    assert fake.sleeps == []
    pace.acquire("export-status")
    assert fake.sleeps == [7.0]


def test_threads_sharing_a_pace_never_exceed_the_limit(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(config, "RATE_LIMIT_MARGIN", 0.1)
    pace = RequestPace({"api": 5}, window=0.2)
    sent: list[float] = []
    lock = threading.Lock()

    def send() -> None:
        for _ in range(3):
            pace.acquire("api")
            with lock:
                sent.append(time.monotonic())

    threads = [threading.Thread(target=send) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    sent.sort()
    assert len(sent) == 12
    # Never six requests within one window (plus margin): the sixth waits for the first.
    assert all(sent[i + 5] - sent[i] >= 0.3 - 0.01 for i in range(len(sent) - 5))


def test_one_pace_per_token_and_server_shared_by_every_client() -> None:
    forget_paces()
    policy = RetryPolicy()
    one = config.resolve_settings("1|secret-a", "https://forms.example.com/api")
    same = config.resolve_settings("1|secret-a", "HTTPS://Forms.example.com:443/api/")
    other_token = config.resolve_settings("2|secret-b", "https://forms.example.com/api")
    other_server = config.resolve_settings("1|secret-a", "https://api.opnform.com")
    assert shared_pace(one, policy) is shared_pace(same, policy)
    assert shared_pace(one, policy) is not shared_pace(other_token, policy)
    assert shared_pace(one, policy) is not shared_pace(other_server, policy)
    fake = FakeTime()
    assert shared_pace(one, RetryPolicy(clock=fake.clock, sleep=fake.sleep)) is not shared_pace(
        one, policy
    )

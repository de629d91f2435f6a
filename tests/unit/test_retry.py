"""The retry policy on a fake clock: the one 429 rule, the back-off formula, its jitter."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st
from urllib3.exceptions import MaxRetryError, NewConnectionError
from urllib3.response import HTTPResponse

from formexport import config
from formexport.errors import RateLimitError
from formexport.opnform import http
from formexport.opnform.retry import RetryPolicy
from tests.fake_clock import FakeTime


def policy(fake: FakeTime, jitter: float = 0.0, **numbers: float) -> RetryPolicy:
    return RetryPolicy(sleep=fake.sleep, clock=fake.clock, jitter=lambda: jitter, **numbers)  # type: ignore[arg-type]


def test_backoff_doubles_from_half_a_second_up_to_the_cap() -> None:
    rules = policy(FakeTime())
    assert [rules.backoff(n) for n in range(1, 9)] == [0.5, 1, 2, 4, 8, 16, 30, 30]
    assert rules.backoff(0) == 0
    assert rules.backoff(10_000) == config.BACKOFF_MAX  # no overflow however long it fails


def test_a_longer_retry_after_wins_over_the_backoff() -> None:
    rules = policy(FakeTime())
    assert rules.backoff(1, retry_after=7) == 7
    assert rules.backoff(3, retry_after=0.1) == 2


@given(failures=st.integers(1, 40), draw=st.floats(0, 1, exclude_max=True))
def test_jitter_only_lengthens_and_never_passes_the_cap(failures: int, draw: float) -> None:
    steady = policy(FakeTime()).backoff(failures)
    jittered = policy(FakeTime(), jitter=draw).backoff(failures)
    assert steady <= jittered <= min(config.BACKOFF_MAX, steady * (1 + config.BACKOFF_JITTER))


def test_jitter_spreads_the_first_pause_over_a_fifth_of_it() -> None:
    assert policy(FakeTime(), jitter=0.0).backoff(1) == 0.5
    assert policy(FakeTime(), jitter=0.5).backoff(1) == pytest.approx(0.55)
    assert policy(FakeTime(), jitter=0.999).backoff(1) == pytest.approx(0.5999)


def test_a_429_waits_what_retry_after_says_at_least_the_floor() -> None:
    rules = policy(FakeTime())
    assert rules.rate_limit_wait(42) == 42
    assert rules.rate_limit_wait(0) == config.MIN_RATE_LIMIT_WAIT  # "0" must not spin
    assert rules.rate_limit_wait(None) == config.DEFAULT_RATE_LIMIT_WAIT == 60


def test_a_429_wait_that_ends_exactly_at_the_deadline_is_waited() -> None:
    fake = FakeTime()
    rules = policy(fake)
    rules.wait_out_rate_limit(30, deadline=fake.now + 30)
    assert fake.sleeps == [30]


def test_a_429_wait_past_the_deadline_is_refused_at_once_naming_the_wait() -> None:
    fake = FakeTime()
    rules = policy(fake)
    with pytest.raises(RateLimitError, match=r"30 s wait .* does not fit .* \(29 s left\)") as info:
        rules.wait_out_rate_limit(30, deadline=fake.now + 29, subject="GET /open/forms/1")
    assert str(info.value).startswith("GET /open/forms/1: ")
    assert info.value.retry_after == 30
    assert info.value.status_code == 429
    assert fake.sleeps == []


def test_a_429_without_retry_after_is_refused_when_the_default_wait_does_not_fit() -> None:
    fake = FakeTime()
    with pytest.raises(RateLimitError) as info:
        policy(fake).wait_out_rate_limit(None, deadline=fake.now + 59)
    assert info.value.retry_after == 60
    assert fake.sleeps == []


def test_429s_in_a_row_are_waited_out_up_to_the_limit() -> None:
    fake = FakeTime()
    rules = policy(fake, rate_limit_attempts=2)
    rules.wait_out_rate_limit(1, refused=1)
    rules.wait_out_rate_limit(1, refused=2)
    with pytest.raises(RateLimitError, match="3 times in a row"):
        rules.wait_out_rate_limit(1, refused=3)
    assert fake.sleeps == [1, 1]


def test_defaults_come_from_config_when_the_policy_is_made(monkeypatch: pytest.MonkeyPatch) -> None:
    before = RetryPolicy()
    monkeypatch.setattr(config, "HTTP_RETRIES", 7)
    monkeypatch.setattr(config, "DEFAULT_RATE_LIMIT_WAIT", 15.0)
    after = RetryPolicy()
    assert (before.attempts, after.attempts) == (5, 7)
    assert after.rate_limit_wait(None) == 15
    assert after.connect_attempts == config.CONNECT_RETRIES == 3


def test_deadline_is_a_value_of_the_policy_clock() -> None:
    fake = FakeTime()
    assert policy(fake).deadline(5) == 1005
    assert policy(fake).deadline(None) is None


# urllib3's transport retries, with the policy's formula and sleep.


def refused() -> NewConnectionError:
    return NewConnectionError(None, "Failed to establish a new connection: refused")  # type: ignore[arg-type]


def test_transport_retries_of_a_refused_connection_follow_the_policy() -> None:
    fake = FakeTime()
    retries = http.transport_retries(policy(fake))
    for _ in range(config.CONNECT_RETRIES):
        retries = retries.increment("GET", "/open/forms/1", error=refused())
        retries.sleep()
    with pytest.raises(MaxRetryError):
        retries.increment("GET", "/open/forms/1", error=refused())
    assert fake.sleeps == [0.5, 1.0, 2.0]
    assert sum(fake.sleeps) < 10  # a wrong URL is reported within seconds


def test_transport_retries_of_5xx_use_the_same_formula_and_a_503s_retry_after() -> None:
    fake = FakeTime()
    retries = http.transport_retries(policy(fake))
    failing = HTTPResponse(status=502, headers={})
    for _ in range(3):
        retries = retries.increment("GET", "/x", response=failing)
        retries.sleep(failing)
    busy = HTTPResponse(status=503, headers={"Retry-After": "7"})
    retries = retries.increment("GET", "/x", response=busy)
    retries.sleep(busy)
    assert fake.sleeps == [0.5, 1.0, 2.0, 7.0]
    assert retries.get_backoff_time() == 4.0  # the fourth pause, had the 503 said nothing


def test_transport_retries_keep_their_policy_and_numbers() -> None:
    rules = policy(FakeTime(), connect_attempts=1, backoff_factor=0.25)
    retries = http.transport_retries(rules, total=2)
    assert isinstance(retries, http.PolicyRetry)
    assert (retries.total, retries.connect, retries.read, retries.status) == (2, 1, 2, 2)
    assert retries.backoff_factor == 0.25
    following = retries.increment("GET", "/x", error=refused())
    assert isinstance(following, http.PolicyRetry)
    assert following.policy is rules
    assert 429 not in retries.status_forcelist  # waited out where the deadline is known
    assert 429 not in http.PolicyRetry.RETRY_AFTER_STATUS_CODES

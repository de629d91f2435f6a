"""One retry policy drives export requests, polling and downloads: real HTTP, a fake clock.

Every pause goes through the policy's injected ``sleep``, so these tests see each wait the
client would make (the server's ``Retry-After`` and the back-off alike) without sleeping.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

import formexport as fx
from formexport import config
from formexport.jobs.polling import JobWaiter
from formexport.opnform.endpoints import AnsweredCsv, OpnFormAPI, StartedJob
from formexport.opnform.retry import RetryPolicy
from formexport.sandbox import Fault, Sandbox
from formexport.transfer.download import download_file
from tests.fake_clock import FakeTime
from tests.integration.helpers import exports, submission_ids

TOO_MANY = {"http_status": 429, "body": '{"message":"Too Many Attempts."}'}


@pytest.fixture
def fake() -> FakeTime:
    return FakeTime()


@pytest.fixture
def api(sandbox: Sandbox, fake: FakeTime, monkeypatch: pytest.MonkeyPatch) -> Iterator[OpnFormAPI]:
    monkeypatch.setattr(config, "HTTP_BACKOFF_FACTOR", 0.5)  # the users' default, on a fake clock
    rules = RetryPolicy(sleep=fake.sleep, clock=fake.clock, jitter=lambda: 0.0)
    opened = OpnFormAPI(config.resolve_settings(sandbox.token, sandbox.base_url), retry=rules)
    yield opened
    opened.close()


def test_a_batch_is_sent_again_after_5xx_with_the_policy_backoff(
    sandbox: Sandbox, api: OpnFormAPI, fake: FakeTime
) -> None:
    columns = api.get_form(1).default_columns()
    sandbox.faults.add(Fault("export", http_status=502, times=2))
    answer = api.post_export(1, columns, submission_ids(sandbox, 1)[:10])
    assert isinstance(answer, AnsweredCsv)
    assert [r.status for r in exports(sandbox)] == [502, 502, 200]
    assert fake.sleeps == [0.5, 1.0]


def test_a_whole_form_export_is_never_sent_again_after_5xx(
    sandbox: Sandbox, api: OpnFormAPI, fake: FakeTime
) -> None:
    columns = api.get_form(2).default_columns()
    sandbox.faults.add(Fault("export", http_status=502, times=1))
    with pytest.raises(fx.ServerError):
        api.post_export(2, columns)
    assert len(exports(sandbox)) == 1
    assert fake.sleeps == []


def test_an_export_429_is_waited_out_as_retry_after_says(
    sandbox: Sandbox, api: OpnFormAPI, fake: FakeTime
) -> None:
    columns = api.get_form(1).default_columns()
    sandbox.faults.add(Fault("export", headers={"Retry-After": "7"}, times=1, **TOO_MANY))  # type: ignore[arg-type]
    assert isinstance(api.post_export(1, columns), AnsweredCsv)
    assert fake.sleeps == [7.0]


def test_an_export_429_that_does_not_fit_the_deadline_is_raised_unwaited(
    sandbox: Sandbox, api: OpnFormAPI, fake: FakeTime
) -> None:
    columns = api.get_form(1).default_columns()
    sandbox.faults.add(Fault("export", headers={"Retry-After": "7"}, times=1, **TOO_MANY))  # type: ignore[arg-type]
    with pytest.raises(fx.RateLimitError, match="7 s wait"):
        api.post_export(1, columns, deadline=fake.now + 6)
    assert fake.sleeps == []
    assert len(exports(sandbox)) == 1


def test_a_read_429_without_retry_after_waits_the_default(
    sandbox: Sandbox, api: OpnFormAPI, fake: FakeTime
) -> None:
    sandbox.faults.add(Fault("form", times=1, **TOO_MANY))  # type: ignore[arg-type]
    assert api.get_form(1).id == 1
    assert fake.sleeps == [config.DEFAULT_RATE_LIMIT_WAIT]


def test_polling_waits_out_a_status_429_on_the_policy_clock(
    sandbox: Sandbox, api: OpnFormAPI, fake: FakeTime
) -> None:
    sandbox.config.status_access = "open"
    answer = api.post_export(2, api.get_form(2).default_columns())
    assert isinstance(answer, StartedJob)
    sandbox.faults.add(Fault("status", headers={"Retry-After": "9"}, times=1, **TOO_MANY))  # type: ignore[arg-type]
    waiter = JobWaiter(
        lambda: api.get_export_status(2, answer.job_id), job_id=answer.job_id, retry=api.retry
    )
    assert waiter.wait(timeout=60).status == "completed"
    assert fake.sleeps[0] == 9.0


def finished_link(sandbox: Sandbox, api: OpnFormAPI) -> str:
    sandbox.config.status_access = "open"
    answer = api.post_export(2, api.get_form(2).default_columns())
    assert isinstance(answer, StartedJob)
    status = JobWaiter(lambda: api.get_export_status(2, answer.job_id), job_id=None).wait(60)
    assert status.file_url is not None
    return status.file_url


def test_a_download_429_is_waited_out_and_not_counted_as_a_failure(
    sandbox: Sandbox, api: OpnFormAPI, fake: FakeTime, tmp_path: Path
) -> None:
    link = finished_link(sandbox, api)
    sandbox.faults.add(Fault("download", headers={"Retry-After": "3"}, times=2, **TOO_MANY))  # type: ignore[arg-type]
    result = download_file(link, tmp_path / "events.csv", retry=api.retry, max_resumes=0)
    assert result.size > 0
    assert fake.sleeps == [3.0, 3.0]


def test_download_5xx_pauses_follow_the_one_formula_in_both_layers(
    sandbox: Sandbox, api: OpnFormAPI, fake: FakeTime, tmp_path: Path
) -> None:
    link = finished_link(sandbox, api)
    sandbox.faults.add(Fault("download", http_status=503, times=4))
    download_file(link, tmp_path / "events.csv", retry=api.retry)
    # The transport's two retries (0.5 s, 1 s), then a resume (0.5 s) whose own first
    # transport retry waits 0.5 s: the fourth 503 is the last.
    assert fake.sleeps == [0.5, 1.0, 0.5, 0.5]

"""Every failure a user can hit gets a typed error that says what to do."""

from __future__ import annotations

from pathlib import Path

import pytest

import formexport as fx
from formexport import config
from formexport.sandbox import Fault, Sandbox
from tests.integration.helpers import exports, served


def load(sandbox: Sandbox, form: int | str = 1, **kwargs: object) -> object:
    options: dict[str, object] = {
        "token": sandbox.token,
        "base_url": sandbox.base_url,
        "progress": None,
    }
    options.update(kwargs)
    return fx.load_export(form, **options)  # type: ignore[arg-type]


def test_wrong_token(sandbox: Sandbox) -> None:
    # The message names where the refused token came from: here, the argument.
    with pytest.raises(fx.AuthenticationError, match="the token passed as token=") as info:
        load(sandbox, token="1|not-a-real-token")
    assert info.value.status_code == 401
    assert "Access tokens" in str(info.value)


def test_revoked_token(sandbox: Sandbox) -> None:
    token = sandbox.add_token(abilities=["forms-read"])
    sandbox.revoke_token(token)
    with pytest.raises(fx.AuthenticationError):
        load(sandbox, token=token)


def test_missing_token_is_a_configuration_error(sandbox: Sandbox) -> None:
    with pytest.raises(fx.ConfigurationError, match="OPNFORM_API_TOKEN"):
        fx.load_export(1, base_url=sandbox.base_url, progress=None)
    assert not sandbox.requests


def test_form_of_another_workspace(sandbox: Sandbox) -> None:
    with pytest.raises(fx.PermissionDeniedError, match="forms-read") as info:
        load(sandbox, 4)
    assert info.value.status_code == 403


def test_token_without_forms_read(sandbox: Sandbox) -> None:
    token = sandbox.add_token(abilities=["workspaces-read"])
    with pytest.raises(fx.PermissionDeniedError, match="forms-read"):
        load(sandbox, token=token)


@pytest.mark.parametrize("form", [999, "no-such-form"])
def test_unknown_form(sandbox: Sandbox, form: int | str) -> None:
    with pytest.raises(fx.NotFoundError) as info:
        load(sandbox, form)
    assert info.value.status_code == 404


@pytest.mark.parametrize("form", ["../1", "a b", 0, -1, 2.5])
def test_malformed_form_is_refused_before_sending(sandbox: Sandbox, form: object) -> None:
    with pytest.raises(fx.InvalidArgumentError):
        load(sandbox, form)  # type: ignore[arg-type]
    assert not sandbox.requests


def test_unknown_columns_are_named(sandbox: Sandbox) -> None:
    with pytest.raises(fx.InvalidArgumentError, match="nope, ghost"):
        load(sandbox, columns=["nope", "ghost"])
    assert not exports(sandbox)


def test_empty_columns_are_refused_before_sending(sandbox: Sandbox) -> None:
    with pytest.raises(fx.InvalidArgumentError, match="columns=None"):
        load(sandbox, columns=[])
    assert not exports(sandbox)


def test_html_instead_of_json_points_at_the_base_url(sandbox: Sandbox) -> None:
    sandbox.faults.add(Fault("form", html=True))
    with pytest.raises(fx.UnexpectedResponseError, match="base URL"):
        load(sandbox)


def test_broken_json(sandbox: Sandbox) -> None:
    sandbox.faults.add(Fault("form", invalid_json=True))
    with pytest.raises(fx.UnexpectedResponseError, match="invalid JSON"):
        load(sandbox)


def test_server_down(sandbox: Sandbox) -> None:
    with pytest.raises(fx.ConnectionFailedError, match="OPNFORM_API_BASE_URL") as info:
        fx.load_export(1, token="t", base_url="http://127.0.0.1:9", progress=None)
    assert "127.0.0.1:9 (connection refused)" in str(info.value)


def test_failed_job_reports_the_server_reason(sandbox: Sandbox) -> None:
    sandbox.config.status_access = "open"
    sandbox.config.fail_jobs = "Disk quota exceeded"
    with pytest.raises(fx.ExportFailedError, match="Disk quota exceeded") as info:
        load(sandbox, 2)
    assert info.value.job_id
    assert info.value.error_message == "Disk quota exceeded"


def test_stuck_job_times_out_with_its_id_and_a_hint(sandbox: Sandbox) -> None:
    sandbox.config.status_access = "open"
    sandbox.config.job_progression = "stuck"
    with pytest.raises(fx.ExportTimeoutError) as info:
        load(sandbox, 2, timeout=0.3)
    assert info.value.job_id
    assert info.value.form_id == 2
    assert f"formexport.ExportJob.attach(2, {info.value.job_id!r})" in str(info.value)
    # Queued for a moment is normal: a short timeout does not blame the server's queue.
    assert "queue worker" not in str(info.value)


def test_a_job_queued_far_longer_than_normal_blames_the_queue_worker(
    sandbox: Sandbox, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Any time in the queue counts as too long here (the threshold is unit-tested).
    monkeypatch.setattr(config, "QUEUE_STALL_SECONDS", 0.0)
    sandbox.config.status_access = "open"
    sandbox.config.job_progression = "stuck"
    with pytest.raises(fx.ExportTimeoutError, match="far longer than a working queue takes"):
        load(sandbox, 2, timeout=0.3)


def test_status_of_an_unknown_job(sandbox: Sandbox, client: fx.Client) -> None:
    sandbox.config.status_access = "open"
    with pytest.raises(fx.ExportJobNotFoundError, match="expired"):
        client.get_export_status(2, "5b0f3c9e-7d2a-4c61-a8f4-1e9d2b7c6a30")


def test_status_route_closed_to_tokens(client: fx.Client) -> None:
    with pytest.raises(fx.StatusUnavailableError, match="load_export"):
        client.get_export_status(2, "5b0f3c9e-7d2a-4c61-a8f4-1e9d2b7c6a30")


def test_rate_limited_export_waits_and_succeeds(sandbox: Sandbox) -> None:
    sandbox.faults.add(
        Fault(
            "export",
            http_status=429,
            headers={"Retry-After": "1"},
            body='{"message":"Too Many Attempts."}',
        )
    )
    df = load(sandbox)
    assert len(df) == 250  # type: ignore[arg-type]
    assert [r.status for r in exports(sandbox)] == [429, 200]


def test_rate_limit_longer_than_the_timeout_is_raised(sandbox: Sandbox) -> None:
    sandbox.config.status_access = "open"
    sandbox.faults.add(Fault("export", http_status=429, headers={"Retry-After": "60"}, times=None))
    client = fx.Client(token=sandbox.token, base_url=sandbox.base_url)
    with pytest.raises(fx.RateLimitError) as info:
        client.api.post_export(1, {"created_at": True}, deadline=0.0)
    assert info.value.retry_after == 60


def test_status_server_errors_are_retried(sandbox: Sandbox) -> None:
    sandbox.config.status_access = "open"
    sandbox.config.job_progression = "per_poll"
    with fx.Client(token=sandbox.token, base_url=sandbox.base_url) as client:
        job = client.start_export(2)
        sandbox.faults.add(Fault("status", http_status=503, times=2))
        job.wait(progress=None)
    assert job.status is not None
    assert job.status.status == "completed"
    assert [r.status for r in served(sandbox, "GET", "/export/status/")].count(503) == 2


def test_nothing_is_left_behind_when_the_download_fails(sandbox: Sandbox, tmp_path: Path) -> None:
    sandbox.config.status_access = "open"
    sandbox.faults.add(Fault("download", reset=True, times=None))
    with pytest.raises(fx.DownloadError):
        fx.download_export(
            2, tmp_path / "out.csv", token=sandbox.token, base_url=sandbox.base_url, progress=None
        )
    assert list(tmp_path.iterdir()) == []


def test_a_session_of_ones_own_keeps_retries_token_and_headers(sandbox: Sandbox) -> None:
    import requests

    own = requests.Session()
    own.headers["X-Team"] = "analytics"
    sandbox.config.status_access = "open"
    sandbox.config.job_progression = "per_poll"
    with fx.Client(token=sandbox.token, base_url=sandbox.base_url, session=own) as client:
        job = client.start_export(2)
        sandbox.faults.add(Fault("status", http_status=503, times=2))
        job.wait(progress=None)
    api_requests = [r for r in sandbox.requests if r.path.startswith("/open/")]
    assert all(r.headers.get("Authorization") == f"Bearer {sandbox.token}" for r in api_requests)
    assert all(r.headers.get("X-Team") == "analytics" for r in api_requests)
    assert [r.status for r in served(sandbox, "GET", "/export/status/")].count(503) == 2

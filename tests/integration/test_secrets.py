"""The token never shows: not in logs (DEBUG included), reprs, errors or progress."""

from __future__ import annotations

import logging

import pytest

import formexport as fx
from formexport.credentials import ProfileStore
from formexport.progress.reporters import ProgressEvent
from formexport.sandbox import Fault, Sandbox


def secret_part(token: str) -> str:
    return token.split("|", 1)[1]


@pytest.mark.parametrize("status_access", ["open", "blocked"])
def test_full_export_logs_and_progress_hold_no_token(
    sandbox: Sandbox, caplog: pytest.LogCaptureFixture, status_access: str
) -> None:
    sandbox.config.status_access = status_access
    caplog.set_level(logging.DEBUG)
    events: list[ProgressEvent] = []
    with fx.Client(token=sandbox.token, base_url=sandbox.base_url) as client:
        job = client.start_export(2)
        job.wait(progress=events.append)
        job.to_dataframe()
        shown = [repr(client), repr(job), repr(job.status), repr(client.api), repr(client.settings)]
    records = [record.getMessage() for record in caplog.records]
    assert len(records) > 3
    haystack = "\n".join(records + shown + [repr(e) for e in events])
    assert secret_part(sandbox.token) not in haystack


def test_errors_hold_no_token(sandbox: Sandbox) -> None:
    bad = "7|" + "x" * 40
    with pytest.raises(fx.AuthenticationError) as info:
        fx.load_export(1, token=bad, base_url=sandbox.base_url, progress=None)
    assert "x" * 40 not in str(info.value)
    sandbox.faults.add(Fault("form", http_status=500, times=None))
    with pytest.raises(fx.ServerError) as server_error:
        fx.load_export(1, token=sandbox.token, base_url=sandbox.base_url, progress=None)
    assert secret_part(sandbox.token) not in str(server_error.value)


def test_signed_link_is_redacted_in_messages(sandbox: Sandbox, tmp_path: object) -> None:
    sandbox.config.status_access = "open"
    sandbox.faults.add(Fault("download", http_status=500, times=None))
    with fx.Client(token=sandbox.token, base_url=sandbox.base_url) as client:
        job = client.start_export(2)
        with pytest.raises(fx.FormExportError) as info:
            job.to_dataframe()
    assert job.status is not None
    assert job.status.file_url is not None
    signature = job.status.file_url.split("signature=")[1]
    assert signature not in str(info.value)
    assert "REDACTED" in str(info.value)


def test_signing_in_and_out_shows_no_token(
    sandbox: Sandbox, caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    caplog.set_level(logging.DEBUG)
    events: list[ProgressEvent] = []
    other = sandbox.add_token(user_id=2)
    shown = [repr(fx.login(token=sandbox.token, base_url=sandbox.base_url, profile="work"))]
    shown.append(str(fx.login(token=other, base_url=sandbox.api_url, profile="lab")))
    shown += [repr(fx.whoami(profile="work")), str(fx.whoami(profile="lab"))]
    with fx.Client(profile="work") as client:
        job = client.start_export(1)
        job.wait(progress=events.append)
        shown += [repr(client), repr(client.settings), repr(client.api), repr(job)]
    fx.load_export(4, profile="lab", progress=events.append)
    shown.append(repr(ProfileStore()))
    shown.append(repr(ProfileStore().get("work")))
    assert fx.logout(profile="work")
    records = [record.getMessage() for record in caplog.records]
    assert len(records) > 3
    haystack = "\n".join(records + shown + [repr(e) for e in events])
    assert "Demo User" in haystack
    for token in (sandbox.token, other):
        assert secret_part(token) not in haystack


def test_sign_in_errors_hold_no_token(sandbox: Sandbox, monkeypatch: pytest.MonkeyPatch) -> None:
    wrong = "8|" + "y" * 40
    texts = []
    with pytest.raises(fx.AuthenticationError) as refused:
        fx.login(token=wrong, base_url=sandbox.base_url, profile="work")
    texts.append(str(refused.value))
    token = sandbox.add_token()
    fx.login(token=token, base_url=sandbox.base_url, profile="work")
    sandbox.revoke_token(token)
    for call in (lambda: fx.whoami(profile="work"), lambda: fx.list_forms(profile="work")):
        with pytest.raises(fx.AuthenticationError) as revoked:
            call()
        texts.append(str(revoked.value))
    with pytest.raises(fx.ConfigurationError) as elsewhere:
        fx.load_export(1, profile="work", base_url="https://forms.example.com/api")
    texts.append(str(elsewhere.value))
    with pytest.raises(fx.InvalidArgumentError) as pasted:
        fx.whoami(profile=token)  # a token pasted where the profile name goes
    texts.append(str(pasted.value))
    haystack = "\n".join(texts)
    assert "y" * 40 not in haystack
    assert secret_part(token) not in haystack

"""``Authorization`` goes to the API's own origin only: not to another host, port or scheme
after a redirect, never to a signed file link, and ``.netrc`` adds nothing anywhere."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests

import formexport as fx
from formexport import config
from formexport.opnform import http
from formexport.sandbox import Fault, Sandbox
from tests.reliability.figures import doc_says
from tests.reliability.helpers import file_requests, on_route
from tests.reliability.recorder import Recorder

API = "https://api.opnform.com"


@pytest.fixture(scope="module")
def recorder() -> Iterator[Recorder]:
    server = Recorder()
    yield server
    server.close()


@pytest.fixture
def netrc(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A .netrc with credentials for both loopback hosts: requests would use it if allowed."""
    path = tmp_path / "netrc"
    path.write_text(
        "machine 127.0.0.1 login netrc-user password netrc-secret\n"
        "machine 127.0.0.2 login netrc-user password netrc-secret\n"
    )
    path.chmod(0o600)
    monkeypatch.setenv("NETRC", str(path))
    return path


@pytest.mark.parametrize(
    ("url", "gets_token"),
    [
        (f"{API}/open/forms/1", True),
        ("https://API.OpnForm.com/open/forms/1", True),
        ("https://api.opnform.com:443/open/forms/1", True),
        ("http://api.opnform.com/open/forms/1", False),
        ("https://api.opnform.com:8443/open/forms/1", False),
        ("https://api.opnform.com.example.org/open/forms/1", False),
        ("https://api.opnform.com@example.org/open/forms/1", False),
        ("https://example.org/?next=https://api.opnform.com/", False),
        ("https://opnform-exports.s3.amazonaws.com/exports/a.csv?X-Amz-Signature=1", False),
    ],
)
def test_the_token_follows_the_exact_origin(url: str, gets_token: bool) -> None:
    settings = config.resolve_settings(token="7|secret", base_url=API)
    request = requests.Request("GET", url, headers={"Authorization": "Bearer stale"}).prepare()
    http.OriginBoundToken(settings)(request)
    assert request.headers.get("Authorization") == ("Bearer 7|secret" if gets_token else None)


def follow(sandbox: Sandbox, location: str) -> None:
    """Export form 1 while the API redirects its first form read to ``location``."""
    sandbox.faults.add(Fault("form", http_status=302, headers={"Location": location}))
    # The target is no OpnForm: only what it received matters here.
    with contextlib.suppress(fx.FormExportError):
        fx.load_export(1, token=sandbox.token, base_url=sandbox.base_url, progress=None)


def test_redirect_to_another_host_carries_no_token(sandbox: Sandbox, netrc: Path) -> None:
    follow(sandbox, f"{sandbox.file_host_url}/elsewhere")
    (hop,) = [r for r in sandbox.requests if r.host.startswith("127.0.0.2")]
    assert "Authorization" not in hop.headers


def test_redirect_to_another_port_carries_no_token(
    sandbox: Sandbox, recorder: Recorder, netrc: Path
) -> None:
    recorder.seen.clear()
    follow(sandbox, f"{recorder.url('http')}/open/forms/1")
    (hop,) = recorder.seen
    assert "Authorization" not in hop.headers


@pytest.mark.parametrize(("start", "then"), [("https", "http"), ("http", "https")])
def test_redirect_to_the_other_scheme_on_the_same_port_carries_no_token(
    recorder: Recorder,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    start: str,
    then: str,
) -> None:
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", recorder.trust(tmp_path))
    recorder.seen.clear()
    recorder.redirects.clear()
    recorder.redirects[(start, "/open/forms/1")] = f"{recorder.url(then)}/open/forms/1"
    with pytest.raises(fx.FormExportError):
        fx.load_export(1, token="7|secret", base_url=recorder.url(start), progress=None)
    first, hop = recorder.seen
    assert (first.scheme, hop.scheme) == (start, then)
    assert first.headers["Authorization"] == "Bearer 7|secret"
    assert "Authorization" not in hop.headers


def test_redirect_within_the_api_keeps_the_token(sandbox: Sandbox) -> None:
    location = f"{sandbox.base_url}/open/forms/1"
    sandbox.faults.add(Fault("form", http_status=302, headers={"Location": location}))
    df = fx.load_export(1, token=sandbox.token, base_url=sandbox.base_url, progress=None)
    assert len(df) == 250
    redirected, followed = on_route(sandbox, "/open/forms/1")[:2]
    assert (redirected.status, followed.status) == (302, 200)
    assert followed.headers["Authorization"] == f"Bearer {sandbox.token}"


@pytest.mark.parametrize("file_host", ["local", "s3"])
def test_file_links_get_no_credentials_even_from_netrc(
    sandbox: Sandbox, netrc: Path, file_host: str
) -> None:
    sandbox.config.status_access = "open"
    sandbox.config.file_host = file_host
    df = fx.load_export(2, token=sandbox.token, base_url=sandbox.base_url, progress=None)
    assert len(df) == 2500
    downloads = file_requests(sandbox)
    assert downloads
    api_calls = [r for r in sandbox.requests if r not in downloads]
    assert {r.headers["Authorization"] for r in api_calls} == {f"Bearer {sandbox.token}"}
    carrying = sum("Authorization" in r.headers for r in downloads)
    row = "Signed file links get no credentials"
    doc_says(row, "Result", f"{carrying} requests carrying `Authorization`")

"""No token over plain http:// to a host that is not loopback, unless the caller says so.

The opt-in is proven end to end without leaving loopback: the emulator also answers requests
sent to it as an HTTP proxy, so ``http://forms.internal.test`` reaches it through
``HTTP_PROXY`` the way a private server would be reached on a real network.
"""

from __future__ import annotations

import pytest

import formexport as fx
from formexport import config
from formexport.sandbox import Sandbox

PRIVATE = "http://forms.internal.test"


@pytest.fixture
def proxied(sandbox: Sandbox, monkeypatch: pytest.MonkeyPatch) -> Sandbox:
    for name in ("HTTP_PROXY", "http_proxy"):
        monkeypatch.setenv(name, sandbox.base_url)
    for name in ("NO_PROXY", "no_proxy"):
        monkeypatch.delenv(name, raising=False)
    return sandbox


def test_plain_http_to_a_remote_host_is_refused_before_sending(proxied: Sandbox) -> None:
    with pytest.raises(fx.ConfigurationError, match="allow_insecure_http") as info:
        fx.load_export(1, token=proxied.token, base_url=PRIVATE, progress=None)
    assert config.INSECURE_HTTP_ENV in str(info.value)
    assert proxied.requests == []


def test_the_opt_in_argument_lets_the_export_through(proxied: Sandbox) -> None:
    with fx.Client(token=proxied.token, base_url=PRIVATE, allow_insecure_http=True) as client:
        assert len(client.start_export(1).to_dataframe()) == 250
    hosts = {r.headers["Host"] for r in proxied.requests}
    assert hosts == {"forms.internal.test"}
    assert all(r.headers["Authorization"] == f"Bearer {proxied.token}" for r in proxied.requests)


def test_the_opt_in_variable_lets_the_export_through(
    proxied: Sandbox, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(config.INSECURE_HTTP_ENV, "1")
    df = fx.load_export(1, token=proxied.token, base_url=PRIVATE, progress=None)
    assert len(df) == 250


def test_the_argument_overrides_the_variable(
    proxied: Sandbox, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(config.INSECURE_HTTP_ENV, "1")
    with pytest.raises(fx.ConfigurationError):
        fx.Client(token=proxied.token, base_url=PRIVATE, allow_insecure_http=False)


@pytest.mark.parametrize("value", ["maybe", "2"])
def test_an_unclear_variable_is_a_configuration_error(
    monkeypatch: pytest.MonkeyPatch, value: str
) -> None:
    monkeypatch.setenv(config.INSECURE_HTTP_ENV, value)
    with pytest.raises(fx.ConfigurationError, match=config.INSECURE_HTTP_ENV):
        fx.Client(token="7|secret", base_url=PRIVATE)


@pytest.mark.parametrize("host", ["127.0.0.1", "127.8.9.10", "localhost", "[::1]"])
def test_loopback_needs_no_opt_in(host: str) -> None:
    assert fx.Client(token="7|secret", base_url=f"http://{host}:8000").base_url.startswith("http")

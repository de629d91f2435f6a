"""No connection at all, over real sockets: the message names the host, the CLI exits 2."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

import formexport as fx
from formexport import config
from formexport.opnform.endpoints import OpnFormAPI
from formexport.opnform.retry import RetryPolicy
from formexport.sandbox import Sandbox
from tests.fake_clock import FakeTime


@pytest.fixture
def closed_port() -> Iterator[int]:
    """A loopback port nothing listens on: bound (no one else can take it), never listening."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        yield sock.getsockname()[1]


def run_cli(*args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, config.TOKEN_ENV: "1|a-token-for-the-test"}
    return subprocess.run(
        [sys.executable, "-m", "formexport", *args, "--no-progress"],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
        env=env,
    )


def test_a_port_nothing_listens_on_is_named_and_given_up_on_within_seconds(
    closed_port: int,
) -> None:
    fake = FakeTime()
    rules = RetryPolicy(sleep=fake.sleep, clock=fake.clock, jitter=lambda: 0.999)
    api = OpnFormAPI(config.resolve_settings("t", f"http://127.0.0.1:{closed_port}"), retry=rules)
    with pytest.raises(fx.ConnectionFailedError) as info:
        api.get_form(1)
    message = str(info.value)
    assert f"could not connect to 127.0.0.1:{closed_port} (connection refused)" in message
    assert config.BASE_URL_ENV in message
    assert isinstance(info.value, fx.NetworkError)
    # Three short pauses, not five growing ones: a wrong URL is reported within seconds.
    assert len(fake.sleeps) == config.CONNECT_RETRIES
    assert sum(fake.sleeps) < 5


def test_https_to_a_plain_http_server_says_it_may_not_speak_https(sandbox: Sandbox) -> None:
    https_url = sandbox.base_url.replace("http://", "https://")
    with pytest.raises(fx.ConnectionFailedError, match="may not speak HTTPS") as info:
        fx.load_export(1, token=sandbox.token, base_url=https_url, progress=None)
    assert sandbox.base_url in str(info.value)  # the plain-HTTP URL to try instead
    assert "SSLError" not in str(info.value)


def test_the_command_exits_2_naming_the_closed_port(closed_port: int, tmp_path: Path) -> None:
    out = tmp_path / "x.csv"
    url = f"http://127.0.0.1:{closed_port}"
    result = run_cli("export", "1", "-o", str(out), "--base-url", url)
    assert result.returncode == 2, result.stderr
    assert f"127.0.0.1:{closed_port} (connection refused)" in result.stderr
    assert "Traceback" not in result.stderr
    assert not out.exists()


def test_the_command_exits_2_when_the_server_does_not_speak_https(
    sandbox: Sandbox, tmp_path: Path
) -> None:
    https_url = sandbox.base_url.replace("http://", "https://")
    result = run_cli("export", "1", "-o", str(tmp_path / "x.csv"), "--base-url", https_url)
    assert result.returncode == 2, result.stderr
    assert "may not speak HTTPS" in result.stderr
    assert sandbox.base_url in result.stderr
    assert "1|a-token-for-the-test" not in result.stderr + result.stdout

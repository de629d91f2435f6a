"""Integration fixtures: one emulator per session over real loopback HTTP, reset per test."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from formexport import Client, config
from formexport.sandbox import Sandbox


@pytest.fixture(scope="session")
def _emulator() -> Iterator[Sandbox]:
    with Sandbox() as emulator:
        yield emulator


@pytest.fixture
def sandbox(_emulator: Sandbox, monkeypatch: pytest.MonkeyPatch) -> Iterator[Sandbox]:
    """The emulator in its seeded state; fails the test if a handler thread crashed."""
    _emulator.reset()
    # Poll fast: the emulator's jobs move in milliseconds, and the cadence is unit-tested.
    monkeypatch.setattr(config, "POLL_MIN_INTERVAL", 0.01)
    monkeypatch.setattr(config, "POLL_MAX_INTERVAL", 0.05)
    # Retry as often as users get, without the real back-off pauses.
    monkeypatch.setattr(config, "HTTP_BACKOFF_FACTOR", 0.001)
    monkeypatch.setattr(config, "RESUME_BACKOFF", 0.001)
    yield _emulator
    _emulator.check()


@pytest.fixture
def client(sandbox: Sandbox) -> Iterator[Client]:
    with Client(token=sandbox.token, base_url=sandbox.base_url) as opened:
        yield opened


@pytest.fixture
def env(sandbox: Sandbox, monkeypatch: pytest.MonkeyPatch) -> Sandbox:
    """Token and server in the environment, as users set them."""
    monkeypatch.setenv("OPNFORM_API_TOKEN", sandbox.token)
    monkeypatch.setenv("OPNFORM_API_BASE_URL", sandbox.base_url)
    return sandbox

"""Shared fixtures: a clean environment for every test, and the emulator over real loopback HTTP."""

from __future__ import annotations

import os
from collections.abc import Iterator

import keyring
import pytest

from formexport import config
from formexport.opnform.ratelimit import forget_paces
from formexport.sandbox import Sandbox
from tests.keyrings import MemoryKeyring

_OWN_PREFIXES = ("OPNFORM_", "FORMEXPORT_")
TEST_RATE_WINDOW = 2.0


@pytest.fixture(autouse=True)
def clean_env(monkeypatch: pytest.MonkeyPatch, tmp_path_factory: pytest.TempPathFactory) -> None:
    """No test sees the developer's token, server, progress settings, job record, cache,
    signed-in profiles or keyring."""
    for name in list(os.environ):
        if name.startswith(_OWN_PREFIXES):
            monkeypatch.delenv(name)
    # Outside tmp_path, which some tests expect to stay empty.
    monkeypatch.setenv("FORMEXPORT_CACHE_DIR", str(tmp_path_factory.mktemp("formexport-cache")))
    monkeypatch.setenv(config.CONFIG_DIR_ENV, str(tmp_path_factory.mktemp("formexport-config")))
    # A keyring of the test's own here; none at all in the processes a test starts.
    keyring.set_keyring(MemoryKeyring())
    monkeypatch.setenv("PYTHON_KEYRING_BACKEND", "keyring.backends.fail.Keyring")
    # Each test's emulator starts with fresh rate-limit windows; so does the client's count.
    forget_paces()


@pytest.fixture(scope="session")
def _emulator() -> Iterator[Sandbox]:
    with Sandbox() as emulator:
        yield emulator


@pytest.fixture
def sandbox(_emulator: Sandbox, monkeypatch: pytest.MonkeyPatch) -> Iterator[Sandbox]:
    """The emulator in its seeded state; fails the test if a handler thread crashed."""
    _emulator.reset()
    # Poll fast: the emulator's jobs move in milliseconds, and the schedule is unit-tested.
    monkeypatch.setattr(config, "POLL_MIN_INTERVAL", 0.01)
    monkeypatch.setattr(config, "POLL_MAX_INTERVAL", 0.05)
    monkeypatch.setattr(config, "POLL_BUDGET_SECONDS", 0.01)
    monkeypatch.setattr(config, "POLL_FIRST_ASK", 0.01)
    monkeypatch.setattr(config, "POLL_OVERDUE_WAIT", 0.01)
    # Retry as often as users get, with no back-off pauses (the formula is unit-tested on a fake
    # clock); only the waits a real server asks for (Retry-After) stay real.
    monkeypatch.setattr(config, "HTTP_BACKOFF_FACTOR", 0.0)
    # OpnForm's limits per 2-s window instead of per minute, on both sides: tests that export
    # more than ten times keep to the limits without waiting a real minute.
    _emulator.config.rate_window_seconds = TEST_RATE_WINDOW
    monkeypatch.setattr(config, "RATE_LIMIT_WINDOW", TEST_RATE_WINDOW)
    yield _emulator
    _emulator.faults.clear()
    _emulator.check()

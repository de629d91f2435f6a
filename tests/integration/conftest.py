"""Integration fixtures on top of the shared emulator (`sandbox`, in tests/conftest.py)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from formexport import Client
from formexport.sandbox import Sandbox


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

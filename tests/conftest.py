"""Shared fixtures: a clean environment for every test."""

from __future__ import annotations

import os

import pytest

_OWN_PREFIXES = ("OPNFORM_", "FORMEXPORT_")


@pytest.fixture(autouse=True)
def clean_env(monkeypatch: pytest.MonkeyPatch, tmp_path_factory: pytest.TempPathFactory) -> None:
    """No test sees the developer's token, server, progress settings, job record or cache."""
    for name in list(os.environ):
        if name.startswith(_OWN_PREFIXES):
            monkeypatch.delenv(name)
    # Outside tmp_path, which some tests expect to stay empty.
    monkeypatch.setenv("FORMEXPORT_CACHE_DIR", str(tmp_path_factory.mktemp("formexport-cache")))

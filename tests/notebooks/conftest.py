"""Real Jupyter kernels (nbclient, papermill, JupyterLab) against an emulator in this process."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from formexport import config
from formexport.sandbox import Sandbox


@pytest.fixture(scope="module")
def _emulator() -> Iterator[Sandbox]:
    with Sandbox() as emulator:
        yield emulator


@pytest.fixture
def kernel_env(_emulator: Sandbox, monkeypatch: pytest.MonkeyPatch) -> Sandbox:
    """The emulator, reset, with its token and URL in the environment kernels inherit."""
    _emulator.reset()
    _emulator.config.status_access = "open"  # a background job, so every phase shows
    monkeypatch.setenv(config.TOKEN_ENV, _emulator.token)
    monkeypatch.setenv(config.BASE_URL_ENV, _emulator.base_url)
    # jupyter_core warns about its path migration unless this is set.
    monkeypatch.setenv("JUPYTER_PLATFORM_DIRS", "1")
    return _emulator

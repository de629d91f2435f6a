"""Fixtures for the emulator's contract tests: real loopback HTTP, one server per session.

``sb`` is the seeded sandbox, reset before each test and checked for handler-thread
errors after it; ``bare`` has no demo forms (submission ids start at 1, so the
reference examples' hashids ``jR``/``k5`` come out). ``api``/``bare_api`` wrap a
``requests.Session`` with the demo token.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import requests

from formexport.sandbox import Sandbox
from tests.sandbox.helpers import Api


@pytest.fixture(scope="session")
def _seeded() -> Iterator[Sandbox]:
    with Sandbox() as sandbox:
        yield sandbox


@pytest.fixture(scope="session")
def _bare() -> Iterator[Sandbox]:
    with Sandbox(seed=False) as sandbox:
        yield sandbox


@pytest.fixture
def sb(_seeded: Sandbox) -> Iterator[Sandbox]:
    _seeded.reset()
    yield _seeded
    _seeded.check()


@pytest.fixture
def bare(_bare: Sandbox) -> Iterator[Sandbox]:
    _bare.reset()
    yield _bare
    _bare.check()


@pytest.fixture
def api(sb: Sandbox) -> Iterator[Api]:
    with requests.Session() as session:
        yield Api(sb, session)


@pytest.fixture
def bare_api(bare: Sandbox) -> Iterator[Api]:
    with requests.Session() as session:
        yield Api(bare, session)

"""Fault-injection fixtures: one emulator per session over loopback, reset for every test.

The figures the tests measure (waits, retries, resume offsets) are collected in
:data:`tests.reliability.helpers.FIGURES` and listed at the end of a verbose run
(``pytest tests/reliability -v``); ``docs/reliability.md`` quotes them.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator

import pytest

from formexport import config
from formexport.sandbox import Sandbox
from tests.reliability.helpers import FIGURES, LogCapture


@pytest.fixture(scope="session")
def _emulator() -> Iterator[Sandbox]:
    with Sandbox() as emulator:
        yield emulator


@pytest.fixture
def sandbox(_emulator: Sandbox, monkeypatch: pytest.MonkeyPatch) -> Iterator[Sandbox]:
    """The emulator in its seeded state; fails the test if a handler thread crashed."""
    _emulator.reset()
    # Poll and back off fast: only the waits a server asks for (Retry-After) stay real.
    monkeypatch.setattr(config, "POLL_MIN_INTERVAL", 0.01)
    monkeypatch.setattr(config, "POLL_MAX_INTERVAL", 0.05)
    monkeypatch.setattr(config, "HTTP_BACKOFF_FACTOR", 0.001)
    monkeypatch.setattr(config, "RESUME_BACKOFF", 0.001)
    yield _emulator
    _emulator.faults.clear()
    _emulator.check()


@pytest.fixture
def logs() -> Iterator[LogCapture]:
    """Every log record at DEBUG, formexport's and urllib3's, whatever propagation says."""
    capture = LogCapture()
    loggers = [logging.getLogger(), logging.getLogger("formexport")]
    saved = [(lg, lg.level) for lg in loggers]
    for logger in loggers:
        logger.addHandler(capture)
        logger.setLevel(logging.DEBUG)
    yield capture
    for logger, level in saved:
        logger.removeHandler(capture)
        logger.setLevel(level)


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    """List the measured figures after a verbose run."""
    if not FIGURES or terminalreporter.config.option.verbose < 1:
        return
    terminalreporter.section("reliability figures")
    for name, value in FIGURES.items():
        terminalreporter.write_line(f"{name}: {value}")

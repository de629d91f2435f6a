"""Fault-injection fixtures on top of the shared emulator (`sandbox`, in tests/conftest.py).

The figures the tests measure (waits, retries, resume offsets) are collected in
:data:`tests.reliability.helpers.FIGURES` and listed at the end of a verbose run
(``pytest tests/reliability -v``); ``docs/reliability.md`` quotes them.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator

import pytest

from tests.reliability.helpers import FIGURES, LogCapture


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

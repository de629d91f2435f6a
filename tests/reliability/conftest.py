"""Fault-injection fixtures on top of the shared emulator (`sandbox`, in tests/conftest.py).

The figures the tests measure (waits, retries, resume offsets) are collected in
:data:`tests.reliability.helpers.FIGURES` and listed at the end of a verbose run
(``pytest tests/reliability -v``); ``docs/reliability.md`` quotes them.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.reliability.figures import PARTIAL_RUN
from tests.reliability.helpers import FIGURES, LogCapture

HERE = Path(__file__).parent
DOC_CHECK = "test_docs_figures.py"


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


def pytest_deselected(items: list[pytest.Item]) -> None:
    """Note a run that leaves tests of this folder out (``-k``, ``--deselect``...)."""
    if any(item.path.parent == HERE for item in items):
        config = items[0].config
        config.stash[PARTIAL_RUN] = "some of its tests were deselected"


@pytest.hookimpl(trylast=True)
def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Run the check of the doc's figures after every test that measures them."""
    checks = [item for item in items if item.path == HERE / DOC_CHECK]
    if not checks:
        return
    items[:] = [item for item in items if item not in checks] + checks
    modules = {item.path.name for item in items if item.path.parent == HERE}
    missing = sorted({p.name for p in HERE.glob("test_*.py")} - modules)
    by_id = [arg for arg in config.args if "::" in arg and "reliability" in arg]
    # --lf exists only while the cache plugin is loaded (not under -p no:cacheprovider).
    last_failed = getattr(config.option, "lf", False)
    if missing:
        config.stash[PARTIAL_RUN] = f"{', '.join(missing)} not in the run"
    elif by_id or config.option.keyword or config.option.markexpr or last_failed:
        config.stash.setdefault(PARTIAL_RUN, "tests chosen by node id, -k, -m or --lf")

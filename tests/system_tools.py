"""Tests that need a program from Debian (Chromium, PHP): skipped where it is missing, failed in CI.

``make test`` installs what it can (as root, with apt); elsewhere these tests skip with one line
naming the package to install. CI sets ``FORMEXPORT_REQUIRE_SYSTEM_TOOLS=1``, which turns the
skip into a failure, so CI always runs them.
"""

from __future__ import annotations

import os
import shutil

import pytest

REQUIRE_ENV = "FORMEXPORT_REQUIRE_SYSTEM_TOOLS"
# Read at import, before the autouse fixture clears every FORMEXPORT_ variable for the tests.
REQUIRED = os.environ.get(REQUIRE_ENV, "").strip().lower() in ("1", "true", "yes")


def require_tool(program: str, debian_package: str) -> str:
    """The path of ``program``; skips the test (fails it in CI) when it is not installed."""
    found = shutil.which(program)
    if found:
        return found
    message = (
        f"needs {program}: install Debian's {debian_package} (apt-get install {debian_package})"
    )
    if REQUIRED:
        pytest.fail(f"{message}; {REQUIRE_ENV} is set, so it may not be skipped")
    pytest.skip(message)

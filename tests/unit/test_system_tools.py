"""The rule for tests that need Debian programs: skip with the package's name, fail in CI."""

from __future__ import annotations

import pytest

from tests import system_tools


def test_a_missing_program_skips_naming_its_package(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(system_tools, "REQUIRED", False)
    with pytest.raises(pytest.skip.Exception, match="apt-get install no-such-package"):
        system_tools.require_tool("no-such-program-here", "no-such-package")


def test_ci_turns_the_skip_into_a_failure(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(system_tools, "REQUIRED", True)
    with pytest.raises(pytest.fail.Exception, match="FORMEXPORT_REQUIRE_SYSTEM_TOOLS"):
        system_tools.require_tool("no-such-program-here", "no-such-package")


def test_an_installed_program_is_found() -> None:
    assert system_tools.require_tool("sh", "dash").endswith("/sh")

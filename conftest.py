"""Examples run against the built-in OpnForm emulator (as pooch does): docstrings and docs.

``make test`` collects ``src/formexport`` with ``--doctest-modules``, and the Python blocks of
the README and ``docs/`` with ``--markdown-docs`` (``make docs-examples``). Each example runs with
``OPNFORM_API_TOKEN`` and ``OPNFORM_API_BASE_URL`` pointing at a seeded :class:`Sandbox` (forms
1 to 4, see the README), in an empty working folder, with a private cache and no progress display,
so that examples read like a user's session against their own server.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

collect_ignore = ["src/formexport/__main__.py"]  # running it is the command line

_OWN_PREFIXES = ("OPNFORM_", "FORMEXPORT_")


@pytest.fixture(scope="session")
def _doctest_server() -> Iterator[object]:
    from formexport.sandbox import Sandbox

    with Sandbox() as sandbox:
        yield sandbox


@pytest.fixture(autouse=True)
def _doctest_session(
    request: pytest.FixtureRequest,
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
) -> None:
    if not _is_example(request.node):
        return
    sandbox = request.getfixturevalue("_doctest_server")
    sandbox.reset()  # type: ignore[attr-defined]
    from formexport.opnform.ratelimit import forget_paces

    forget_paces()  # the emulator's rate-limit windows start afresh: so does the client's count
    for name in list(os.environ):
        if name.startswith(_OWN_PREFIXES):
            monkeypatch.delenv(name)
    monkeypatch.setenv("OPNFORM_API_TOKEN", sandbox.token)  # type: ignore[attr-defined]
    monkeypatch.setenv("OPNFORM_API_BASE_URL", sandbox.base_url)  # type: ignore[attr-defined]
    monkeypatch.setenv("FORMEXPORT_CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.setenv("FORMEXPORT_PROGRESS", "none")
    monkeypatch.chdir(tmp_path)
    if isinstance(request.node, pytest.DoctestItem):
        namespace = request.getfixturevalue("doctest_namespace")
        namespace["sandbox"] = sandbox


def _is_example(item: pytest.Item) -> bool:
    """A docstring example or a Python block of the docs (pytest-markdown-docs)."""
    return isinstance(item, pytest.DoctestItem) or type(item).__name__ == "MarkdownInlinePythonItem"

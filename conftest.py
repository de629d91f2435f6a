"""Examples run against the built-in OpnForm emulator (as pooch does): docstrings and docs.

``make test`` collects ``src/formexport`` with ``--doctest-modules``, and the Python blocks of
the README and ``docs/`` with ``--markdown-docs`` (``make docs-examples``). Each example runs with
``OPNFORM_API_TOKEN`` and ``OPNFORM_API_BASE_URL`` pointing at a seeded :class:`Sandbox` (forms
1 to 4, see the README), in an empty working folder, with a private cache, config folder and
keyring and no progress display, so that examples read like a user's session against their own
server.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

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
    if not request.node.name.startswith("formexport.signin."):
        # The examples of signing in read as a session of someone who set no token.
        monkeypatch.setenv("OPNFORM_API_TOKEN", sandbox.token)  # type: ignore[attr-defined]
    monkeypatch.setenv("OPNFORM_API_BASE_URL", sandbox.base_url)  # type: ignore[attr-defined]
    monkeypatch.setenv("FORMEXPORT_CACHE_DIR", str(tmp_path / "cache"))
    # Examples that sign in keep their profiles here, and their tokens in a keyring of their
    # own: never the user's.
    monkeypatch.setenv("FORMEXPORT_CONFIG_DIR", str(tmp_path / "config"))
    import keyring

    from tests.keyrings import MemoryKeyring

    keyring.set_keyring(MemoryKeyring())
    monkeypatch.setenv("FORMEXPORT_PROGRESS", "none")
    monkeypatch.chdir(tmp_path)
    if isinstance(request.node, pytest.DoctestItem):
        namespace = request.getfixturevalue("doctest_namespace")
        namespace["sandbox"] = sandbox


def _is_example(item: pytest.Item) -> bool:
    """A docstring example or a Python block of the docs (pytest-markdown-docs)."""
    return isinstance(item, pytest.DoctestItem) or type(item).__name__ == "MarkdownInlinePythonItem"


@pytest.fixture
def server_jobs(_doctest_session: None, _doctest_server: object) -> None:
    """The emulator as a server that lets tokens watch their jobs, which take a moment.

    Docs pages say so above the examples that ask for it (a ``fixture:server_jobs`` fence).
    """
    config = _doctest_server.config  # type: ignore[attr-defined]
    config.status_access = "open"
    config.job_progression = "timed"
    config.seconds_per_step = 0.2


@pytest.fixture
def secret(_doctest_session: None, monkeypatch: pytest.MonkeyPatch) -> str:
    """``secret`` in a docs example: the user's token, from their secret store (the emulator's).

    The machine then has no token set, as for someone about to sign in.
    """
    token = os.environ["OPNFORM_API_TOKEN"]
    monkeypatch.delenv("OPNFORM_API_TOKEN")
    return token


# Folders whose tests run one after another in one process when ``make test`` spreads the suite
# over several (pytest-xdist, ``-n``): the reliability tests check the doc's figures after all of
# them have measured theirs, and each notebook test drives a browser or a kernel of its own,
# which two at once would slow past their timeouts. Every other test goes wherever a process is
# free.
_RUN_TOGETHER = ("tests/reliability/", "tests/notebooks/")


@pytest.hookimpl(optionalhook=True)
def pytest_xdist_make_scheduler(config: pytest.Config, log: Any) -> Any:
    from xdist.scheduler import LoadScopeScheduling

    class FoldersTogether(LoadScopeScheduling):
        def _split_scope(self, nodeid: str) -> str:
            return next((folder for folder in _RUN_TOGETHER if nodeid.startswith(folder)), nodeid)

    return FoldersTogether(config, log)

"""The console blocks of the README and ``docs/`` run against the emulator, output and all.

Each ```` ```console ```` block is a terminal session: every ``$`` line runs in bash, in a fresh
working folder (where ``notebooks/`` is the repository's) with the token and server of a fresh
emulator in the environment, and must exit 0 and print what the block shows after it (``...``
stands for any text, white space is compared loosely). ``export NAME=...`` keeps the emulator's
value (``...`` is the reader's own). Lines that set up a machine (``pip install``, ``make``) are
what CI itself runs; they are not run here. The Python blocks run through pytest-markdown-docs
(``make docs-examples``).
"""

from __future__ import annotations

import doctest
import os
import re
import shlex
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

from formexport.sandbox import Sandbox

ROOT = Path(__file__).resolve().parents[2]
DOCUMENTS = [ROOT / "README.md", *sorted((ROOT / "docs").rglob("*.md"))]
# Commands that set a machine up: CI runs them itself (.ci/run).
NOT_RUN = ("pip ", "make ", "python -m venv")
_BLOCK = re.compile(r"^```console\n(.*?)^```", re.DOTALL | re.MULTILINE)
_CHECKER = doctest.OutputChecker()
_OPTIONS = doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE


@dataclass(frozen=True)
class Command:
    """One ``$`` line of a console block and the output shown under it."""

    line: str
    expected: str

    @property
    def runs(self) -> bool:
        return not self.line.startswith(NOT_RUN)


def console_blocks() -> list[pytest.ParameterSet]:
    found = []
    for document in DOCUMENTS:
        text = document.read_text(encoding="utf-8")
        for match in _BLOCK.finditer(text):
            line = text.count("\n", 0, match.start()) + 1
            name = f"{document.relative_to(ROOT)}:{line}"
            found.append(pytest.param(commands(match.group(1)), id=name))
    return found


def commands(block: str) -> list[Command]:
    """The block's ``$`` lines (joined where they end in ``\\``), each with the lines under it.

    A ``#`` comment ends a line.
    """
    parsed: list[Command] = []
    for chunk in re.split(r"^\$ ", block, flags=re.MULTILINE)[1:]:
        lines = chunk.split("\n")
        command = [re.sub(r"\s+#.*$", "", lines.pop(0)).rstrip()]
        while command[-1].endswith("\\"):
            command[-1] = command[-1][:-1].rstrip()
            command.append(re.sub(r"\s+#.*$", "", lines.pop(0)).strip())
        parsed.append(Command(" ".join(command).strip(), "\n".join(lines)))
    return parsed


def test_the_documents_hold_console_blocks() -> None:
    assert len(console_blocks()) >= 3  # the collector still finds them


@pytest.mark.parametrize("session", console_blocks())
def test_console_block(session: list[Command], sandbox: Sandbox, tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("OPNFORM_", "FORMEXPORT_"))}
    env.update(
        OPNFORM_API_TOKEN=sandbox.token,
        OPNFORM_API_BASE_URL=sandbox.base_url,
        FORMEXPORT_CACHE_DIR=str(tmp_path / "cache"),
        FORMEXPORT_PROGRESS="none",
        FORMEXPORT_CONFIG_DIR=str(tmp_path / "config"),
        PYTHON_KEYRING_BACKEND="keyring.backends.fail.Keyring",
        COLUMNS="80",
        PATH=f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}",
    )
    (tmp_path / "notebooks").symlink_to(ROOT / "notebooks")
    for command in session:
        if command.line.startswith("export "):
            name, _, value = command.line.removeprefix("export ").partition("=")
            if "..." not in value:
                env[name] = shlex.split(value)[0]
        elif command.runs:
            check(command, run(command.line, env, tmp_path))


def run(line: str, env: dict[str, str], cwd: Path) -> str:
    result = subprocess.run(
        ["bash", "-c", line],
        env=env,
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert result.returncode == 0, f"$ {line}\n{result.stdout}{result.stderr}"
    return result.stdout


def check(command: Command, output: str) -> None:
    if not command.expected.strip():
        return
    if not _CHECKER.check_output(command.expected, output, _OPTIONS):
        pytest.fail(f"$ {command.line}\nshown:\n{command.expected}\nprinted:\n{output}")

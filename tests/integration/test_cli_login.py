"""``formexport login`` / ``whoami`` / ``logout`` and ``--profile``, each run as a real process.

The processes share a keyring of their own (:class:`tests.keyrings.FileKeyring`), or none at
all (keyring's ``fail`` backend, the default of every test's subprocesses).
"""

from __future__ import annotations

import os
import pty
import select
import subprocess
import sys
import time
from pathlib import Path

import pytest

from formexport.sandbox import Sandbox
from tests.keyrings import FILE_ENV

ROOT = Path(__file__).resolve().parents[2]


def _env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("OPNFORM_")}
    env["PYTHONPATH"] = str(ROOT)  # tests.keyrings, for PYTHON_KEYRING_BACKEND
    return {**env, **extra}


def cli(*args: str, stdin: str = "", **env: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "formexport", *args],
        input=stdin,
        capture_output=True,
        text=True,
        env=_env(**env),
        timeout=60,
    )


@pytest.fixture
def file_keyring(tmp_path: Path) -> dict[str, str]:
    return {
        "PYTHON_KEYRING_BACKEND": "tests.keyrings.FileKeyring",
        FILE_ENV: str(tmp_path / "keyring.json"),
    }


def test_login_whoami_forms_logout(sandbox: Sandbox, file_keyring: dict[str, str]) -> None:
    url = sandbox.base_url
    login = cli(
        "login", "--base-url", url, "--profile", "work", stdin=sandbox.token + "\n", **file_keyring
    )
    assert login.returncode == 0, login.stderr
    assert login.stdout.splitlines() == [
        "Signed in as Demo User <demo@example.com>",
        f"  server:  {url}",
        "  profile: work",
        "  token:   the system keyring (keyrings FileKeyring)",
    ]
    who = cli("whoami", "--profile", "work", **file_keyring)
    assert who.returncode == 0, who.stderr
    assert who.stdout == login.stdout
    forms = cli("forms", "--profile", "work", **file_keyring)
    assert forms.returncode == 0, forms.stderr
    assert "Customer feedback" in forms.stdout
    named = cli("describe", "1", **file_keyring, OPNFORM_PROFILE="work")
    assert named.returncode == 0, named.stderr
    out = cli("logout", "--profile", "work", **file_keyring)
    assert out.returncode == 0
    assert out.stdout == "Signed out of profile work: its token is forgotten.\n"
    assert Path(file_keyring[FILE_ENV]).read_text() == "[]"
    again = cli("forms", "--profile", "work", **file_keyring)
    assert again.returncode == 2
    assert "profile 'work' is not signed in" in again.stderr


def test_export_with_a_profile_on_a_machine_without_keyring(
    sandbox: Sandbox, tmp_path: Path
) -> None:
    login = cli("login", "--base-url", sandbox.api_url, stdin=sandbox.token)
    assert login.returncode == 0, login.stderr
    assert "(no system keyring on this machine)" in login.stdout
    output = tmp_path / "feedback.parquet"
    export = cli("export", "1", "-o", str(output), "--no-progress")
    assert export.returncode == 0, export.stderr
    assert export.stdout.startswith(f"Wrote {output}: 250 rows")


def test_a_wrong_token_exits_3_and_keeps_nothing(sandbox: Sandbox) -> None:
    wrong = "3|" + "q" * 40
    run = cli("login", "--base-url", sandbox.base_url, stdin=wrong)
    assert run.returncode == 3
    assert "refused the token given to sign in" in run.stderr
    assert "q" * 40 not in run.stderr + run.stdout
    who = cli("whoami")
    assert who.returncode == 2
    assert "Sign in with:\n  formexport login\n" in who.stderr


def test_nothing_on_standard_input_is_refused(sandbox: Sandbox) -> None:
    run = cli("login", "--base-url", sandbox.base_url, stdin="")
    assert run.returncode == 2
    assert "No token on standard input" in run.stderr
    assert sandbox.requests == []


def test_a_hostile_profile_name_is_refused(sandbox: Sandbox) -> None:
    run = cli("login", "--base-url", sandbox.base_url, "--profile", "../x", stdin=sandbox.token)
    assert run.returncode == 2
    assert "A profile name is a short word" in run.stderr
    assert sandbox.requests == []


def test_the_prompt_in_a_terminal_does_not_echo_the_token(sandbox: Sandbox) -> None:
    """A real pseudo-terminal: what the user sees while typing is the prompt, not the token."""
    leader, follower = pty.openpty()
    process = subprocess.Popen(
        [sys.executable, "-m", "formexport", "login", "--base-url", sandbox.base_url],
        stdin=follower,
        stdout=follower,
        stderr=follower,
        env=_env(),
        start_new_session=True,  # the pty becomes the process's terminal (getpass opens it)
    )
    os.close(follower)
    prompt = f"OpnForm API token for {sandbox.base_url} (profile default): ".encode()
    seen = _read_until(leader, prompt)
    assert prompt in seen
    os.write(leader, sandbox.token.encode() + b"\n")
    seen += _read_until(leader, b"  token:", 30.0)
    assert process.wait(timeout=30) == 0
    os.close(leader)
    assert b"Signed in as Demo User" in seen
    assert sandbox.token.split("|", 1)[1].encode() not in seen


def _read_until(fd: int, marker: bytes, timeout: float = 30.0) -> bytes:
    seen = b""
    deadline = time.monotonic() + timeout
    while marker not in seen and time.monotonic() < deadline:
        ready, _, _ = select.select([fd], [], [], 0.1)
        if ready:
            try:
                chunk = os.read(fd, 4096)
            except OSError:  # the process ended and closed the terminal
                break
            if not chunk:
                break
            seen += chunk
    return seen

"""The token never shows, and neither do link signatures: everything is captured during full
exports — DEBUG log records (urllib3's included), reprs, progress, exceptions with their chained
causes, the command line's output and a notebook's outputs — and searched for them."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

import formexport as fx
from formexport import config
from formexport.credentials.profiles import ProfileStore
from formexport.progress.reporters import ProgressEvent
from formexport.sandbox import Fault, Sandbox
from tests.reliability.figures import doc_says
from tests.reliability.helpers import (
    LogCapture,
    error_text,
    secret_part,
    signatures,
)

SCENARIOS = {
    "sync": (1, {}),
    "background, local disk": (2, {"status_access": "open"}),
    "background, S3": (2, {"status_access": "open", "file_host": "s3"}),
    "batched": (2, {}),
}


def secrets_of(sandbox: Sandbox) -> list[str]:
    """The token's secret and every link signature the hosts received."""
    found = [secret_part(sandbox.token), *signatures(sandbox)]
    assert all(len(secret) >= 16 for secret in found)
    return found


SECRETS_ROW = "The token and link signatures never show"


def assert_hidden(sandbox: Sandbox, *texts: str) -> None:
    """No secret in ``texts``; the count of secrets seen goes to docs/reliability.md."""
    haystack = "\n".join(texts)
    seen = sum(haystack.count(secret) for secret in secrets_of(sandbox))
    doc_says(SECRETS_ROW, "Result", f"{seen} occurrences")


@pytest.mark.parametrize("scenario", list(SCENARIOS))
def test_a_full_export_shows_no_secret(
    sandbox: Sandbox,
    logs: LogCapture,
    tmp_path: Path,
    capfd: pytest.CaptureFixture[str],
    scenario: str,
) -> None:
    form, settings = SCENARIOS[scenario]
    sandbox.config.update(settings)
    events: list[ProgressEvent] = []
    with fx.Client(token=sandbox.token, base_url=sandbox.base_url) as client:
        job = client.start_export(form)
        job.wait(progress="log")
        job.download(tmp_path / "export.csv")
        frame = job.to_dataframe()
        shown = [repr(o) for o in (client, job, job.status, client.settings, client.api)]
        shown += [repr(client.api.session.auth), str(job.status), repr(frame.head())]
    fx.download_export(
        form,
        tmp_path / "again.csv",
        token=sandbox.token,
        base_url=sandbox.base_url,
        progress=events.append,
    )
    out, err = capfd.readouterr()
    assert logs.from_logger("urllib3")  # the capture does see urllib3's DEBUG lines
    assert_hidden(sandbox, logs.text(), *shown, *map(repr, events), out, err)
    if scenario.startswith("background"):
        assert signatures(sandbox)
        fetched = [m for m in logs.from_logger("urllib3") if "-submissions-" in m]
        assert fetched
        assert all("REDACTED" in m for m in fetched)  # the request line, signature removed


def test_failures_show_no_secret(sandbox: Sandbox, logs: LogCapture, tmp_path: Path) -> None:
    sandbox.config.status_access = "open"
    with fx.Client(token=sandbox.token, base_url=sandbox.base_url) as client:
        job = client.start_export(2)
        job.wait(progress=None)
        sandbox.faults.add(Fault("download", reset=True, times=None))
        with pytest.raises(fx.DownloadError) as cut:
            job.download(tmp_path / "events.csv")
    sandbox.faults.clear()
    sandbox.faults.add(Fault("status", http_status=500, times=None))
    with pytest.raises(fx.ServerError) as failed:
        fx.load_export(2, token=sandbox.token, base_url=sandbox.base_url, progress=None)
    texts = [error_text(cut.value), error_text(failed.value), logs.text()]
    assert "Max retries exceeded" in texts[0]  # urllib3's message, URL included, is there...
    assert "REDACTED" in texts[0]  # ...with its signature removed
    assert_hidden(sandbox, *texts)


def test_a_wrong_token_is_not_repeated_back(sandbox: Sandbox, logs: LogCapture) -> None:
    wrong = "7|" + "w" * 40
    with pytest.raises(fx.AuthenticationError) as info:
        fx.load_export(1, token=wrong, base_url=sandbox.base_url, progress=None)
    assert "w" * 40 not in error_text(info.value) + logs.text()


# A token pasted across two lines: each half long enough to be found if it were shown.
BROKEN_TOKEN = "7|" + "a" * 20 + "\n" + "b" * 20


def token_halves_in(text: str) -> int:
    return text.count("a" * 20) + text.count("b" * 20)


def use_broken_token(sandbox: Sandbox, monkeypatch: pytest.MonkeyPatch, source: str) -> None:
    """Export, or sign in, with the token pasted across two lines, given by ``source``."""
    if source == "login":
        fx.login(token=BROKEN_TOKEN, base_url=sandbox.base_url, profile="pasted")
        return
    given = {"token": BROKEN_TOKEN} if source == "argument" else {}
    if source == "environment":
        monkeypatch.setenv(config.TOKEN_ENV, BROKEN_TOKEN)
    fx.load_export(1, base_url=sandbox.base_url, progress=None, **given)


@pytest.mark.parametrize(
    ("source", "named"),
    [
        ("argument", "passed as token="),
        ("environment", f"from {config.TOKEN_ENV}"),
        ("login", "given to sign in"),
    ],
)
def test_a_token_with_a_line_break_is_refused_unshown(
    sandbox: Sandbox,
    logs: LogCapture,
    monkeypatch: pytest.MonkeyPatch,
    source: str,
    named: str,
) -> None:
    with pytest.raises(fx.ConfigurationError, match=f"{named} holds a line break") as info:
        use_broken_token(sandbox, monkeypatch, source)
    assert ProfileStore().names() == []  # nothing was kept
    seen = token_halves_in(error_text(info.value) + logs.text())
    doc_says(SECRETS_ROW, "Result", f"{seen} occurrences")
    assert sandbox.requests == []  # refused before anything is sent


def test_the_command_refuses_a_token_with_a_line_break_unshown(
    sandbox: Sandbox, tmp_path: Path
) -> None:
    env = {**os.environ, config.TOKEN_ENV: BROKEN_TOKEN, config.BASE_URL_ENV: sandbox.base_url}
    out = tmp_path / "out.csv"
    done = subprocess.run(
        [sys.executable, "-m", "formexport", "-v", "export", "1", "-o", str(out)],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 2  # configuration
    assert "formexport: error: " in done.stderr
    assert "holds a line break" in done.stderr
    doc_says(SECRETS_ROW, "Result", f"{token_halves_in(done.stdout + done.stderr)} occurrences")
    assert "Traceback" not in done.stderr
    assert not out.exists()
    assert sandbox.requests == []


def test_the_command_line_shows_no_secret(sandbox: Sandbox, tmp_path: Path) -> None:
    sandbox.config.status_access = "open"
    sandbox.config.file_host = "s3"
    env = {**os.environ, config.TOKEN_ENV: sandbox.token, config.BASE_URL_ENV: sandbox.base_url}
    command = [sys.executable, "-m", "formexport", "-v", "export", "2", "-o"]
    done = subprocess.run(
        [*command, str(tmp_path / "ok.csv")], env=env, capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 0, done.stderr
    sandbox.faults.add(Fault("download", http_status=403, times=None))
    failed = subprocess.run(
        [*command, str(tmp_path / "no.csv")], env=env, capture_output=True, text=True, timeout=60
    )
    assert failed.returncode == 1
    assert "formexport: error:" in failed.stderr
    assert "expired" in failed.stderr
    assert_hidden(sandbox, done.stdout, done.stderr, failed.stdout, failed.stderr)


def test_signing_in_on_the_command_line_shows_no_secret(sandbox: Sandbox, tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if k not in (config.TOKEN_ENV, config.BASE_URL_ENV)}
    wrong = "4|" + "k" * 40

    def run(*args: str, stdin: str = "") -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "formexport", "-v", *args],
            input=stdin,
            env=env,
            capture_output=True,
            text=True,
            timeout=60,
        )

    runs = [
        run("login", "--base-url", sandbox.base_url, "--profile", "work", stdin=sandbox.token),
        run("login", "--base-url", sandbox.base_url, "--profile", "x", stdin=wrong),
        run("whoami", "--profile", "work"),
        run("export", "1", "-o", str(tmp_path / "one.csv"), "--profile", "work"),
    ]
    sandbox.revoke_token(sandbox.token)
    runs += [run("whoami", "--profile", "work"), run("logout", "--profile", "work")]
    assert [r.returncode for r in runs] == [0, 3, 0, 0, 3, 0]
    texts = [text for r in runs for text in (r.stdout, r.stderr)]
    assert "k" * 40 not in "\n".join(texts)
    assert_hidden(sandbox, *texts)


NOTEBOOK = [
    "import logging\nimport requests\nimport formexport as fx\n"
    "logging.basicConfig(level=logging.DEBUG, force=True)",
    "df = fx.load_export(2)\ndf.shape",
    "client = fx.Client()\njob = client.start_export(2)\njob.wait()\njob",
    "job.status",
    "requests.post(client.base_url + '/_sandbox/faults', "
    "json={'route': 'download', 'http_status': 403, 'times': None}, timeout=10).status_code",
    "fx.download_export(2, 'never.csv')",
]


def test_a_notebook_shows_no_secret(
    sandbox: Sandbox, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    nbformat = pytest.importorskip("nbformat")
    from nbclient import NotebookClient

    sandbox.config.status_access = "open"
    monkeypatch.setenv(config.TOKEN_ENV, sandbox.token)
    monkeypatch.setenv(config.BASE_URL_ENV, sandbox.base_url)
    notebook = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(c) for c in NOTEBOOK])
    NotebookClient(
        notebook,
        timeout=60,
        kernel_name="python3",
        allow_errors=True,
        resources={"metadata": {"path": str(tmp_path)}},
    ).execute()
    outputs = nbformat.writes(notebook)
    assert "(2500, 15)" in outputs
    assert "ExportExpiredError" in outputs  # the last cell failed, traceback and all
    assert "urllib3.connectionpool" in outputs  # DEBUG lines reached the notebook
    assert_hidden(sandbox, outputs)
    assert not (tmp_path / "never.csv").exists()


# The tokens reach the kernel through variables of its own, as from a secret store: the saved
# notebook must not hold them, in its sources or its outputs.
SIGNING_IN = [
    "import logging, os\nimport requests\nimport formexport as fx\n"
    "logging.basicConfig(level=logging.DEBUG, force=True)",
    "account = fx.login(token=os.environ['SECRET_TOKEN'], base_url=os.environ['SERVER'], "
    "profile='work')\naccount",
    "print(account)",
    "fx.whoami(profile='work')",
    "fx.load_export(2, profile='work').shape",
    "fx.Client(profile='work')",
    "fx.login(token=os.environ['WRONG_TOKEN'], base_url=os.environ['SERVER'], profile='x')",
    "requests.delete(os.environ['SERVER'] + '/_sandbox/tokens', "
    "json={'token': os.environ['SECRET_TOKEN']}, timeout=10).status_code",
    "fx.whoami(profile='work')",
    "fx.logout(profile='work')",
]


def test_a_notebook_that_signs_in_shows_no_secret(
    sandbox: Sandbox, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    nbformat = pytest.importorskip("nbformat")
    from nbclient import NotebookClient

    wrong = "6|" + "n" * 40
    monkeypatch.setenv("SECRET_TOKEN", sandbox.token)
    monkeypatch.setenv("WRONG_TOKEN", wrong)
    monkeypatch.setenv("SERVER", sandbox.base_url)
    notebook = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(c) for c in SIGNING_IN])
    NotebookClient(
        notebook,
        timeout=60,
        kernel_name="python3",
        allow_errors=True,
        resources={"metadata": {"path": str(tmp_path)}},
    ).execute()
    saved = tmp_path / "signed-in.ipynb"
    nbformat.write(notebook, saved)
    text = saved.read_text()
    assert "Signed in as Demo User" in text
    assert "(2500, 15)" in text
    assert text.count("AuthenticationError") >= 2  # the wrong token, then the revoked one
    assert "refused the token of profile" in text
    assert "urllib3.connectionpool" in text  # DEBUG lines reached the notebook
    assert "n" * 40 not in text
    assert_hidden(sandbox, text)

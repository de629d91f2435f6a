"""The formexport command: exit codes and output, run in-process and as a real process."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

import formexport as fx
from formexport.cli import main
from formexport.sandbox import Sandbox


def test_export_to_csv(env: Sandbox, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "feedback.csv"
    assert main(["export", "1", "-o", str(out), "--no-progress"]) == 0
    assert out.read_bytes().startswith(b'\xef\xbb\xbf"id"')
    assert str(out) in capsys.readouterr().out


def test_export_to_parquet_by_suffix(env: Sandbox, tmp_path: Path) -> None:
    out = tmp_path / "events.parquet"
    assert main(["export", "2", "-o", str(out), "--no-progress"]) == 0
    assert len(pd.read_parquet(out)) == 2500


def test_chosen_columns(env: Sandbox, tmp_path: Path) -> None:
    out = tmp_path / "f.parquet"
    assert main(["export", "1", "-o", str(out), "--columns", "Email", "created_at"]) == 0
    assert list(pd.read_parquet(out).columns) == ["id", "submission_id", "Email", "created_at"]


@pytest.mark.parametrize(
    ("args", "code", "message"),
    [
        (["export", "1", "-o", "{out}", "--columns", "nope"], 2, "nope"),
        (["export", "4", "-o", "{out}"], 3, "forms-read"),
        (["export", "999", "-o", "{out}"], 1, "formexport forms"),
    ],
)
def test_exit_codes(
    env: Sandbox,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    args: list[str],
    code: int,
    message: str,
) -> None:
    out = str(tmp_path / "x.csv")
    assert main([a.format(out=out) for a in args]) == code
    assert message in capsys.readouterr().err
    assert not (tmp_path / "x.csv").exists()


def test_timeout_exit_code(
    env: Sandbox, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    env.config.status_access = "open"
    env.config.job_progression = "stuck"
    assert main(["export", "2", "-o", str(tmp_path / "x.csv"), "--timeout", "0.2"]) == 4
    assert "did not finish" in capsys.readouterr().err


def test_missing_token_exit_code(
    sandbox: Sandbox, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["export", "1", "-o", str(tmp_path / "x.csv"), "--base-url", sandbox.base_url]) == 2
    assert "OPNFORM_API_TOKEN" in capsys.readouterr().err


def test_bad_token_exit_code(
    env: Sandbox,
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.setenv("OPNFORM_API_TOKEN", "9|wrong")
    assert main(["export", "1", "-o", str(tmp_path / "x.csv")]) == 3
    assert "9|wrong" not in capsys.readouterr().err


def test_status_command(env: Sandbox, capsys: pytest.CaptureFixture[str]) -> None:
    env.config.status_access = "open"
    env.config.job_progression = "per_poll"
    from formexport import Client

    job = Client().start_export(2)
    assert main(["status", "2", str(job.job_id), "--json"]) == 0
    body = json.loads(capsys.readouterr().out)
    assert body["job_id"] == job.job_id
    assert body["status"] == "queued"
    assert main(["status", "2", str(job.job_id)]) == 0
    assert capsys.readouterr().out.startswith("processing")


def test_usage_error_exits_2(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as info:
        main(["export"])
    assert info.value.code == 2


def test_real_process_with_log_progress(env: Sandbox, tmp_path: Path) -> None:
    env.config.status_access = "open"
    out = tmp_path / "events.csv"
    result = subprocess.run(
        [sys.executable, "-m", "formexport", "export", "2", "-o", str(out)],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert "Server export (job " in result.stderr  # not a TTY: log lines, not a bar
    assert "\r" not in result.stderr
    assert env.token not in result.stderr + result.stdout
    assert out.stat().st_size > 1_000_000


def test_sandbox_command_serves_until_interrupted() -> None:
    command = [
        sys.executable,
        "-m",
        "formexport",
        "sandbox",
        "--status-access",
        "open",
        "--progression",
        "immediate",
    ]
    with subprocess.Popen(command, stdout=subprocess.PIPE, text=True) as process:
        try:
            assert process.stdout is not None
            lines = [process.stdout.readline() for _ in range(4)]
            base_url = lines[2].split("=", 1)[1].strip()
            token = lines[3].split("=", 1)[1].strip()
            assert base_url.startswith("http://127.0.0.1:")
            df = fx.load_export(2, token=token, base_url=base_url, progress=None)
            assert len(df) == 2500
        finally:
            process.send_signal(signal.SIGINT)
            assert process.wait(timeout=20) == 0


def test_main_leaves_the_callers_logging_as_it_was(env: Sandbox, tmp_path: Path) -> None:
    import logging

    package = logging.getLogger("formexport")
    before = (list(package.handlers), package.level, package.propagate)
    for _ in range(3):
        assert main(["export", "1", "-o", str(tmp_path / "x.csv"), "--no-progress"]) == 0
    assert (list(package.handlers), package.level, package.propagate) == before


def test_parquet_columns_named_by_field_id(env: Sandbox, tmp_path: Path) -> None:
    out = tmp_path / "f.parquet"
    assert main(["export", "1", "-o", str(out), "--naming", "id", "--no-progress"]) == 0
    fields = fx.Client().get_form(1).fields
    assert [f.id for f in fields] == [c for c in pd.read_parquet(out).columns if "-" in c]

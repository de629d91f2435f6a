"""The scheduled-export notebook under papermill, as the README shows it."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import nbformat
import pandas as pd

from formexport.sandbox import Sandbox

NOTEBOOK = Path(__file__).parents[2] / "notebooks" / "03-scheduled-export.ipynb"


def _papermill(tmp_path: Path, *params: str, yaml: str = "") -> subprocess.CompletedProcess[str]:
    pairs = [arg for i in range(0, len(params), 2) for arg in ("-p", params[i], params[i + 1])]
    if yaml:
        pairs += ["-y", yaml]
    env = {k: v for k, v in os.environ.items() if k != "FORMEXPORT_DEMO"}
    command = [sys.executable, "-m", "papermill", str(NOTEBOOK), str(tmp_path / "run.ipynb")]
    return subprocess.run(
        [*command, "--log-output", "--cwd", str(tmp_path), *pairs],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
        check=False,
    )


def test_a_scheduled_run_writes_parquet_and_logs_progress(
    kernel_env: Sandbox, tmp_path: Path
) -> None:
    out = tmp_path / "events.parquet"
    run = _papermill(tmp_path, "form", "2", "output", str(out))
    assert run.returncode == 0, run.stderr
    assert len(pd.read_parquet(out)) == 2500
    # papermill --log-output relays the kernel's log lines: one per state change or tenth.
    assert "INFO Started export job " in run.stderr
    assert "INFO Server export (job " in run.stderr
    assert "INFO Download (job " in run.stderr
    assert "\r" not in run.stderr
    executed = (tmp_path / "run.ipynb").read_text()
    assert f"2500 submissions, 15 columns in {out}" in executed
    for text in (run.stdout, run.stderr, executed):
        assert kernel_env.token not in text


def test_columns_and_a_csv_through_fsspec(kernel_env: Sandbox, tmp_path: Path) -> None:
    out = tmp_path / "names.csv"
    run = _papermill(
        tmp_path,
        "form",
        "event-registration-da71we",
        "output",
        f"file://{out}",
        yaml="columns: [Full name, created_at]",
    )
    assert run.returncode == 0, run.stderr
    frame = pd.read_csv(out, dtype=str, encoding="utf-8-sig")
    assert list(frame.columns) == ["id", "Full name", "created_at", "status"]
    assert len(frame) == 2500


def test_a_failure_makes_papermill_exit_non_zero(kernel_env: Sandbox, tmp_path: Path) -> None:
    run = _papermill(tmp_path, "form", "999", "output", str(tmp_path / "x.parquet"))
    assert run.returncode != 0
    assert "NotFoundError" in run.stderr
    assert not (tmp_path / "x.parquet").exists()
    failed = nbformat.read(tmp_path / "run.ipynb", as_version=4)
    assert failed.metadata.papermill.exception is True


def test_a_notebook_that_configures_no_logging_still_shows_progress(
    kernel_env: Sandbox, tmp_path: Path
) -> None:
    source = tmp_path / "plain.ipynb"
    book = nbformat.v4.new_notebook(
        cells=[nbformat.v4.new_code_cell("import formexport as fx\ndf = fx.load_export(2)")]
    )
    book.metadata["kernelspec"] = {
        "name": "python3",
        "display_name": "Python 3",
        "language": "python",
    }
    nbformat.write(book, source)
    run = subprocess.run(
        [
            sys.executable,
            "-m",
            "papermill",
            str(source),
            str(tmp_path / "out.ipynb"),
            "--log-output",
        ],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert run.returncode == 0, run.stderr
    # papermill --log-output relays what the kernel wrote: the job id from the first line on.
    assert re.search(r"formexport: Server export \(job [0-9a-f-]{36}\): 0% - queued", run.stderr)
    assert re.search(r"formexport: Read CSV \(job [0-9a-f-]{36}\): 2500/2500 rows", run.stderr)
    assert kernel_env.token not in run.stderr

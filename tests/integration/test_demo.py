"""``formexport demo`` as a user runs it: a real process, files kept where it says."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pandas as pd


def test_the_demo_keeps_its_files_and_says_where(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("OPNFORM_")}
    run = subprocess.run(
        [sys.executable, "-m", "formexport", "demo", "--no-progress", "--output-dir", "out"],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        env=env,
        timeout=120,
        check=False,
    )
    assert run.returncode == 0, run.stderr
    folder = tmp_path / "out"
    assert f"Files kept in {folder}:" in run.stdout
    assert "same answers as the background job: True" in run.stdout
    assert "event-registration-da71we" in run.stdout  # the forms it can read, listed first
    csv = pd.read_csv(folder / "customer-feedback.csv", dtype=str, encoding="utf-8-sig")
    assert len(csv) == 250
    assert len(pd.read_parquet(folder / "event-registration.parquet")) == 2500
    assert sorted(p.name for p in folder.iterdir()) == [
        "customer-feedback.csv",
        "event-registration.parquet",
    ]

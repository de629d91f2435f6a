"""``formexport demo``: the main job, end to end, against the built-in OpnForm emulator."""

from __future__ import annotations

import time
from pathlib import Path
from typing import TextIO

import pandas as pd

from formexport.forms import list_forms
from formexport.progress.reporters import ProgressOption
from formexport.sandbox import Sandbox
from formexport.verbs import download_export, export_to_parquet, load_export

PREVIEW_COLUMNS = ["Name", "Rating", "Topics", "Amount (USD)", "created_at"]
DEFAULT_OUTPUT_DIR = Path("formexport-demo")


def _say(out: TextIO, text: str = "") -> None:
    out.write(text + "\n")
    out.flush()


class _Demo:
    """The steps of the demo, against one running emulator."""

    def __init__(self, sandbox: Sandbox, out: TextIO, progress: ProgressOption) -> None:
        self.sandbox = sandbox
        self.out = out
        self.token, self.base_url = sandbox.token, sandbox.base_url
        self.progress = progress

    def list_the_forms(self) -> None:
        _say(self.out, "1. The forms this token can read (formexport forms, fx.list_forms()):")
        forms = list_forms(token=self.token, base_url=self.base_url)
        _say(self.out, forms[["id", "slug", "title", "submissions_count"]].to_string(index=False))
        _say(self.out)

    def small_form(self, folder: Path) -> Path:
        _say(self.out, "2. A small form (250 submissions): the server answers the CSV at once.")
        feedback = load_export(1, progress=self.progress, token=self.token, base_url=self.base_url)
        _say(self.out, f"   {feedback.shape[0]} rows x {feedback.shape[1]} columns; first rows:")
        _say(self.out, feedback[PREVIEW_COLUMNS].head(3).to_string(max_colwidth=28))
        _say(self.out)
        return download_export(
            1,
            folder / "customer-feedback.csv",
            progress=self.progress,
            token=self.token,
            base_url=self.base_url,
        )

    def large_form(self) -> pd.DataFrame:
        _say(self.out, "3. A large form (2500 submissions), on a server that lets tokens watch")
        _say(self.out, "   its background job:")
        self.sandbox.config.status_access = "open"
        started = time.monotonic()
        events = load_export(2, progress=self.progress, token=self.token, base_url=self.base_url)
        _say(self.out, f"   {len(events)} rows in {time.monotonic() - started:.1f} s, by status:")
        _say(self.out, events["status"].value_counts().to_string())
        _say(self.out)
        return events

    def batched_to_parquet(self, folder: Path, events: pd.DataFrame) -> Path:
        _say(self.out, "4. The same form on a server that hides job status from tokens (OpnForm's")
        _say(self.out, "   default): formexport exports it in batches of 1000 instead, straight to")
        _say(self.out, "   Parquet.")
        self.sandbox.config.status_access = "blocked"
        path = export_to_parquet(
            2,
            folder / "event-registration.parquet",
            progress=self.progress,
            token=self.token,
            base_url=self.base_url,
        )
        batched = pd.read_parquet(path)
        same = sorted(batched["Full name"]) == sorted(events["Full name"])
        _say(self.out, f"   {len(batched)} rows; same answers as the background job: {same}")
        return path


def run_demo(
    out: TextIO,
    *,
    progress: ProgressOption = "auto",
    output_dir: Path = DEFAULT_OUTPUT_DIR,
) -> list[Path]:
    """Export the emulator's demo forms four ways, describe what came back, and return the
    files written into ``output_dir`` (created if needed; kept for the user to open)."""
    output_dir.mkdir(parents=True, exist_ok=True)
    with Sandbox() as sandbox:
        sandbox.config.job_progression = "timed"
        sandbox.config.seconds_per_step = 0.4
        _say(out, f"OpnForm emulator running at {sandbox.base_url}\n")
        demo = _Demo(sandbox, out, progress)
        demo.list_the_forms()
        csv_path = demo.small_form(output_dir)
        parquet_path = demo.batched_to_parquet(output_dir, demo.large_form())
    written = [csv_path, parquet_path]
    _say(out, f"\nFiles kept in {output_dir.resolve()}:")
    for path in written:
        _say(out, f"   {path.name}  ({path.stat().st_size / 1e3:.0f} kB)")
    _say(out, f"   The CSV opens in any spreadsheet; pandas.read_parquet('{parquet_path}') reads")
    _say(out, "   the typed Parquet file back as a DataFrame.")
    _say(out, "\nOn your own server: export OPNFORM_API_TOKEN=..., then")
    _say(out, "   formexport forms                        # find a form's id or slug")
    _say(out, "   formexport export FORM -o submissions.parquet")
    _say(out, "   python -c 'import formexport as fx; print(fx.load_export(FORM))'")
    return written

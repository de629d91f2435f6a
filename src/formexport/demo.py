"""``formexport demo``: the main job, end to end, against the built-in OpnForm emulator."""

from __future__ import annotations

import tempfile
import time
from pathlib import Path
from typing import TextIO

from formexport.api import export_to_parquet, load_export
from formexport.progress.reporters import ProgressOption
from formexport.sandbox import Sandbox

PREVIEW_COLUMNS = ["Name", "Rating", "Topics", "Amount (USD)", "created_at"]


def _say(out: TextIO, text: str = "") -> None:
    out.write(text + "\n")
    out.flush()


def run_demo(out: TextIO, *, progress: ProgressOption = "auto") -> None:
    """Export the emulator's demo forms three ways and describe what came back."""
    with Sandbox() as sandbox:
        sandbox.config.job_progression = "timed"
        sandbox.config.seconds_per_step = 0.4
        token, base_url = sandbox.token, sandbox.base_url
        _say(out, f"OpnForm emulator running at {sandbox.base_url}\n")

        _say(out, "1. A small form (250 submissions): the server answers the CSV at once.")
        feedback = load_export(1, token=token, base_url=base_url, progress=progress)
        _say(out, f"   {feedback.shape[0]} rows x {feedback.shape[1]} columns; first rows:")
        _say(out, feedback[PREVIEW_COLUMNS].head(3).to_string(max_colwidth=28))
        _say(out)

        _say(out, "2. A large form (2500 submissions) on a server that lets tokens watch jobs:")
        sandbox.config.status_access = "open"
        started = time.monotonic()
        events = load_export(2, token=token, base_url=base_url, progress=progress)
        _say(out, f"   {len(events)} rows in {time.monotonic() - started:.1f} s, by status:")
        _say(out, events["status"].value_counts().to_string())
        _say(out)

        _say(out, "3. The same form on a server that hides job status from tokens (OpnForm's")
        _say(out, "   default): formexport exports it in batches of 1000 instead.")
        sandbox.config.status_access = "blocked"
        batched = load_export(2, token=token, base_url=base_url, progress=progress)
        same = sorted(batched["Full name"].tolist()) == sorted(events["Full name"].tolist())
        _say(out, f"   {len(batched)} rows; same answers as the background job: {same}")
        _say(out)

        _say(out, "4. Straight to Parquet:")
        with tempfile.TemporaryDirectory() as folder:
            path = export_to_parquet(
                2,
                Path(folder) / "events.parquet",
                token=token,
                base_url=base_url,
                progress=progress,
            )
            _say(out, f"   wrote {path.name}, {path.stat().st_size / 1e3:.0f} kB")
    _say(out, "\nDone. On your own server: export OPNFORM_API_TOKEN=..., then in Python")
    _say(out, "   import formexport as fx; df = fx.load_export(FORM_ID)")

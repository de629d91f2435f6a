"""Each export strategy behind ExportJob, the swap to a fresh export, and one progress flow."""

from __future__ import annotations

import logging
import re
from pathlib import Path

import pandas as pd
import pytest

import formexport as fx
from formexport.progress.events import ProgressEvent, describe
from formexport.sandbox import Sandbox
from tests.integration.helpers import exports


class Recorder:
    """A progress reporter that remembers what it was shown and how often it was closed."""

    def __init__(self) -> None:
        self.events: list[ProgressEvent] = []
        self.closes = 0
        self.after_close: list[ProgressEvent] = []

    def update(self, event: ProgressEvent) -> None:
        (self.after_close if self.closes else self.events).append(event)

    def close(self) -> None:
        self.closes += 1

    @property
    def phases(self) -> list[str]:
        """The phases shown, each once, in order."""
        seen: list[str] = []
        for event in self.events:
            if not seen or seen[-1] != event.phase:
                seen.append(event.phase)
        return seen


def by_id(frame: pd.DataFrame) -> pd.DataFrame:
    return frame.sort_values("submission_id").reset_index(drop=True)


# --- one class per strategy, one interface -----------------------------------------------


def test_answered_at_once(client: fx.Client) -> None:
    job = client.start_export(1)
    assert (job.delivery_mode, job.job_id, job.is_server_job) == ("answered", None, False)
    assert job.refresh().status == "completed"
    assert "answered at once" in job._repr_html_()
    assert len(job.to_dataframe()) == 250


def test_background_job(client: fx.Client, sandbox: Sandbox) -> None:
    sandbox.config.status_access = "open"
    sandbox.config.job_progression = "per_poll"
    job = client.start_export(2)
    assert (job.delivery_mode, job.is_server_job) == ("server_job", True)
    assert job.job_id is not None
    assert job.refresh().status in ("queued", "processing")
    assert job.wait(progress=None).status == "completed"
    assert len(job.to_dataframe()) == 2500


def test_batches_when_status_is_hidden(client: fx.Client, sandbox: Sandbox) -> None:
    job = client.start_export(2)
    assert (job.delivery_mode, job.job_id, job.is_server_job) == ("batched", None, False)
    assert job.refresh().status == "queued"  # nothing runs before wait()
    assert exports(sandbox) == []
    assert "Rows" in job._repr_html_()
    assert job.wait(progress=None).status == "completed"
    assert len(exports(sandbox)) == 3
    assert job.refresh().status == "completed"
    assert len(job.to_dataframe()) == 2500


def test_cached_export(env: Sandbox, client: fx.Client) -> None:
    stored = fx.load_export(1, progress=None, cache=True)
    env.clear_requests()
    job = client.start_export(1, cache=True)
    assert (job.delivery_mode, job.job_id) == ("cached", None)
    assert "local cache" in job._repr_html_()
    frame = job.to_dataframe(values="csv")
    assert exports(env) == []
    assert len(frame) == len(stored) == 250
    assert frame.attrs["exported_at"] is not None


def test_every_strategy_reads_the_same_rows(client: fx.Client, sandbox: Sandbox) -> None:
    batched = client.start_export(2).to_dataframe(values="csv")
    sandbox.config.status_access = "open"
    background = fx.Client(token=sandbox.token, base_url=sandbox.base_url).start_export(2)
    assert background.delivery_mode == "server_job"
    frame = background.to_dataframe(values="csv")
    assert by_id(frame)["submission_id"].tolist() == by_id(batched)["submission_id"].tolist()


def test_an_expired_status_can_swap_a_job_for_an_answer_at_once(
    client: fx.Client, sandbox: Sandbox
) -> None:
    sandbox.config.status_access = "open"
    sandbox.config.job_progression = "stuck"
    job = client.start_export(2)
    assert job.delivery_mode == "server_job"
    sandbox.clock.advance(7300)  # past the 2 h the server keeps a job's status
    sandbox.config.sync_threshold = 5000  # the fresh export is answered at once
    frame = job.to_dataframe()
    assert (job.delivery_mode, job.job_id, job.is_server_job) == ("answered", None, False)
    assert len(frame) == 2500
    assert len(exports(sandbox)) == 2


def test_an_expired_link_can_swap_a_job_for_an_answer_at_once(
    client: fx.Client, sandbox: Sandbox, tmp_path: Path
) -> None:
    sandbox.config.status_access = "open"
    job = client.start_export(2)
    job.wait(progress=None)
    sandbox.clock.advance(25 * 3600)  # the link (and the status) expired
    sandbox.config.sync_threshold = 5000
    path = job.to_parquet(tmp_path / "events.parquet")
    assert job.delivery_mode == "answered"
    assert len(pd.read_parquet(path)) == 2500
    assert len(exports(sandbox)) == 2


# --- one progress display per export call ------------------------------------------------


def test_wait_then_read_is_one_display_closed_once(client: fx.Client, sandbox: Sandbox) -> None:
    sandbox.config.status_access = "open"
    shown = Recorder()
    job = client.start_export(2)
    job.wait(progress=shown)
    assert shown.closes == 0  # the download and the reading follow
    job.to_dataframe()
    assert shown.phases == ["export", "download", "parse", "done"]
    assert shown.closes == 1
    assert shown.after_close == []


def test_a_one_call_verb_is_one_display_closed_once(env: Sandbox) -> None:
    env.config.status_access = "open"
    shown = Recorder()
    fx.load_export(2, progress=shown)
    assert shown.phases == ["export", "download", "parse", "done"]
    assert (shown.closes, shown.after_close) == (1, [])
    assert describe(shown.events[-1]).startswith("Done · 2 500 rows × 15 columns · ")


def test_batches_are_one_display_closed_once(env: Sandbox, tmp_path: Path) -> None:
    shown = Recorder()
    fx.download_export(2, tmp_path / "events.csv", progress=shown)
    assert shown.phases == ["batches", "done"]
    assert (shown.closes, shown.after_close) == (1, [])
    assert re.fullmatch(r"Done · 1\.\d MB → events\.csv · \d+\.\d s", describe(shown.events[-1]))


def test_a_parquet_file_counts_the_columns_of_the_frame(env: Sandbox, tmp_path: Path) -> None:
    shown = Recorder()
    fx.export_to_parquet(2, tmp_path / "events.parquet", progress=shown)
    # The matrix is one struct column (two leaves in the file), as in the DataFrame.
    assert describe(shown.events[-1]).startswith("Done · 2 500 rows × 15 columns → events.parquet")


def test_a_small_file_is_told_in_kilobytes(env: Sandbox, tmp_path: Path) -> None:
    shown = Recorder()
    fx.download_export(1, tmp_path / "feedback.csv", progress=shown)
    assert re.fullmatch(r"Done · \d+ kB → feedback\.csv · \d+\.\d s", describe(shown.events[-1]))


def test_a_failed_wait_closes_its_display(client: fx.Client, sandbox: Sandbox) -> None:
    sandbox.config.status_access = "open"
    sandbox.config.job_progression = "stuck"
    shown = Recorder()
    job = client.start_export(2)
    with pytest.raises(fx.ExportTimeoutError) as raised:
        job.wait(progress=shown, timeout=0.1)
    assert (shown.closes, shown.after_close) == (1, [])
    assert shown.events[-1].phase == "failed"  # the display says why it ended
    assert shown.events[-1].message == f"ExportTimeoutError: {raised.value.reason}"


def test_reading_again_is_a_new_display(client: fx.Client, sandbox: Sandbox) -> None:
    sandbox.config.status_access = "open"
    shown = Recorder()
    job = client.start_export(2)
    job.wait(progress=shown)
    job.to_dataframe()
    job.to_dataframe()  # from the downloaded file: only the reading, in a display of its own
    assert shown.closes == 2
    assert [event.phase for event in shown.after_close] == ["parse", "done"]


def test_a_job_never_waited_for_still_ends_its_display_on_what_it_delivered(
    client: fx.Client,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    # Answered at once: nothing opens a display before the file is written.
    monkeypatch.setenv(fx.config.PROGRESS_ENV, "log")
    with caplog.at_level(logging.INFO, logger="formexport.progress"):
        job = client.start_export(1)
        job.download(tmp_path / "first.csv")
        job.download(tmp_path / "second.csv")
    shown = [r.getMessage() for r in caplog.records if r.name == "formexport.progress"]
    done = [line for line in shown if line.startswith("Done · ")]
    assert len(done) == 2
    assert re.fullmatch(r"Done · \d+ kB → first\.csv · \d+\.\d s", done[0])
    assert re.fullmatch(r"Done · \d+ kB → second\.csv · \d+\.\d s", done[1])

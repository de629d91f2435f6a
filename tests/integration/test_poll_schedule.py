"""The status schedule against the emulator's jobs of chosen duration, over loopback HTTP."""

from __future__ import annotations

import stat
from pathlib import Path

import pytest

import formexport as fx
from formexport import config
from formexport.local import folder
from formexport.local.job_timings import JobTimings
from formexport.sandbox import Sandbox, make_field

# The schedule's own defaults (the fixtures shorten them for the tests that do not time polls).
SCHEDULE = {
    name: getattr(config, name)
    for name in (
        "POLL_MIN_INTERVAL",
        "POLL_MAX_INTERVAL",
        "POLL_BUDGET_SECONDS",
        "POLL_FIRST_ASK",
        "POLL_OVERDUE_WAIT",
    )
}
ROWS = 1500


@pytest.fixture
def timed(sandbox: Sandbox, monkeypatch: pytest.MonkeyPatch) -> int:
    """A form of 1500 rows whose export jobs take 0.6 s, polled on the real schedule."""
    for name, value in SCHEDULE.items():
        monkeypatch.setattr(config, name, value)
    sandbox.config.status_access = "open"
    sandbox.config.job_progression = "timed"
    sandbox.config.job_seconds = 0.6
    form = sandbox.add_form("Timed", [make_field("text", "Name")], ROWS)
    return int(form["id"])


def _polls(sandbox: Sandbox, job: fx.ExportJob) -> int:
    return sum(f"/status/{job.job_id}" in r.path for r in sandbox.requests)


def test_a_job_is_asked_about_once_when_an_earlier_one_forecasts_its_end(
    sandbox: Sandbox, timed: int
) -> None:
    with fx.Client(token=sandbox.token, base_url=sandbox.base_url) as client:
        first = client.start_export(timed, reattach=False)
        assert first.wait(progress=None).status == "completed"
        second = client.start_export(timed, reattach=False)
        assert second.wait(progress=None).status == "completed"
    assert _polls(sandbox, second) == 1
    assert second.to_dataframe().shape[0] == ROWS


def test_each_job_waited_for_leaves_its_timing_for_the_server(sandbox: Sandbox, timed: int) -> None:
    fx.load_export(timed, token=sandbox.token, base_url=sandbox.base_url, progress=None)
    timings = JobTimings().of(sandbox.base_url)
    assert [t.rows for t in timings] == [ROWS]
    assert timings[0].seconds >= 0.6
    path = JobTimings().path
    assert path.parent == folder.root_dir()
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert sandbox.token not in Path(path).read_text()


def test_without_status_access_nothing_is_polled_or_timed(sandbox: Sandbox, timed: int) -> None:
    sandbox.config.status_access = "blocked"
    frame = fx.load_export(timed, token=sandbox.token, base_url=sandbox.base_url, progress=None)
    assert len(frame) == ROWS
    assert JobTimings().of(sandbox.base_url) == []

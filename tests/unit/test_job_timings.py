"""The record of earlier jobs' timings per server, and what it forecasts (no network)."""

from __future__ import annotations

import json
import stat
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest

from formexport import config
from formexport.local.job_timings import JobTiming, JobTimings, TimingForecast

NOW = datetime.now(timezone.utc)
SERVER = "https://forms.example.com/api"


def timing(rows: int = 20_000, seconds: float = 3.0, **more: object) -> JobTiming:
    return JobTiming(rows=rows, seconds=seconds, finished=NOW, **more)  # type: ignore[arg-type]


def test_timings_are_kept_per_server_spelled_one_way(tmp_path: Path) -> None:
    timings = JobTimings(tmp_path)
    timings.add("HTTPS://Forms.Example.com:443/api/", timing(seconds=3.0))
    timings.add(SERVER, timing(seconds=4.0))
    timings.add("https://other.example.com/api", timing(seconds=9.0))
    assert [t.seconds for t in timings.of(SERVER)] == [4.0, 3.0]
    assert json.loads(timings.path.read_text())["servers"].keys() == {
        SERVER,
        "https://other.example.com/api",
    }
    assert stat.S_IMODE(timings.path.stat().st_mode) == 0o600


def test_the_file_holds_rows_and_seconds_only(tmp_path: Path) -> None:
    timings = JobTimings(tmp_path)
    timings.add("https://user:secret-token@forms.example.com/api", timing(queued=0.5))
    text = timings.path.read_text()
    assert "secret-token" not in text
    assert "user" not in text
    entry = json.loads(text)["servers"][SERVER][0]
    assert set(entry) == {"rows", "seconds", "queued", "tail_share", "finished"}


def test_the_record_stays_small(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    timings = JobTimings(tmp_path)
    for n in range(config.TIMINGS_PER_SERVER + 5):
        timings.add(SERVER, timing(seconds=float(n)))
    kept = timings.of(SERVER)
    assert len(kept) == config.TIMINGS_PER_SERVER
    assert kept[0].seconds == config.TIMINGS_PER_SERVER + 4  # the newest first
    for n in range(config.TIMED_SERVERS + 3):
        finished = NOW - timedelta(hours=config.TIMED_SERVERS + 3 - n)
        timings.add(f"https://s{n}.example.com", JobTiming(20_000, 1.0, finished=finished))
    servers = json.loads(timings.path.read_text())["servers"]
    assert len(servers) == config.TIMED_SERVERS
    assert "https://s0.example.com" not in servers  # the servers used longest ago go first
    assert SERVER in servers


def test_old_timings_are_forgotten(tmp_path: Path) -> None:
    timings = JobTimings(tmp_path)
    ancient = NOW - timedelta(seconds=config.TIMING_MAX_AGE + 60)
    timings.add(SERVER, JobTiming(20_000, 50.0, finished=ancient))
    timings.add(SERVER, timing(seconds=3.0))
    assert [t.seconds for t in timings.of(SERVER)] == [3.0]


def test_a_damaged_record_forecasts_nothing(tmp_path: Path) -> None:
    timings = JobTimings(tmp_path)
    timings.path.write_text('{"version": 1, "servers": {"x": [{"rows": -3}]}}')
    assert timings.forecast(SERVER) is None
    timings.add(SERVER, timing())
    assert len(timings.of(SERVER)) == 1
    assert timings.clear() == 1
    assert not timings.path.exists()


def test_an_unwritable_folder_does_not_stop_an_export(tmp_path: Path) -> None:
    blocked = tmp_path / "file"
    blocked.write_text("not a folder")
    timings = JobTimings(blocked)
    timings.add(SERVER, timing())  # logged, not raised
    assert timings.forecast(SERVER) is None


def test_the_forecast_scales_the_nearest_jobs_to_the_rows() -> None:
    forecast = TimingForecast(
        (
            timing(rows=1_000, seconds=1.5, queued=1.0),  # mostly fixed cost: far in size
            timing(rows=20_000, seconds=5.0, queued=1.0),
            timing(rows=40_000, seconds=9.0, queued=1.0, tail_share=0.2),
            timing(rows=10_000, seconds=3.0),  # its queue time unseen: the typical one
        )
    )
    assert forecast.queued == 1.0
    assert forecast.tail_share == 0.2
    assert forecast.run_seconds(20_000) == pytest.approx(4.0)
    assert forecast.seconds(20_000) == pytest.approx(5.0)
    assert forecast.run_seconds(0) is None
    assert TimingForecast(()).seconds(20_000) is None

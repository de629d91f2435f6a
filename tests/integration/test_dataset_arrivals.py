"""Scheduled dataset runs on forms that keep collecting: each submission exactly once.

``export_forms`` full and incremental runs while a busy form receives 25 submissions a
second, on servers that hide job status (ids listed and exported in batches) and
that let tokens watch jobs; and incremental runs that meet a submission whose id is higher than
the newest one's while it was created a moment before it (same second, or saved concurrently).
"""

from __future__ import annotations

import json
from collections import Counter
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import pyarrow.dataset as ds
import pytest
import requests

import formexport as fx
from formexport.sandbox import Sandbox

FIELDS = [{"type": "text", "name": "Name"}, {"type": "number", "name": "Score"}]
MANIFEST = "_formexport_manifest.json"


def _run(sandbox: Sandbox, form_id: int, dest: Path, **kwargs: Any) -> fx.FormRecord:
    manifest = fx.export_forms(
        [form_id], dest, token=sandbox.token, base_url=sandbox.base_url, progress=None, **kwargs
    )
    record = manifest.record(form_id)
    assert record is not None
    assert record.status == "ok", record.error
    return record


def _dataset_ids(dest: Path, form_id: int) -> list[int]:
    dataset = ds.dataset(dest / f"form_id={form_id}", format="parquet", partitioning="hive")
    return [int(i) for i in dataset.to_table(columns=["submission_id"]).column(0).to_pylist()]


def _server_ids(sandbox: Sandbox, form_id: int) -> set[int]:
    """Every submission the server holds now (one request: the emulator honours per_page=-1)."""
    body = requests.get(
        f"{sandbox.base_url}/open/forms/{form_id}/submissions",
        params={"per_page": -1},
        headers={"Authorization": f"Bearer {sandbox.token}"},
        timeout=30,
    ).json()
    return {item["id"] for item in body["data"]}


@pytest.mark.parametrize("status_access", ["blocked", "open"])
def test_scheduled_runs_while_submissions_arrive_hold_each_one_once(
    sandbox: Sandbox, tmp_path: Path, status_access: str
) -> None:
    sandbox.config.status_access = status_access
    sandbox.config.tie_order = "random"
    sandbox.config.rate_limits = False  # four runs of 40 list pages within a minute
    form_id = sandbox.add_form("Busy form", FIELDS)["id"]
    existing = set(sandbox.add_generated_submissions(form_id, 3000, every=0.1))
    with sandbox.start_arrivals(form_id, every=0.04) as feed:
        first = _run(sandbox, form_id, tmp_path)
        assert existing <= set(_dataset_ids(tmp_path, form_id))
        for _ in range(2):
            before = _server_ids(sandbox, form_id)
            record = _run(sandbox, form_id, tmp_path, incremental=True)
            assert record.mode == "incremental"
            assert record.rows > 0
            assert before <= set(_dataset_ids(tmp_path, form_id))
    last = _run(sandbox, form_id, tmp_path, incremental=True)
    held = _dataset_ids(tmp_path, form_id)
    assert [i for i, n in Counter(held).items() if n > 1] == []
    assert set(held) == existing | set(feed.ids) == _server_ids(sandbox, form_id)
    assert first.mode == "full"
    assert last.high_water_mark == max(held)
    assert last.high_water_time is not None
    assert set(last.recent_ids) <= set(held)


def test_incremental_run_finds_a_submission_saved_a_moment_before_the_newest(
    sandbox: Sandbox, tmp_path: Path
) -> None:
    form = sandbox.add_form("Contact", FIELDS)
    name = form["properties"][0]["id"]
    sandbox.add_submission(form["id"], {name: "early"}, created_at=1_790_000_000)
    newest = sandbox.add_submission(form["id"], {name: "newest"}, created_at=1_790_000_100)
    _run(sandbox, form["id"], tmp_path)
    # Saved concurrently: a higher id, created a moment before the newest the dataset holds;
    # and another of the newest one's very second, listed after it.
    late = sandbox.add_submission(form["id"], {name: "late"}, created_at=1_790_000_099)
    tied = sandbox.add_submission(form["id"], {name: "tied"}, created_at=1_790_000_100)
    record = _run(sandbox, form["id"], tmp_path, incremental=True)
    held = _dataset_ids(tmp_path, form["id"])
    assert sorted(held) == sorted([newest - 1, newest, late, tied])
    assert record.rows == 2
    again = _run(sandbox, form["id"], tmp_path, incremental=True)
    assert again.rows == 0
    assert len(_dataset_ids(tmp_path, form["id"])) == 4


def test_incremental_run_on_a_dataset_written_before_the_edge_was_recorded(
    sandbox: Sandbox, tmp_path: Path
) -> None:
    _run(sandbox, 1, tmp_path)
    manifest = tmp_path / MANIFEST
    stored = json.loads(manifest.read_text())
    for key in ("high_water_time", "recent_ids", "rows_gone_upstream", "rows_dropped"):
        del stored["forms"]["1"][key]
    manifest.write_text(json.dumps(stored))
    fields = fx.Client(token=sandbox.token, base_url=sandbox.base_url).get_form(1).fields
    added = [sandbox.add_submission(1, {fields[0].id: f"Reply {n}"}) for n in range(3)]
    record = _run(sandbox, 1, tmp_path, incremental=True)
    assert record.rows == 3
    assert sorted(_dataset_ids(tmp_path, 1)) == [*range(1, 251), *added]


def test_full_refresh_keeps_rows_the_server_deleted_unless_asked_to_mirror(
    sandbox: Sandbox, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    assert _run(sandbox, 1, tmp_path).rows == 250
    # Form 1's submissions span August 2026: a retention period that ends mid-month.
    mid_august = datetime(2026, 8, 16, tzinfo=timezone.utc).timestamp()
    sandbox.set_retention(1, int((sandbox.clock.now() - mid_august) // 86400), "day")
    deleted = sandbox.run_retention().get(1, 0)
    assert 0 < deleted < 250
    new = sandbox.add_submission(1, {}, created_at=None)
    caplog.set_level("INFO", logger="formexport")
    refreshed = _run(sandbox, 1, tmp_path, full_refresh=True)
    held = _dataset_ids(tmp_path, 1)
    assert sorted(held) == [*range(1, 251), new]
    assert (refreshed.rows, refreshed.rows_gone_upstream) == (250 - deleted + 1, deleted)
    assert f"{deleted} rows kept whose submissions the server no longer has" in caplog.text
    assert len(refreshed.partitions) == 2
    # Another refresh keeps them still, once each.
    again = _run(sandbox, 1, tmp_path, full_refresh=True)
    assert sorted(_dataset_ids(tmp_path, 1)) == sorted(held)
    assert again.rows_gone_upstream == deleted
    files = sorted(p.relative_to(tmp_path).as_posix() for p in tmp_path.rglob("*.parquet"))
    assert files == sorted(again.partitions)
    mirrored = _run(sandbox, 1, tmp_path, full_refresh=True, mirror_deletions=True)
    assert sorted(_dataset_ids(tmp_path, 1)) == sorted(_server_ids(sandbox, 1))
    assert (mirrored.rows_gone_upstream, mirrored.rows_dropped) == (0, deleted)
    assert len(list(tmp_path.rglob("*.parquet"))) == 1


def test_command_line_says_how_many_rows_are_kept_or_dropped(
    sandbox: Sandbox,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    from formexport.cli import main

    monkeypatch.setenv("OPNFORM_API_TOKEN", sandbox.token)
    monkeypatch.setenv("OPNFORM_API_BASE_URL", sandbox.base_url)
    command = ["export-all", "1", "--forms", "1", "-o", str(tmp_path), "--no-progress"]
    assert main(command) == 0
    sandbox.delete_submissions(1, [3, 4, 5])
    capsys.readouterr()
    assert main([*command, "--full-refresh"]) == 0
    out = capsys.readouterr().out
    assert "Kept 3 rows whose submissions the server no longer has" in out
    assert len(_dataset_ids(tmp_path, 1)) == 250
    assert main([*command, "--full-refresh", "--mirror-deletions"]) == 0
    assert "Dropped 3 rows whose submissions the server no longer has" in capsys.readouterr().out
    assert len(_dataset_ids(tmp_path, 1)) == 247

"""The private folder, request keys, the job record and the export cache (no network)."""

from __future__ import annotations

import json
import os
import stat
import threading
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest

import formexport as fx
from formexport.errors import ConfigurationError, InvalidArgumentError
from formexport.local import folder
from formexport.local.export_cache import ExportCache, max_age_seconds
from formexport.local.job_records import JobRecord, JobRecords

NOW = datetime.now(timezone.utc)


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_the_folder_follows_the_environment(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("FORMEXPORT_CACHE_DIR", str(tmp_path / "here"))
    assert folder.root_dir() == tmp_path / "here"
    assert fx.cache_dir() == tmp_path / "here"
    monkeypatch.delenv("FORMEXPORT_CACHE_DIR")
    assert folder.root_dir().name == "formexport"


def test_private_folders_and_files(tmp_path: Path) -> None:
    old = os.umask(0o022)
    try:
        private = folder.private_dir(tmp_path / "a" / "b")
        with folder.private_file(private / "f.json") as out:
            out.write(b"{}")
    finally:
        os.umask(old)
    assert _mode(private) == 0o700
    assert _mode(private / "f.json") == 0o600
    assert [p.name for p in private.iterdir()] == ["f.json"]  # no temporary file left


def test_an_unusable_folder_is_a_configuration_error(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("x")
    with pytest.raises(ConfigurationError, match="FORMEXPORT_CACHE_DIR"):
        folder.private_dir(blocker / "sub")


def test_request_keys_cover_every_parameter() -> None:
    base = folder.request_key("http://h/api", 1, {"a": True, "b": True}, None)
    assert base == folder.request_key("http://h/api/", 1, {"b": True, "a": True}, None)
    others = {
        folder.request_key("http://other/api", 1, {"a": True, "b": True}, None),
        folder.request_key("http://h/api", 2, {"a": True, "b": True}, None),
        folder.request_key("http://h/api", 1, {"a": True}, None),
        folder.request_key("http://h/api", 1, {"a": True, "b": True}, [1, 2]),
        folder.request_key("http://h/api", 1, {"a": True, "b": True}, []),
    }
    assert base not in others
    assert len(others) == 5


@pytest.mark.parametrize(
    "spelling",
    ["http://h/api/", "HTTP://H/api", "http://h:80/api", "Http://H:80/api//"],
)
def test_request_keys_normalise_the_server(spelling: str) -> None:
    assert folder.request_key(spelling, 1, {"a": True}, None) == folder.request_key(
        "http://h/api", 1, {"a": True}, None
    )


@pytest.mark.parametrize(
    "other", ["https://h/api", "http://h:8080/api", "http://h/API", "http://h", "http://g/api"]
)
def test_request_keys_keep_what_names_another_server(other: str) -> None:
    assert folder.request_key(other, 1, {}, None) != folder.request_key("http://h/api", 1, {}, None)


def test_canonical_servers() -> None:
    assert folder.canonical_server("HTTPS://Forms.Example.com:443/API/") == (
        "https://forms.example.com/API"
    )
    assert folder.canonical_server("http://[::1]:8080/") == "http://[::1]:8080"


def _record(key: str, job_id: str, **changes: object) -> JobRecord:
    fields: dict[str, object] = {
        "key": key,
        "server": "http://h/api",
        "form_id": 1,
        "job_id": job_id,
        "started": NOW,
        "expires": None,
    }
    fields.update(changes)
    return JobRecord(**fields)  # type: ignore[arg-type]


def test_records_find_the_newest_live_job(tmp_path: Path) -> None:
    records = JobRecords(tmp_path)
    records.save(_record("k1", "old", expires=NOW - timedelta(minutes=1)))
    assert records.find("k1") is None  # its link expired
    records.save(_record("k1", "new", expires=NOW + timedelta(hours=1)))
    records.save(_record("k2", "other"))
    found = records.find("k1")
    assert found is not None
    assert found.job_id == "new"
    assert [r.job_id for r in records.all()] == ["other", "new"]
    records.forget("new")
    assert records.find("k1") is None
    assert _mode(records.path) == 0o600
    text = records.path.read_text()
    assert "token" not in text
    assert "signature" not in text


def test_old_unfinished_records_are_dropped(tmp_path: Path) -> None:
    records = JobRecords(tmp_path)
    records.save(_record("k", "ancient", started=NOW - timedelta(days=3)))
    assert records.find("k") is None


def test_a_damaged_record_counts_as_empty(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    records = JobRecords(tmp_path)
    records.path.write_text("{not json")
    assert records.all() == []
    assert "unreadable job record" in caplog.text
    records.save(_record("k", "j"))
    assert [r.job_id for r in records.all()] == ["j"]


def test_records_keep_a_bounded_history(tmp_path: Path) -> None:
    records = JobRecords(tmp_path)
    for n in range(60):
        records.save(_record(f"k{n}", f"j{n}"))
    assert len(records.all()) == 50
    assert records.all()[0].job_id == "j59"


def test_max_age_accepts_seconds_and_timedeltas() -> None:
    assert max_age_seconds(None) is None
    assert max_age_seconds(90) == 90.0
    assert max_age_seconds(timedelta(hours=1)) == 3600.0
    for bad in (-1, "1h", True):
        with pytest.raises(InvalidArgumentError, match="max_age"):
            max_age_seconds(bad)  # type: ignore[arg-type]


def test_incomplete_cache_entries_are_not_served(tmp_path: Path) -> None:
    cache = ExportCache(tmp_path)
    folder.private_dir(cache.folder)
    (cache.folder / "k.csv").write_bytes(b"a,b\n1,2\n")
    assert cache.get("k") is None  # no completion file
    meta = {"server": "s", "form_id": 1, "created": 0.0, "size": 999}
    (cache.folder / "k.json").write_text(json.dumps(meta))
    assert cache.get("k") is None  # size does not match: cut short
    meta["size"] = 8
    (cache.folder / "k.json").write_text(json.dumps(meta))
    entry = cache.get("k")
    assert entry is not None
    assert entry.age > 1e6
    assert cache.lookup("k", max_age=60) is None
    assert cache.lookup("k") == entry
    assert cache.clear() == 2
    assert cache.entries() == []


def test_a_delivered_job_is_spent(tmp_path: Path) -> None:
    records = JobRecords(tmp_path)
    records.save(_record("k", "j", expires=NOW + timedelta(hours=1)))
    records.save(_record("k2", "other"))
    records.mark_delivered("j")
    assert records.find("k") is None
    assert records.find("k2") is not None
    assert [r.delivered for r in records.all()] == [False, True]
    # A later status of the same job (its record saved again) does not revive it.
    records.save(_record("k", "j", expires=NOW + timedelta(hours=2)))
    assert records.find("k") is None
    # A new job for the request replaces the spent one and can be picked up.
    records.save(_record("k", "fresh"))
    found = records.find("k")
    assert found is not None
    assert found.job_id == "fresh"


def test_records_without_deliveries_are_ignored(tmp_path: Path) -> None:
    records = JobRecords(tmp_path)
    old = _record("k", "j").to_json()
    del old["delivered"]
    records.path.write_text(json.dumps({"version": 1, "jobs": [old]}))
    assert records.all() == []
    assert records.find("k") is None


def test_delivery_marks_survive_threads_saving_at_once(tmp_path: Path) -> None:
    records = JobRecords(tmp_path)
    for n in range(20):
        records.save(_record(f"k{n}", f"j{n}"))

    def deliver(n: int) -> None:
        JobRecords(tmp_path).mark_delivered(f"j{n}")
        JobRecords(tmp_path).save(_record(f"new{n}", f"fresh{n}"))

    threads = [threading.Thread(target=deliver, args=(n,)) for n in range(20)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert all(records.find(f"k{n}") is None for n in range(20))
    assert all(records.find(f"new{n}") is not None for n in range(20))

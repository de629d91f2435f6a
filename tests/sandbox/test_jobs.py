"""The async job's cache entries, per progression mode, and their time to live."""

from __future__ import annotations

import re
import time
from datetime import datetime
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest

from formexport.sandbox import Sandbox, make_field
from tests.sandbox.helpers import Api

KEYS = [
    "job_id",
    "status",
    "progress",
    "processed_submissions",
    "total_submissions",
    "file_url",
    "error_message",
    "expires_at",
    "created_at",
    "updated_at",
]
STAMP = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z$")


def _stamp(text: str) -> float:
    return datetime.fromisoformat(text.replace("Z", "+00:00")).timestamp()


@pytest.fixture
def form_id(sb: Sandbox) -> int:
    """A form of 1 001 rows (just async), with polling allowed."""
    form = sb.add_form("Eleven hundred", [make_field("text", "Name")], 1001)
    sb.config.status_access = "open"
    return int(form["id"])


def _start(api: Api, form_id: int) -> str:
    return api.start_job(form_id, {"created_at": True})


def _poll(api: Api, form_id: int, job_id: str) -> dict[str, Any]:
    response = api.status(form_id, job_id)
    assert response.status_code == 200, response.text
    body = response.json()
    assert list(body) == KEYS
    assert STAMP.match(body["created_at"])
    assert STAMP.match(body["updated_at"])
    return dict(body)


def _summary(body: dict[str, Any]) -> tuple[Any, ...]:
    return (
        body["status"],
        body["progress"],
        body["processed_submissions"],
        body["total_submissions"],
        body["error_message"],
    )


def test_per_poll_walks_every_write(api: Api, sb: Sandbox, form_id: int) -> None:
    sb.config.job_progression = "per_poll"
    job_id = _start(api, form_id)
    seen = [_poll(api, form_id, job_id) for _ in range(8)]
    assert [_summary(b) for b in seen] == [
        ("queued", 0, None, None, None),
        ("processing", 0, None, None, None),
        ("processing", 44, 500, 1001, None),
        ("processing", 89, 1000, 1001, None),
        ("processing", 90, 1001, 1001, None),
        ("processing", 95, None, None, "Generating export file..."),
        ("completed", 100, 1001, 1001, None),
        ("completed", 100, 1001, 1001, None),
    ]
    assert all(b["file_url"] is None and b["expires_at"] is None for b in seen[:6])
    assert seen[6]["file_url"].startswith(f"{sb.base_url}/local/temp/exports/temp/")
    assert STAMP.match(seen[6]["expires_at"])
    assert {b["created_at"] for b in seen} == {seen[0]["created_at"]}
    assert seen[0]["created_at"] == seen[0]["updated_at"]


def test_immediate_completes_during_the_post(api: Api, sb: Sandbox, form_id: int) -> None:
    job_id = _start(api, form_id)
    body = _poll(api, form_id, job_id)
    assert _summary(body) == ("completed", 100, 1001, 1001, None)
    download = api.session.get(body["file_url"])
    assert download.content.count(b"\n") == 1002


def test_timed_steps_follow_the_sandbox_clock(api: Api, sb: Sandbox, form_id: int) -> None:
    sb.config.job_progression = "timed"
    sb.config.seconds_per_step = 60
    job_id = _start(api, form_id)
    first = _poll(api, form_id, job_id)
    assert first["status"] == "queued"
    posted = _stamp(first["created_at"])
    sb.clock.advance(60)
    second = _poll(api, form_id, job_id)
    assert _summary(second) == ("processing", 0, None, None, None)
    assert _stamp(second["updated_at"]) == pytest.approx(posted + 60, abs=1e-3)
    sb.clock.advance(60 * 4)
    assert _summary(_poll(api, form_id, job_id))[:2] == ("processing", 95)
    sb.clock.advance(60)
    done = _poll(api, form_id, job_id)
    assert done["status"] == "completed"
    assert _stamp(done["updated_at"]) == pytest.approx(posted + 6 * 60, abs=1e-3)


def test_stuck_jobs_stay_queued_then_expire(api: Api, sb: Sandbox, form_id: int) -> None:
    sb.config.job_progression = "stuck"
    job_id = _start(api, form_id)
    sb.clock.advance(7199)
    assert _poll(api, form_id, job_id)["status"] == "queued"
    sb.clock.advance(2)
    gone = api.status(form_id, job_id)
    assert gone.status_code == 404
    assert gone.json() == {"type": "error", "message": "Export job not found or has expired."}


def test_completed_status_expires_two_hours_after_its_last_write(
    api: Api, sb: Sandbox, form_id: int
) -> None:
    job_id = _start(api, form_id)
    file_url = _poll(api, form_id, job_id)["file_url"]
    sb.clock.advance(7201)
    assert api.status(form_id, job_id).status_code == 404
    assert api.session.get(file_url).status_code == 200  # the link outlives the status


def test_each_write_restarts_the_ttl(api: Api, sb: Sandbox, form_id: int) -> None:
    sb.config.job_progression = "per_poll"
    job_id = _start(api, form_id)
    for _ in range(4):
        _poll(api, form_id, job_id)
        sb.clock.advance(7000)  # each poll wrote a fresh entry, so it is still alive
    assert _poll(api, form_id, job_id)["progress"] == 90


def test_configured_failure_after_processing(api: Api, sb: Sandbox, form_id: int) -> None:
    sb.config.job_progression = "per_poll"
    sb.config.fail_jobs = "Disk quota exceeded"
    job_id = _start(api, form_id)
    seen = [_summary(_poll(api, form_id, job_id)) for _ in range(4)]
    assert seen == [
        ("queued", 0, None, None, None),
        ("processing", 0, None, None, None),
        ("failed", 0, None, None, "Disk quota exceeded"),
        ("failed", 0, None, None, "Disk quota exceeded"),
    ]


def test_zero_rows_fail(api: Api, sb: Sandbox) -> None:
    sb.config.sync_threshold = -1  # send even the empty form down the queued path
    sb.config.status_access = "open"
    job_id = api.start_job(3, {"created_at": True})
    body = api.status(3, job_id).json()
    assert _summary(body) == ("failed", 0, None, None, "No submissions to export")
    assert body["file_url"] is None


def test_switching_progression_unsticks_a_job(api: Api, sb: Sandbox, form_id: int) -> None:
    sb.config.job_progression = "stuck"
    job_id = _start(api, form_id)
    assert _poll(api, form_id, job_id)["status"] == "queued"
    sb.config.job_progression = "immediate"
    assert _poll(api, form_id, job_id)["status"] == "completed"


@pytest.mark.parametrize(("hours", "expected"), [(72, 72), (48, 24), (720, 720)])
def test_expiry_is_job_start_plus_workspace_hours(
    api: Api, sb: Sandbox, form_id: int, hours: int, expected: int
) -> None:
    sb.config.link_lifetime_hours = hours
    sb.config.job_progression = "timed"
    sb.config.seconds_per_step = 100
    job_id = _start(api, form_id)
    posted = _stamp(_poll(api, form_id, job_id)["created_at"])
    sb.clock.advance(1000)
    body = _poll(api, form_id, job_id)
    started = posted + 100
    assert _stamp(body["expires_at"]) == pytest.approx(started + expected * 3600, abs=1e-3)
    expires = int(parse_qs(urlsplit(body["file_url"]).query)["expires"][0])
    assert expires == int(started + expected * 3600)


def test_old_servers_expire_a_day_after_completion(api: Api, sb: Sandbox, form_id: int) -> None:
    sb.config.version = "2.1.0"
    sb.config.link_lifetime_hours = 72  # no such setting before 2.2.1
    sb.config.job_progression = "timed"
    sb.config.seconds_per_step = 100
    job_id = _start(api, form_id)
    sb.clock.advance(1000)
    body = _poll(api, form_id, job_id)
    assert _stamp(body["expires_at"]) == pytest.approx(_stamp(body["updated_at"]) + 86400)


def test_file_name_uses_slug_and_generation_time(api: Api, sb: Sandbox) -> None:
    body = api.finished_job(2, {"created_at": True})
    slug = api.form(2)["slug"]
    name = urlsplit(body["file_url"]).path.rsplit("/", 1)[1]
    assert re.fullmatch(rf"{slug}-submissions-\d{{4}}(-\d\d){{5}}\.csv", name)


def test_polls_answer_95_while_a_large_file_is_written(
    api: Api, sb: Sandbox, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("formexport.sandbox.backend.state.READY_WAIT", 0.0)
    form = sb.add_form("Large", [make_field("text", "Name"), make_field("email", "Email")], 30_000)
    sb.config.status_access = "open"
    sb.config.job_progression = "per_poll"
    sb.config.rate_limits = False  # polled in a tight loop while the file is written
    job_id = api.start_job(form["id"], {"created_at": True})
    progress = []
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        body = _poll(api, form["id"], job_id)
        progress.append(body["progress"])
        if body["status"] == "completed":
            break
        time.sleep(0.01)
    assert progress[-1] == 100
    assert progress.count(95) >= 2  # the poll after the 95% write found the file unfinished
    assert api.session.get(body["file_url"]).content.count(b"\n") == 30_001


def test_reset_cancels_background_writes(
    api: Api, sb: Sandbox, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("formexport.sandbox.backend.state.READY_WAIT", 0.0)
    form = sb.add_form("Huge", [make_field("text", "Name")], 300_000)
    sb.config.status_access = "open"
    sb.config.job_progression = "timed"
    sb.config.seconds_per_step = 0.001
    job_id = api.start_job(form["id"], {"created_at": True})
    sb.clock.advance(10)
    assert api.status(form["id"], job_id).json()["progress"] == 95  # the writer runs
    sb.reset()
    assert not sb._backend.writer._threads
    assert not list((sb._backend.files_dir).rglob("*.csv"))


def test_storage_errors_fail_the_job(
    api: Api, sb: Sandbox, form_id: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    def full_disk(*args: object, **kwargs: object) -> None:
        raise OSError("No space left on device")

    monkeypatch.setattr(sb._backend.exporter, "write_file", full_disk)
    body = _poll(api, form_id, _start(api, form_id))
    assert _summary(body) == ("failed", 0, None, None, "No space left on device")


def _written(sb: Sandbox) -> list[bytes]:
    """The export files on disk, once every writer has finished."""
    for thread in list(sb._backend.writer._threads):
        thread.join(30)
    return [path.read_bytes() for path in sorted(sb._backend.files_dir.rglob("*.csv"))]


def test_a_chosen_duration_spreads_the_steps_over_it(api: Api, sb: Sandbox, form_id: int) -> None:
    sb.config.job_progression = "timed"
    sb.config.job_seconds = 600  # 1001 rows: processing 0, three chunks, 95 %, completed
    job_id = _start(api, form_id)
    first = _poll(api, form_id, job_id)
    assert first["status"] == "queued"
    assert len(_written(sb)) == 1  # the file is begun with the job, not at its 95 % step
    posted = _stamp(first["created_at"])
    sb.clock.advance(100)
    started = _poll(api, form_id, job_id)
    assert _summary(started) == ("processing", 0, None, None, None)
    assert _stamp(started["updated_at"]) == pytest.approx(posted + 100, abs=1e-3)
    sb.clock.advance(399)
    assert _summary(_poll(api, form_id, job_id))[:2] == ("processing", 90)
    sb.clock.advance(101)
    done = _poll(api, form_id, job_id)
    assert done["status"] == "completed"
    assert _stamp(done["updated_at"]) == pytest.approx(posted + 600, abs=1e-3)
    assert api.session.get(done["file_url"]).content.count(b"\n") == 1002


def test_a_file_slower_than_the_chosen_duration_ends_the_job_when_written(
    api: Api, sb: Sandbox, form_id: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    exporter = sb._backend.exporter
    write_file = exporter.write_file

    def slow(*args: Any, **kwargs: Any) -> None:
        time.sleep(0.5)
        write_file(*args, **kwargs)

    monkeypatch.setattr(exporter, "write_file", slow)
    sb.config.job_progression = "timed"
    sb.config.job_seconds = 0.01
    job_id = _start(api, form_id)
    _written(sb)
    done = _poll(api, form_id, job_id)
    assert done["status"] == "completed"
    assert _stamp(done["updated_at"]) >= _stamp(done["created_at"]) + 0.5


def test_jobs_of_chosen_duration_copy_the_file_of_an_identical_export(
    api: Api, sb: Sandbox, form_id: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    exporter = sb._backend.exporter
    write_file = exporter.write_file
    writes: list[int] = []

    def counted(*args: Any, **kwargs: Any) -> None:
        writes.append(1)
        write_file(*args, **kwargs)

    monkeypatch.setattr(exporter, "write_file", counted)
    sb.config.job_progression = "timed"
    sb.config.job_seconds = 0.01
    _start(api, form_id)
    _written(sb)
    _start(api, form_id)  # within the second or not: the same name overwrites, as on OpnForm
    sb.clock.advance(1)  # another second: another file name
    _start(api, form_id)
    files = _written(sb)
    assert len(writes) == 1
    assert len(files) in (2, 3)
    assert len(set(files)) == 1
    sb.clock.advance(1)
    api.start_job(form_id, api.all_columns(form_id, "created_at"))  # other columns
    sb.clock.advance(1)
    sb.add_submission(form_id, {})  # other rows
    _start(api, form_id)
    assert len(_written(sb)) == len(files) + 2
    assert len(writes) == 3


def _file_name(body: dict[str, Any]) -> str:
    return urlsplit(body["file_url"]).path.rsplit("/", 1)[1]


def _header(api: Api, body: dict[str, Any]) -> bytes:
    content = api.session.get(body["file_url"]).content
    return content.removeprefix(b"\xef\xbb\xbf").split(b"\n", 1)[0]


def test_two_jobs_of_a_form_in_one_second_share_one_file_the_later_whole(
    api: Api, sb: Sandbox
) -> None:
    narrow, wide = {"created_at": True}, api.all_columns(2, "created_at")
    for _ in range(5):
        time.sleep(1 - time.time() % 1)  # both jobs within one second: one file name
        first = api.finished_job(2, narrow)
        second = api.finished_job(2, wide)
        if _file_name(first) == _file_name(second):
            break
    else:
        pytest.fail("the two jobs never finished within the same second")
    # Both status answers point at the one file, which holds the later export whole.
    assert _header(api, first) == _header(api, second) == _header(api, api.finished_job(2, wide))
    content = api.session.get(first["file_url"]).content
    assert content.count(b"\n") == 2501
    assert not [p.name for p in sb._backend.files_dir.rglob("*") if p.name.startswith(".")]


@pytest.mark.parametrize("progression", ["immediate", "per_poll"])
def test_a_rival_export_replaces_the_next_jobs_file(
    api: Api, sb: Sandbox, progression: str
) -> None:
    sb.config.status_access = "open"
    sb.config.job_progression = progression
    assert sb.add_rival_export(2, ["created_at"], times=2) == 2
    ids = sorted(sb._backend.form(2).submissions.ordered_ids("all"))[:1500]
    assert sb.add_rival_export(2, ["created_at"], submission_ids=ids) == 3
    own = api.all_columns(2, "created_at")
    bodies, headers, lines = [], [], []
    for _ in range(4):
        job_id = api.start_job(2, own)
        body = _poll(api, 2, job_id)
        while body["status"] != "completed":
            body = _poll(api, 2, job_id)
        # Read before the next job: it may finish in the same second and replace the file.
        bodies.append(body)
        headers.append(_header(api, body))
        lines.append(api.session.get(body["file_url"]).content.count(b"\n"))
    assert [_summary(b)[3] for b in bodies] == [2500] * 4  # each job counted its own rows
    assert headers[:3] == [b"id,created_at,status"] * 3  # the rival's file, under its name
    assert headers[3].startswith(b'id,"Full name",Email,Email')  # no rival left: its own
    assert lines == [2501, 2501, 1501, 2501]  # the third rival's rows, not the job's
    rivals = [j for j in sb._backend.jobs.values() if j.selected == ["created_at"]]
    assert len(rivals) == 3
    for rival in rivals:  # another client reads its job as finished, with the shared file
        body = _poll(api, 2, rival.id)
        assert body["status"] == "completed"
        assert body["file_url"] in {b["file_url"] for b in bodies}
    assert sorted(_summary(_poll(api, 2, r.id))[3] for r in rivals) == [1500, 2500, 2500]


def test_rival_exports_are_checked_like_export_requests(sb: Sandbox) -> None:
    with pytest.raises(ValueError, match="The columns contain invalid values: nope"):
        sb.add_rival_export(2, ["nope"])
    with pytest.raises(ValueError, match="times"):
        sb.add_rival_export(2, ["created_at"], times=0)
    with pytest.raises(KeyError):
        sb.add_rival_export(99, ["created_at"])
    sb.add_rival_export(2, ["created_at"])
    sb.reset()
    assert sb.add_rival_export(2, ["created_at"]) == 1  # a reset forgets those pending


def test_a_renamed_field_heads_its_column_from_then_on(api: Api, sb: Sandbox) -> None:
    field = next(f for f in api.form(2)["properties"] if f["name"] == "Full name")
    sb.rename_field(2, field["id"], "Name in full")
    assert next(f for f in api.form(2)["properties"] if f["id"] == field["id"])["name"] == (
        "Name in full"
    )
    body = api.finished_job(2, {field["id"]: True})
    assert _header(api, body) == b'id,"Name in full",status'
    with pytest.raises(KeyError):
        sb.rename_field(2, "no-such-field", "x")

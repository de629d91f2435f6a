"""A form that lives while it is exported: arrivals, deletions, retention, same-second order."""

from __future__ import annotations

import time
from collections import Counter
from datetime import datetime, timezone
from typing import Any

import pytest

from formexport.sandbox import Sandbox
from formexport.sandbox.backend.traffic import retention_cutoff
from tests.sandbox.helpers import Api

FIELDS = [{"type": "text", "name": "Name"}, {"type": "number", "name": "Score"}]


def _ids(api: Api, form_id: int, **query: Any) -> list[int]:
    response = api.get(f"/open/forms/{form_id}/submissions", params=query)
    assert response.status_code == 200, response.text
    return [item["id"] for item in response.json()["data"]]


def _all(api: Api, form_id: int) -> tuple[list[int], list[str], int]:
    body = api.get(f"/open/forms/{form_id}/submissions", params={"per_page": -1}).json()
    created = [item["data"]["created_at"] for item in body["data"]]
    return [item["id"] for item in body["data"]], created, body["meta"]["total"]


def _control(api: Api, method: str, path: str, **kw: Any) -> tuple[int, Any]:
    response = api.session.request(method, f"{api.base}/_sandbox/{path}", timeout=10, **kw)
    return response.status_code, response.json()


def test_arrivals_keep_coming_at_their_rate_until_stopped(bare: Sandbox, bare_api: Api) -> None:
    form = bare.add_form("Live", FIELDS)
    began = time.monotonic()
    with bare.start_arrivals(form["id"], every=0.02) as feed:
        while len(feed.ids) < 10:
            time.sleep(0.01)
        assert feed.running
    elapsed = time.monotonic() - began
    added = feed.ids
    assert not feed.running
    time.sleep(0.06)
    assert feed.ids == added  # nothing after stop
    assert elapsed >= 0.02 * 10
    listed, created, total = _all(bare_api, form["id"])
    assert total == len(added)
    assert sorted(listed) == added
    # Each arrival is "now" in sandbox time, with real answers to the form's fields.
    now = datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M")
    assert all(stamp.startswith(now[:13]) for stamp in created)
    item = bare_api.get(f"/open/forms/{form['id']}/submissions").json()["data"][0]
    assert set(item["data"]) >= {form["properties"][0]["id"], "created_at", "status"}


def test_a_counted_feed_stops_by_itself_and_reset_stops_the_others(sb: Sandbox) -> None:
    counted = sb.start_arrivals(1, every=0.005, count=4)
    endless = sb.start_arrivals(2, every=0.005)
    deadline = time.monotonic() + 5
    while counted.running and time.monotonic() < deadline:
        time.sleep(0.01)
    assert len(counted.ids) == 4
    assert not counted.running
    assert sb.arrivals(1) is counted
    sb.reset()
    assert not endless.running
    assert sb.arrivals(2) is None
    with pytest.raises(KeyError):
        sb.start_arrivals(99)
    with pytest.raises(ValueError, match="every"):
        sb.start_arrivals(1, every=0)


def test_generated_history_of_a_busy_form_shares_seconds(bare: Sandbox, bare_api: Api) -> None:
    form = bare.add_form("Busy", FIELDS)
    ids = bare.add_generated_submissions(form["id"], 50, every=0.1, until=1_790_000_009.95)
    listed, created, total = _all(bare_api, form["id"])
    assert (total, sorted(listed)) == (50, ids)
    assert Counter(created).most_common(1)[0][1] == 10  # ten a second
    assert created[0] == "2026-09-21 14:13:29"


def test_same_second_rows_come_in_a_new_order_per_query_when_asked(
    bare: Sandbox, bare_api: Api
) -> None:
    form = bare.add_form("Busy", FIELDS)
    bare.add_generated_submissions(form["id"], 60, every=0.1)
    stable = _ids(bare_api, form["id"], per_page=30)
    assert _ids(bare_api, form["id"], per_page=30) == stable
    bare.config.tie_order = "random"
    orders = {tuple(_ids(bare_api, form["id"], per_page=-1)) for _ in range(10)}
    assert len(orders) > 1
    _, created, _ = _all(bare_api, form["id"])
    assert created == sorted(created, reverse=True)  # seconds keep their order
    # Paged, a second straddling two pages can repeat one row and miss another.
    lost = 0
    for _ in range(20):
        pages = _ids(bare_api, form["id"], per_page=25) + _ids(
            bare_api, form["id"], per_page=25, page=2
        )
        expected = set(sorted(stable, reverse=True)[:50])
        lost += len(expected - set(pages))
    assert lost > 0


def test_deleted_submissions_leave_the_list_the_counts_and_the_export(
    sb: Sandbox, api: Api
) -> None:
    before = api.form(2)["submissions_count"]
    gone = sb.delete_submissions(2, [2500, 260, 999_999])
    assert gone == [2500, 260]
    listed, _, total = _all(api, 2)
    assert total == 2498
    assert not {2500, 260} & set(listed)
    assert api.form(2)["submissions_count"] in (before - 2, before - 1)
    answer = api.export(2, api.all_columns(2), [2499, 2500])
    assert answer.status_code == 422
    assert set(answer.json()["errors"]) == {"submissionIds.1"}


def test_retention_job_deletes_what_is_older_than_the_period(sb: Sandbox, api: Api) -> None:
    # Form 1's 250 submissions span August 2026; a period ending mid-August keeps the newer.
    now = sb.clock.now()
    days = int((now - datetime(2026, 8, 16, tzinfo=timezone.utc).timestamp()) // 86400)
    sb.set_retention(1, days, "day")
    assert sb.run_retention() == {1: pytest.approx(125, abs=15)}  # type: ignore[dict-item]
    listed, created, total = _all(api, 1)
    cutoff = datetime.fromtimestamp(retention_cutoff(sb.clock.now(), days, "day"), timezone.utc)
    assert min(created) > cutoff.strftime("%Y-%m-%d %H:%M:%S")
    assert total == len(listed) < 250
    assert sb.run_retention() == {}  # nothing left to delete
    sb.set_retention(1, None, None)
    with pytest.raises(ValueError, match="go together"):
        sb.set_retention(1, 3, None)
    with pytest.raises(ValueError, match="unit"):
        sb.set_retention(1, 3, "fortnight")


@pytest.mark.parametrize(
    ("now", "value", "unit", "cutoff"),
    [
        ("2027-03-31T10:00:00", 1, "month", "2027-02-28T10:00:00"),
        ("2028-03-31T10:00:00", 1, "month", "2028-02-29T10:00:00"),
        ("2028-02-29T10:00:00", 1, "year", "2027-02-28T10:00:00"),
        ("2027-01-15T00:00:00", 2, "week", "2027-01-01T00:00:00"),
        ("2027-01-15T00:00:00", 14, "month", "2025-11-15T00:00:00"),
    ],
)
def test_retention_cutoff_is_carbons_no_overflow(
    now: str, value: int, unit: str, cutoff: str
) -> None:
    moment = datetime.fromisoformat(now).replace(tzinfo=timezone.utc).timestamp()
    expected = datetime.fromisoformat(cutoff).replace(tzinfo=timezone.utc).timestamp()
    assert retention_cutoff(moment, value, unit) == expected


def test_control_routes_drive_a_living_form(bare: Sandbox, bare_api: Api) -> None:
    form_id = bare.add_form("Live", FIELDS)["id"]
    status, body = _control(bare_api, "POST", f"forms/{form_id}/generated", json={"count": 5})
    assert status == 201
    assert len(body["ids"]) == 5
    status, body = _control(
        bare_api, "POST", f"forms/{form_id}/arrivals", json={"every": 0.005, "count": 3}
    )
    assert (status, body) == (201, {"form_id": form_id, "every": 0.005, "count": 3})
    deadline = time.monotonic() + 5
    while _control(bare_api, "GET", f"forms/{form_id}/arrivals")[1]["running"]:
        assert time.monotonic() < deadline
        time.sleep(0.01)
    added = _control(bare_api, "DELETE", f"forms/{form_id}/arrivals")[1]["added"]
    assert len(added) == 3
    assert _control(bare_api, "GET", f"forms/{form_id}/arrivals")[1] == {
        "running": False,
        "added": [],
    }
    deleted = _control(bare_api, "DELETE", f"forms/{form_id}/submissions", json={"ids": added})
    assert deleted == (200, {"deleted": added})
    retention = {"submission_retention_value": 1, "submission_retention_unit": "day"}
    assert _control(bare_api, "PATCH", f"forms/{form_id}", json=retention)[0] == 200
    bare.clock.advance(2 * 86400)
    assert _control(bare_api, "POST", "retention/run") == (200, {"deleted": {str(form_id): 5}})
    assert _all(bare_api, form_id)[2] == 0
    bad = {"submission_retention_value": 0, "submission_retention_unit": "day"}
    assert _control(bare_api, "PATCH", f"forms/{form_id}", json=bad)[0] == 400
    assert _control(bare_api, "POST", "forms/999/arrivals", json={})[0] == 400

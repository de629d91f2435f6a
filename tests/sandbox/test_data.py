"""Demo data, generation, reset and the handler-error check."""

from __future__ import annotations

from datetime import datetime, timezone
from typing import Any

import pytest
import requests

from formexport.sandbox import Fault, Sandbox, make_field
from formexport.sandbox.data.catalog import Catalog
from formexport.sandbox.http import app
from tests.sandbox.helpers import Api


def _all_rows(api: Api, form_id: int) -> list[dict[str, Any]]:
    return list(api.get(f"/open/forms/{form_id}/submissions?per_page=-1").json()["data"])


def test_seeded_forms(api: Api) -> None:
    assert [api.form(n)["title"] for n in (1, 2, 3)] == [
        "Customer feedback",
        "Event registration",
        "Empty survey",
    ]
    assert len(_all_rows(api, 1)) == 250
    assert api.get("/open/forms/2/submissions?per_page=1").json()["meta"]["total"] == 2500
    assert _all_rows(api, 3) == []
    assert api.get("/open/forms/4").status_code == 403  # workspace 2, not the demo user's


def test_feedback_values_exercise_the_csv_quirks(api: Api) -> None:
    form = api.form(1)
    by_name = {f["name"]: f["id"] for f in form["properties"]}
    rows = [r["data"] for r in _all_rows(api, 1)]

    def values(name: str) -> list[Any]:
        return [r[by_name[name]] for r in rows if by_name[name] in r]

    phones = values("Phone")
    assert any(p.startswith("+33") for p in phones)
    assert any(p.startswith("06") for p in phones)
    assert any(z.startswith("0") for z in values("Zip code"))
    assert {0, 1.5} <= set(values("Amount (USD)"))
    assert any("Rock, Pop" in t for t in values("Topics"))
    assert any('Say "hi"' in t for t in values("Topics"))
    comments = values("Comments")
    assert any("\n" in c for c in comments)
    assert any('"' in c for c in comments)
    assert any(c.startswith(" ") for c in comments)
    assert any(not c.isascii() for c in comments)
    assert {True, False} == set(values("Subscribe"))
    assert set(values("Rating")) <= {1, 2, 3, 4, 5}
    assert all(v.endswith("+02:00") for v in values("Visit date"))


def test_event_form_shapes(api: Api) -> None:
    form = api.form(2)
    by_name = {f["name"]: f for f in form["properties"]}
    rows = [r["data"] for r in api.get("/open/forms/2/submissions").json()["data"]]
    sessions = next(r[by_name["Sessions"]["id"]] for r in rows if by_name["Sessions"]["id"] in r)
    assert set(sessions) == {"Morning", "Afternoon"}
    dates = next(r[by_name["Dates"]["id"]] for r in rows if by_name["Dates"]["id"] in r)
    assert len(dates) == 2
    assert dates[0] <= dates[1]


def test_generated_rows_are_deterministic() -> None:
    with Sandbox() as one, Sandbox() as two:
        csvs = []
        for sandbox in (one, two):
            headers = {"Authorization": f"Bearer {sandbox.token}"}
            form = requests.get(f"{sandbox.base_url}/open/forms/1", headers=headers, timeout=10)
            columns = {f["id"]: True for f in form.json()["properties"]}
            columns["created_at"] = True
            response = requests.post(
                f"{sandbox.base_url}/open/forms/1/submissions/export",
                json={"columns": columns},
                headers=headers,
                timeout=10,
            )
            csvs.append(response.content)
        assert csvs[0] == csvs[1]
        assert len(csvs[0]) > 10_000


def test_same_seed_same_rows_other_seed_other_rows() -> None:
    fields = [make_field("text", "Name"), make_field("files", "Docs")]
    catalog = Catalog()

    def rows(seed: int) -> list[dict[str, Any]]:
        form = catalog.add_form(
            title="T",
            fields=fields,
            n_submissions=600,
            workspace_id=1,
            partial=True,
            seed=seed,
            removed_fields=[],
            now=0,
        )
        return [form.submissions.get(i).data for i in form.submissions.ordered_ids()]  # type: ignore[union-attr]

    assert rows(7) == rows(7)
    assert rows(7) != rows(8)


def test_a_million_rows_are_added_at_once(sb: Sandbox) -> None:
    form = sb.add_form("Million", [make_field("text", "Name"), make_field("email", "Email")], 10**6)
    assert len(sb._backend.catalog.forms[form["id"]].submissions) == 10**6


def test_2500_rows_are_generated_on_demand() -> None:
    fields = [make_field("text", "Name"), make_field("email", "Email"), make_field("files", "Docs")]
    form = Catalog().add_form(
        title="Timed",
        fields=fields,
        n_submissions=2500,
        workspace_id=1,
        partial=True,
        seed=0,
        removed_fields=[],
        now=0,
    )
    rows = [form.submissions.get(i) for i in form.submissions.ordered_ids()]
    assert len(rows) == 2500
    assert all(row is not None for row in rows)


def test_make_field() -> None:
    first = make_field("select", "Ticket", options=["A", "B"])
    assert first["id"] == make_field("select", "Ticket")["id"]
    assert first["select"]["options"] == [{"id": "A", "name": "A"}, {"id": "B", "name": "B"}]
    assert make_field("text", "Name", id="fixed")["id"] == "fixed"
    assert make_field("text", "Name", hidden=True)["hidden"] is True
    with pytest.raises(ValueError, match="unknown OpnForm field type"):
        make_field("hologram", "X")


def test_add_form_checks_fields_and_workspace(sb: Sandbox) -> None:
    twice = make_field("text", "Name")
    with pytest.raises(ValueError, match="share the id"):
        sb.add_form("Twice", [twice, dict(twice)])
    with pytest.raises(ValueError, match="no workspace"):
        sb.add_form("Nowhere", [twice], workspace_id=9)


def test_add_submission_values(api: Api, sb: Sandbox) -> None:
    name = make_field("text", "Name")
    form = sb.add_form("Manual", [name])
    when = datetime(2026, 8, 21, 14, 2, 11, tzinfo=timezone.utc)
    first = sb.add_submission(form["id"], {name["id"]: "A"}, created_at=when)
    second = sb.add_submission(
        form["id"], {}, partial=True, created_at=when.timestamp() + 60, meta={"attribution": {}}
    )
    assert second == first + 1
    rows = _all_rows(api, form["id"])
    assert [r["id"] for r in rows] == [second, first]
    assert rows[1]["data"]["created_at"] == "2026-08-21 14:02:11"
    assert rows[0]["data"]["status"] == "partial"
    with pytest.raises(KeyError):
        sb.add_submission(999, {})


def test_reset_restores_everything(api: Api, sb: Sandbox) -> None:
    sb.add_form("Extra", [make_field("text", "Name")], 3)
    token = sb.add_token(["forms-read"])
    sb.revoke_token(sb.token)
    sb.config.version = "1.13.0"
    sb.faults.add(Fault("any", http_status=500, times=None))
    sb.clock.advance(100)
    sb.reset()
    assert sb.clock.offset == 0
    assert len(sb.faults) == 0
    assert sb.config.version == "2.4.0"
    assert api.get("/open/forms/5").status_code == 404
    assert api.get("/open/forms/1", token=token).status_code == 401
    assert api.get("/open/forms/1").status_code == 200  # the demo token is back
    assert [r.path for r in sb.requests] == ["/open/forms/5", "/open/forms/1", "/open/forms/1"]


def test_check_reraises_handler_errors(
    api: Api, sb: Sandbox, monkeypatch: pytest.MonkeyPatch
) -> None:
    def broken(ctx: object) -> object:
        raise RuntimeError("handler bug")

    monkeypatch.setitem(app.HANDLERS, "show_form", broken)
    response = api.get("/open/forms/1")
    assert (response.status_code, response.json()) == (500, {"message": "Server Error"})
    with pytest.raises(RuntimeError, match="handler bug"):
        sb.check()
    sb.check()  # reported once

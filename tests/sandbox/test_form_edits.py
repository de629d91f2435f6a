"""Forms edited while they collect, as OpnForm's form editor saves them."""

from __future__ import annotations

from typing import Any

from formexport.sandbox import Sandbox, make_field
from tests.sandbox.helpers import Api

BOM = "\ufeff"


def _control(api: Api, method: str, path: str, **kw: Any) -> tuple[int, Any]:
    response = api.session.request(method, f"{api.base}/_sandbox/{path}", timeout=10, **kw)
    return response.status_code, response.json()


def _form(bare: Sandbox) -> tuple[int, dict[str, str]]:
    fields = [
        make_field("text", "Full name"),
        make_field("select", "Ticket", options=["Standard", "VIP"]),
        make_field("rating", "Satisfaction"),
    ]
    form = bare.add_form("Edited", fields)
    ids = {f["name"]: f["id"] for f in form["properties"]}
    bare.add_submission(form["id"], {ids["Full name"]: "Ann", ids["Satisfaction"]: 4})
    return form["id"], ids


def test_an_edit_renames_adds_and_removes_fields(bare: Sandbox, bare_api: Api) -> None:
    form_id, _ = _form(bare)
    before = bare_api.form(form_id)["updated_at"]
    bare.clock.advance(60)
    fields = bare.form_fields(form_id)
    fields[0]["name"] = "Name"
    fields[1]["select"]["options"].insert(0, {"id": "Student", "name": "Student"})
    age = make_field("number", "Age")
    bare.update_fields(form_id, [fields[0], age, fields[1]])
    form = bare_api.form(form_id)
    assert [f["name"] for f in form["properties"]] == ["Name", "Age", "Ticket"]
    assert [o["name"] for o in form["properties"][2]["select"]["options"]] == [
        "Student", "Standard", "VIP",
    ]  # fmt: skip
    # The removed field is kept whole, so its answers stay exportable by id.
    assert form["removed_properties"] == [fields[2]]
    assert form["updated_at"] > before
    columns = bare_api.all_columns(form_id)
    body = bare_api.export(form_id, columns).content.decode()
    assert body.splitlines() == [
        BOM + '"id","Name","Age","Ticket","Satisfaction"',
        '"jR","Ann","","","4"',
    ]


def test_a_field_sent_again_leaves_the_removed_ones(bare: Sandbox) -> None:
    form_id, ids = _form(bare)
    fields = bare.form_fields(form_id)
    bare.update_fields(form_id, fields[:2])
    form = bare.update_fields(form_id, fields)
    assert [f["id"] for f in form["properties"]] == list(ids.values())
    assert form["removed_properties"] == []


def test_a_copy_of_the_fields_changes_nothing_until_saved(bare: Sandbox) -> None:
    form_id, _ = _form(bare)
    bare.form_fields(form_id)[0]["name"] = "Changed"
    assert bare.form_fields(form_id)[0]["name"] == "Full name"


def test_new_generated_submissions_answer_the_new_fields(bare: Sandbox, bare_api: Api) -> None:
    form_id, _ = _form(bare)
    age = make_field("number", "Age")
    bare.update_fields(form_id, [*bare.form_fields(form_id), age])
    bare.add_generated_submissions(form_id, 20)
    items = bare_api.get(f"/open/forms/{form_id}/submissions", params={"per_page": 50}).json()
    answered = [item["data"].get(age["id"]) for item in items["data"]]
    assert any(isinstance(value, (int, float)) for value in answered)


def test_the_control_route_saves_fields(bare: Sandbox, bare_api: Api) -> None:
    form_id, _ = _form(bare)
    fields = bare.form_fields(form_id)
    fields[2]["type"] = "number"  # a field's type changed; its stored answers stay as they were
    status, form = _control(
        bare_api, "PUT", f"forms/{form_id}/fields", json={"properties": fields[1:]}
    )
    assert status == 200
    assert [f["type"] for f in form["properties"]] == ["select", "number"]
    assert [f["name"] for f in form["removed_properties"]] == ["Full name"]
    assert _control(bare_api, "PUT", f"forms/{form_id}/fields", json={"properties": {}})[0] == 400
    route = f"forms/{form_id}/fields"
    assert _control(bare_api, "PUT", route, json={"properties": [fields[1], fields[1]]})[0] == 400
    assert _control(bare_api, "PUT", "forms/999/fields", json={"properties": []})[0] == 400

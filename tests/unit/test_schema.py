"""The column plan: OpnForm's rules for which field each CSV column holds."""

from __future__ import annotations

import pytest

from formexport.errors import InvalidArgumentError
from formexport.opnform.models import FormInfo
from formexport.reading import column_plan
from formexport.sandbox import make_field
from formexport.sandbox.data.catalog import Form
from formexport.sandbox.writers.cells import plan_columns as server_plan


def form_json(**extra: object) -> dict[str, object]:
    fields = [
        make_field("text", "Name", id="f-name"),
        make_field("email", "Email (work)", id="f-work"),
        make_field("email", "Email (home)", id="f-home"),
        make_field("number", "Amount (USD)", id="f-amount"),
        make_field("text", "Marital status", id="f-marital"),
    ]
    return {
        "id": 1,
        "properties": fields,
        "removed_properties": [make_field("text", "Name", id="f-old")],
        **extra,
    }


REQUESTS = [
    ["f-name", "f-work", "f-home", "f-amount", "created_at"],
    ["created_at", "f-amount", "f-name"],
    ["f-home", "f-home", "f-work", "meta.attribution.utm_source", "f-old"],
    ["status", "f-name"],  # "status" selects the field named "Marital status"
    ["Email", "f-old", "created_at", "a"],  # "Email" and "a" select by substring
]


@pytest.mark.parametrize("partial", [False, True])
@pytest.mark.parametrize("selected", REQUESTS)
def test_plan_matches_the_servers_rules(selected: list[str], partial: bool) -> None:
    body = form_json(enable_partial_submissions=partial)
    form = Form(1, 1, "F", "f", body["properties"], body["removed_properties"], partial, 0, 0)  # type: ignore[arg-type]
    served = server_plan(form, selected, attribution=True)
    planned = column_plan.plan_columns(FormInfo.from_json(body), dict.fromkeys(selected, True))
    assert [p.header for p in planned] == [c.header for c in served]
    assert [p.field.id if p.field else "" for p in planned] == [
        c.ref if c.source == "field" else "" for c in served
    ]


def test_only_true_selects() -> None:
    info = FormInfo.from_json(form_json())
    planned = column_plan.plan_columns(info, {"f-name": True, "f-work": False, "f-amount": 1})  # type: ignore[dict-item]
    assert [p.header for p in planned] == ["id", "Name"]


def test_deleted_fields_are_marked() -> None:
    planned = column_plan.plan_columns(FormInfo.from_json(form_json()), {"f-old": True})
    assert planned[1].deleted
    assert planned[1].header == "Name"


def test_header_text_is_greedy_like_the_server() -> None:
    assert column_plan.header_text("Amount (USD) (uuid)") == "Amount"
    # "." stops at a line break, "\s" does not: both parts go, as preg_replace does.
    assert column_plan.header_text("A (x)\n(y) (id)") == "A"
    assert column_plan.header_text("Plain") == "Plain"


def test_matching_header_passes_silently() -> None:
    planned = column_plan.plan_columns(
        FormInfo.from_json(form_json()), {"f-name": True, "f-amount": True}
    )
    assert column_plan.match_header(planned, ["id", "Name", "Amount"]) == planned


def test_a_different_header_falls_back_to_names_with_a_warning() -> None:
    planned = column_plan.plan_columns(
        FormInfo.from_json(form_json()), {"f-name": True, "f-amount": True}
    )
    with pytest.warns(
        column_plan.ColumnPlanWarning, match=r"read as text: \['Renamed', 'utm_source'\]"
    ):
        matched = column_plan.match_header(planned, ["id", "Renamed", "Amount", "utm_source"])
    assert [m.kind for m in matched] == ["id", "extra", "field", "extra"]
    assert matched[2].field is not None
    assert matched[2].field.id == "f-amount"


def test_numeric_headers_the_sync_writer_rewrote_still_match() -> None:
    body = {"id": 1, "properties": [make_field("text", "2024.50", id="y")]}
    planned = column_plan.plan_columns(FormInfo.from_json(body), {"y": True})
    assert column_plan.match_header(planned, ["id", "2024.5"]) == planned


# The fields of form_json() in the server's order, by the header each gets.
_SAME_HEADER = {"Name": ["f-name", "f-old"], "Email": ["f-work", "f-home"]}


def _web_page_requests() -> list[list[str]]:
    """What OpnForm's submissions page asks for: some fields in the form's order, deleted ones
    after them, then ``created_at`` or not; of fields that share a header, the first ones (a
    header cannot tell "Email (home)" alone from "Email (work)" alone)."""
    fields = ["f-name", "f-work", "f-home", "f-amount", "f-marital", "f-old"]
    chosen = [
        [key for bit, key in enumerate(fields) if mask >> bit & 1] for mask in range(1, 1 << 6)
    ]
    told = [
        keys
        for keys in chosen
        if all(
            [key for key in same if key in keys] == same[: sum(key in keys for key in same)]
            for same in _SAME_HEADER.values()
        )
    ]
    return [keys + tail for keys in told for tail in ([], ["created_at"])]


@pytest.mark.parametrize("partial", [False, True])
def test_a_header_gives_back_the_fields_the_server_wrote(partial: bool) -> None:
    body = form_json(enable_partial_submissions=partial)
    form = Form(1, 1, "F", "f", body["properties"], body["removed_properties"], partial, 0, 0)  # type: ignore[arg-type]
    info = FormInfo.from_json(body)
    for selected in _web_page_requests():
        served = server_plan(form, selected, attribution=True)
        planned = column_plan.plan_from_header(info, [c.header for c in served])
        assert [(p.kind, p.field.id if p.field else "") for p in planned] == [
            (c.source, c.ref if c.source == "field" else "") for c in served
        ], selected
        assert [p.deleted for p in planned] == [c.key.endswith("(deleted) (f-old)") for c in served]


def test_a_header_names_attribution_and_numbers_the_sync_writer_printed() -> None:
    body = {"id": 1, "properties": [make_field("text", "2024.50", id="y")]}
    planned = column_plan.plan_from_header(
        FormInfo.from_json(body), ["id", "2024.5", "utm_source", "created_at"]
    )
    assert [p.kind for p in planned] == ["id", "field", "attribution", "created_at"]


def test_a_field_named_like_a_system_column_keeps_its_place() -> None:
    body = form_json(enable_partial_submissions=True)
    body["properties"] = [make_field("text", "status", id="f-s"), *body["properties"]]  # type: ignore[misc]
    planned = column_plan.plan_from_header(
        FormInfo.from_json(body), ["id", "status", "Name", "created_at", "status"]
    )
    assert [p.kind for p in planned] == ["id", "field", "field", "created_at", "status"]
    assert planned[1].field is not None
    assert planned[1].field.id == "f-s"


def test_columns_the_form_does_not_have_are_named_and_read_as_text() -> None:
    info = FormInfo.from_json(form_json())
    with pytest.warns(column_plan.ColumnPlanWarning, match=r"\['Full name', 'Age'\]"):
        planned = column_plan.plan_from_header(info, ["id", "Full name", "Amount", "Age"])
    assert [p.kind for p in planned] == ["id", "extra", "field", "extra"]


def test_a_header_of_another_form_is_refused_naming_its_columns() -> None:
    info = FormInfo.from_json(form_json())
    with pytest.raises(InvalidArgumentError, match=r"none of its columns \['Mood', 'Score'\]"):
        column_plan.plan_from_header(info, ["id", "Mood", "Score", "created_at"])


def test_of_fields_sharing_a_header_the_first_in_the_form_is_taken() -> None:
    info = FormInfo.from_json(form_json())
    planned = column_plan.plan_from_header(info, ["id", "Email", "Name", "Name"])
    assert [p.field.id if p.field else "" for p in planned] == ["", "f-work", "f-name", "f-old"]
    assert [p.deleted for p in planned] == [False, False, False, True]

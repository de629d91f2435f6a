"""Starting exports: validation, the sync/async rule and the synchronous response."""

from __future__ import annotations

import uuid

import pytest

from formexport.opnform.models import ATTRIBUTION_PARAMETERS, FormInfo
from formexport.sandbox import Sandbox, make_field
from formexport.sandbox.http.validation import ATTRIBUTION_PARAMS
from tests.sandbox.helpers import Api

BOM = b"\xef\xbb\xbf"
ASYNC_START = "Export started. Large export will be processed in the background."


def _big_form(sb: Sandbox, rows: int) -> int:
    form = sb.add_form("Big", [make_field("text", "Name")], rows, seed=5)
    return int(form["id"])


def test_1000_rows_are_sync_and_1001_async(api: Api, sb: Sandbox) -> None:
    sync_form, async_form = _big_form(sb, 1000), _big_form(sb, 1001)
    sync = api.export(sync_form, {"created_at": True})
    assert sync.status_code == 200
    assert sync.content.startswith(BOM + b'"id","created_at"\n')
    assert sync.content.count(b"\n") == 1001
    started = api.export(async_form, {"created_at": True})
    assert started.status_code == 200
    body = started.json()
    assert list(body) == ["type", "message", "job_id", "is_async"]
    assert (body["type"], body["message"], body["is_async"]) == ("success", ASYNC_START, True)
    assert uuid.UUID(body["job_id"]).version == 4
    assert started.headers["Content-Type"] == "application/json"


def test_submission_ids_count_decides(api: Api, sb: Sandbox) -> None:
    ids = list(range(251, 1251))  # 1000 ids of the 2 500-row form
    sync = api.export(2, {"created_at": True}, ids=ids)
    assert sync.headers["Content-Type"] == "text/csv; charset=UTF-8"
    assert sync.content.count(b"\n") == 1001
    with_duplicate = api.export(2, {"created_at": True}, ids=[*ids, 251])
    assert with_duplicate.json()["is_async"] is True  # duplicates are counted


def test_duplicate_ids_export_once_newest_first(api: Api) -> None:
    body = api.export(1, {"created_at": True}, ids=[3, 7, 3, 5]).content.decode()
    from hashids import Hashids

    expected = [Hashids().encode(n) for n in (7, 5, 3)]
    assert [line.split(",")[0].strip('"') for line in body.splitlines()[1:]] == expected


def test_empty_submission_ids_mean_all_rows(api: Api) -> None:
    assert api.export(1, {"created_at": True}, ids=[]).content.count(b"\n") == 251


def test_partial_submissions_are_counted_and_exported(api: Api, sb: Sandbox) -> None:
    form = sb.add_form("Half done", [make_field("text", "Name")], 0, partial=True)
    for index in range(1001):
        sb.add_submission(form["id"], {}, partial=index % 2 == 0)
    assert api.export(form["id"], {"created_at": True}).json()["is_async"] is True


@pytest.mark.parametrize(
    ("rows", "columns", "content_type"),
    [
        (2, {"created_at": True}, "text/csv; charset=UTF-8"),
        (1, {"created_at": True}, "text/plain; charset=UTF-8"),
        (2, {}, None),
    ],
)
def test_sync_content_type_is_sniffed(
    api: Api, sb: Sandbox, rows: int, columns: dict[str, bool], content_type: str | None
) -> None:
    form = sb.add_form("Sniffed", [make_field("text", "Name")], rows)
    if not columns:  # one column (id only) needs an old server that accepts no columns
        sb.config.version = "1.13.0"
        content_type = "text/plain; charset=UTF-8"
    response = api.export(form["id"], columns)
    assert response.headers["Content-Type"] == content_type


def test_sync_response_headers(api: Api) -> None:
    response = api.export(1, {"created_at": True})
    slug = api.form(1)["slug"]
    assert (
        response.headers["Content-Disposition"]
        == f"attachment; filename={slug}-submission-data.csv"
    )
    assert response.headers["X-RateLimit-Limit"] == "10"
    assert response.headers["X-RateLimit-Remaining"] == "9"
    assert int(response.headers["Content-Length"]) == len(response.content)


def test_zero_rows_sync_is_bom_and_an_empty_cell(api: Api) -> None:
    response = api.export(3, {"created_at": True})
    assert response.content == BOM + b'""\n'
    assert response.headers["Content-Type"] == "text/plain; charset=UTF-8"


def test_seeded_form_values_survive_the_sync_writer(api: Api) -> None:
    form = api.form(1)
    phone, zip_code = form["properties"][2]["id"], form["properties"][9]["id"]
    items = api.get("/open/forms/1/submissions?per_page=100").json()["data"]
    raw = {item["id"]: item["data"] for item in items}
    body = api.export(1, {phone: True, zip_code: True}, ids=list(raw)).content.decode()
    from hashids import Hashids

    decode = Hashids().decode
    for line in body.splitlines()[1:]:
        hashid, phone_cell, zip_cell = (cell.strip('"') for cell in line.split(","))
        stored = raw[decode(hashid)[0]]
        assert phone_cell == stored[phone].lstrip("+")  # numeric: the "+" is lost
        assert zip_cell == stored[zip_code]  # leading zeros keep it text
    assert any(stored[phone].startswith("+") for stored in raw.values())


# --- validation -------------------------------------------------------------------


def test_columns_are_required(api: Api) -> None:
    for body in ({}, {"columns": {}}, {"columns": []}, {"columns": None}):
        response = api.post("/open/forms/1/submissions/export", json=body)
        assert response.status_code == 422
        assert response.json() == {
            "message": "The columns field is required.",
            "errors": {"columns": ["The columns field is required."]},
        }


def test_columns_must_be_an_object(api: Api) -> None:
    response = api.export(1, "created_at")  # type: ignore[arg-type]
    assert response.json()["errors"] == {"columns": ["The columns field must be an array."]}


def test_invalid_keys_and_values(api: Api) -> None:
    response = api.export(1, {"foo": True, "bar": True, "created_at": "yes"})
    assert response.status_code == 422
    assert response.json() == {
        "message": "The columns contain invalid values: foo, bar (and 1 more error)",
        "errors": {
            "columns": ["The columns contain invalid values: foo, bar"],
            "columns.created_at": ["The columns.created_at field must be true or false."],
        },
    }


def test_status_and_attribution_keys_are_valid_on_2_4(api: Api) -> None:
    assert api.export(1, {"status": True, "meta.attribution.gclid": True}).status_code == 200
    assert api.export(1, {"meta.attribution.nope": True}).status_code == 422


def test_ip_address_is_not_an_export_column(api: Api) -> None:
    """OpnForm 2.4 answers 422 (issue #1294): the validator knows field ids, removed field ids,
    ``created_at``, ``status`` and ``meta.attribution.*`` only."""
    response = api.export(2, {"ip_address": True, "created_at": True}, ids=[251])
    assert response.status_code == 422
    assert response.json()["errors"] == {
        "columns": ["The columns contain invalid values: ip_address"]
    }


def test_the_client_asks_only_for_columns_the_server_accepts(api: Api) -> None:
    """Every key formexport may send (its defaults, and every key its check lets through) is
    accepted in one request; the two lists of attribution parameters are the same."""
    info = FormInfo.from_json(api.form(2))
    assert info.removed_fields  # deleted fields' ids are columns too
    assert set(info.default_columns()) <= info.column_keys()
    everything = dict.fromkeys(sorted(info.column_keys()), True)
    assert api.export(2, everything, ids=[251]).status_code == 200
    assert ATTRIBUTION_PARAMETERS == ATTRIBUTION_PARAMS


def test_removed_field_ids_are_valid_columns(api: Api) -> None:
    removed = api.form(2)["removed_properties"][0]["id"]
    assert api.export(2, {removed: True}, ids=[251]).status_code == 200


def test_foreign_and_bad_submission_ids(api: Api) -> None:
    response = api.export(1, {"created_at": True}, ids=[5, 251, "x"])
    assert response.status_code == 422
    assert response.json() == {
        "message": "The selected submissionIds.1 is invalid. (and 2 more errors)",
        "errors": {
            "submissionIds.1": ["The selected submissionIds.1 is invalid."],
            "submissionIds.2": [
                "The submissionIds.2 field must be an integer.",
                "The selected submissionIds.2 is invalid.",
            ],
        },
    }
    not_a_list = api.export(1, {"created_at": True}, ids=5)  # type: ignore[arg-type]
    assert not_a_list.json()["errors"] == {
        "submissionIds": ["The submission ids field must be an array."]
    }


def test_columns_in_the_query_string_validate_but_never_select(api: Api) -> None:
    # Query values are strings: "1" passes the boolean rule but is not === true.
    ok = api.post("/open/forms/1/submissions/export?columns[created_at]=1")
    assert ok.status_code == 200
    assert ok.content.splitlines()[0] == BOM + b'"id"'
    bad = api.post("/open/forms/1/submissions/export?columns[created_at]=true")
    assert bad.json()["errors"] == {
        "columns.created_at": ["The columns.created_at field must be true or false."]
    }


def test_body_wins_over_query_string(api: Api) -> None:
    response = api.post(
        "/open/forms/1/submissions/export?columns[nope]=1", json={"columns": {"created_at": True}}
    )
    assert response.status_code == 200


def test_form_encoded_body_is_read(api: Api) -> None:
    response = api.post("/open/forms/1/submissions/export", data={"columns[created_at]": "1"})
    assert response.status_code == 200

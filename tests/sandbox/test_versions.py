"""Version profiles: what changes for a client between OpnForm 1.8.0 and 2.4.0."""

from __future__ import annotations

import re
import uuid

import pytest
from hashids import Hashids

from formexport.sandbox import Sandbox
from formexport.sandbox.platform.profiles import KNOWN_VERSIONS, profile_for
from tests.sandbox.helpers import Api

BOM = b"\xef\xbb\xbf"


@pytest.mark.parametrize("version", KNOWN_VERSIONS)
def test_every_known_version_serves_the_export_flow(api: Api, sb: Sandbox, version: str) -> None:
    sb.config.version = version
    assert api.export(1, {"created_at": True}).status_code == 200
    assert api.get("/open/forms/1/submissions").status_code == 200


def test_profiles_switch_at_the_right_releases() -> None:
    assert not profile_for("2.2.1").async_bom
    assert profile_for("2.3.0").async_bom
    assert not profile_for("1.13.1").columns_required
    assert profile_for("1.13.2").columns_required
    assert not profile_for("1.12.0").submission_ids
    assert profile_for("v1.13").submission_ids
    with pytest.raises(ValueError, match="predates"):
        profile_for("1.7.9")


def test_before_1_9_3_every_export_is_sync(api: Api, sb: Sandbox) -> None:
    sb.config.version = "1.8.0"
    response = api.export(2, {"created_at": True})
    assert response.content.startswith(BOM + b'"id","created_at","status"\n')
    assert response.content.count(b"\n") == 2501
    assert api.status(2, "x").json()["message"].startswith("The route ")


def test_submission_ids_are_ignored_before_1_13(api: Api, sb: Sandbox) -> None:
    sb.config.version = "1.12.0"
    response = api.export(2, {"created_at": True}, ids=[251, 252])
    assert response.json()["is_async"] is True  # counted the form's 2 500 rows
    assert api.export(1, {"created_at": True}, ids=["junk"]).status_code == 200


def test_missing_columns_give_an_id_only_csv_before_1_13_2(api: Api, sb: Sandbox) -> None:
    sb.config.version = "1.13.0"
    response = api.export(1)
    assert response.status_code == 200
    lines = response.content.decode().splitlines()
    assert lines[0] == '\ufeff"id"'
    assert lines[1] == f'"{Hashids().encode(250)}"'
    assert api.export(1, {"nope": True}).status_code == 422


def test_non_object_columns_crash_old_servers(api: Api, sb: Sandbox) -> None:
    sb.config.version = "1.13.0"
    response = api.export(1, "created_at")  # type: ignore[arg-type]
    assert (response.status_code, response.json()) == (500, {"message": "Server Error"})


@pytest.mark.parametrize(("version", "status"), [("1.13.2", 422), ("2.0.0", 200)])
def test_status_column_key(api: Api, sb: Sandbox, version: str, status: int) -> None:
    sb.config.version = version
    assert api.export(2, {"status": True}, ids=[251]).status_code == status


@pytest.mark.parametrize(("version", "status"), [("2.3.0", 422), ("2.4.0", 200)])
def test_attribution_column_keys(api: Api, sb: Sandbox, version: str, status: int) -> None:
    sb.config.version = version
    response = api.export(1, {"meta.attribution.utm_source": True})
    assert response.status_code == status


def test_attribution_meta_in_json_only_from_2_4(api: Api, sb: Sandbox) -> None:
    items = api.get("/open/forms/1/submissions").json()["data"]
    assert any("meta" in item for item in items)
    sb.config.version = "2.3.0"
    items = api.get("/open/forms/1/submissions").json()["data"]
    assert not any("meta" in item for item in items)


def test_submission_id_is_a_uuid_from_2_1(api: Api, sb: Sandbox) -> None:
    item = api.get("/open/forms/1/submissions").json()["data"][0]
    assert uuid.UUID(item["submission_id"])
    assert item["data"]["submission_id"] == item["submission_id"]
    sb.config.version = "2.0.0"
    item = api.get("/open/forms/1/submissions").json()["data"][0]
    assert item["submission_id"] == Hashids().encode(item["id"])


def test_workspace_form_list_before_1_13_and_2_3(api: Api, sb: Sandbox) -> None:
    sb.config.version = "1.12.0"
    body = api.get("/open/workspaces/1/forms?per_page=1").json()
    assert "properties" in body["data"][0]
    assert body["meta"]["per_page"] == 10  # per_page arrived in 2.3.0
    assert body["links"]["first"].endswith("/open/workspaces/1/forms?page=1")
    sb.config.version = "2.3.0"
    assert api.get("/open/workspaces/1/forms?per_page=1").json()["meta"]["per_page"] == 1


def test_async_bom_by_version(api: Api, sb: Sandbox) -> None:
    sb.config.version = "2.2.1"
    plain = api.session.get(api.finished_job(2, {"created_at": True})["file_url"]).content
    assert re.match(rb"^id,created_at,status\n", plain)
    sb.config.version = "2.3.0"
    marked = api.session.get(api.finished_job(2, {"created_at": True})["file_url"]).content
    assert marked.startswith(BOM + b"id,created_at,status\n")

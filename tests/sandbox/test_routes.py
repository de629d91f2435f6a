"""Routes, resource shapes and the exact error bodies of the API host."""

from __future__ import annotations

from formexport.sandbox import Sandbox
from tests.sandbox.helpers import Api

FORM_NOT_FOUND = "No query results for model [App\\Models\\Forms\\Form] 999"


def test_unknown_route_is_404_before_auth(api: Api) -> None:
    response = api.get("/open/forms/1/submissions/export/abc/status", token=None)
    assert response.status_code == 404
    assert response.json() == {
        "message": "The route open/forms/1/submissions/export/abc/status could not be found."
    }


def test_unknown_route_under_api_prefix_names_the_stripped_path(api: Api) -> None:
    response = api.get("/api/nothing/here/")
    assert response.status_code == 404
    assert response.json() == {"message": "The route nothing/here could not be found."}


def test_api_prefix_is_stripped_like_nginx(api: Api, sb: Sandbox) -> None:
    cloud = api.get(f"{sb.base_url}/open/forms/1")
    hosted = api.get(f"{sb.api_url}/open/forms/1")
    assert hosted.status_code == cloud.status_code == 200
    assert hosted.json() == cloud.json()
    assert [r.path for r in sb.requests] == ["/open/forms/1", "/api/open/forms/1"]


def test_exception_bodies_are_pretty_printed(api: Api) -> None:
    response = api.get("/open/forms/999")
    assert response.status_code == 404
    assert response.headers["Content-Type"] == "application/json"
    assert response.json() == {"message": FORM_NOT_FOUND}
    assert (
        response.text
        == '{\n    "message": "No query results for model [App\\\\Models\\\\Forms\\\\Form] 999"\n}'
    )


def test_controller_json_escapes_slashes_and_unicode(api: Api) -> None:
    text = api.get("/open/forms/1").text
    assert '"share_url":"http:\\/\\/127.0.0.1:' in text
    assert "\\ud83e\\uddea" in api.get("/open/workspaces").text  # the workspace icon


def test_slug_binding_and_its_not_found_message(api: Api) -> None:
    slug = api.form(1)["slug"]
    assert slug.startswith("customer-feedback-")
    assert len(slug) == len("customer-feedback-") + 6
    assert api.form(slug)["id"] == 1
    response = api.get("/open/forms/no-such-slug")
    assert response.json() == {"message": "No query results for model [App\\Models\\Forms\\Form]."}


def test_method_not_allowed_on_old_servers(api: Api, sb: Sandbox) -> None:
    sb.config.version = "1.13.0"
    response = api.get("/open/forms/1/submissions/export")
    assert response.status_code == 405
    assert response.headers["Allow"] == "POST"
    assert response.json() == {
        "message": "The GET method is not supported for route "
        "open/forms/1/submissions/export. Supported methods: POST."
    }


def test_get_on_export_path_hits_the_hidden_single_submission_route(api: Api) -> None:
    # v2.x has GET /open/forms/{f}/submissions/{id}, which tokens may not call.
    response = api.get("/open/forms/1/submissions/export")
    assert (response.status_code, response.json()) == (404, {"message": ""})


def test_form_resource(api: Api) -> None:
    form = api.form(2)
    assert form["id"] == 2
    assert form["title"] == "Event registration"
    assert form["workspace_id"] == 1
    assert form["enable_partial_submissions"] is True
    assert [f["name"] for f in form["removed_properties"]] == ["Dietary needs"]
    assert form["properties"][0]["type"] == "nf-text"
    assert 0 < form["submissions_count"] < 2500  # completed ones only
    assert form["created_at"].endswith(".000000Z")


def test_workspaces_is_a_bare_array_of_the_users_workspaces(api: Api) -> None:
    response = api.get("/open/workspaces")
    assert response.status_code == 200
    body = response.json()
    assert [w["id"] for w in body] == [1]
    assert body[0]["name"] == "Demo workspace"
    assert body[0]["is_admin"] is True
    assert response.headers["X-RateLimit-Limit"] == "100"


def test_workspace_forms_are_light_and_newest_first(api: Api, sb: Sandbox) -> None:
    body = api.get("/open/workspaces/1/forms").json()
    assert [f["title"] for f in body["data"]] == [
        "Empty survey",
        "Event registration",
        "Customer feedback",
    ]
    assert "properties" not in body["data"][0]
    assert body["data"][0]["updated_at"].endswith("+00:00")
    assert body["meta"]["per_page"] == 10
    assert body["meta"]["total"] == 3
    assert body["links"]["first"] == f"{sb.base_url}/open/workspaces/1/forms?page=1"


def test_workspace_forms_per_page_keeps_the_query_string(api: Api, sb: Sandbox) -> None:
    body = api.get("/open/workspaces/1/forms?per_page=1&page=2").json()
    assert [f["id"] for f in body["data"]] == [2]
    assert body["links"]["next"] == f"{sb.base_url}/open/workspaces/1/forms?per_page=1&page=3"
    assert body["meta"]["from"] == 2
    assert body["meta"]["to"] == 2
    assert body["meta"]["last_page"] == 3


def test_workspace_forms_errors(api: Api) -> None:
    assert api.get("/open/workspaces/2/forms").json() == {"message": "This action is unauthorized."}
    missing = api.get("/open/workspaces/5/forms")
    assert missing.status_code == 404
    assert missing.json() == {"message": "No query results for model [App\\Models\\Workspace] 5"}


def test_deprecated_form_index(api: Api) -> None:
    body = api.get("/open/forms").json()
    assert [f["id"] for f in body] == [1, 2, 3]
    assert "properties" in body[0]


def test_deprecated_form_index_goes_workspace_by_workspace_in_id_order(
    api: Api, sb: Sandbox
) -> None:
    sb.add_form("Newest", [{"type": "text", "name": "Name"}])
    body = api.get("/open/forms").json()
    assert [f["id"] for f in body] == [1, 2, 3, 5]  # not by update time: no orderBy
    assert {f["workspace_id"] for f in body} == {1}
    assert "removed_properties" in body[0]


def test_deprecated_form_index_authorizes_per_workspace(api: Api, sb: Sandbox) -> None:
    # FormController::indexAll checks the ability inside its loop over the user's workspaces.
    no_forms_read = sb.add_token(["workspaces-read"])
    assert api.get("/open/forms", token=no_forms_read).json() == {
        "message": "This action is unauthorized."
    }
    loner = sb.add_token(["workspaces-read"], user_id=9)
    assert api.get("/open/forms", token=loner).json() == []


def test_workspace_forms_per_page_is_clamped_to_1_and_100(api: Api, sb: Sandbox) -> None:
    for n in range(120):
        sb.add_form(f"Form {n}", [{"type": "text", "name": "Name"}])
    assert len(api.get("/open/workspaces/1/forms?per_page=500").json()["data"]) == 100
    assert api.get("/open/workspaces/1/forms?per_page=0").json()["meta"]["per_page"] == 1


def test_every_form_listing_is_open_to_tokens(api: Api) -> None:
    for path in ("/open/workspaces", "/open/workspaces/1/forms", "/open/forms"):
        assert api.get(path).status_code == 200, path


def test_healthcheck_and_token_check(api: Api) -> None:
    health = api.get("/api/healthcheck", token=None)
    assert health.json() == {"status": "ok", "dependencies": {"database": True, "redis": True}}
    assert api.get("/external/zapier/validate").json() == {
        "name": "Demo User",
        "email": "demo@example.com",
    }
    assert api.get("/external/zapier/validate", token=None).status_code == 401


def test_head_answers_without_a_body(api: Api) -> None:
    response = api.session.head(api.base + "/open/forms/1", headers=api.headers())
    assert response.status_code == 200
    assert int(response.headers["Content-Length"]) > 100
    assert response.content == b""


def test_server_header_and_keep_alive(api: Api) -> None:
    first = api.get("/open/forms/1")
    second = api.get("/open/forms/2")
    assert first.headers["Server"] == "nginx"
    assert first.headers.get("Connection") != "close"
    assert second.status_code == 200

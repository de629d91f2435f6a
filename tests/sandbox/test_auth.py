"""Tokens, the route whitelist, policies and the order in which errors win."""

from __future__ import annotations

import pytest

from formexport.sandbox import Sandbox
from tests.sandbox.helpers import Api

UNAUTHENTICATED = {"message": "Unauthenticated."}
HIDDEN = {"message": ""}
FORBIDDEN = {"message": "This action is unauthorized."}


@pytest.mark.parametrize("header", [None, "Bearer nope", "Bearer 1|wrong", "bearer {token}"])
def test_missing_or_bad_token_is_401(api: Api, header: str | None) -> None:
    headers = {"Authorization": header.format(token=api.sb.token)} if header else {}
    response = api.session.get(api.base + "/open/forms/1", headers=headers)
    assert response.status_code == 401
    assert response.text == '{"message":"Unauthenticated."}'
    assert "WWW-Authenticate" not in response.headers


def test_revoked_token_is_401(api: Api, sb: Sandbox) -> None:
    token = sb.add_token(["forms-read"])
    assert api.get("/open/forms/1", token=token).status_code == 200
    sb.revoke_token(token)
    assert api.get("/open/forms/1", token=token).json() == UNAUTHENTICATED


def test_secret_without_id_is_accepted(api: Api, sb: Sandbox) -> None:
    assert api.get("/open/forms/1", token=sb.token.split("|", 1)[1]).status_code == 200


def test_status_route_is_hidden_from_tokens(api: Api) -> None:
    job_id = api.start_job(2, api.all_columns(2))
    response = api.status(2, job_id)
    assert (response.status_code, response.text) == (404, '{\n    "message": ""\n}')
    assert "X-RateLimit-Limit" not in response.headers


def test_status_route_without_token_is_401_not_404(api: Api) -> None:
    assert api.status(2, "any", token=None).json() == UNAUTHENTICATED


def test_open_status_access_lets_tokens_poll(api: Api, sb: Sandbox) -> None:
    job_id = api.start_job(2, api.all_columns(2))
    sb.config.status_access = "open"
    response = api.status(2, job_id)
    assert response.status_code == 200
    assert response.json()["status"] == "completed"
    assert response.headers["X-RateLimit-Limit"] == "180"


def test_documented_status_path_only_when_enabled(api: Api, sb: Sandbox) -> None:
    job_id = api.start_job(2, api.all_columns(2))
    docs_path = f"/open/forms/2/submissions/export/{job_id}/status"
    assert api.get(docs_path).json()["message"].startswith("The route open/forms/2/")
    sb.config.docs_status_route = True
    assert api.get(docs_path).json() == HIDDEN
    sb.config.status_access = "open"
    assert api.get(docs_path).json()["job_id"] == job_id


def test_unknown_job_is_404_with_type(api: Api, sb: Sandbox) -> None:
    sb.config.status_access = "open"
    response = api.status(1, "5b0f3c9e-7d2a-4c61-a8f4-1e9d2b7c6a30")
    assert response.status_code == 404
    assert response.json() == {"type": "error", "message": "Export job not found or has expired."}


def test_job_status_is_readable_through_any_viewable_form(api: Api, sb: Sandbox) -> None:
    # The controller authorizes the form in the URL only, never the job's owner form.
    job_id = api.start_job(2, api.all_columns(2))
    sb.config.status_access = "open"
    assert api.status(1, job_id).json()["job_id"] == job_id


def test_other_non_whitelisted_routes_are_hidden(api: Api) -> None:
    assert api.get("/open/forms/1/submissions/17").json() == HIDDEN
    assert api.get("/user").json() == HIDDEN


def test_abilities_are_checked_by_policies(api: Api, sb: Sandbox) -> None:
    workspaces_only = sb.add_token(["workspaces-read"])
    assert api.get("/open/forms/1", token=workspaces_only).json() == FORBIDDEN
    assert api.get("/open/workspaces", token=workspaces_only).status_code == 200
    forms_only = sb.add_token(["forms-read"])
    assert api.get("/open/workspaces", token=forms_only).json() == FORBIDDEN
    integrations = sb.add_token(["manage-integrations"])
    assert api.get("/open/forms/1", token=integrations).status_code == 200
    assert api.export(1, {"created_at": True}, token=integrations).status_code == 200
    assert api.get("/open/forms/1/submissions", token=integrations).json() == FORBIDDEN


def test_membership_is_required(api: Api, sb: Sandbox) -> None:
    assert api.get("/open/forms/4").json() == FORBIDDEN
    other = sb.add_token(["forms-read", "workspaces-read"], user_id=2)
    assert api.get("/open/forms/4", token=other).status_code == 200
    assert api.get("/open/forms/1", token=other).json() == FORBIDDEN
    loner = sb.add_token(["forms-read", "workspaces-read"], user_id=9)
    assert api.get("/open/workspaces", token=loner).json() == []


def test_unknown_abilities_are_refused_by_the_python_api(sb: Sandbox) -> None:
    with pytest.raises(ValueError, match="unknown abilities"):
        sb.add_token(["*"])


def test_binding_404_beats_validation_422(api: Api) -> None:
    response = api.export(999, {"nope": True})
    assert response.status_code == 404


def test_validation_422_beats_policy_403(api: Api) -> None:
    invalid = api.export(4, {"nope": True})
    assert invalid.status_code == 422
    assert api.export(4, {"created_at": True}).json() == FORBIDDEN


def test_precedence_401_whitelist_throttle_binding(api: Api, sb: Sandbox) -> None:
    sb.config.version = "1.13.0"  # one shared bucket of 100 for every route
    for _ in range(100):
        assert api.get("/open/forms/999").status_code == 404
    assert api.get("/open/forms/999", token=None).status_code == 401
    job_route = api.status(1, "x")
    assert (job_route.status_code, job_route.json()) == (404, HIDDEN)
    throttled = api.get("/open/forms/999")
    assert (throttled.status_code, throttled.json()) == (429, {"message": "Too Many Attempts."})
    assert api.export(1, {"created_at": True}).status_code == 429

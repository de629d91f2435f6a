"""The ``/_sandbox/`` control API used by out-of-process users (CLI, notebooks)."""

from __future__ import annotations

from typing import Any

from formexport.sandbox import Sandbox
from tests.sandbox.helpers import Api


def _control(api: Api, method: str, path: str, **kw: Any) -> tuple[int, Any]:
    response = api.session.request(method, f"{api.base}/_sandbox/{path}", timeout=10, **kw)
    return response.status_code, response.json()


def test_info(api: Api, sb: Sandbox) -> None:
    status, body = _control(api, "GET", "info")
    assert status == 200
    assert body == {
        "base_url": sb.base_url,
        "api_url": sb.api_url,
        "token": sb.token,
        "file_host_url": None,
        "version": "2.4.0",
    }


def test_config_read_and_patch(api: Api, sb: Sandbox) -> None:
    status, body = _control(api, "GET", "config")
    assert status == 200
    assert body == sb.config.to_dict()
    status, body = _control(api, "PATCH", "config", json={"job_progression": "per_poll"})
    assert (status, sb.config.job_progression) == (200, "per_poll")
    status, body = _control(
        api, "PATCH", "config", json={"job_progression": "x", "version": "2.0.0"}
    )
    assert status == 400
    assert "job_progression" in body["error"]
    assert sb.config.version == "2.4.0"  # nothing applied


def test_clock_advance(api: Api, sb: Sandbox) -> None:
    status, body = _control(api, "POST", "clock/advance", json={"seconds": 3600})
    assert status == 200
    assert body["offset"] == 3600
    assert sb.clock.offset == 3600


def test_faults(api: Api, sb: Sandbox) -> None:
    status, body = _control(api, "POST", "faults", json={"route": "form", "http_status": 503})
    assert status == 201
    assert body[0]["http_status"] == 503
    assert api.get("/open/forms/1").status_code == 503
    _control(api, "POST", "faults", json={"kind": "form", "http_status": 500, "times": None})
    assert _control(api, "GET", "faults")[1][0]["times"] is None
    assert _control(api, "DELETE", "faults") == (200, [])
    assert api.get("/open/forms/1").status_code == 200
    assert _control(api, "POST", "faults", json={"route": "nowhere", "reset": True})[0] == 400


def test_forms_submissions_and_tokens(api: Api, sb: Sandbox) -> None:
    fields = [{"type": "text", "name": "Name"}, {"type": "number", "name": "Age"}]
    status, form = _control(
        api, "POST", "forms", json={"title": "Remote", "fields": fields, "n_submissions": 3}
    )
    assert status == 201
    form_id = form["id"]
    assert api.get(f"/open/forms/{form_id}/submissions").json()["meta"]["total"] == 3
    name_id = form["properties"][0]["id"]
    status, created = _control(
        api, "POST", f"forms/{form_id}/submissions", json={"data": {name_id: "Zed"}}
    )
    assert status == 201
    assert api.get(f"/open/forms/{form_id}/submissions").json()["data"][0]["id"] == created["id"]
    status, token = _control(api, "POST", "tokens", json={"abilities": ["forms-read"]})
    assert status == 201
    plain = token["token"]
    assert api.get("/open/forms/1", token=plain).status_code == 200
    _control(api, "DELETE", "tokens", json={"token": plain})
    assert api.get("/open/forms/1", token=plain).status_code == 401


def test_requests_log_excludes_control_calls(api: Api) -> None:
    api.get("/open/forms/1")
    status, log = _control(api, "GET", "requests")
    assert status == 200
    assert [(r["method"], r["path"], r["status"]) for r in log] == [("GET", "/open/forms/1", 200)]
    assert log[0]["headers"]["Authorization"].startswith("Bearer ")
    assert _control(api, "DELETE", "requests") == (200, [])


def test_reset_over_http(api: Api, sb: Sandbox) -> None:
    sb.add_form("Temporary", [sb.make_field("text", "Name")])
    sb.config.version = "1.13.0"
    assert _control(api, "POST", "reset") == (200, {"status": "reset"})
    assert api.get("/open/forms/5").status_code == 404
    assert sb.config.version == "2.4.0"


def test_errors_and_prefix(api: Api, sb: Sandbox) -> None:
    assert _control(api, "GET", "nope")[0] == 404
    bad = api.session.post(f"{api.base}/_sandbox/faults", data=b"{", timeout=10)
    assert (bad.status_code, bad.json()) == (400, {"error": "the body is not valid JSON"})
    prefixed = api.session.get(f"{sb.api_url}/_sandbox/info", timeout=10)
    assert prefixed.json()["token"] == sb.token


def test_rival_exports_and_field_renames(api: Api, sb: Sandbox) -> None:
    status, body = _control(api, "POST", "forms/2/rivals", json={"columns": ["created_at"]})
    assert (status, body) == (201, {"form_id": 2, "pending": 1})
    status, body = _control(
        api, "POST", "forms/2/rivals", json={"columns": ["created_at"], "times": 2}
    )
    assert body["pending"] == 3
    status, body = _control(api, "POST", "forms/2/rivals", json={"columns": ["nope"]})
    assert status == 400
    assert "invalid values: nope" in body["error"]
    field = sb._backend.form(2).properties[0]
    status, body = _control(
        api, "PATCH", "forms/2/fields", json={"id": field["id"], "name": "Renamed"}
    )
    assert (status, body) == (200, {"id": field["id"], "name": "Renamed"})
    assert api.form(2)["properties"][0]["name"] == "Renamed"
    status, body = _control(api, "PATCH", "forms/2/fields", json={"id": "x", "name": "y"})
    assert status == 400

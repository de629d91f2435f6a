"""The control API under ``/_sandbox/`` for users in another process (CLI, notebooks).

No authentication; plain JSON in and out; errors are ``400 {"error": "..."}``. These
routes are not part of OpnForm: they are neither logged in ``requests`` nor faulted.

=======  ===============================  =========================================
Method   Path                             Effect
=======  ===============================  =========================================
GET      /_sandbox/info                   URLs, token, version
POST     /_sandbox/reset                  seeded state, default settings
GET      /_sandbox/config                 settings
PATCH    /_sandbox/config                 change settings (JSON object)
POST     /_sandbox/clock/advance          ``{"seconds": n}``
GET      /_sandbox/faults                 queued faults
POST     /_sandbox/faults                 add a fault (JSON of a Fault)
DELETE   /_sandbox/faults                 remove all faults
POST     /_sandbox/forms                  ``add_form`` arguments → form resource
PATCH    /_sandbox/forms/{id}             ``{"submission_retention_value", "…_unit"}``
PATCH    /_sandbox/forms/{id}/fields      ``{"id", "name"}``: rename a field
PUT      /_sandbox/forms/{id}/fields      ``{"properties": [...]}``: the editor saves → form
POST     /_sandbox/forms/{id}/submissions ``add_submission`` arguments → ``{"id"}``
DELETE   /_sandbox/forms/{id}/submissions ``{"ids": [...]}`` → ``{"deleted": [...]}``
POST     /_sandbox/forms/{id}/generated   ``{"count", "every", "until"}`` → ``{"ids"}``
PUT      /_sandbox/forms/{id}/uploads     ``{"name", "content"}``: a file's bytes (text)
DELETE   /_sandbox/forms/{id}/uploads     ``{"names": [...]}``: the disk loses those files
POST     /_sandbox/forms/{id}/arrivals    ``{"every": 0.1, "count": null}``: start arriving
GET      /_sandbox/forms/{id}/arrivals    ``{"running", "added": [...]}``
DELETE   /_sandbox/forms/{id}/arrivals    stop arriving → ``{"added": [...]}``
POST     /_sandbox/forms/{id}/rivals      ``{"columns", "submission_ids", "times"}``: another
                                          client's export in the next jobs' second
POST     /_sandbox/retention/run          the hourly purge, now → ``{"deleted": {id: n}}``
POST     /_sandbox/tokens                 ``{"abilities": [...], "user_id"}`` → token
DELETE   /_sandbox/tokens                 ``{"token": "..."}``
GET      /_sandbox/requests               the request log
DELETE   /_sandbox/requests               clear the log
=======  ===============================  =========================================
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from typing import Any, Protocol

from formexport.sandbox.backend.faults import Fault, FaultQueue
from formexport.sandbox.backend.settings import SandboxConfig
from formexport.sandbox.backend.traffic import ArrivalFeed
from formexport.sandbox.platform.clock import Clock, iso_micro
from formexport.sandbox.platform.wire import RecordedRequest, Request, Response

_FORM_ROUTE = re.compile(r"^/_sandbox/forms/(\d+)(/[a-z]+)?$")


class Controlled(Protocol):
    """The parts of a Sandbox the control API drives."""

    @property
    def config(self) -> SandboxConfig: ...

    @property
    def clock(self) -> Clock: ...

    @property
    def faults(self) -> FaultQueue: ...

    @property
    def requests(self) -> list[RecordedRequest]: ...

    def info(self) -> dict[str, Any]: ...

    def reset(self) -> None: ...

    def clear_requests(self) -> None: ...

    def add_form(
        self,
        title: str,
        fields: list[dict[str, Any]],
        n_submissions: int = 0,
        *,
        workspace_id: int = 1,
        partial: bool = False,
        seed: int = 0,
        removed_fields: list[dict[str, Any]] | tuple[dict[str, Any], ...] = (),
    ) -> dict[str, Any]: ...

    def add_submission(
        self,
        form_id: int,
        data: dict[str, Any],
        *,
        partial: bool = False,
        created_at: Any = None,
        meta: dict[str, Any] | None = None,
    ) -> int: ...

    def add_generated_submissions(
        self, form_id: int, count: int, *, every: float = 0.1, until: Any = None
    ) -> list[int]: ...

    def delete_submissions(self, form_id: int, submission_ids: list[int]) -> list[int]: ...

    def start_arrivals(
        self, form_id: int, every: float = 0.1, *, count: int | None = None
    ) -> ArrivalFeed: ...

    def arrivals(self, form_id: int) -> ArrivalFeed | None: ...

    def stop_arrivals(self, form_id: int | None = None) -> list[int]: ...

    def add_rival_export(
        self,
        form_id: int,
        columns: list[str],
        *,
        submission_ids: list[int] | None = None,
        times: int = 1,
    ) -> int: ...

    def set_retention(self, form_id: int, value: int | None, unit: str | None) -> None: ...

    def rename_field(self, form_id: int, field_id: str, name: str) -> None: ...

    def update_fields(self, form_id: int, properties: list[dict[str, Any]]) -> dict[str, Any]: ...

    def run_retention(self) -> dict[int, int]: ...

    def add_token(self, abilities: list[str] | None = None, user_id: int | None = None) -> str: ...

    def revoke_token(self, token: str) -> None: ...

    def store_uploaded_file(self, form_id: int, name: str, content: bytes) -> None: ...

    def lose_uploaded_file(self, form_id: int, name: str) -> None: ...


def _json(status: int, payload: Any) -> Response:
    body = json.dumps(payload, ensure_ascii=False).encode()
    return Response(status, [("Content-Type", "application/json")], body)


class ControlApp:
    """Dispatches ``/_sandbox/`` requests to a :class:`Controlled` sandbox."""

    def __init__(self, sandbox: Controlled) -> None:
        self._sandbox = sandbox
        self._routes: dict[tuple[str, str], Callable[[Any], Response]] = {
            ("GET", "/_sandbox/info"): lambda _: _json(200, sandbox.info()),
            ("POST", "/_sandbox/reset"): self._reset,
            ("GET", "/_sandbox/config"): lambda _: _json(200, sandbox.config.to_dict()),
            ("PATCH", "/_sandbox/config"): self._patch_config,
            ("POST", "/_sandbox/clock/advance"): self._advance,
            ("GET", "/_sandbox/faults"): self._faults,
            ("POST", "/_sandbox/faults"): self._add_fault,
            ("DELETE", "/_sandbox/faults"): self._clear_faults,
            ("POST", "/_sandbox/forms"): self._add_form,
            ("POST", "/_sandbox/tokens"): self._add_token,
            ("DELETE", "/_sandbox/tokens"): self._revoke_token,
            ("GET", "/_sandbox/requests"): self._requests,
            ("DELETE", "/_sandbox/requests"): self._clear_requests,
            ("POST", "/_sandbox/retention/run"): self._run_retention,
        }
        self._form_routes: dict[tuple[str, str], Callable[[int, Any], Response]] = {
            ("PATCH", ""): self._patch_form,
            ("PATCH", "/fields"): self._rename_field,
            ("PUT", "/fields"): self._update_fields,
            ("POST", "/submissions"): self._add_submission,
            ("DELETE", "/submissions"): self._delete_submissions,
            ("POST", "/generated"): self._add_generated,
            ("POST", "/arrivals"): self._start_arrivals,
            ("GET", "/arrivals"): self._arrivals,
            ("DELETE", "/arrivals"): self._stop_arrivals,
            ("POST", "/rivals"): self._add_rival,
            ("PUT", "/uploads"): self._store_upload,
            ("DELETE", "/uploads"): self._lose_uploads,
        }

    def handle(self, req: Request) -> Response:
        """Answer one control request."""
        path = req.route_path.rstrip("/")
        try:
            payload = json.loads(req.body) if req.body.strip() else {}
        except ValueError:
            return _json(400, {"error": "the body is not valid JSON"})
        try:
            match = _FORM_ROUTE.match(path)
            if match:
                form_route = self._form_routes.get((req.method, match.group(2) or ""))
                if form_route is not None:
                    return form_route(int(match.group(1)), payload)
            route = self._routes.get((req.method, path))
            if route is None:
                return _json(404, {"error": f"no control route {req.method} {path}"})
            return route(payload)
        except (ValueError, TypeError, KeyError, AttributeError) as exc:
            return _json(400, {"error": str(exc)})

    def _reset(self, _: Any) -> Response:
        self._sandbox.reset()
        return _json(200, {"status": "reset"})

    def _patch_config(self, payload: Any) -> Response:
        if not isinstance(payload, dict):
            raise TypeError("send a JSON object of settings")
        self._sandbox.config.update(payload)
        return _json(200, self._sandbox.config.to_dict())

    def _advance(self, payload: Any) -> Response:
        now = self._sandbox.clock.advance(float(payload["seconds"]))
        return _json(200, {"now": iso_micro(now), "offset": self._sandbox.clock.offset})

    def _faults(self, _: Any) -> Response:
        return _json(200, [f.to_dict() for f in self._sandbox.faults.pending()])

    def _add_fault(self, payload: Any) -> Response:
        self._sandbox.faults.add(Fault.from_dict(payload))
        return _json(201, [f.to_dict() for f in self._sandbox.faults.pending()])

    def _clear_faults(self, _: Any) -> Response:
        self._sandbox.faults.clear()
        return _json(200, [])

    def _add_form(self, payload: Any) -> Response:
        return _json(201, self._sandbox.add_form(**payload))

    def _add_submission(self, form_id: int, payload: Any) -> Response:
        return _json(201, {"id": self._sandbox.add_submission(form_id, **payload)})

    def _delete_submissions(self, form_id: int, payload: Any) -> Response:
        deleted = self._sandbox.delete_submissions(form_id, list(payload["ids"]))
        return _json(200, {"deleted": deleted})

    def _add_generated(self, form_id: int, payload: Any) -> Response:
        count = int(payload["count"])
        every = float(payload.get("every", 0.1))
        ids = self._sandbox.add_generated_submissions(
            form_id, count, every=every, until=payload.get("until")
        )
        return _json(201, {"ids": ids})

    def _patch_form(self, form_id: int, payload: Any) -> Response:
        value = payload.get("submission_retention_value")
        unit = payload.get("submission_retention_unit")
        self._sandbox.set_retention(form_id, value, unit)
        body = {"submission_retention_value": value, "submission_retention_unit": unit}
        return _json(200, {"id": form_id, **body})

    def _rename_field(self, form_id: int, payload: Any) -> Response:
        self._sandbox.rename_field(form_id, str(payload["id"]), str(payload["name"]))
        return _json(200, {"id": payload["id"], "name": payload["name"]})

    def _update_fields(self, form_id: int, payload: Any) -> Response:
        properties = payload["properties"]
        if not isinstance(properties, list):
            raise TypeError("properties is a list of blocks")
        return _json(200, self._sandbox.update_fields(form_id, properties))

    def _run_retention(self, _: Any) -> Response:
        deleted = self._sandbox.run_retention()
        return _json(200, {"deleted": {str(k): v for k, v in deleted.items()}})

    def _start_arrivals(self, form_id: int, payload: Any) -> Response:
        every, count = float(payload.get("every", 0.1)), payload.get("count")
        feed = self._sandbox.start_arrivals(form_id, every, count=count)
        return _json(201, {"form_id": form_id, "every": feed.every, "count": feed.count})

    def _arrivals(self, form_id: int, _: Any) -> Response:
        feed = self._sandbox.arrivals(form_id)
        if feed is None:
            return _json(200, {"running": False, "added": []})
        return _json(200, {"running": feed.running, "added": feed.ids})

    def _stop_arrivals(self, form_id: int, _: Any) -> Response:
        return _json(200, {"added": self._sandbox.stop_arrivals(form_id)})

    def _add_rival(self, form_id: int, payload: Any) -> Response:
        ids = payload.get("submission_ids")
        pending = self._sandbox.add_rival_export(
            form_id,
            [str(c) for c in payload["columns"]],
            submission_ids=None if ids is None else [int(i) for i in ids],
            times=int(payload.get("times", 1)),
        )
        return _json(201, {"form_id": form_id, "pending": pending})

    def _store_upload(self, form_id: int, payload: Any) -> Response:
        name, content = str(payload["name"]), str(payload["content"])
        self._sandbox.store_uploaded_file(form_id, name, content.encode())
        return _json(200, {"name": name, "bytes": len(content.encode())})

    def _lose_uploads(self, form_id: int, payload: Any) -> Response:
        names = [str(name) for name in payload["names"]]
        for name in names:
            self._sandbox.lose_uploaded_file(form_id, name)
        return _json(200, {"lost": names})

    def _add_token(self, payload: Any) -> Response:
        token = self._sandbox.add_token(payload.get("abilities"), payload.get("user_id"))
        return _json(201, {"token": token})

    def _revoke_token(self, payload: Any) -> Response:
        self._sandbox.revoke_token(payload["token"])
        return _json(200, {"revoked": True})

    def _requests(self, _: Any) -> Response:
        return _json(200, [r.to_dict() for r in self._sandbox.requests])

    def _clear_requests(self, _: Any) -> Response:
        self._sandbox.clear_requests()
        return _json(200, [])

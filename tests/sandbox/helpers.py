"""HTTP helpers for the emulator's contract tests (they speak HTTP, not the project's client)."""

from __future__ import annotations

from typing import Any

import requests

from formexport.sandbox import Sandbox


class Api:
    """A thin HTTP helper: the tests speak HTTP, not the project's client."""

    def __init__(self, sandbox: Sandbox, session: requests.Session) -> None:
        self.sb = sandbox
        self.session = session
        self.base = sandbox.base_url

    def headers(self, token: str | None = "default") -> dict[str, str]:
        chosen = self.sb.token if token == "default" else token
        return {"Authorization": f"Bearer {chosen}"} if chosen else {}

    def get(self, path: str, *, token: str | None = "default", **kw: Any) -> requests.Response:
        url = path if path.startswith("http") else self.base + path
        headers = {**self.headers(token), **kw.pop("headers", {})}
        return self.session.get(url, headers=headers, timeout=kw.pop("timeout", 30), **kw)

    def post(self, path: str, *, token: str | None = "default", **kw: Any) -> requests.Response:
        url = path if path.startswith("http") else self.base + path
        headers = {**self.headers(token), **kw.pop("headers", {})}
        return self.session.post(url, headers=headers, timeout=kw.pop("timeout", 30), **kw)

    def form(self, form_id: int | str) -> dict[str, Any]:
        response = self.get(f"/open/forms/{form_id}")
        assert response.status_code == 200, response.text
        return dict(response.json())

    def all_columns(self, form_id: int, *extra: str) -> dict[str, bool]:
        form = self.form(form_id)
        columns = {f["id"]: True for f in form["properties"] + form["removed_properties"]}
        columns.update(dict.fromkeys(extra, True))
        return columns

    def export(
        self,
        form_id: int | str,
        columns: dict[str, Any] | None = None,
        ids: list[Any] | None = None,
        **kw: Any,
    ) -> requests.Response:
        body: dict[str, Any] = {}
        if columns is not None:
            body["columns"] = columns
        if ids is not None:
            body["submissionIds"] = ids
        return self.post(f"/open/forms/{form_id}/submissions/export", json=body, **kw)

    def status(self, form_id: int | str, job_id: str, **kw: Any) -> requests.Response:
        return self.get(f"/open/forms/{form_id}/submissions/export/status/{job_id}", **kw)

    def start_job(self, form_id: int, columns: dict[str, Any], **kw: Any) -> str:
        response = self.export(form_id, columns, **kw)
        assert response.status_code == 200, response.text
        assert response.json()["is_async"] is True
        return str(response.json()["job_id"])

    def finished_job(self, form_id: int, columns: dict[str, Any]) -> dict[str, Any]:
        """Start an export (immediate progression) and read its completed status."""
        self.sb.config.status_access = "open"
        job_id = self.start_job(form_id, columns)
        body = self.status(form_id, job_id).json()
        assert body["status"] == "completed", body
        return dict(body)

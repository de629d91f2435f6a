"""Helpers of the fault-injection suite: finished jobs, served bytes, captured output."""

from __future__ import annotations

import itertools
import logging
import traceback
from pathlib import Path

import requests

import formexport as fx
from formexport.sandbox import RecordedRequest, Sandbox

#: Figures measured by the tests, by name (see conftest's terminal summary).
FIGURES: dict[str, object] = {}


def finished_job(sandbox: Sandbox, form: int = 2, columns: list[str] | None = None) -> fx.ExportJob:
    """A background export that has completed, its file not yet downloaded."""
    sandbox.config.status_access = "open"
    client = fx.Client(token=sandbox.token, base_url=sandbox.base_url)
    job = client.start_export(form, columns)
    job.wait(progress=None)
    assert job.is_server_job
    return job


def undownloaded(sandbox: Sandbox, job: fx.ExportJob) -> fx.ExportJob:
    """The same finished job as a new object that has not fetched its file yet.

    A job that has downloaded its file once copies it from disk afterwards.
    """
    assert job.job_id is not None
    fresh = fx.ExportJob.attach(
        job.form_id, job.job_id, token=sandbox.token, base_url=sandbox.base_url
    )
    fresh.wait(progress=None)
    return fresh


def served_bytes(job: fx.ExportJob) -> bytes:
    """The export file exactly as the file host serves it."""
    assert job.status is not None
    assert job.status.file_url is not None
    response = requests.get(job.status.file_url, timeout=10)
    assert response.status_code == 200
    return response.content


def answered_bytes(sandbox: Sandbox, form: int = 1) -> bytes:
    """The export of every field of ``form`` as the server answers it at once, over plain HTTP
    (what a download of it through faults must equal)."""
    client = fx.Client(token=sandbox.token, base_url=sandbox.base_url)
    columns = client.get_form(form).default_columns()
    response = requests.post(
        f"{sandbox.base_url}/open/forms/{form}/submissions/export",
        json={"columns": columns},
        headers={"Authorization": f"Bearer {sandbox.token}"},
        timeout=30,
    )
    assert response.status_code == 200
    assert response.headers["Content-Type"].startswith("text/csv")
    return response.content


def file_requests(sandbox: Sandbox) -> list[RecordedRequest]:
    """Requests for export files, on the API host (local disk) or the S3-like host."""
    return [
        r for r in sandbox.requests if "/local/temp/" in r.path or "/opnform-exports/" in r.path
    ]


def on_route(sandbox: Sandbox, fragment: str, method: str = "GET") -> list[RecordedRequest]:
    """Requests whose path contains ``fragment``."""
    return [r for r in sandbox.requests if r.method == method and fragment in r.path]


def exports(sandbox: Sandbox) -> list[RecordedRequest]:
    """The export requests (``POST …/submissions/export``)."""
    return on_route(sandbox, "/submissions/export", "POST")


def gaps_after(entries: list[RecordedRequest], status: int) -> list[float]:
    """Seconds between each request answered ``status`` and the next request of the list."""
    pairs = itertools.pairwise(entries)
    return [later.at - early.at for early, later in pairs if early.status == status]


def leftovers(folder: Path) -> list[str]:
    """Names in ``folder``, hidden temporary files included."""
    return sorted(p.name for p in folder.iterdir()) if folder.exists() else []


def signatures(sandbox: Sandbox) -> set[str]:
    """Every link signature the hosts saw: the secrets of signed file links."""
    names = ("signature", "X-Amz-Signature", "X-Amz-Credential")
    return {r.query[n] for r in sandbox.requests for n in names if r.query.get(n)}


def secret_part(token: str) -> str:
    """The secret half of a personal access token (``<id>|<secret>``)."""
    return token.split("|", 1)[1]


def error_text(error: BaseException) -> str:
    """An exception as a user sees it: message, repr and full traceback with its causes."""
    return "\n".join([str(error), repr(error), *traceback.format_exception(error)])


class LogCapture(logging.Handler):
    """Keeps every record, formatted the way a handler would print it (traceback included)."""

    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.setFormatter(logging.Formatter("%(name)s %(levelname)s %(message)s"))
        self.records: list[logging.LogRecord] = []
        self.lines: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)
        self.lines.append(self.format(record))

    def text(self) -> str:
        """Everything logged, one record per line."""
        return "\n".join(self.lines)

    def from_logger(self, prefix: str) -> list[str]:
        """Messages of loggers named ``prefix`` or below it."""
        return [r.getMessage() for r in self.records if r.name.startswith(prefix)]

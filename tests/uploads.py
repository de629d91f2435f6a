"""Forms whose submissions hold uploaded files, for the tests of ``files=``.

Shared by the integration tests (tests/integration/test_uploaded_files.py) and the faults they
meet (tests/reliability/test_uploaded_files.py).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd
import pytest

import formexport as fx
from formexport import config
from formexport.sandbox import RecordedRequest, Sandbox

RECORD = "_formexport_files.json"


@dataclass
class Form:
    """A form with a file-upload and a signature field, its submissions' ids and file names."""

    id: int
    documents: str
    signature: str
    files: dict[int, dict[str, list[str]]]  # submission → field → names

    def file_count(self) -> int:
        """How many files its submissions hold."""
        return sum(len(names) for fields in self.files.values() for names in fields.values())


def add_form(sandbox: Sandbox, answers: list[tuple[list[str], str | None]]) -> Form:
    """A form whose submissions answer ``(documents, signature)`` as ``answers`` list them."""
    made = sandbox.add_form(
        "Applications",
        [
            {"type": "text", "name": "Name"},
            {"type": "files", "name": "Documents"},
            {"type": "signature", "name": "Signature"},
        ],
    )
    name, documents, signature = (f["id"] for f in made["properties"])
    form = Form(made["id"], documents, signature, {})
    for n, (docs, sign) in enumerate(answers):
        data: dict[str, Any] = {name: f"Applicant {n}"}
        if docs:
            data[documents] = docs
        if sign:
            data[signature] = sign
        submission = sandbox.add_submission(form.id, data)
        form.files[submission] = {documents: list(docs), signature: [sign] if sign else []}
    return form


def applications(sandbox: Sandbox) -> Form:
    """Four submissions holding six files, one submission none."""
    return add_form(
        sandbox,
        [
            (["cv_1.pdf", "photo_1.jpg"], "sign_1.png"),
            ([], None),
            (["cv_3.pdf"], "sign_3.png"),
            (["report_4.docx"], None),
        ],
    )


def fetched_one_at_a_time(sandbox: Sandbox, monkeypatch: pytest.MonkeyPatch) -> Form:
    """Five files fetched one by one, the newest submission's first: its ``cv_1.pdf`` meets
    the first faults."""
    monkeypatch.setattr(config, "UPLOAD_WORKERS", 1)
    return add_form(
        sandbox, [(["report_4.docx", "cv_3.pdf"], "sign_4.png"), (["cv_1.pdf"], "sign_1.png")]
    )


def load(sandbox: Sandbox, form: Form, files: Any, **options: Any) -> pd.DataFrame:
    """``load_export`` of ``form`` saving its files to ``files``."""
    options.setdefault("progress", None)
    return fx.load_export(
        form.id, token=sandbox.token, base_url=sandbox.base_url, files=files, **options
    )


def file_requests(sandbox: Sandbox) -> list[RecordedRequest]:
    """The requests of the file route (``GET …/submissions/file/…``)."""
    return [r for r in sandbox.requests if r.method == "GET" and "/submissions/file/" in r.path]


def saved_files(root: Path) -> set[str]:
    """The files under ``root``, but the records and the partial files."""
    found = (p for p in root.rglob("*") if p.is_file() and p.name != RECORD)
    return {p.relative_to(root).as_posix() for p in found if not p.name.endswith(".part")}


def recorded(root: Path, form: Form) -> dict[str, dict[str, Any]]:
    """The record of the files saved for ``form`` under ``root``, by path under ``root``."""
    files: dict[str, dict[str, Any]] = json.loads((root / str(form.id) / RECORD).read_text())[
        "files"
    ]
    return files

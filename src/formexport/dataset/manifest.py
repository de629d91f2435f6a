"""The manifest of a Parquet dataset: what was exported, when, and how far it got.

It is a JSON file beside the data (``_formexport_manifest.json``; dataset readers skip files that
start with ``_``). Each form has a record that is rewritten as soon as that form's export ends, so
a run that crashed resumes where it stopped, and a form that did not change is not exported again.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field, fields
from datetime import datetime, timezone
from typing import Any

from formexport.errors import DatasetError

MANIFEST_NAME = "_formexport_manifest.json"
MANIFEST_VERSION = 1

OK, FAILED, RUNNING, UNCHANGED = "ok", "failed", "running", "unchanged"


def utc_now() -> str:
    """The current time as ISO-8601 UTC."""
    return datetime.now(timezone.utc).isoformat(timespec="seconds")


@dataclass
class FormRecord:
    """One form's line in the manifest.

    Attributes
    ----------
    status : str
        ``"ok"``, ``"failed"``, ``"running"`` (the run stopped while it was exporting) or
        ``"unchanged"`` (skipped: same submission count and update time as the last export).
    rows : int
        Rows written by the last export of this form (a full export, or the new rows).
    high_water_mark : int or None
        The highest submission id in the dataset.
    high_water_time : str or None
        When the newest submission in the dataset was created (ISO 8601, UTC; to the minute
        after a full export, whose CSV has no seconds). Incremental runs list the submissions
        created since a minute before it (``config.ID_ORDER_SLACK_SECONDS``).
    recent_ids : list of int
        The dataset's submissions created in that last minute: an incremental run exports
        the listed submissions that are not among them, so none is exported twice.
    rows_gone_upstream : int
        Rows the dataset keeps whose submissions the server no longer has (deleted by their
        owner, or by the form's retention period), as found by the last full export.
    rows_dropped : int
        Rows the last full export removed because the server no longer has them
        (``mirror_deletions=True``).
    partitions : list of str
        The form's Parquet files, relative to the dataset root.
    """

    form_id: int
    slug: str = ""
    title: str = ""
    status: str = RUNNING
    mode: str = "full"
    rows: int = 0
    job_id: str | None = None
    started_at: str | None = None
    duration_seconds: float | None = None
    schema_hash: str | None = None
    error: str | None = None
    submissions_count: int | None = None
    form_updated_at: str | None = None
    high_water_mark: int | None = None
    high_water_time: str | None = None
    recent_ids: list[int] = field(default_factory=list)
    rows_gone_upstream: int = 0
    rows_dropped: int = 0
    partitions: list[str] = field(default_factory=list)

    @classmethod
    def from_json(cls, body: Mapping[str, Any]) -> FormRecord:
        """Read a record, ignoring keys a newer version may have added."""
        known = {f.name for f in fields(cls)}
        return cls(**{k: v for k, v in body.items() if k in known})


@dataclass
class Manifest:
    """Every form's record, plus where the data came from."""

    server: str
    forms: dict[str, FormRecord] = field(default_factory=dict)
    version: int = MANIFEST_VERSION
    updated_at: str = field(default_factory=utc_now)

    def record(self, form_id: int) -> FormRecord | None:
        """The form's record, if it was ever exported here."""
        return self.forms.get(str(form_id))

    def put(self, record: FormRecord) -> None:
        """Add or replace a form's record."""
        self.forms[str(record.form_id)] = record
        self.updated_at = utc_now()

    @property
    def failed(self) -> list[FormRecord]:
        """Records of forms whose last export failed."""
        return [r for r in self.forms.values() if r.status == FAILED]

    def to_json(self) -> str:
        """The manifest as indented JSON."""
        return json.dumps(asdict(self), indent=2, sort_keys=True)

    @classmethod
    def from_json(cls, text: str) -> Manifest:
        """Parse a manifest written by :meth:`to_json`."""
        try:
            body = json.loads(text)
            forms = {key: FormRecord.from_json(value) for key, value in body["forms"].items()}
            return cls(
                server=str(body["server"]),
                forms=forms,
                version=int(body.get("version", MANIFEST_VERSION)),
                updated_at=str(body.get("updated_at", "")),
            )
        except (ValueError, KeyError, TypeError, AttributeError) as exc:
            raise DatasetError(
                f"The dataset manifest {MANIFEST_NAME} is damaged ({exc}); move it away to "
                "start the dataset afresh."
            ) from exc


def load_manifest(fs: Any, root: str, server: str) -> Manifest:
    """The manifest at ``root``, or an empty one."""
    path = f"{root}/{MANIFEST_NAME}"
    if not fs.exists(path):
        return Manifest(server=server)
    with fs.open(path, "r", encoding="utf-8") as handle:
        return Manifest.from_json(handle.read())


def save_manifest(fs: Any, root: str, manifest: Manifest) -> None:
    """Write the manifest so that readers see the old or the new one, never half of one."""
    write_atomically(fs, root, MANIFEST_NAME, manifest.to_json())


def write_atomically(fs: Any, root: str, name: str, text: str) -> None:
    """Write ``root/name`` through a temporary file beside it (dataset readers skip names that
    start with ``_``), so that readers see the old or the new file, never half of one."""
    tmp = f"{root}/_{uuid.uuid4().hex}.tmp"
    # The dataset's folder may not exist yet (a new local destination); object stores ignore this.
    fs.makedirs(root, exist_ok=True)
    with fs.open(tmp, "w", encoding="utf-8") as handle:
        handle.write(text)
    fs.mv(tmp, f"{root}/{name}")

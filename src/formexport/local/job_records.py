"""A small local record of recent export jobs, so a long export is never started twice.

After a kernel restart, or in the next run of a scheduled notebook, the same request (server,
form, columns, submission ids) finds the job it started before. The record holds ids and times
only — never a token, a download link or any exported data — in ``jobs.json`` of the folder
described in :mod:`formexport.local.folder`.
"""

from __future__ import annotations

import json
import logging
from dataclasses import asdict, dataclass
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

from formexport import config
from formexport.errors import ConfigurationError
from formexport.local import folder
from formexport.opnform.models import parse_timestamp

logger = logging.getLogger("formexport")

FILE_NAME = "jobs.json"
FORMAT_VERSION = 1


@dataclass(frozen=True)
class JobRecord:
    """One export job this machine started.

    Attributes
    ----------
    key : str
        :func:`formexport.local.folder.request_key` of the request.
    server : str
        The API base URL.
    form_id : int
        The exported form.
    job_id : str
        The server's job id.
    started : datetime
        When it was started (UTC).
    expires : datetime or None
        When its download link expires, once known.
    """

    key: str
    server: str
    form_id: int
    job_id: str
    started: datetime
    expires: datetime | None = None

    def to_json(self) -> dict[str, Any]:
        """A JSON-ready dict."""
        data = asdict(self)
        data["started"] = self.started.isoformat()
        data["expires"] = self.expires.isoformat() if self.expires else None
        return data

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> JobRecord:
        """Read one entry of the file."""
        started = parse_timestamp(data["started"])
        if started is None:
            raise ValueError("record without a start time")
        return cls(
            key=str(data["key"]),
            server=str(data["server"]),
            form_id=int(data["form_id"]),
            job_id=str(data["job_id"]),
            started=started,
            expires=parse_timestamp(data.get("expires")),
        )

    def is_stale(self, now: datetime) -> bool:
        """True when the job cannot be worth re-attaching: its link expired, or it is too old."""
        if self.expires is not None:
            return self.expires <= now
        return now - self.started > timedelta(seconds=config.RECORD_MAX_AGE)


class JobRecords:
    """The record file: read whole, changed, written back atomically (it stays small).

    Parameters
    ----------
    root : Path, optional
        The folder; :func:`formexport.local.folder.root_dir` by default.
    """

    def __init__(self, root: Path | None = None) -> None:
        self.path = (root or folder.root_dir()) / FILE_NAME

    def all(self) -> list[JobRecord]:
        """Every recorded job, newest first; an unreadable file counts as empty."""
        try:
            data = json.loads(self.path.read_text(encoding="utf-8"))
            entries = data["jobs"] if data.get("version") == FORMAT_VERSION else []
            return [JobRecord.from_json(entry) for entry in entries]
        except FileNotFoundError:
            return []
        except (OSError, ValueError, KeyError, TypeError, AttributeError) as exc:
            # A damaged record only costs a re-export; never fail an export over it.
            logger.warning("Ignoring the unreadable job record %s (%s)", self.path, exc)
            return []

    def find(self, key: str) -> JobRecord | None:
        """The newest live job for the request ``key``."""
        now = datetime.now(timezone.utc)
        for record in self.all():
            if record.key == key and not record.is_stale(now):
                return record
        return None

    def save(self, record: JobRecord) -> None:
        """Add or replace the entry for ``record.key``; drop stale and surplus entries."""
        now = datetime.now(timezone.utc)
        kept = [r for r in self.all() if r.key != record.key and not r.is_stale(now)]
        self._write([record, *kept][: config.RECORDED_JOBS])

    def forget(self, job_id: str) -> None:
        """Remove a job (it failed, expired or was replaced)."""
        records = self.all()
        remaining = [r for r in records if r.job_id != job_id]
        if len(remaining) != len(records):
            self._write(remaining)

    def clear(self) -> int:
        """Delete the record file; return the number of jobs it held."""
        count = len(self.all())
        self.path.unlink(missing_ok=True)
        return count

    def _write(self, records: list[JobRecord]) -> None:
        body = {"version": FORMAT_VERSION, "jobs": [r.to_json() for r in records]}
        try:
            with folder.private_file(self.path) as out:
                out.write(json.dumps(body, indent=1).encode())
        except (OSError, ConfigurationError) as exc:
            # Re-attaching is a convenience: an unwritable folder must not stop an export.
            logger.warning("Could not update the job record %s (%s)", self.path, exc)

"""A small local record of recent export jobs, so that an export whose data never arrived is
picked up instead of being started twice.

When a call times out, is interrupted or its kernel dies, its background job runs on; the next
call for the same request (server, form, columns, submission ids) finds it here. Once the job's
data has been delivered (a DataFrame returned, a file written) its record is spent: a later call
starts a fresh export and sees the submissions that arrived since. The record holds ids, times
and that flag only — never a token, a download link or any exported data — in ``jobs.json`` of
the folder described in :mod:`formexport.local.folder`.
"""

from __future__ import annotations

import logging
import threading
from dataclasses import asdict, dataclass, replace
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

from formexport import config
from formexport.local import folder
from formexport.local.convenience_file import ConvenienceFile
from formexport.opnform.models import parse_timestamp

FILE_NAME = "jobs.json"
# Version 1 did not record deliveries: its entries cannot tell a spent job from one to pick
# up, so they are ignored (it costs at most one export).
FORMAT_VERSION = 2
# Threads of one process (export_forms runs forms in parallel) change the file in turn, so that
# no "delivered" mark is lost to a concurrent write.
_LOCK = threading.RLock()


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
    delivered : bool
        True once its data reached the caller: the record is spent and never picked up.
    """

    key: str
    server: str
    form_id: int
    job_id: str
    started: datetime
    expires: datetime | None = None
    delivered: bool = False

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
            delivered=bool(data.get("delivered", False)),
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
        # A damaged record only costs a re-export; an unwritable one, picking a job up.
        self._file = ConvenienceFile(
            (root or folder.root_dir()) / FILE_NAME,
            FORMAT_VERSION,
            what="job record",
            level=logging.WARNING,
        )

    @property
    def path(self) -> Path:
        """Where the record is kept."""
        return self._file.path

    def all(self) -> list[JobRecord]:
        """Every recorded job, newest first; an unreadable file counts as empty."""
        return self._file.read(_records, [])

    def find(self, key: str) -> JobRecord | None:
        """The newest job for the request ``key`` worth picking up: not delivered, not stale."""
        now = datetime.now(timezone.utc)
        for record in self.all():
            if record.key == key and not record.delivered and not record.is_stale(now):
                return record
        return None

    def save(self, record: JobRecord) -> None:
        """Add or replace the entry for ``record.key``; drop stale and surplus entries.

        A job once marked delivered stays so (a later status of it changes nothing).
        """
        now = datetime.now(timezone.utc)
        with _LOCK:
            records = self.all()
            if any(r.job_id == record.job_id and r.delivered for r in records):
                record = replace(record, delivered=True)
            kept = [r for r in records if r.key != record.key and not r.is_stale(now)]
            self._write([record, *kept][: config.RECORDED_JOBS])

    def mark_delivered(self, job_id: str) -> None:
        """Record that ``job_id``'s data reached the caller: it is never picked up again."""
        with _LOCK:
            records = self.all()
            marked = [replace(r, delivered=True) if r.job_id == job_id else r for r in records]
            if marked != records:
                self._write(marked)

    def forget(self, job_id: str) -> None:
        """Remove a job (it failed, expired or was replaced)."""
        with _LOCK:
            records = self.all()
            remaining = [r for r in records if r.job_id != job_id]
            if len(remaining) != len(records):
                self._write(remaining)

    def clear(self) -> int:
        """Delete the record file; return the number of jobs it held."""
        with _LOCK:
            count = len(self.all())
            self._file.delete()
        return count

    def _write(self, records: list[JobRecord]) -> None:
        self._file.write({"jobs": [r.to_json() for r in records]})


def _records(data: dict[str, Any]) -> list[JobRecord]:
    return [JobRecord.from_json(entry) for entry in data["jobs"]]

"""The async export job: the cache entries ``ExportFormSubmissionsJob`` writes, in order.

Writes (OpnForm's ``ExportFormSubmissionsJob``): ``queued`` (by the controller) → ``processing 0``
(job start) → one write per chunk of 500 rows with ``progress = int(min(90, done/total*90))``
→ ``processing 95`` with null counts and the status text in ``error_message`` →
``completed 100``. Zero rows, a configured failure or a storage error end in ``failed``.
Each write rebuilds the entry (counts are not merged; only ``created_at`` carries over) and
restarts its time to live.

How fast a job moves is chosen per sandbox (:func:`catch_up`): all at once, one write per
status poll, one write every few seconds of sandbox time (or every job in a chosen time), or
never.
"""

from __future__ import annotations

import math
import uuid
from dataclasses import dataclass, field
from typing import Any, Protocol

from formexport.sandbox.platform.clock import iso_micro

CHUNK_ROWS = 500
NO_ROWS = "No submissions to export"
GENERATING = "Generating export file..."


class JobFailure(Exception):
    """Raised by a worker to fail a job with a message (the ``failed()`` hook)."""


class Worker(Protocol):
    """What a job needs from the backend."""

    def count_rows(self, job: QueuedExport) -> int:
        """How many rows the job will export (read at job start)."""
        ...

    def prepare(self, job: QueuedExport, at: float) -> None:
        """Start writing the file (at the 95% write)."""
        ...

    def ready(self, job: QueuedExport) -> bool:
        """Whether the file is written, so the job may complete."""
        ...

    def written_at(self, job: QueuedExport) -> float:
        """When a file written from the job's start was done (it may end the job later than
        its last step); 0 for a file written at its step."""
        ...

    def finish(self, job: QueuedExport, at: float) -> tuple[str, str]:
        """Return ``(file_url, expires_at)`` of the written file. May raise JobFailure."""
        ...


@dataclass
class QueuedExport:
    """One queued export and its current cache entry."""

    form_id: int
    user_id: int
    selected: list[str]
    submission_ids: list[int] | None
    posted_at: float
    ttl: float
    id: str = field(default_factory=lambda: str(uuid.uuid4()))
    entry: dict[str, Any] = field(default_factory=dict)
    written_at: float = 0.0
    steps_done: int = 0
    finished: bool = False
    started_at: float | None = None
    total: int = 0
    #: The step length of a job of chosen duration (``job_seconds``), else None.
    step_seconds: float | None = None
    # Another client's job of the form, its file written right after this one's under the same
    # name (the same second): it moves only with this job (see ``Backend.add_rival``).
    rival: QueuedExport | None = field(default=None, repr=False)

    def __post_init__(self) -> None:
        stamp = iso_micro(self.posted_at)
        self.entry = _entry("queued", 0, created_at=stamp, updated_at=stamp)
        self.written_at = self.posted_at

    def expired(self, now: float) -> bool:
        """Whether the cache entry has outlived its time to live."""
        return now >= self.written_at + self.ttl

    def body(self) -> dict[str, Any]:
        """``ExportJobStatusResource``: exactly ten keys."""
        return {"job_id": self.id, **self.entry}

    def advance(self, at: float, worker: Worker, *, fail_with: str | None, ttl: float) -> bool:
        """Perform the next write, dated ``at``; False if there is none yet (or ever)."""
        if self.finished:
            return False
        step = self.steps_done + 1
        chunks = math.ceil(self.total / CHUNK_ROWS)
        if step == 1:
            self.started_at = at
            self.total = worker.count_rows(self)
            self._write(at, ttl, "processing", 0)
        elif step == 2 and (fail_with or not self.total):
            self._fail(at, ttl, fail_with or NO_ROWS)
        elif step <= 1 + chunks:
            done = min((step - 1) * CHUNK_ROWS, self.total)
            progress = int(min(90.0, done / self.total * 90))
            self._write(at, ttl, "processing", progress, processed=done, total=self.total)
        elif step == 2 + chunks:
            self._write(at, ttl, "processing", 95, error=GENERATING)
            worker.prepare(self, at)
        elif not worker.ready(self):
            return False  # the file is still being written: stay at 95
        else:
            self._complete(max(at, worker.written_at(self)), worker, ttl)
        self.steps_done = step
        return True

    def _complete(self, at: float, worker: Worker, ttl: float) -> None:
        try:
            file_url, expires_at = worker.finish(self, at)
        except JobFailure as exc:
            self._fail(at, ttl, str(exc))
            return
        self._write(
            at,
            ttl,
            "completed",
            100,
            processed=self.total,
            total=self.total,
            file_url=file_url,
            expires_at=expires_at,
        )
        self.finished = True
        if self.rival is not None:
            self.rival.complete_alongside(self)

    def complete_alongside(self, partner: QueuedExport) -> None:
        """Complete with ``partner`` (whose rival this job is): its file, its times."""
        counts = {"processed_submissions": self.total, "total_submissions": self.total}
        self.entry = {**partner.entry, **counts, "created_at": iso_micro(self.posted_at)}
        self.started_at, self.written_at, self.ttl = (
            partner.started_at,
            partner.written_at,
            partner.ttl,
        )
        self.finished = True

    def _fail(self, at: float, ttl: float, message: str) -> None:
        self._write(at, ttl, "failed", 0, error=message)
        self.finished = True

    def _write(
        self,
        at: float,
        ttl: float,
        status: str,
        progress: int,
        *,
        processed: int | None = None,
        total: int | None = None,
        file_url: str | None = None,
        error: str | None = None,
        expires_at: str | None = None,
    ) -> None:
        self.entry = _entry(
            status,
            progress,
            processed=processed,
            total=total,
            file_url=file_url,
            error=error,
            expires_at=expires_at,
            created_at=self.entry["created_at"],
            updated_at=iso_micro(at),
        )
        self.written_at, self.ttl = at, ttl


def step_count(rows: int) -> int:
    """Writes of a job of ``rows`` rows after ``queued``: processing 0, one per chunk, 95 %,
    completed."""
    return math.ceil(rows / CHUNK_ROWS) + 3


def _entry(
    status: str,
    progress: int,
    *,
    created_at: str,
    updated_at: str,
    processed: int | None = None,
    total: int | None = None,
    file_url: str | None = None,
    error: str | None = None,
    expires_at: str | None = None,
) -> dict[str, Any]:
    return {
        "status": status,
        "progress": progress,
        "processed_submissions": processed,
        "total_submissions": total,
        "file_url": file_url,
        "error_message": error,
        "expires_at": expires_at,
        "created_at": created_at,
        "updated_at": updated_at,
    }


def catch_up(
    job: QueuedExport,
    *,
    mode: str,
    now: float,
    seconds_per_step: float,
    worker: Worker,
    fail_with: str | None,
    ttl: float,
) -> None:
    """Apply the writes that are due under a progression mode.

    ``immediate`` runs the job to its end now; ``timed`` applies every write whose time
    (``posted_at + k * step``, the job's own step or ``seconds_per_step``) has come, dated at
    that time; ``per_poll``
    and ``stuck`` do nothing here (a poll advances ``per_poll`` jobs itself).
    """
    if mode == "immediate":
        while job.advance(now, worker, fail_with=fail_with, ttl=ttl):
            pass
    elif mode == "timed":
        step = job.step_seconds or seconds_per_step
        due = math.floor((now - job.posted_at) / step + 1e-9)
        while job.steps_done < due:
            at = job.posted_at + (job.steps_done + 1) * step
            if not job.advance(at, worker, fail_with=fail_with, ttl=ttl):
                break

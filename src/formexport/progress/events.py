"""What an export reports about its progress, and the one interface every display implements.

The phases, in order: ``"export"`` (the server builds the file, in percent), ``"batches"``
(synchronous batches, in rows, when the status route is closed), ``"download"`` (bytes) and
``"parse"`` (rows).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Protocol, runtime_checkable

__all__ = ["LABELS", "UNITS", "ProgressEvent", "ProgressReporter", "describe"]

# Enough to tell jobs apart at a glance; logs and errors carry the whole id.
SHORT_ID_LENGTH = 8
UNITS = {"export": "%", "batches": "rows", "download": "B", "parse": "rows"}
LABELS = {
    "export": "Server export",
    "batches": "Export in batches",
    "download": "Download",
    "parse": "Read CSV",
}


@dataclass(frozen=True)
class ProgressEvent:
    """One progress update.

    Attributes
    ----------
    phase : str
        ``"export"``, ``"batches"``, ``"download"`` or ``"parse"``.
    completed : float
        Done so far, in ``unit``.
    total : float or None
        The end, when known.
    unit : str
        ``"%"``, ``"rows"`` or ``"B"``.
    message : str
        What the server says it is doing, e.g. ``"queued"`` or ``"Generating export file..."``.
    job_id : str or None
        The export job, when there is one.
    started_at : datetime or None
        When the job started on the server (its ``created_at``), else when the server accepted
        it; timers count from here.
    """

    phase: str
    completed: float
    total: float | None = None
    message: str = ""
    job_id: str | None = None
    started_at: datetime | None = None

    @property
    def short_job_id(self) -> str | None:
        """The job id's first 8 characters (a UUID's first group), for narrow displays."""
        return None if self.job_id is None else self.job_id[:SHORT_ID_LENGTH]

    @property
    def unit(self) -> str:
        """The unit of ``completed`` and ``total``."""
        return UNITS.get(self.phase, "")

    @property
    def fraction(self) -> float | None:
        """``completed / total`` in 0..1, when the total is known."""
        if self.total is None:
            return None
        if self.total <= 0:
            return 1.0  # nothing to do is done
        return max(0.0, min(1.0, self.completed / self.total))


@runtime_checkable
class ProgressReporter(Protocol):
    """Receives the events of one export."""

    def update(self, event: ProgressEvent) -> None:
        """Show ``event``."""

    def close(self) -> None:
        """The export is over (done or failed): release bars and widgets."""


def describe(event: ProgressEvent) -> str:
    """One line for ``event``, e.g. ``"Download (job 5b0f...): 1.2 MB of 3.4 MB"``."""
    label = LABELS.get(event.phase, event.phase)
    job = f" (job {event.job_id})" if event.job_id else ""
    if event.phase == "download":
        done = _megabytes(event.completed)
        amount = f"{done} of {_megabytes(event.total)}" if event.total else done
    elif event.total:
        amount = f"{event.completed:.0f}/{event.total:.0f} {event.unit}"
    else:
        amount = f"{event.completed:.0f} {event.unit}"
    if event.phase == "export":
        amount = f"{event.completed:.0f}%"
    message = f" - {event.message}" if event.message else ""
    return f"{label}{job}: {amount}{message}"


def _megabytes(value: float | None) -> str:
    return f"{(value or 0) / 1e6:.1f} MB"

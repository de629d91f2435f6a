"""What an export reports about its progress, and the one interface every display implements.

The phases, in order: ``"export"`` (the server builds the file, in percent), ``"batches"``
(synchronous batches, in rows, when the status route is closed), ``"download"`` (bytes),
``"parse"`` (rows) and, when asked for, ``"files"`` (the respondents' uploaded files, in files,
with their bytes: ``Files 37/120 · 14 MB``). One of three final events ends an export's display:
``"done"`` (what was delivered, e.g. ``Done · 2 500 rows × 15 columns · 5.1 s · job acfc3703``),
``"failed"`` (the error) or ``"stopped"`` (nobody watches any more; the job runs on).

Between them, an export may wait (:mod:`formexport.waits`): a ``"wait"`` event says what for
(its ``reason``), why (its ``message``), and counts in seconds: ``completed`` waited so far,
``total`` the whole wait when its end is known. A wait shows at its start, at every whole
second, and once more when it is over (``completed == total``); a display then shows the phase
it interrupted again. A wait with no known end (a queued job, another export's turn) may also
end with the next event of a phase.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol, runtime_checkable

from formexport.waits import Wait, WaitListener, WaitReason

__all__ = [
    "FINAL_PHASES",
    "LABELS",
    "UNITS",
    "WAIT_LABELS",
    "ProgressEvent",
    "ProgressReporter",
    "delivered",
    "describe",
    "failure",
    "label",
    "wait_listener",
    "wait_log_line",
    "wait_text",
    "waiting",
]

# Enough to tell jobs apart at a glance; logs and errors carry the whole id.
SHORT_ID_LENGTH = 8
UNITS = {
    "export": "%",
    "batches": "rows",
    "download": "B",
    "parse": "rows",
    "files": "files",
    "done": "rows",
    "wait": "s",
}
LABELS = {
    "export": "Server export",
    "batches": "Export in batches",
    "download": "Download",
    "parse": "Read CSV",
    "files": "Files",
    "done": "Done",
    "failed": "Failed",
    "stopped": "Stopped",
}
FINAL_PHASES = frozenset({"done", "failed", "stopped"})
# A wait's label, what its countdown says ("{}": the time left, or waited when its end is not
# known) and its log line; the event's message follows in brackets.
WAIT_LABELS: dict[str, str] = {
    WaitReason.RATE_LIMIT: "Rate limit",
    WaitReason.RETRY_AFTER: "Rate limit",
    WaitReason.RETRY: "Retrying",
    WaitReason.QUEUED: "Queued",
    WaitReason.TURN: "Waiting",
}
_COUNTDOWNS: dict[str, str] = {
    WaitReason.RATE_LIMIT: "next request in {}",
    WaitReason.RETRY_AFTER: "next request in {}",
    WaitReason.RETRY: "next attempt in {}",
    WaitReason.QUEUED: "waiting for a server worker for {}",
    WaitReason.TURN: "{} so far",
}
_LOG_LINES: dict[str, str] = {
    WaitReason.RATE_LIMIT: "waiting {} for the rate limit",
    WaitReason.RETRY_AFTER: "waiting {} for the rate limit",
    WaitReason.RETRY: "waiting {} before trying again",
    WaitReason.QUEUED: "waiting for a server worker, {} so far",
    WaitReason.TURN: "waiting for its turn, {} so far",
}


@dataclass(frozen=True)
class ProgressEvent:
    """One progress update.

    Attributes
    ----------
    phase : str
        ``"export"``, ``"batches"``, ``"download"``, ``"parse"`` or ``"files"``; then
        ``"done"``, ``"failed"`` or ``"stopped"``, whose ``message`` says what was delivered,
        the error, or where the job can be picked up. ``"wait"`` between them: the export
        waits.
    completed : float
        Done so far, in ``unit`` (for a wait: the seconds waited).
    total : float or None
        The end, when known (for a wait: its length in seconds).
    unit : str
        ``"%"``, ``"rows"``, ``"B"``, ``"files"`` or, for a wait, ``"s"``.
    message : str
        What the server says it is doing, e.g. ``"queued"`` or ``"Generating export file..."``;
        for a wait, why it waits (``"OpnForm allows 10 export requests a minute"``).
    job_id : str or None
        The export job, when there is one.
    started_at : datetime or None
        When the job started on the server (its ``created_at``), else when the server accepted
        it; timers count from here.
    size : int or None
        Bytes of the files saved so far (the ``"files"`` phase).
    reason : str
        For a wait, what it waits for: ``"rate_limit"`` (this process keeps to OpnForm's
        limits), ``"retry_after"`` (the server refused a request with 429), ``"retry"`` (a
        failed request is repeated after a pause), ``"queued"`` (the server job waits for a
        worker) or ``"turn"`` (another export of the form goes first). Empty otherwise.
    """

    phase: str
    completed: float
    total: float | None = None
    message: str = ""
    job_id: str | None = None
    started_at: datetime | None = None
    size: int | None = None
    reason: str = ""

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

    @property
    def seconds_left(self) -> float | None:
        """For a wait whose end is known, the seconds still to wait; None otherwise."""
        if self.phase != "wait" or self.total is None:
            return None
        return max(0.0, self.total - self.completed)

    @property
    def wait_over(self) -> bool:
        """True for the event that ends a wait (its display shows the interrupted phase again)."""
        return self.phase == "wait" and self.total is not None and self.completed >= self.total


@runtime_checkable
class ProgressReporter(Protocol):
    """Receives the events of one export."""

    def update(self, event: ProgressEvent) -> None:
        """Show ``event``."""

    def close(self) -> None:
        """The export is over (done or failed): release bars and widgets."""


def describe(event: ProgressEvent) -> str:
    """One line for ``event``, e.g. ``"Download (job 5b0f...): 1.2 MB of 3.4 MB"``.

    A final event reads ``"Done · 2 500 rows × 15 columns · 5.1 s · job acfc3703"``, the files
    phase ``"Files 37/120 · 14 MB"``, a wait ``"Rate limit · next request in 41 s (OpnForm
    allows 100 API requests a minute)"``.
    """
    if event.phase == "wait":
        return f"{label(event)} · {wait_text(event)}"
    label_text = label(event)
    if event.phase == "files":
        counted = f"{event.completed:.0f}/{event.total:.0f}" if event.total else "0"
        return f"{label_text} {counted} · {_size(event.size or 0)}"
    if event.phase in FINAL_PHASES:
        parts = [label_text, event.message]
        if event.job_id and event.job_id not in event.message:
            parts.append(f"job {event.short_job_id}")
        return " · ".join(part for part in parts if part)
    job = f" (job {event.job_id})" if event.job_id else ""
    if event.phase == "download":
        scale = event.total or event.completed
        done = _size(event.completed, scale)
        amount = f"{done} of {_size(event.total, scale)}" if event.total else done
    elif event.total:
        amount = f"{event.completed:.0f}/{event.total:.0f} {event.unit}"
    else:
        amount = f"{event.completed:.0f} {event.unit}"
    if event.phase == "export":
        amount = f"{event.completed:.0f}%"
    message = f" - {event.message}" if event.message else ""
    return f"{label_text}{job}: {amount}{message}"


def label(event: ProgressEvent) -> str:
    """The phase's name (``"Download"``), or for a wait what it waits for (``"Rate limit"``)."""
    if event.phase == "wait":
        return WAIT_LABELS.get(event.reason, "Waiting")
    return LABELS.get(event.phase, event.phase)


def wait_text(event: ProgressEvent) -> str:
    """A wait's countdown and why: ``"next request in 41 s (OpnForm allows 10 export requests
    a minute)"``; a wait with no known end counts the time waited."""
    countdown = _COUNTDOWNS.get(event.reason, "{}")
    return countdown.format(_wait_seconds(event)) + _in_brackets(event.message)


def wait_log_line(event: ProgressEvent) -> str:
    """The one log line of a wait, as it starts.

    Examples
    --------
    >>> wait = Wait(WaitReason.RATE_LIMIT, "OpnForm allows 10 export requests a minute", 0.0, 57.0)
    >>> wait_log_line(waiting(wait, 0.0))
    'waiting 57 s for the rate limit (OpnForm allows 10 export requests a minute)'
    """
    line = _LOG_LINES.get(event.reason, "waiting {}")
    return line.format(_wait_seconds(event)) + _in_brackets(event.message)


def waiting(wait: Wait, now: float, *, job_id: str | None = None) -> ProgressEvent:
    """The ``"wait"`` event of ``wait`` at clock reading ``now``.

    Examples
    --------
    >>> wait = Wait(WaitReason.RATE_LIMIT, "OpnForm allows 100 API requests a minute", 0.0, 57.0)
    >>> describe(waiting(wait, 16.0))
    'Rate limit · next request in 41 s (OpnForm allows 100 API requests a minute)'
    """
    waited = max(0.0, now - wait.clock_start)
    total = wait.seconds
    if total is not None:
        waited = min(waited, total)
    return ProgressEvent(
        "wait", waited, total, wait.detail, job_id=job_id, reason=WaitReason(wait.reason).value
    )


def wait_listener(show: Callable[[ProgressEvent], object]) -> WaitListener:
    """A listener for :func:`formexport.waits.shown_to` that shows each wait with ``show``."""

    def listener(wait: Wait, now: float) -> None:
        show(waiting(wait, now))

    return listener


def _wait_seconds(event: ProgressEvent) -> str:
    """The countdown's figure: seconds left (rounded up), or waited when the end is unknown."""
    left = event.seconds_left
    seconds = math.floor(event.completed) if left is None else math.ceil(left - 1e-9)
    if seconds < 120:
        return f"{seconds} s"
    minutes, rest = divmod(seconds, 60)
    return f"{minutes} min {rest} s" if rest else f"{minutes} min"


def _in_brackets(text: str) -> str:
    return f" ({text})" if text else ""


def _size(value: float | None, scale: float | None = None) -> str:
    """``1.3 MB``, or ``42 kB`` below a megabyte (``scale``, the larger figure of the line,
    picks the unit, so that one line never mixes two)."""
    if (scale if scale is not None else value or 0) < 1e6:
        return f"{(value or 0) / 1e3:.0f} kB"
    return f"{(value or 0) / 1e6:.1f} MB"


def _count(value: int) -> str:
    """``2 500``: thousands apart, as the progress line shows them."""
    return f"{value:,}".replace(",", " ")


def delivered(
    seconds: float,
    *,
    rows: int | None = None,
    columns: int | None = None,
    size: int | None = None,
    file: str | None = None,
    job_id: str | None = None,
    files: int | None = None,
) -> ProgressEvent:
    """The ``"done"`` event: what was delivered, where to, and how long the export took.

    Examples
    --------
    >>> describe(delivered(5.06, rows=2500, columns=15, job_id="acfc3703-5b0f-4c61"))
    'Done · 2 500 rows × 15 columns · 5.1 s · job acfc3703'
    >>> describe(delivered(0.4, size=1_338_812, file="events.csv"))
    'Done · 1.3 MB → events.csv · 0.4 s'
    >>> describe(delivered(2.0, rows=250, columns=13, files=120))
    'Done · 250 rows × 13 columns · 120 files · 2.0 s'
    """
    what = []
    if rows is not None:
        shape = f"{_count(rows)} row{'s' if rows != 1 else ''}"
        if columns is not None:
            shape += f" × {_count(columns)} column{'s' if columns != 1 else ''}"
        what.append(shape)
    elif size is not None:
        what.append(_size(size))
    if file is not None:
        what.append(f"→ {file}")
    message = " ".join(what)
    if files is not None:
        message += f" · {_count(files)} file{'s' if files != 1 else ''}"
    message += f" · {seconds:.1f} s"
    return ProgressEvent("done", rows or 0, rows or 0, message, job_id=job_id)


def failure(error: BaseException, *, job_id: str | None = None) -> ProgressEvent:
    """The ``"failed"`` event for ``error``: its type and what happened.

    An error that keeps its next step apart (``reason``) shows only what happened: the next
    step depends on where the error is handled (Python, the command line) and comes with it.
    """
    said = getattr(error, "reason", None) or str(error)
    return ProgressEvent("failed", 0, None, f"{type(error).__name__}: {said}", job_id=job_id)

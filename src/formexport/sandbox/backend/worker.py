"""The queue worker's file writing: inline, or on a background thread like a real worker.

With ``job_progression="immediate"`` (``QUEUE_CONNECTION=sync``) the file is written
during the request. Otherwise a thread writes it; a poll that would complete the job
waits up to :data:`READY_WAIT` seconds for it (so small exports step exactly as the
progression says) and otherwise answers 95% again, so a million-row export never blocks
a poll for long. Reset and close cancel the threads; a cancelled write leaves no file.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

#: How long a poll waits for a file being written before answering 95% again.
READY_WAIT = 2.0


class Cancelled(Exception):
    """Raised inside a writer when its sandbox was reset or closed."""


@dataclass
class FileTask:
    """One export file being written."""

    path: Path
    name: str
    expires: float | None  # link expiry fixed at job start (v2.2.1+), else at completion
    s3: bool
    error: str | None = None
    thread: threading.Thread | None = field(default=None, repr=False)
    #: Sandbox time the file was done, noted for files written from a job's start.
    written_at: float | None = None

    def ready(self, wait: float = 0.0) -> bool:
        """Whether writing has ended (successfully or not), waiting up to ``wait`` seconds."""
        if self.thread is None:
            return True
        self.thread.join(wait)
        return not self.thread.is_alive()


Write = Callable[[Callable[[], None]], None]


class FileWriter:
    """Runs file writes and can cancel those still running."""

    def __init__(self) -> None:
        self._cancel = threading.Event()
        self._threads: set[threading.Thread] = set()
        self._lock = threading.Lock()

    def run(self, task: FileTask, write: Write, *, background: bool) -> None:
        """Call ``write(check)``; ``check()`` raises :class:`Cancelled` after a cancel.

        Errors end up in ``task.error`` (the job's ``failed()`` message).
        """
        cancel = self._cancel
        task.path.parent.mkdir(parents=True, exist_ok=True)

        def check() -> None:
            if cancel.is_set():
                raise Cancelled

        def body() -> None:
            try:
                write(check)
            except Cancelled:
                pass  # the writer left nothing behind (a file of the same name is another job's)
            except Exception as exc:  # a storage error fails the job, as in OpnForm
                task.error = str(exc) or type(exc).__name__
            finally:
                with self._lock:
                    self._threads.discard(threading.current_thread())

        if not background:
            body()
            return
        thread = threading.Thread(target=body, name=f"export-{task.name}", daemon=True)
        task.thread = thread
        with self._lock:
            self._threads.add(thread)
        thread.start()

    def cancel_all(self, timeout: float = 5.0) -> None:
        """Stop running writers and wait for them; later writes are not affected."""
        with self._lock:
            threads = list(self._threads)
            self._cancel.set()
            self._cancel = threading.Event()
        for thread in threads:
            thread.join(timeout)

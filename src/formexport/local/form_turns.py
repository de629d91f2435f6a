"""Exports of one form take turns on this machine, from the export request to the delivered data.

OpnForm names a server job's file after the form and the second the job finished
(``exports/temp/{slug}-submissions-{Y-m-d-H-i-s}.csv``): two jobs of one form that finish in the
same second share one file, the later overwriting the earlier, and both status answers point at
it. An export therefore holds its form's turn from its request until its data is delivered (a
frame returned, a file written) or its job is closed; exports of other forms, or of the same form
on another server, run side by side.

A turn is keyed on the server (spelled one way, :func:`~formexport.local.folder.canonical_server`)
and the form's numeric id, never on the form as typed: ``2`` and its slug wait for each other.
It is an operating-system lock (``filelock``) on a file in formexport's private folder, so it
holds between the threads and the processes of this machine (two kernels, two command-line runs),
and the system releases it when its process dies: a crashed kernel leaves no form locked. The
lock files stay (one empty file per server and form): deleting one while another process waits
on it would let two exports hold the same turn.

A thread that already holds a form's turn (it started a job and has not read it yet) shares it
with its next export of that form: waiting for itself would never end. Each delivered file is
checked against its request anyway (:mod:`formexport.jobs.delivery`); the turn keeps clashes
from happening, the check catches those it cannot prevent.
"""

from __future__ import annotations

import hashlib
import logging
import threading
import time
import weakref
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from filelock import FileLock, Timeout

from formexport import config
from formexport.errors import ConfigurationError, ExportTimeoutError
from formexport.local import folder
from formexport.waits import Wait, WaitReason, wait_for

logger = logging.getLogger("formexport")

TURNS_DIR = "turns"
#: What the progress display says while an export waits for its turn.
WAITING = "waiting for another export of this form on this machine (one at a time per form)"


@dataclass
class _Holding:
    """This process's hold on one lock file: the thread that took it, and its exports."""

    thread: threading.Thread
    lock: FileLock
    turns: int = 1


# Threads of this process settle among themselves here, without a second lock on the same file.
_held: dict[Path, _Holding] = {}
_held_lock = threading.Lock()


class FormTurn:
    """One export's turn at a form: taken once, released once (at the latest when garbage).

    Parameters
    ----------
    server : str
        The API base URL.
    form_id : int
        The form's numeric id.
    root : Path, optional
        formexport's private folder (:func:`~formexport.local.folder.root_dir` by default).
    """

    def __init__(self, server: str, form_id: int, root: Path | None = None) -> None:
        self.form_id = form_id
        key = f"{folder.canonical_server(server)}\n{int(form_id)}".encode()
        name = hashlib.sha256(key).hexdigest()[:32]
        self.path = (root or folder.root_dir()) / TURNS_DIR / f"{name}.lock"
        self._release: weakref.finalize[[Path], FormTurn] | None = None

    def __repr__(self) -> str:
        return f"FormTurn(form_id={self.form_id}, held={self.held})"

    @property
    def held(self) -> bool:
        """True from :meth:`take` until :meth:`release`."""
        return self._release is not None and self._release.alive

    def take(
        self,
        *,
        deadline: float | None = None,
        sleep: Callable[[float], None] = time.sleep,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        """Wait until no other export of the form holds the turn, then hold it.

        The wait is a :class:`~formexport.waits.Wait` (shown on the export's display, with an
        INFO line). ``sleep`` does the waiting, so whatever it raises ends the wait (a
        cancelled background export). When the private folder cannot hold the lock, the export
        goes on without a turn, with a warning.

        Raises
        ------
        ExportTimeoutError
            ``deadline`` (a value of ``clock``) passed while another export held the turn.
        """
        began = clock()
        entered = self._enter()

        def ready(seconds: float) -> bool:
            nonlocal entered
            left = None if deadline is None else deadline - clock()
            if left is not None and left <= 0:
                raise ExportTimeoutError(self._timed_out(clock() - began), job_id=None)
            sleep(min(config.TURN_POLL_INTERVAL, seconds, *(() if left is None else (left,))))
            entered = self._enter()
            return entered is not False

        if entered is False:
            logger.info(
                "Waiting for the turn at form %s: another export of it on this machine has not "
                "delivered its data yet (OpnForm names export files by form and second)",
                self.form_id,
            )
            wait_for(ready, Wait(WaitReason.TURN, WAITING, began), clock=clock)
        if entered:
            self._release = weakref.finalize(self, _leave, self.path)

    def _enter(self) -> bool | None:
        """True once held, False while another export holds it, None if no lock can be had."""
        try:
            folder.private_dir(self.path.parent)
            return _enter(self.path)
        except (OSError, ConfigurationError) as exc:
            logger.warning(
                "Exporting form %s without taking turns with other exports of it: %s",
                self.form_id,
                exc,
            )
            return None

    def _timed_out(self, waited: float) -> str:
        return (
            f"Waited {waited:.1f} s for another export of form {self.form_id} on this machine "
            "(another thread, notebook or command) to deliver its data. Exports of one form "
            "take turns because OpnForm names export files by form and second; retry once it "
            "is done, or allow a longer timeout."
        )

    def release(self) -> None:
        """Let the next export of the form go (nothing if not held)."""
        if self._release is not None:
            self._release()


def _enter(path: Path) -> bool:
    """Hold ``path``'s lock for the calling thread, if no other thread or process holds it."""
    me = threading.current_thread()
    with _held_lock:
        holding = _held.get(path)
        if holding is not None:
            if holding.thread is not me:
                return False
            holding.turns += 1
            return True
        lock = FileLock(path, mode=folder.FILE_MODE, thread_local=False)
        try:
            lock.acquire(blocking=False)
        except Timeout:
            return False
        _held[path] = _Holding(me, lock)
        return True


def _leave(path: Path) -> None:
    with _held_lock:
        holding = _held.get(path)
        if holding is None:
            return
        holding.turns -= 1
        if holding.turns == 0:
            del _held[path]
            holding.lock.release()

"""Exports that run in the background: start now, keep working, collect the data later.

:func:`formexport.start_export` runs an export in a thread of its own and returns an
:class:`ExportFuture` at once. The future is a :class:`concurrent.futures.Future` (``done()``,
``result()``, ``exception()``, ``add_done_callback()``, ``concurrent.futures.wait``), can be
awaited in an asyncio loop (Jupyter's top-level ``await``), and holds the
:class:`~formexport.ExportJob` once the server has it. No event loop is needed: a plain script
works the same way.

The progress display is made in the calling thread, so it appears under the cell that started
the export, and keeps moving from the export's thread while other cells run. It ends on what
was delivered, or red on the error, even if nobody ever asks for the result.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextlib
import logging
import threading
from collections.abc import Callable, Generator, Hashable
from typing import Any, TypeVar

from formexport.errors import ExportCancelled, ExportInterrupted
from formexport.jobs.export_job import ExportJob
from formexport.opnform.retry import RetryPolicy
from formexport.progress.events import (
    FINAL_PHASES,
    ProgressEvent,
    ProgressReporter,
    failure,
    wait_listener,
)
from formexport.progress.reporters import is_silent
from formexport.waits import shown_to

logger = logging.getLogger("formexport")

T = TypeVar("T")

# Exports started by this process that are still running, by request: re-running a notebook
# cell finds its export here instead of starting a second one.
_running: dict[Hashable, ExportFuture[Any]] = {}
_running_lock = threading.Lock()


class _Watch:
    """The export's progress display, as the export's thread sees it.

    Once the future is cancelled, the next progress report stops the export's thread (nobody
    watches any more); a final event (done, failed, stopped) is shown once, after ``on_end``
    has run.
    """

    def __init__(
        self, reporter: ProgressReporter, stop: threading.Event, on_end: Callable[[], None]
    ) -> None:
        self._reporter = reporter
        self._stop = stop
        self._on_end = on_end
        self._lock = threading.Lock()
        self.ended = False
        self._closed = False

    def update(self, event: ProgressEvent) -> None:
        """Show ``event``; stop the export's thread if the future was cancelled."""
        final = event.phase in FINAL_PHASES
        if self._stop.is_set() and not final:
            raise _stopped()
        with self._lock:
            if self.ended:
                return
            self.ended = final
            if final:
                self._on_end()
            self._reporter.update(event)

    def end(self, event: ProgressEvent) -> None:
        """Show a final event unless one was shown, and close the display."""
        self.update(event)
        self.close()

    def close(self) -> None:
        """Close the display once it has ended (the bar keeps its last state)."""
        with self._lock:
            if self._closed:
                return
            self._closed = self.ended
            self._reporter.close()

    @property
    def silent(self) -> bool:
        """True when the display shows nothing (waits are then said in log lines)."""
        return is_silent(self._reporter)

    def show_again(self) -> None:
        """Show the display in the running cell too, where the display can."""
        show = getattr(self._reporter, "show_again", None)
        if callable(show):
            show()


def _stopped() -> ExportInterrupted:
    return ExportInterrupted("Stopped watching: the export was cancelled.", job_id=None)


class ExportFuture(concurrent.futures.Future[T]):
    """An export running in the background; its result is the DataFrame (or the file written).

    Made by :func:`formexport.start_export`. A :class:`concurrent.futures.Future`: ``done()``,
    ``result(timeout=None)``, ``exception(timeout=None)``, ``add_done_callback(fn)``, and
    ``concurrent.futures.wait`` / ``as_completed`` work on it; ``await fut`` waits in an asyncio
    loop without blocking it.

    Attributes
    ----------
    form : int or str
        The form, as given.
    job : ExportJob or None
        The export, once the server has accepted it (``job.job_id`` names a background job).

    Examples
    --------
    >>> import concurrent.futures
    >>> import formexport as fx
    >>> futures = [fx.start_export(form, progress=None) for form in (1, 2)]
    >>> done, _ = concurrent.futures.wait(futures)
    >>> [fut.result().shape for fut in futures]
    [(250, 13), (2500, 15)]
    """

    def __init__(self, form: object, reporter: ProgressReporter) -> None:
        super().__init__()
        self.form = form
        self.job: ExportJob | None = None
        self._stop = threading.Event()
        # Forgotten before the display shows the end (a stage may show it before the export's
        # thread returns): a call made once it shows the end starts a new export.
        self._watch = _Watch(reporter, self._stop, on_end=lambda: _forget(self))
        self._key: Hashable | None = None

    def __repr__(self) -> str:
        if self.cancelled():
            state = "cancelled"
        elif self.done():
            state = "failed" if self.exception() is not None else "finished"
        else:
            state = "running"
        job = self.job.job_id if self.job is not None else None
        return f"ExportFuture(form={self.form!r}, state={state!r}, job_id={job!r})"

    def running(self) -> bool:
        """True until the export has finished, failed or been cancelled."""
        return not self.done()

    def result(self, timeout: float | None = None) -> T:
        """The DataFrame (or the path written), waiting up to ``timeout`` seconds for it.

        Raises
        ------
        FormExportError
            The export's own error, of the same type a blocking call raises.
        ExportCancelled
            The future was cancelled (see :meth:`cancel`).
        TimeoutError
            Not finished within ``timeout``; the export goes on.
        ExportInterrupted
            Ctrl-C while waiting: nobody watches the export any more; its job keeps running
            on the server.
        """
        try:
            return super().result(timeout)
        except concurrent.futures.CancelledError as exc:
            if isinstance(exc, ExportCancelled):
                raise
            raise self._cancelled_error() from None
        except KeyboardInterrupt as exc:
            if isinstance(exc, ExportInterrupted):
                raise
            self.cancel()
            job_id, form_id = self._ids()
            raise ExportInterrupted(self._left_running(), job_id=job_id, form_id=form_id) from None

    def exception(self, timeout: float | None = None) -> BaseException | None:
        """The export's error, or None once it delivered; waits like :meth:`result`."""
        try:
            return super().exception(timeout)
        except concurrent.futures.CancelledError:
            raise self._cancelled_error() from None

    def cancel(self) -> bool:
        """Stop watching the export; its background job keeps running on the server.

        The display and a log line say how to pick the job up: the same
        :func:`~formexport.start_export` call does so by itself (see ``reattach``), or
        :meth:`formexport.ExportJob.attach` with its id. Returns False when the export had
        already finished (True again for one already cancelled).
        """
        if self.cancelled():
            return True
        if not super().cancel():
            return False
        self._stop.set()
        message = str(self._cancelled_error())
        logger.warning("%s", message)
        self._watch.end(ProgressEvent("stopped", 0, None, message, job_id=self._ids()[0]))
        return True

    def __await__(self) -> Generator[Any, None, T]:
        """``await fut`` in an asyncio loop: the result, without blocking the loop."""
        return self._result_async().__await__()

    async def _result_async(self) -> T:
        loop = asyncio.get_running_loop()
        finished: asyncio.Future[None] = loop.create_future()

        def wake(_: object) -> None:
            loop.call_soon_threadsafe(_settle, finished)

        self.add_done_callback(wake)
        try:
            await finished
        except asyncio.CancelledError:
            self.cancel()  # the awaiting task was cancelled (an interrupted cell): stop watching
            raise
        return self.result()

    def _ids(self) -> tuple[str | None, int | None]:
        """The job's id and its form's id, once the server has accepted the export."""
        if self.job is None:
            return None, None
        return self.job.job_id, self.job.form_id

    def _job_id(self) -> str | None:
        return self._ids()[0]

    def _cancelled_error(self) -> ExportCancelled:
        job_id, form_id = self._ids()
        return ExportCancelled(self._left_running(), job_id=job_id, form_id=form_id)

    def _left_running(self) -> str:
        """Where the export is, once nobody watches it any more (the error adds the call)."""
        job_id = self._job_id()
        if job_id is None:
            return (
                f"Stopped watching the export of form {self.form!r} before the server named "
                "a job; if it started one, calling start_export again with the same arguments "
                "picks it up."
            )
        return (
            f"Stopped watching export job {job_id} of form {self.form!r}; it keeps running on "
            "the server. Calling start_export again with the same arguments picks it up."
        )

    def _run(self, work: Callable[[ExportFuture[T]], T]) -> None:
        """The export's thread: do ``work`` and settle the future.

        Every wait of the thread (the form's turn, rate limits, retries, a queued job) shows on
        the export's display.
        """
        try:
            with self._waits_shown():
                value = work(self)
        except BaseException as exc:
            if self._stop.is_set():
                return  # cancelled: the future and the display say so already
            self._watch.end(failure(exc, job_id=self._job_id()))
            with contextlib.suppress(concurrent.futures.InvalidStateError):  # cancelled meanwhile
                self.set_exception(exc)
            return
        _forget(self)  # the work may not have shown its end
        self._watch.close()
        with contextlib.suppress(concurrent.futures.InvalidStateError):
            self.set_result(value)

    def _waits_shown(self) -> contextlib.AbstractContextManager[None]:
        """Waits shown on the export's display, unless it shows nothing (then logged)."""
        if self._watch.silent:
            return contextlib.nullcontext()
        return shown_to(wait_listener(self._watch.update))

    @property
    def progress(self) -> _Watch:
        """The display, to pass as the export's ``progress``; stops the thread once cancelled."""
        return self._watch

    def sleep(self, seconds: float) -> None:
        """Wait ``seconds``, or stop at once when the future is cancelled."""
        if self._stop.wait(seconds):
            raise _stopped()

    def retry_policy(self) -> RetryPolicy:
        """The default retry policy, whose waits end when the future is cancelled."""
        return RetryPolicy(sleep=self.sleep)


def _settle(waiter: asyncio.Future[None]) -> None:
    if not waiter.done():
        waiter.set_result(None)


def _forget(future: ExportFuture[Any]) -> None:
    with _running_lock:
        if future._key is not None and _running.get(future._key) is future:
            del _running[future._key]


def run_in_background(
    work: Callable[[ExportFuture[T]], T],
    *,
    form: object,
    reporter: ProgressReporter,
    key: Hashable,
) -> ExportFuture[T]:
    """Start ``work`` in a thread of its own and return its future at once.

    ``work`` receives the future: its ``progress`` is the display to report to, its
    ``retry_policy()`` waits only until the future is cancelled, and it sets ``job`` once the
    server has accepted the export. When an export of the same ``key`` (the same request) is
    still running in this process, that one's future is returned instead, shown again in the
    running cell, with a log line that says so. (Exports of one form take turns in
    :meth:`~formexport.Client.start_export`, which ``work`` calls.)
    """
    with _running_lock:
        running = _running.get(key)
        if running is None or running.done():
            future: ExportFuture[T] = ExportFuture(form, reporter)
            future._key = key
            _running[key] = future
        else:
            future = running
    if future is running:
        _say_already_running(future)
        return future
    # The display appears now, under the calling cell, before the thread reports anything.
    future.progress.update(ProgressEvent("export", 0, 100, "starting"))
    thread = threading.Thread(
        target=future._run, args=(work,), name=f"formexport-export-{form}", daemon=True
    )
    thread.start()
    return future


def _say_already_running(future: ExportFuture[Any]) -> None:
    logger.warning(
        "The same export of form %r is already running in this process: returning it instead "
        "of starting a second one.",
        future.form,
    )
    future.progress.show_again()

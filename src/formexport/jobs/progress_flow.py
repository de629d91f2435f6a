"""One export's progress display, from the first phase to the last, waits included."""

from __future__ import annotations

import contextlib
import time
from collections.abc import Callable, Iterator

from formexport.progress.events import delivered, failure, wait_listener
from formexport.progress.reporters import (
    ProgressEvent,
    ProgressOption,
    ProgressReporter,
    is_silent,
    make_reporter,
)
from formexport.waits import shown_to


class ExportProgress:
    """The progress display of one export call: server export, download, reading.

    A user may call ``wait()`` in one notebook cell and ``to_dataframe()`` in the next: the
    display is made once, from the ``progress=`` option of the call that starts the flow, follows
    every phase, and is closed once, when the call that delivers the data ends (or any call
    fails). Delivering again (a second ``to_dataframe()``) opens a new flow with the last option
    given; so does every ``wait(progress=...)``.

    The flow ends on a final event: what was delivered and how long it took (counted from the
    start of the flow, or from the call that started the export), or the error.
    """

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self._option: ProgressOption = "auto"
        self._reporter: ProgressReporter | None = None
        self._clock = clock
        self._clock_start: float | None = None

    def start(self, option: ProgressOption, *, clock_start: float | None = None) -> None:
        """Open a flow showing progress the way ``option`` asks (ending any under way).

        ``clock_start`` is the clock value the flow's time counts from (default: now).
        """
        reporter = make_reporter(option)  # an invalid option raises before anything changes
        self.finish()
        self._option, self._reporter = option, reporter
        self._clock_start = self._clock() if clock_start is None else clock_start

    def update(self, event: ProgressEvent) -> None:
        """Show ``event``, opening a flow with the last option given if none is under way."""
        self._open().update(event)

    def _open(self) -> ProgressReporter:
        if self._reporter is None:
            self._reporter = make_reporter(self._option)
            self._clock_start = self._clock()
        return self._reporter

    @contextlib.contextmanager
    def showing_waits(self) -> Iterator[None]:
        """Show the waits of the block (rate limits, retries, a queued job) on this display.

        A display that shows nothing (``progress=None``) leaves them to log lines.
        """
        if is_silent(self._open()):
            yield
            return
        with shown_to(wait_listener(self.update)):
            yield

    def deliver(
        self,
        *,
        rows: int | None = None,
        columns: int | None = None,
        size: int | None = None,
        file: str | None = None,
        job_id: str | None = None,
        files: int | None = None,
    ) -> None:
        """End the flow on what was delivered (:func:`formexport.progress.events.delivered`)."""
        start = self._clock_start if self._clock_start is not None else self._clock()
        seconds = max(0.0, self._clock() - start)
        shown = delivered(
            seconds, rows=rows, columns=columns, size=size, file=file, job_id=job_id, files=files
        )
        self.update(shown)
        self.finish()

    def finish(self, error: BaseException | None = None, *, job_id: str | None = None) -> None:
        """Close the flow (bars end, the widget turns green or orange); nothing if none is open.

        An ``error`` that is an :class:`Exception` is shown first (the widget turns red); Ctrl-C
        leaves the display where it stopped.
        """
        reporter, self._reporter = self._reporter, None
        if reporter is None:
            return
        try:
            if isinstance(error, Exception):
                reporter.update(failure(error, job_id=job_id))
        finally:
            reporter.close()


@contextlib.contextmanager
def waits_shown(reporter: ProgressReporter) -> Iterator[None]:
    """Show the waits of the block on ``reporter``, before the export has a flow of its own.

    The export request itself may wait (OpnForm allows 10 a minute). When the block fails after
    a wait was shown, the display ends on the error, as a flow's does.
    """
    if is_silent(reporter):
        yield
        return
    shown: list[ProgressEvent] = []

    def show(event: ProgressEvent) -> None:
        shown[:] = [event]
        reporter.update(event)

    try:
        with shown_to(wait_listener(show)):
            yield
    except Exception as exc:
        if shown:
            reporter.update(failure(exc))
            reporter.close()
        raise

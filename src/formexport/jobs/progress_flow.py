"""One export's progress display, from the first phase to the last."""

from __future__ import annotations

import time
from collections.abc import Callable

from formexport.progress.events import delivered, failure
from formexport.progress.reporters import (
    ProgressEvent,
    ProgressOption,
    ProgressReporter,
    make_reporter,
)


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
        if self._reporter is None:
            self._reporter = make_reporter(self._option)
            self._clock_start = self._clock()
        self._reporter.update(event)

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

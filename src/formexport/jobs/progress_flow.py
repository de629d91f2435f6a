"""One export's progress display, from the first phase to the last."""

from __future__ import annotations

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
    """

    def __init__(self) -> None:
        self._option: ProgressOption = "auto"
        self._reporter: ProgressReporter | None = None

    def start(self, option: ProgressOption) -> None:
        """Open a flow showing progress the way ``option`` asks (ending any under way)."""
        reporter = make_reporter(option)  # an invalid option raises before anything changes
        self.finish()
        self._option, self._reporter = option, reporter

    def update(self, event: ProgressEvent) -> None:
        """Show ``event``, opening a flow with the last option given if none is under way."""
        if self._reporter is None:
            self._reporter = make_reporter(self._option)
        self._reporter.update(event)

    def finish(self) -> None:
        """Close the flow (bars end, the widget turns green or orange); nothing if none is open."""
        reporter, self._reporter = self._reporter, None
        if reporter is not None:
            reporter.close()

"""Progress that fits where it runs: a Jupyter widget, a terminal bar, or log lines.

Every export reports :class:`~formexport.progress.events.ProgressEvent` objects to one
:class:`~formexport.progress.events.ProgressReporter`; :func:`make_reporter` picks the display.
"""

from __future__ import annotations

import logging
import math
import os
import sys
import time
from collections.abc import Callable
from typing import Any

from formexport.config import PROGRESS_ENV
from formexport.errors import InvalidArgumentError
from formexport.progress import jupyter
from formexport.progress.events import (
    FINAL_PHASES,
    LABELS,
    ProgressEvent,
    ProgressReporter,
    describe,
    wait_log_line,
)

__all__ = [
    "CallbackReporter",
    "LogReporter",
    "NullReporter",
    "ProgressEvent",
    "ProgressReporter",
    "TqdmReporter",
    "detect_progress_mode",
    "is_silent",
    "make_reporter",
]

logger = logging.getLogger("formexport.progress")


MODES = ("tqdm", "widget", "log", "none")


class NullReporter:
    """Shows nothing (waits included: they go to logging, as without a display)."""

    silent = True

    def update(self, event: ProgressEvent) -> None:
        """Ignore ``event``."""

    def close(self) -> None:
        """Nothing to release."""


class CallbackReporter:
    """Passes every event to a function of the caller's."""

    def __init__(self, callback: Callable[[ProgressEvent], object]) -> None:
        self._callback = callback

    def update(self, event: ProgressEvent) -> None:
        """Call the callback with ``event``."""
        self._callback(event)

    def close(self) -> None:
        """Nothing to release."""


class LogReporter:
    """Throttled lines for cron, CI and papermill: a line per state change, and otherwise at
    most one per ``step`` of progress or per ``interval`` seconds.

    The lines are ``logging`` records at INFO. Where nobody configured logging (no handler on
    the ``formexport`` loggers or the root logger), they would be dropped, so they are written
    to standard error instead: a script, a cron job, ``nbconvert --execute`` and papermill's
    ``--log-output`` show them. A handler configured anywhere puts logging back in charge.

    A wait is one line as it starts (``waiting 57 s for the rate limit (OpnForm allows 10
    export requests a minute)``), and another only if its reason changes (a job queued so long
    that no worker may be running); never one per second.
    """

    def __init__(
        self,
        *,
        step: float = 0.1,
        interval: float = 30.0,
        log: logging.Logger = logger,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._step = step
        self._interval = interval
        self._log = log
        self._clock = clock
        self._last: tuple[str, str, int, float] | None = None
        self._waiting: tuple[str, str] | None = None

    def update(self, event: ProgressEvent) -> None:
        """Log ``event`` if it is news."""
        if event.phase == "wait":
            self._wait(event)
            return
        self._waiting = None
        now = self._clock()
        # Whole steps passed (0..10 for a step of 0.1); the epsilon absorbs float error.
        steps = math.floor((event.fraction or 0.0) / self._step + 1e-9)
        if self._last is not None:
            phase, message, last_steps, last_time = self._last
            same_state = (phase, message) == (event.phase, event.message)
            quiet = steps == last_steps and now - last_time < self._interval
            if same_state and quiet:
                return
        self._emit(describe(event))
        self._last = (event.phase, event.message, steps, now)

    def _wait(self, event: ProgressEvent) -> None:
        """One line as a wait starts or its reason changes; none for its seconds or its end."""
        if event.wait_over:
            self._waiting = None
            return
        waiting = (event.reason, event.message)
        if waiting != self._waiting:
            self._waiting = waiting
            self._emit(wait_log_line(event))

    def _emit(self, line: str) -> None:
        if self._log.hasHandlers():
            self._log.info("%s", line)
            return
        stream = sys.stderr  # looked up now: notebooks and tests replace it
        if stream is not None:
            stream.write(f"formexport: {line}\n")
            stream.flush()

    def close(self) -> None:
        """Nothing to release."""


# The server's phase has no meaningful rate (percent per second); its timer counts from the job's
# start. A phase done in one step (a file read at once) shows no rate either: it would only
# measure how quickly the bar was drawn.
EXPORT_FORMAT = "{desc}: {percentage:3.0f}%|{bar}| [{elapsed}{postfix}]"
ONE_STEP_FORMAT = "{desc}: {percentage:3.0f}%|{bar}| {n_fmt}/{total_fmt} {unit}"
# The download's rate is a moving average over redraws a quarter second apart, the latest
# weighing 0.1 (tqdm: 0.1 s and 0.3): it settles instead of following every burst of chunks.
DOWNLOAD_SMOOTHING = 0.1
DOWNLOAD_MININTERVAL = 0.25


class TqdmReporter:
    """A text bar per phase (tqdm), on a terminal or in a notebook without ipywidgets.

    Phases follow each other on their own lines: server export, download, reading, uploaded
    files. The bar names the job by its short id (logs and errors carry the whole one). A wait
    takes over the bar's line while it lasts, counting down (``Export in batches:  40% · Rate
    limit · next request in 41 s (…)``); a wait before any phase has a line of its own, erased
    at its end.
    """

    def __init__(self, *, file: Any = None) -> None:
        self._file = file
        self._bar: Any = None
        self._phase: str | None = None
        # The bar's own format and description, while a wait shows in its place.
        self._before_wait: tuple[Any, str] | None = None

    def _open(self, event: ProgressEvent) -> Any:
        from tqdm.std import tqdm as bar_class

        options: dict[str, Any] = {
            "total": 100 if event.phase == "export" else event.total,
            "desc": LABELS.get(event.phase, event.phase),
            "unit": event.unit,
            "leave": True,
            "dynamic_ncols": True,
            "file": self._file or sys.stderr,
        }
        if event.phase == "export":
            options["bar_format"] = EXPORT_FORMAT
        elif event.fraction is not None and event.fraction >= 1.0:
            options["bar_format"] = ONE_STEP_FORMAT
        elif event.phase == "download":
            # The first chunk arrived before the bar existed: the rate counts from here on.
            options.update(
                unit_scale=True,
                unit_divisor=1024,
                smoothing=DOWNLOAD_SMOOTHING,
                mininterval=DOWNLOAD_MININTERVAL,
                initial=event.completed,
            )
        return bar_class(**options)

    def update(self, event: ProgressEvent) -> None:
        """Move the current bar, opening a new one when the phase changes.

        A final event (done, failed, stopped) closes the bar and prints its line under it.
        """
        if event.phase == "wait":
            self._show_wait(event)
            return
        self._end_wait()
        if event.phase in FINAL_PHASES:
            self.close()
            from tqdm.std import tqdm as bar_class

            bar_class.write(describe(event), file=self._file or sys.stderr)
            return
        if event.phase != self._phase:
            self.close()
            self._bar = self._open(event)
            self._phase = event.phase
        bar = self._bar
        if event.total is not None and event.phase != "export" and bar.total != event.total:
            bar.total = event.total
        if event.phase == "export":
            self._show_export(bar, event)
        elif event.completed >= bar.n:
            if event.size is not None:  # the files phase: their bytes beside the count
                bar.set_postfix_str(describe(event).rpartition(" · ")[2], refresh=False)
            # tqdm measures the rate between its redraws, and redraws at most every 0.1 s.
            bar.update(event.completed - bar.n)
        else:  # the transfer started over
            bar.reset(total=bar.total)
            bar.update(event.completed)

    def _show_export(self, bar: Any, event: ProgressEvent) -> None:
        if event.started_at is not None:
            # The timer counts from the job's start (never from the future: clocks differ).
            started = min(event.started_at.timestamp(), time.time())
            bar.start_t = min(bar.start_t, started)
        bar.n = event.completed
        postfix = event.message
        if event.job_id:
            postfix = f"job {event.short_job_id}" + (f", {postfix}" if postfix else "")
        bar.set_postfix_str(postfix, refresh=False)
        bar.refresh()

    def _show_wait(self, event: ProgressEvent) -> None:
        """Redraw the line as the wait: the phase, how far it got, and the countdown."""
        if event.wait_over:
            self._end_wait()
            return
        if self._bar is None:
            from tqdm.std import tqdm as bar_class

            self._bar = bar_class(
                bar_format="{desc}", leave=False, dynamic_ncols=True, file=self._file or sys.stderr
            )
            self._phase = "wait"
        bar = self._bar
        line = describe(event)
        if self._phase != "wait":
            if self._before_wait is None:
                self._before_wait = (bar.bar_format, bar.desc)
            done = f" {bar.n / bar.total:4.0%}" if bar.total else ""
            line = f"{LABELS.get(self._phase or '', self._phase)}:{done} · {line}"
        bar.bar_format = "{desc}"
        bar.set_description_str(line, refresh=False)
        bar.refresh()

    def _end_wait(self) -> None:
        """Give the line back to the phase the wait interrupted (or erase the wait's own)."""
        if self._phase == "wait":
            self.close()
        elif self._before_wait is not None:
            self._bar.bar_format, desc = self._before_wait
            self._before_wait = None
            self._bar.set_description_str(desc, refresh=False)
            self._bar.refresh()

    def close(self) -> None:
        """Close the open bar, if any."""
        if self._bar is not None:
            self._bar.close()
        self._bar = None
        self._phase = None
        self._before_wait = None


def is_silent(reporter: ProgressReporter) -> bool:
    """True for a display that shows nothing: waits are then said in log lines instead."""
    return bool(getattr(reporter, "silent", False))


def detect_progress_mode() -> str:
    """Pick ``"widget"``, ``"tqdm"`` or ``"log"`` for where the code runs.

    ``FORMEXPORT_PROGRESS`` wins when set. In a Jupyter kernel with a front-end attached
    (JupyterLab, Notebook, VS Code) the widget bar is used when ipywidgets imports, else a text
    bar. A kernel run by papermill, nbclient or nbconvert has no front-end and gets log lines,
    like cron, CI and redirected output; a terminal gets a text bar.

    Returns
    -------
    str
        ``"widget"``, ``"tqdm"``, ``"log"`` or, from the environment, ``"none"``.
    """
    forced = os.environ.get(PROGRESS_ENV, "").strip().lower()
    if forced:
        return _checked_mode(forced, source=PROGRESS_ENV)
    if jupyter.in_jupyter_kernel():
        if not jupyter.frontend_attached():
            return "log"
        return "widget" if jupyter.widgets_available() else "tqdm"
    stream = sys.stderr
    if stream is not None and hasattr(stream, "isatty") and stream.isatty():
        return "tqdm"
    return "log"


def _checked_mode(mode: str, *, source: str) -> str:
    if mode not in MODES:
        raise InvalidArgumentError(
            f"{source}={mode!r} is not a progress mode; use one of "
            f"'auto', {', '.join(repr(m) for m in MODES)} or None."
        )
    return mode


ProgressOption = str | None | bool | Callable[[ProgressEvent], object] | ProgressReporter


def make_reporter(progress: ProgressOption = "auto") -> ProgressReporter:
    """Build the reporter for a ``progress=`` argument.

    Parameters
    ----------
    progress : str, None, callable or ProgressReporter
        ``"auto"`` (see :func:`detect_progress_mode`), ``"tqdm"``, ``"widget"``, ``"log"``,
        ``None``/``False``/``"none"`` for silence, a function that receives each
        :class:`ProgressEvent`, or a ready reporter.
    """
    if isinstance(progress, ProgressReporter):
        return progress
    if progress is None or progress is False:
        return NullReporter()
    if progress is True:
        progress = "auto"
    if callable(progress):
        return CallbackReporter(progress)
    if not isinstance(progress, str):
        raise InvalidArgumentError(f"progress={progress!r} is not a progress option.")
    mode = progress.strip().lower()
    mode = detect_progress_mode() if mode == "auto" else _checked_mode(mode, source="progress")
    if mode == "widget" and not jupyter.widgets_available():
        logger.warning("progress='widget' needs ipywidgets; showing a text bar instead")
        mode = "tqdm"
    if mode == "none":
        return NullReporter()
    if mode == "log":
        return LogReporter()
    if mode == "widget":
        from formexport.progress.widget import WidgetReporter

        return WidgetReporter()
    return TqdmReporter()

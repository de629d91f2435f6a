"""The notebook progress display: one ipywidgets bar for the whole export.

One widget follows the export through its phases (server export, download, reading, uploaded
files), so a cell shows one line that moves instead of a stack of bars. The widget is displayed
with a plain-text twin describing the latest state: where widgets cannot render (a notebook
viewed on GitHub, an nbconvert HTML page, a front-end without the widget manager) readers see
that line instead of ``HBox(children=...)``. The bar ends on what was delivered (``Done · 2 500
rows × 15 columns · 5.1 s · job acfc3703``, green), on the error (filled red), or on where the
job can be picked up (orange).

While the export waits, the label says what for (``Rate limit``) and the text counts down
(``next request in 41 s (OpnForm allows 100 API requests a minute)``); the bar stays where the
phase left it, and the phase comes back when the wait is over.

A background export (:func:`formexport.start_export`) updates the bar from its own thread while
other cells run: widget updates reach the front-end whichever cell is running, and the twin's
updates go out with the running cell's request, which nbclient and papermill route to the
export's own output (JupyterLab only updates an output while its cell runs; the widget itself
keeps moving).
"""

from __future__ import annotations

import html
import threading
import time
from collections.abc import Callable
from typing import Any

from formexport.progress.events import (
    FINAL_PHASES,
    ProgressEvent,
    describe,
    label,
    wait_text,
)

# Redraw at most this often while the state stays the same (download chunks arrive quickly).
MIN_REDRAW_SECONDS = 0.1
WIDGET_MIME = "application/vnd.jupyter.widget-view+json"
# The bar's colour at the end of each final phase.
FINAL_STYLES = {"done": "success", "failed": "danger", "stopped": "warning"}


def _detail(event: ProgressEvent) -> str:
    """The text right of the bar: percent, amounts, the server's message and the short job id."""
    if event.phase in FINAL_PHASES:
        return _final_detail(event)
    parts = []
    fraction = event.fraction
    if fraction is not None:
        parts.append(f"{fraction * 100:.0f}%")
    if event.phase == "download":
        done = f"{event.completed / 1e6:.1f}"
        parts.append(f"{done} of {event.total / 1e6:.1f} MB" if event.total else f"{done} MB")
    elif event.phase != "export" and event.total:
        parts.append(f"{event.completed:.0f}/{event.total:.0f} {event.unit}")
    if event.size is not None:
        parts.append(f"{event.size / 1e6:.1f} MB")
    if event.message:
        parts.append(html.escape(event.message))
    if event.job_id:
        # The short id fits the line; the whole one shows on hover (and in logs and errors).
        whole, short = html.escape(event.job_id), html.escape(event.short_job_id or "")
        parts.append(f'job <code title="{whole}">{short}</code>')
    return " · ".join(parts)


def _final_detail(event: ProgressEvent) -> str:
    """What was delivered, the error, or where the job is; the short job id (whole on hover)."""
    parts = [html.escape(event.message)] if event.message else []
    if event.job_id and event.job_id not in event.message:
        whole, short = html.escape(event.job_id), html.escape(event.short_job_id or "")
        parts.append(f'job <code title="{whole}">{short}</code>')
    return " · ".join(parts)


def _key(event: ProgressEvent) -> tuple[str, str, int]:
    """What a redraw of ``event`` would change: its phase, message and half-percent."""
    return (event.phase, event.message, round((event.fraction or 0.0) * 200))


def _nowrap(markup: str) -> str:
    return f'<span style="white-space:nowrap">{markup}</span>'


class WidgetReporter:
    """An ipywidgets bar for a Jupyter front-end.

    Parameters
    ----------
    display : callable, optional
        Shows a MIME bundle and returns a handle with ``update``; defaults to IPython's
        ``display(..., raw=True, display_id=True)``. Tests pass their own.
    clock : callable, optional
        Seconds, for throttling redraws.
    """

    def __init__(
        self,
        *,
        display: Callable[[dict[str, Any]], Any] | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._display = display or _ipython_display
        self._clock = clock
        self._box: Any = None
        self._bar: Any = None
        self._label: Any = None
        self._text: Any = None
        self._handle: Any = None
        self._last: ProgressEvent | None = None
        # The wait shown in place of the last phase's event, while it lasts.
        self._wait: ProgressEvent | None = None
        self._drawn: tuple[str, str, int] | None = None
        self._drawn_at = 0.0
        self._phase_shown: str | None = None
        self._handles: list[Any] = []
        # A background export updates from its own thread while the cell's thread may show the
        # bar again (a re-run cell): one at a time.
        self._lock = threading.RLock()

    @property
    def widget(self) -> Any:
        """The ``ipywidgets.HBox`` shown, once the first event arrived."""
        return self._box

    def _build(self) -> None:
        import ipywidgets as widgets

        self._label = widgets.HTML(layout=widgets.Layout(min_width="8em", flex="0 0 auto"))
        self._bar = widgets.FloatProgress(
            value=0.0,
            min=0.0,
            max=1.0,
            bar_style="info",
            layout=widgets.Layout(width="16em"),
        )
        self._text = widgets.HTML()
        self._box = widgets.HBox(
            [self._label, self._bar, self._text],
            layout=widgets.Layout(align_items="center"),
        )
        self._box.add_class("formexport-progress")
        self._handle = self._display(self._bundle())
        self._handles.append(self._handle)

    def show_again(self) -> None:
        """Show the same bar in the running cell too (a second view of one widget)."""
        with self._lock:
            if self._box is not None:
                self._handles.append(self._display(self._bundle()))

    def _bundle(self) -> dict[str, Any]:
        bundle: dict[str, Any] = dict(self._box._repr_mimebundle_())
        shown = self._wait or self._last
        text = describe(shown) if shown is not None else "formexport progress"
        bundle["text/plain"] = text
        return {k: v for k, v in bundle.items() if k in ("text/plain", WIDGET_MIME)}

    def update(self, event: ProgressEvent) -> None:
        """Move the bar; switch its label when the phase changes."""
        with self._lock:
            self._update(event)

    def _update(self, event: ProgressEvent) -> None:
        if event.phase == "wait":
            self._update_wait(event)
            return
        self._wait = None
        self._last = event
        if self._box is None:
            self._build()
        fraction = event.fraction
        key = _key(event)
        now = self._clock()
        news = self._drawn is None or key[:2] != self._drawn[:2] or (fraction or 0.0) >= 1.0
        recent = now - self._drawn_at < MIN_REDRAW_SECONDS
        if not news and (key == self._drawn or recent):
            return
        self._draw(event)
        self._drawn, self._drawn_at = key, now

    def _update_wait(self, event: ProgressEvent) -> None:
        """Show the wait (redrawn once a second, as its countdown moves), or the phase again."""
        if self._box is None:
            self._build()
        if event.wait_over:
            self._wait = None
            if self._last is not None:
                self._draw(self._last)
                self._drawn = _key(self._last)
            return
        self._wait = event
        key = ("wait", f"{event.reason}: {wait_text(event)}", 0)
        if key == self._drawn:
            return
        self._label.value = _nowrap(f"<b>{html.escape(label(event))}</b>")
        self._bar.bar_style = "info"  # the bar keeps the phase's progress
        self._text.value = _nowrap(html.escape(wait_text(event)))
        self._drawn, self._drawn_at = key, self._clock()
        if self._phase_shown != "wait":
            self._phase_shown = "wait"
            self._refresh_fallback()

    def _draw(self, event: ProgressEvent) -> None:
        self._label.value = _nowrap(f"<b>{html.escape(label(event))}</b>")
        final = FINAL_STYLES.get(event.phase)
        self._bar.bar_style = final or "info"
        if event.phase == "failed":
            # Filled: a failure shows red at a glance, even one before any progress (an empty
            # red bar is a grey track); the text beside it says where and why it failed.
            self._bar.value = self._bar.max
        elif event.fraction is not None:
            self._bar.value = event.fraction
        elif final is None:
            self._bar.value = 0.0
        # An error message is long: it may wrap; progress stays on one line.
        self._text.value = _detail(event) if event.phase == "failed" else _nowrap(_detail(event))
        if event.phase != self._phase_shown:
            self._phase_shown = event.phase
            self._refresh_fallback()

    def _refresh_fallback(self) -> None:
        bundle = self._bundle()
        for handle in self._handles:
            update = getattr(handle, "update", None)
            if callable(update):
                update(bundle, raw=True)

    def close(self) -> None:
        """Draw the final state: green when the phase finished, orange when it stopped early."""
        with self._lock:
            self._close()

    def _close(self) -> None:
        self._wait = None
        event = self._last
        if event is None or self._box is None:
            return
        self._draw(event)
        if event.phase in FINAL_PHASES:  # drawn as it ends: delivered, failed or stopped
            self._drawn = None
            self._refresh_fallback()
            return
        done = event.fraction is not None and event.fraction >= 1.0
        self._bar.bar_style = "success" if done else "warning"
        if not done:
            self._text.value = _nowrap(f"{_detail(event)} · stopped")
        self._drawn = None
        self._refresh_fallback()


def _ipython_display(bundle: dict[str, Any]) -> Any:
    from IPython.display import display

    return display(bundle, raw=True, display_id=True)  # type: ignore[no-untyped-call]

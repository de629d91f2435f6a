"""Small HTML tables for notebook reprs (``_repr_html_``); every value is escaped here."""

from __future__ import annotations

import html
from collections.abc import Sequence
from datetime import datetime, timezone

# Inline styles only: notebooks strip <style> blocks from untrusted outputs.
_TABLE = "border-collapse:collapse;text-align:left;font-size:0.9em"
_CELL = "padding:2px 10px 2px 0;text-align:left;vertical-align:top"
_BAR = "display:inline-block;width:10em;height:0.8em;background:#e0e0e0;vertical-align:middle"
_FILL = "display:block;height:100%;background:{color};width:{percent}%"
COLORS = {"completed": "#4caf50", "failed": "#e53935", "expired": "#9e9e9e"}


class Markup(str):
    """Markup made here (by :func:`bar` or :func:`code`); every other string is escaped."""


def _cell(value: str) -> str:
    return value if isinstance(value, Markup) else html.escape(value)


def table(title: str, rows: Sequence[tuple[str, str]]) -> str:
    """A titled two-column table of plain-text (or :class:`Markup`) values."""
    body = "".join(
        f'<tr><th style="{_CELL}">{html.escape(label)}</th>'
        f'<td style="{_CELL}">{_cell(value)}</td></tr>'
        for label, value in rows
    )
    return (
        f'<div class="formexport-repr"><strong>{html.escape(title)}</strong>'
        f'<table style="{_TABLE}">{body}</table></div>'
    )


def code(text: str) -> Markup:
    """``text`` in a code span."""
    return Markup(f"<code>{html.escape(text)}</code>")


def bar(percent: float, state: str, label: str) -> Markup:
    """A static progress bar with ``label`` beside it."""
    clamped = max(0.0, min(100.0, percent))
    color = COLORS.get(state, "#2196f3")
    fill = _FILL.format(color=color, percent=f"{clamped:.0f}")
    return Markup(
        f'<span><span style="{_BAR}"><span style="{fill}"></span></span> '
        f"{html.escape(label)}</span>"
    )


def time_left(expires_at: datetime | None, now: datetime | None = None) -> str:
    """``"23 h 59 min left (until 2026-08-23 10:15 UTC)"``, ``"expired"`` or ``"unknown"``."""
    if expires_at is None:
        return "unknown"
    current = now or datetime.now(timezone.utc)
    seconds = (expires_at - current).total_seconds()
    until = expires_at.astimezone(timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    if seconds <= 0:
        return f"expired ({until})"
    return f"{duration(seconds)} left (until {until})"


def duration(seconds: float) -> str:
    """``"2 d 3 h"``, ``"5 h 12 min"``, ``"4 min"`` or ``"under a minute"``."""
    minutes = int(seconds // 60)
    days, rest = divmod(minutes, 24 * 60)
    hours, minutes = divmod(rest, 60)
    if days:
        return f"{days} d {hours} h"
    if hours:
        return f"{hours} h {minutes} min"
    return f"{minutes} min" if minutes else "under a minute"

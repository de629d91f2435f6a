"""Tables that fit the terminal: empty columns dropped, long text wrapped, notes under a row."""

from __future__ import annotations

import shutil
import textwrap
from collections.abc import Sequence
from dataclasses import dataclass, field

GAP = "  "
# Wrapped columns are never made narrower than this: a word per line reads worse than a wide line.
MIN_WRAPPED_WIDTH = 12


@dataclass(frozen=True)
class Column:
    """A table column: its heading, and whether long cells may wrap onto more lines."""

    heading: str
    wraps: bool = False


@dataclass
class Table:
    """Rows of cells under headings, each row with optional notes printed indented below it."""

    columns: Sequence[Column]
    rows: list[list[str]] = field(default_factory=list)
    notes: list[list[str]] = field(default_factory=list)

    def add(self, cells: Sequence[str], notes: Sequence[str] = ()) -> None:
        self.rows.append(list(cells))
        self.notes.append([note for note in notes if note])

    def render(self, width: int | None = None) -> str:
        """The table as text no wider than ``width`` (the terminal's, by default)."""
        width = width or terminal_width()
        kept = [i for i in range(len(self.columns)) if any(row[i] for row in self.rows)]
        widths = _fitted(
            [max(len(self.columns[i].heading), *(len(r[i]) for r in self.rows)) for i in kept],
            [self.columns[i].wraps for i in kept],
            width,
        )
        lines = [_line([self.columns[i].heading for i in kept], widths)]
        for row, notes in zip(self.rows, self.notes, strict=True):
            lines += _wrapped_row([row[i] for i in kept], widths)
            for note in notes:
                lines += textwrap.wrap(note, width, initial_indent="  ", subsequent_indent="    ")
        return "\n".join(lines)


def terminal_width() -> int:
    """The terminal's width (``COLUMNS`` when set; 80 when output is not a terminal)."""
    return shutil.get_terminal_size((80, 24)).columns


def _fitted(widths: list[int], wraps: list[bool], total: int) -> list[int]:
    """Narrow the widest wrapping column, one character at a time, until the line fits."""
    widths = list(widths)
    while sum(widths) + len(GAP) * (len(widths) - 1) > total:
        narrowable = [i for i, w in enumerate(widths) if wraps[i] and w > MIN_WRAPPED_WIDTH]
        if not narrowable:
            break  # nothing may wrap any more: the line stays wider than the terminal
        widest = max(narrowable, key=lambda i: widths[i])
        widths[widest] -= 1
    return widths


def _wrapped_row(cells: Sequence[str], widths: Sequence[int]) -> list[str]:
    parts = [textwrap.wrap(cell, width) or [""] for cell, width in zip(cells, widths, strict=True)]
    height = max(len(p) for p in parts)
    return [_line([p[k] if k < len(p) else "" for p in parts], widths) for k in range(height)]


def _line(cells: Sequence[str], widths: Sequence[int]) -> str:
    return GAP.join(cell.ljust(width) for cell, width in zip(cells, widths, strict=True)).rstrip()

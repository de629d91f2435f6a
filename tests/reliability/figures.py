"""The figures of docs/reliability.md, checked against what the tests measure.

The doc's tables quote figures (bytes lost, requests, secrets seen, file modes). A test that
measures one calls :func:`doc_says` with the table row (the start of its first cell), the
column and the figure as it measured it; the doc's cell must say it. ``Bytes lost`` cells hold
the figure alone, other cells hold it among their words. After a run of the whole suite,
``test_docs_figures.py`` checks that every number in the measured columns was said by a test:
no figure in the doc is a literal nobody measured.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.reliability.helpers import FIGURES

DOC = Path(__file__).parents[2] / "docs" / "reliability.md"
#: The sections whose tables quote what this suite measures (the fputcsv reader's table quotes
#: tests/php and the benchmarks), and their columns that hold measured figures; the others
#: describe, or hold the figures of the previous version, which no test can measure again.
MEASURED_SECTIONS = ("Faults", "Forms that change during an export", "Security")
MEASURED_COLUMNS = ("Measured", "Bytes lost", "Result", "Now", "List requests now")
#: Why this run holds only a part of tests/reliability ("" when it holds all of it).
PARTIAL_RUN = pytest.StashKey[str]()
_CELL_SPLIT = re.compile(r"(?<!\\)\|")
# A number standing as one (not the digit of a name: urllib3, S3).
_FIGURE = re.compile(r"(?<![A-Za-z_\d])\d[\d.]*")

#: What each test said, by (first cell of the row, column): the fragments it measured.
SAID: dict[tuple[str, str], list[str]] = {}


@dataclass(frozen=True)
class Cell:
    """One cell of a table of the doc, under its section (``## …`` heading)."""

    section: str
    row: str
    column: str
    text: str

    @property
    def measured(self) -> bool:
        """True for a cell whose figures a test of this suite must have said."""
        return self.section in MEASURED_SECTIONS and self.column in MEASURED_COLUMNS


def table_cells(text: str) -> list[Cell]:
    """Every cell of every table in ``text`` (a Markdown document), by row and column."""
    cells: list[Cell] = []
    section, header = "", None
    for line in text.splitlines():
        if line.startswith("## "):
            section = line[3:].strip()
        if not line.startswith("|"):
            header = None
            continue
        parts = [part.strip() for part in _CELL_SPLIT.split(line.strip())[1:-1]]
        if header is None:
            header = parts
        elif not set("".join(parts)) <= set("-: "):  # not the line under the header
            cells += [
                Cell(section, parts[0], column, part)
                for column, part in zip(header, parts, strict=True)
            ]
    return cells


def doc_cell(row: str, column: str) -> Cell:
    """The cell of ``column`` in the one table row whose first cell starts with ``row``."""
    found = [
        cell
        for cell in table_cells(DOC.read_text(encoding="utf-8"))
        if cell.row.startswith(row) and cell.column == column
    ]
    assert len(found) == 1, f"{len(found)} rows of docs/reliability.md start with {row!r}"
    return found[0]


def doc_says(row: str, column: str, figure: object) -> None:
    """Check that the doc's table says ``figure`` (as measured) in ``column`` of ``row``."""
    cell = doc_cell(row, column)
    text = str(figure)
    if column == "Bytes lost":
        assert cell.text == text, f"docs/reliability.md: {row!r} says {cell.text}, measured {text}"
    else:
        assert text in cell.text, f"docs/reliability.md: {row!r} says {cell.text!r}, not {text!r}"
    said = SAID.setdefault((cell.row, column), [])
    said.append(text)
    FIGURES[f"{cell.row[:70]} | {column}"] = "; ".join(dict.fromkeys(said))


def figures_in(text: str) -> list[str]:
    """The numbers in ``text``.

    >>> figures_in("2 waits, each ≥ 1 s; urllib3 and S3 are names")
    ['2', '1']
    """
    return _FIGURE.findall(text)


def unsaid(cell: Cell) -> str:
    """What of ``cell`` no test said: its text without the fragments tests measured."""
    rest = cell.text
    for fragment in SAID.get((cell.row, cell.column), []):
        rest = rest.replace(fragment, "", 1)
    return rest


def bytes_lost(written: bytes, served: bytes) -> int:
    """Bytes of the served file the written one does not hold in their place, plus any extra.

    0 exactly when the two files are byte-identical.
    """
    if written == served:
        return 0
    same = sum(1 for a, b in zip(written, served, strict=False) if a == b)
    return max(len(written), len(served)) - same


_SIGNED_LINK_QUERY = re.compile(rb"expires=\d+&signature=[0-9a-f]+")


def unsigned(csv: bytes) -> bytes:
    """An export with the query of its signed file links blanked: two exports of the same
    submissions differ only there (each answer signs its links anew)."""
    return _SIGNED_LINK_QUERY.sub(b"expires=&signature=", csv)

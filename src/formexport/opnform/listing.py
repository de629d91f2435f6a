"""Listing every submission of a form while it changes, each exactly once.

``GET /open/forms/{id}/submissions`` pages by offset, newest first, sorted by ``created_at``
alone, which has second precision. Three things move the rows between two page requests:

- a submission arriving pushes every row one place down, so a page repeats rows of the last;
- a submission deleted above the current page (by its owner, or the retention job) pulls every
  row one place up, so the row at the seam is skipped;
- submissions of the same second come in whatever order the database picks, and MySQL and
  PostgreSQL may pick another one for every ``LIMIT``/``OFFSET`` query: where such a second
  straddles two pages, one of its rows may be on both pages and another on neither.

Pages are read in order, 100 at a time, and each seam between what was read (down to the
"frontier", the second of the last row read) and the next page is checked:

- the next page starts with a row newer than the frontier (submissions arrived): one page is
  one query, in one consistent order, so it holds the frontier's whole second and everything
  older down to its own last row;
- it starts with an older row, and the list did not shrink (its ``total`` did not drop): the
  rows can only have moved down, so the frontier's second ended inside the last page;
- otherwise (it starts inside the frontier's second, or rows were deleted) the seam is read
  again with a page that starts above the frontier's second, from further back if it must.

``page`` and ``per_page`` only reach offsets that are multiples of ``per_page``; such a page is
the one of any size up to 100 that starts at or before the newest row above the frontier's
second and reaches furthest. Once submissions are seen arriving or a seam had to be read again,
and wherever a page ends inside a second it holds several rows of (a busy form), the next page
overlaps the last that way at once: about 85 new rows a request instead of 100. A form that
does not change costs one request per 100 rows, as before. Every id is yielded once; rows that
arrive after the first page never are, as they sort above it.

Guarantee: every submission that existed when the listing began and was not deleted before it
was read is yielded exactly once, whatever arrives or changes order meanwhile. Deletions are
seen through the list's ``total``, which the server counts just before it reads the page, so a
deletion above the page within those milliseconds can still hide one row. And a second that
holds too many submissions for one page to hold it whole with a row before it (at least 60,
up to 98, depending on where the second falls among the pages) cannot be read in one query:
it is read page after page as the server orders it, and one of its rows may be missed (logged
as a warning). Forms receiving dozens of submissions every second meet that limit.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from formexport import config
from formexport.errors import UnexpectedResponseError
from formexport.opnform.models import parse_timestamp

logger = logging.getLogger("formexport")


@dataclass(frozen=True)
class SubmissionsPage:
    """One page of ``GET /open/forms/{id}/submissions``."""

    ids: tuple[int, ...]
    total: int
    last_page: int
    # The submissions themselves, raw stored values included (exact values read them).
    items: tuple[Mapping[str, Any], ...] = ()


@dataclass(frozen=True)
class Listed:
    """One listed submission: its id, when it was created (None if the server omits it), its
    JSON item."""

    id: int
    created_at: datetime | None
    item: Mapping[str, Any]


#: ``fetch(page, per_page)``: one page of the list.
Fetch = Callable[[int, int], SubmissionsPage]


def created_at(item: Mapping[str, Any]) -> datetime | None:
    """A listed submission's ``created_at`` (``data.created_at``, ``Y-m-d H:i:s`` UTC)."""
    data = item.get("data")
    stamp = data.get("created_at") if isinstance(data, Mapping) else None
    return parse_timestamp(stamp if stamp is not None else item.get("created_at"))


def window(anchor: int, beyond: int, page_size: int) -> tuple[int, int] | None:
    """``(offset, per_page)`` of the page that starts at or before offset ``anchor`` and ends
    furthest, if it ends past offset ``beyond``; None otherwise."""
    best: tuple[int, int] | None = None
    for size in range(page_size, 0, -1):
        start = anchor // size * size
        if best is None or start + size > best[0] + best[1]:
            best = (start, size)
    assert best is not None
    return best if best[0] + best[1] > beyond else None


def list_submissions(
    fetch: Fetch, page_size: int = config.SUBMISSIONS_PAGE_SIZE
) -> Iterator[Listed]:
    """Every submission of the list, each once, roughly newest first (see the module notes)."""
    seen: set[int] = set()
    offset, size = 0, page_size
    last: _Read | None = None  # the last page whose seam checked out
    retries = 0
    overlap = False
    while True:
        page = fetch(offset // size + 1, size)
        read = _Read(offset, size, [_listed(item) for item in page.items], page.total)
        if last is not None and not read.continues(last, page_size):
            offset, size = last.reread(page_size, retries, read.total)
            retries += 1
            overlap = True  # rows move, or seconds straddle pages: overlap from now on
            continue
        retries = 0
        for row in read.rows:
            if row.id not in seen:
                seen.add(row.id)
                yield row
        if len(read.rows) < size:
            return  # the end of the list
        # Once submissions arrive (or a page had to be read again), a page read in order often
        # starts inside the last page's final second: from then on, overlap each page at once.
        overlap = overlap or (last is not None and read.total > last.total)
        last = read
        offset, size = read.following(page_size, overlap=overlap)


@dataclass(frozen=True)
class _Read:
    """One page as read: where it starts, its size, its rows and the list's total then."""

    offset: int
    size: int
    rows: list[Listed]
    total: int

    @property
    def frontier(self) -> datetime | None:
        """The second of the last row."""
        return self.rows[-1].created_at

    @property
    def frontier_start(self) -> int:
        """The index of the first row of the frontier's second."""
        index = len(self.rows) - 1
        while index > 0 and self.rows[index - 1].created_at == self.frontier:
            index -= 1
        return index

    def overlap(self, page_size: int, shrunk: int = 0) -> tuple[int, int] | None:
        """The page that starts above the frontier's second (``shrunk`` rows up) and reaches
        past this one, if there is one."""
        start = self.frontier_start
        if self.frontier is None or start == 0:
            return None
        anchor = max(0, self.offset + start - 1 - shrunk)
        return window(anchor, self.offset + self.size - shrunk, page_size)

    def continues(self, before: _Read, page_size: int) -> bool:
        """Whether this page, read after ``before``, leaves no row between them unread."""
        frontier = before.frontier
        if self.offset == 0 or frontier is None:
            return True  # from the top, or no times to check with (nothing better to do)
        if not self.rows:
            return self.total >= before.total  # the end; unless rows went, it was reached
        first = self.rows[0].created_at
        if first is not None and first > frontier:
            return True  # holds the frontier's whole second, and all below it
        if first is None:
            return True  # no time to check with (nothing better to do)
        if first == frontier:
            # Starts inside the frontier's second: part of it may be unread, unless no page
            # can hold that second whole (then read on as the server orders it).
            if before.overlap(page_size) is None:
                logger.warning(
                    "So many submissions were created at %s that no page of %d holds that "
                    "second whole: it is read as the server orders it, and one may be missed",
                    frontier,
                    page_size,
                )
                return True
            return False
        return self.total >= before.total and self.offset <= before.offset + before.size

    def following(self, page_size: int, *, overlap: bool) -> tuple[int, int]:
        """``(offset, per_page)`` of the page to read next: in order, or overlapping this one
        when asked to or when this page ends inside a second it holds several rows of."""
        if overlap or self.frontier_start < len(self.rows) - 1:
            chosen = self.overlap(page_size)
            if chosen is not None:
                return chosen
        # In order: a page of 100 at a multiple of 100, unless this page ended far from one
        # (after an overlapping page), where the page that reaches furthest gets more new rows.
        end = self.offset + self.size
        aligned = (end // page_size * page_size, page_size)
        if aligned[0] + page_size - end >= page_size // 2:
            return aligned
        return window(end, end, page_size) or aligned

    def reread(self, page_size: int, retries: int, total: int) -> tuple[int, int]:
        """The page to read instead of one that did not continue this one: the overlapping
        one first (moved up by the rows that went), then from further and further back."""
        chosen = self.overlap(page_size, max(0, self.total - total)) if retries == 0 else None
        if chosen is not None:
            return chosen
        back = page_size * 2**retries
        return max(0, self.offset - back) // page_size * page_size, page_size


def _listed(item: Mapping[str, Any]) -> Listed:
    try:
        submission_id = int(item["id"])
    except (KeyError, TypeError, ValueError) as exc:
        raise UnexpectedResponseError(
            "A submission in the submissions list has no numeric id.", status_code=200
        ) from exc
    return Listed(submission_id, created_at(item), item)

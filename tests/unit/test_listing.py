"""Listing a changing submissions list: each submission once, none that existed missed.

A narrow unit test: an in-memory list paged like OpnForm's (``created_at`` descending, second
precision, ``LIMIT``/``OFFSET``), where hypothesis chooses what happens between two requests —
arrivals, deletions anywhere, and a fresh order of same-second rows for every query, as MySQL
and PostgreSQL may return them. The integration tests run the same against the emulator.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from datetime import datetime, timezone

from hypothesis import given, settings
from hypothesis import strategies as st

from formexport.opnform.listing import SubmissionsPage, list_submissions, window


@dataclass
class ChangingList:
    """Rows ``id -> created_at`` (whole seconds); ``events[n]`` runs before request ``n``."""

    rows: dict[int, int]
    events: list[tuple[int, list[int]]] = field(default_factory=list)
    shuffle_ties: bool = True
    seed: int = 0
    requests: list[tuple[int, int]] = field(default_factory=list)
    deleted: set[int] = field(default_factory=set)

    def __post_init__(self) -> None:
        self._rng = random.Random(self.seed)
        self._next_id = max(self.rows, default=0) + 1
        self._now = max(self.rows.values(), default=0)

    def _change(self) -> None:
        if len(self.requests) > len(self.events):
            return
        arrivals, deletions = self.events[len(self.requests) - 1]
        existing = sorted(self.rows)
        for rank in deletions:
            if existing:
                victim = existing.pop(rank % len(existing))
                del self.rows[victim]
                self.deleted.add(victim)
        for _ in range(arrivals):
            # A second may hold several arrivals: they tie with each other.
            self._now += self._rng.choice((0, 0, 1))
            self.rows[self._next_id] = self._now
            self._next_id += 1

    def fetch(self, page: int, per_page: int) -> SubmissionsPage:
        self.requests.append((page, per_page))
        self._change()
        order = sorted(
            self.rows,
            key=lambda i: (-self.rows[i], self._rng.random() if self.shuffle_ties else -i),
        )
        chosen = order[(page - 1) * per_page : page * per_page]
        items = tuple(
            {"id": i, "data": {"created_at": _stamp(self.rows[i]), "id": i}} for i in chosen
        )
        last_page = max(1, -(-len(order) // per_page))
        return SubmissionsPage(tuple(chosen), len(order), last_page, items)


def _stamp(second: int) -> str:
    return datetime.fromtimestamp(1_790_000_000 + second, timezone.utc).strftime(
        "%Y-%m-%d %H:%M:%S"
    )


def _history(draw: st.DrawFn, size: int) -> dict[int, int]:
    """Rows created over time: one second apart or more, or (a busy form) up to 30 a second.

    A second never holds more than a page can (the listing's one documented exception).
    """
    per_second = draw(st.sampled_from([1, 3, 30]))
    rows, second = {}, 0
    while len(rows) < size:
        second += draw(st.integers(1, 20))
        for _ in range(draw(st.integers(1, per_second))):
            rows[len(rows) + 1] = second
    return dict(list(rows.items())[:size])


@st.composite
def changing_lists(draw: st.DrawFn) -> ChangingList:
    rows = _history(draw, draw(st.integers(0, 700)))
    # Deletions alone are weighted up: arrivals make pages overlap, which hides a seam check
    # that misses rows deleted above the next page.
    change = draw(st.sampled_from(["deletions only", "deletions only", "arrivals only", "both"]))
    arrivals = st.just(0) if change == "deletions only" else st.integers(0, 120)
    most_deleted = 0 if change == "arrivals only" else draw(st.sampled_from([1, 3]))
    events = draw(
        st.lists(
            st.tuples(arrivals, st.lists(st.integers(0, 10_000), max_size=most_deleted)),
            max_size=40,
        )
    )
    return ChangingList(rows, events, seed=draw(st.integers(0, 2**32)))


@settings(max_examples=300, deadline=None)
@given(changing_lists())
def test_every_submission_that_existed_is_listed_exactly_once(listing: ChangingList) -> None:
    existed = set(listing.rows)
    listed = [row.id for row in list_submissions(listing.fetch)]
    assert len(listed) == len(set(listed))
    assert existed - listing.deleted <= set(listed)
    # Nothing is invented: every id listed existed at some point.
    assert set(listed) <= existed | set(listing.rows) | listing.deleted


@settings(max_examples=100, deadline=None)
@given(st.integers(0, 2_000), st.integers(0, 2**32))
def test_a_list_that_does_not_change_costs_one_request_per_page(size: int, seed: int) -> None:
    listing = ChangingList({i: 10 * i for i in range(1, size + 1)}, seed=seed)
    listed = [row.id for row in list_submissions(listing.fetch)]
    assert listed == sorted(listing.rows, reverse=True)
    assert listing.requests == [(page, 100) for page in range(1, size // 100 + 2)]


def test_arrivals_alone_never_cost_a_second_reading_of_a_page() -> None:
    rows = {i: i for i in range(1, 2001)}
    listing = ChangingList(dict(rows), [(3, [])] * 100, shuffle_ties=False)
    listed = [row.id for row in list_submissions(listing.fetch)]
    assert set(rows) <= set(listed)
    assert len(listing.requests) <= 2000 / 75
    # Every page after the first overlaps the one before and reaches past it.
    ends = [(page - 1) * size + size for page, size in listing.requests]
    assert ends == sorted(ends)
    assert len(set(ends)) == len(ends)


def test_rows_deleted_above_the_next_page_are_not_skipped() -> None:
    # 300 rows a second apart; before the second page, two of the newest 100 go: every other
    # row moves up by two, and the two at the seam would fall between the pages.
    rows = {i: i for i in range(1, 301)}
    newest_two_gone = [(0, []), (0, [299, 250])]  # positions among the ids, oldest first
    listing = ChangingList(dict(rows), newest_two_gone, shuffle_ties=False)
    listed = [row.id for row in list_submissions(listing.fetch)]
    assert len(listing.deleted) == 2  # listed on the first page, before they went
    assert len(listed) == len(set(listed))
    assert set(rows) - listing.deleted <= set(listed)


def test_a_busy_second_at_the_seam_is_read_whole() -> None:
    # 30 submissions in one second, straddling the first page's end, in a new order every time.
    rows = {i: i for i in range(1, 91)} | dict.fromkeys(range(91, 121), 95)
    rows |= {i: 200 + i for i in range(121, 200)}
    missed = 0
    for seed in range(50):
        listing = ChangingList(dict(rows), seed=seed)
        listed = {row.id for row in list_submissions(listing.fetch)}
        missed += len(set(rows) - listed)
    assert missed == 0


def test_the_page_that_overlaps_starts_at_or_before_the_anchor_and_reaches_furthest() -> None:
    assert window(298, 300, 100) == (297, 99)
    assert window(198, 200, 100) == (198, 99)
    assert window(99, 100, 100) == (99, 99)
    assert window(0, 100, 100) is None  # every page starting by offset 0 ends by 100
    for anchor in range(100, 5000, 7):
        start, size = window(anchor, anchor + 1, 100) or (0, 0)
        assert start % size == 0
        assert start <= anchor < start + size
        assert start + size >= anchor + 60  # never far behind a fixed page

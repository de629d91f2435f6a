"""Forms that change during a batched export: the figures of docs/reliability.md.

Each scenario exports 4000 submissions from a server that hides job status (ids listed page by
page, exported in batches) while the form changes: submissions arriving, same-second rows in a
new order for every query as a database may return them. Measured: submissions that existed
when the export began and are missing from it, submissions exported twice, list requests.
"""

from __future__ import annotations

from collections import Counter

import pytest

import formexport as fx
from formexport.opnform.listing import SubmissionsPage, list_submissions
from formexport.sandbox import Sandbox
from tests.reliability.figures import doc_says
from tests.reliability.helpers import FIGURES

FIELDS = [{"type": "text", "name": "Name"}, {"type": "number", "name": "Score"}]
ROWS = 4000
# A request for every 75 rows at most, where pages overlap.
MOST_LIST_REQUESTS = ROWS // 75

# The row of docs/reliability.md's table that quotes each scenario.
DOC_ROWS = {
    "spread over a month, no arrivals": "4000 submissions spread over a month, no arrivals",
    "spread over a month, an arrival every 0.1 s": "Same, one arrival every 0.1 s",
    "busy, same-second rows in id order, an arrival every 0.1 s": "Busy form (4000 submissions",
    "busy, same-second rows in a new order per query, no arrivals": (
        "Busy form, same-second rows in a new order for every query"
    ),
    "busy, same-second rows in a new order per query, an arrival every 0.1 s": (
        "Same, arrivals every 0.1 s / every 0.02 s"
    ),
    "busy, same-second rows in a new order per query, an arrival every 0.02 s": (
        "Same, arrivals every 0.1 s / every 0.02 s"
    ),
}
SCENARIOS = {
    "spread over a month, no arrivals": ("spread", "id", None),
    "spread over a month, an arrival every 0.1 s": ("spread", "id", 0.1),
    "busy, same-second rows in id order, an arrival every 0.1 s": ("busy", "id", 0.1),
    "busy, same-second rows in a new order per query, no arrivals": ("busy", "random", None),
    "busy, same-second rows in a new order per query, an arrival every 0.1 s": (
        "busy",
        "random",
        0.1,
    ),
    "busy, same-second rows in a new order per query, an arrival every 0.02 s": (
        "busy",
        "random",
        0.02,
    ),
}


@pytest.mark.parametrize("name", list(SCENARIOS))
def test_every_submission_once_while_the_form_changes(sandbox: Sandbox, name: str) -> None:
    history, tie_order, every = SCENARIOS[name]
    sandbox.config.tie_order = tie_order
    if history == "spread":
        form = sandbox.add_form("Spread", FIELDS, ROWS)
        existing = set(range(2756, 2756 + ROWS))
    else:
        form = sandbox.add_form("Busy", FIELDS)
        existing = set(sandbox.add_generated_submissions(form["id"], ROWS, every=0.1))
    sandbox.clear_requests()
    arrived: list[int] = []
    if every is None:
        df = fx.load_export(form["id"], token=sandbox.token, base_url=sandbox.base_url)
    else:
        with sandbox.start_arrivals(form["id"], every=every) as feed:
            df = fx.load_export(form["id"], token=sandbox.token, base_url=sandbox.base_url)
        arrived = feed.ids
    exported = df["submission_id"].tolist()
    lost = len(existing - set(exported))
    twice = sum(1 for n in Counter(exported).values() if n > 1)
    listing = [
        r
        for r in sandbox.requests
        if r.path.endswith("/submissions") and r.query["per_page"] != "1"
    ]
    FIGURES[f"changing form, {name}"] = (
        f"{lost} lost, {twice} twice, {len(listing)} list requests, "
        f"{len(set(exported) & set(arrived))} of {len(arrived)} arrivals exported"
    )
    row = DOC_ROWS[name]
    doc_says(row, "Now", f"{lost} lost")
    if every is not None and history == "spread":
        doc_says(row, "Now", f"{twice} twice")
    assert twice == 0
    assert set(exported) <= existing | set(arrived)
    if history == "spread" and every is None:  # a form that does not change: a page a request
        assert len(listing) == ROWS // 100 + 1
        doc_says(row, "List requests now", len(listing))
    else:  # about 87 new rows a request once pages overlap
        assert len(listing) <= MOST_LIST_REQUESTS
        doc_says(row, "List requests now", f"at most {MOST_LIST_REQUESTS}")


def test_rows_deleted_above_the_next_page_are_not_skipped(sandbox: Sandbox) -> None:
    # The next page starts 100 rows down; two rows gone above it pull two rows up, past it.
    form = sandbox.add_form("Thinning", FIELDS)
    ids = sandbox.add_generated_submissions(form["id"], 300, every=1.0)
    newest_first = sorted(ids, reverse=True)
    deleted = [newest_first[10], newest_first[60]]
    api = fx.Client(token=sandbox.token, base_url=sandbox.base_url).api
    pages: list[int] = []

    def fetch(page: int, per_page: int) -> SubmissionsPage:
        if len(pages) == 1:
            assert sandbox.delete_submissions(form["id"], deleted) == deleted
        pages.append(page)
        return api.submissions_page(form["id"], page=page, per_page=per_page)

    listed = [row.id for row in list_submissions(fetch)]
    remaining = set(ids) - set(deleted)
    lost = len(remaining - set(listed))
    row = "300 submissions a second apart, no arrivals; two of the newest 100 deleted"
    doc_says(row, "Now", f"{lost} lost")
    assert len(listed) == len(set(listed))
    doc_says(row, "Now", "each once")
    doc_says(row, "List requests now", len(pages))

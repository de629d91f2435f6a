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
from formexport.sandbox import Sandbox
from tests.reliability.helpers import FIGURES

FIELDS = [{"type": "text", "name": "Name"}, {"type": "number", "name": "Score"}]
ROWS = 4000

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
    assert (lost, twice) == (0, 0)
    assert set(exported) <= existing | set(arrived)
    assert len(listing) <= ROWS / 75  # about 87 new rows a request once pages overlap

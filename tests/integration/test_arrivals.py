"""Forms keep collecting while they are exported: each submission exactly once.

A busy form (ten submissions a second for the last 400 s, so many share their ``created_at``
second) goes on receiving fifty a second while formexport exports it from a server
that hides job status, so the export lists the ids page by page and exports them in batches.
The emulator orders same-second submissions as a database may: differently for every query.
Every submission that existed when the call began must come back exactly once; those that
arrive meanwhile may come back or not, but never twice, and with their exact values.
"""

from __future__ import annotations

import csv
import io
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import pandas as pd
import pyarrow.parquet as pq
import pytest
import requests

import formexport as fx
from formexport.reading.ids import decode
from formexport.sandbox import ArrivalFeed, Sandbox

FIELDS = [{"type": "text", "name": "Name"}, {"type": "number", "name": "Score"}]


@dataclass(frozen=True)
class Busy:
    form_id: int
    existing: frozenset[int]
    fields: dict[str, str]  # name -> field id


def _busy(sandbox: Sandbox, count: int) -> Busy:
    sandbox.config.tie_order = "random"
    form = sandbox.add_form("Busy form", FIELDS)
    ids = sandbox.add_generated_submissions(form["id"], count, every=0.1)
    fields = {f["name"]: f["id"] for f in form["properties"]}
    return Busy(form["id"], frozenset(ids), fields)


@pytest.fixture
def busy(sandbox: Sandbox) -> Busy:
    return _busy(sandbox, 4000)


@pytest.fixture
def arrivals(sandbox: Sandbox, busy: Busy) -> Iterator[ArrivalFeed]:
    sandbox.clear_requests()
    with sandbox.start_arrivals(busy.form_id, every=0.02) as feed:
        yield feed


def _json_list(sandbox: Sandbox, form_id: int) -> dict[int, dict[str, Any]]:
    body = requests.get(
        f"{sandbox.base_url}/open/forms/{form_id}/submissions",
        params={"per_page": -1},
        headers={"Authorization": f"Bearer {sandbox.token}"},
        timeout=30,
    ).json()
    return {item["id"]: item["data"] for item in body["data"]}


def _check(sandbox: Sandbox, busy: Busy, feed: ArrivalFeed, exported: list[int]) -> None:
    arrived = set(feed.stop())
    twice = [i for i, n in Counter(exported).items() if n > 1]
    assert twice == []
    assert sorted(busy.existing - set(exported)) == []
    assert set(exported) <= busy.existing | arrived
    # Submissions arrived while the ids were listed, and between the batches.
    log = sandbox.requests
    listing = [r.at for r in log if r.path.endswith("/submissions") and r.query["per_page"] != "1"]
    batches = [r.at for r in log if r.path.endswith("/submissions/export")]
    assert len(batches) >= 4
    assert sum(listing[0] < t < listing[-1] for t in feed.times) >= 3
    assert sum(batches[0] < t < batches[-1] for t in feed.times) >= 3


def test_load_export_returns_every_submission_once_while_more_arrive(
    sandbox: Sandbox, busy: Busy, arrivals: ArrivalFeed
) -> None:
    events: list[fx.ProgressEvent] = []
    df = fx.load_export(
        busy.form_id, token=sandbox.token, base_url=sandbox.base_url, progress=events.append
    )
    _check(sandbox, busy, arrivals, df["submission_id"].tolist())
    # Progress counts the rows against a total that grows with the arrivals exported too.
    batches = [e for e in events if e.phase == "batches"]
    assert all(e.total is not None and e.completed <= e.total for e in batches)
    assert batches[-1].completed == len(df)
    # What arrived and was exported is whole: its exact values, from the same listing.
    stored = _json_list(sandbox, busy.form_id)
    newcomers = df[df["submission_id"].isin(set(arrivals.ids))]
    for row in newcomers.itertuples():
        data = stored[row.submission_id]
        assert row.Name == data.get(busy.fields["Name"])
        assert row.Score == data.get(busy.fields["Score"], pd.NA) or pd.isna(row.Score)
    assert df.attrs["values"] == "exact"


def test_download_export_writes_every_submission_once_while_more_arrive(
    sandbox: Sandbox, busy: Busy, arrivals: ArrivalFeed, tmp_path: Path
) -> None:
    path = fx.download_export(
        busy.form_id, tmp_path / "busy.csv", token=sandbox.token, base_url=sandbox.base_url
    )
    rows = list(csv.reader(io.StringIO(path.read_text(encoding="utf-8-sig"))))
    assert rows[0][0] == "id"
    assert rows.count(rows[0]) == 1  # one header
    known = busy.existing | set(arrivals.ids)
    exported = [decode(row[0], coerced=True, known=known) for row in rows[1:]]
    assert None not in exported
    _check(sandbox, busy, arrivals, [i for i in exported if i is not None])


def test_export_to_parquet_writes_every_submission_once_while_more_arrive(
    sandbox: Sandbox, busy: Busy, arrivals: ArrivalFeed, tmp_path: Path
) -> None:
    path = fx.export_to_parquet(
        busy.form_id, tmp_path / "busy.parquet", token=sandbox.token, base_url=sandbox.base_url
    )
    exported = pq.read_table(path, columns=["submission_id"]).column(0).to_pylist()
    _check(sandbox, busy, arrivals, exported)


def test_exact_values_read_after_a_small_export_cover_every_row(sandbox: Sandbox) -> None:
    # Up to 1000 submissions the server answers at once; the exact values (0 and false, which
    # its writer prints as empty cells) are then listed while the form goes on collecting.
    busy = _busy(sandbox, 900)
    stored = _json_list(sandbox, busy.form_id)
    sandbox.clear_requests()
    with sandbox.start_arrivals(busy.form_id, every=0.01) as feed:
        df = fx.load_export(busy.form_id, token=sandbox.token, base_url=sandbox.base_url)
    assert [r.path for r in sandbox.requests].count(
        f"/open/forms/{busy.form_id}/submissions/export"
    ) == 1
    listing = [r.at for r in sandbox.requests if r.path.endswith("/submissions")]
    assert sum(listing[1] < t < listing[-1] for t in feed.times) >= 3
    exported = set(df["submission_id"])
    assert busy.existing <= exported <= busy.existing | set(feed.ids)
    score = busy.fields["Score"]
    old = df[df["submission_id"].isin(busy.existing)]
    expected = [stored[i].get(score) for i in old["submission_id"]]
    assert 0 in expected
    assert [None if pd.isna(v) else v for v in old["Score"]] == expected


def test_rows_deleted_between_the_export_and_its_exact_values_keep_their_ids(
    sandbox: Sandbox, client: fx.Client
) -> None:
    # The retention job (or the form's owner) deletes submissions after the server answered
    # the export and before their exact values are listed: their rows stay whole, with the
    # CSV's values, instead of losing the submission id that ties them to the JSON list.
    job = client.start_export(1)
    sandbox.delete_submissions(1, [1, 17, 250])
    df = job.to_dataframe()
    assert sorted(df["submission_id"]) == list(range(1, 251))
    assert df.attrs["values"] == "exact"


def test_since_chooses_every_submission_of_the_window_once_while_more_arrive(
    sandbox: Sandbox, busy: Busy
) -> None:
    stored = _json_list(sandbox, busy.form_id)
    cut = sorted(d["created_at"] for d in stored.values())[len(stored) // 2]
    window = {i for i, d in stored.items() if d["created_at"] >= cut}
    since = datetime.fromisoformat(cut).replace(tzinfo=timezone.utc)
    with sandbox.start_arrivals(busy.form_id, every=0.02) as feed:
        df = fx.load_export(
            busy.form_id, since=since, token=sandbox.token, base_url=sandbox.base_url
        )
    exported = df["submission_id"].tolist()
    assert len(exported) == len(set(exported))
    assert window <= set(exported) <= window | set(feed.ids)

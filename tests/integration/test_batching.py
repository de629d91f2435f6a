"""Batches of chosen submissions, when some were deleted after they were listed.

OpnForm refuses a whole batch (422) when one of its ids no longer exists, naming the refused
ones by their position in the batch (``submissionIds.1``); the batch is sent again without them.
"""

from __future__ import annotations

import io
import logging
import threading
import time

import pandas as pd
import pytest
from hashids import Hashids

import formexport as fx
from formexport.jobs.batching import export_in_batches
from formexport.progress.events import ProgressEvent
from formexport.sandbox import Fault, Sandbox
from tests.integration.helpers import exports, submission_ids

SKIPPED = "1 submissions were deleted during the export; skipping them"


def exported_ids(csv: bytes) -> list[int]:
    """The submission ids of an export, decoded from its ``id`` column (hashids)."""
    table = pd.read_csv(io.BytesIO(csv), dtype=str, encoding="utf-8-sig")
    return [Hashids().decode(value)[0] for value in table["id"]]


def test_a_batch_without_a_deleted_submission_is_sent_again(
    client: fx.Client, sandbox: Sandbox, caplog: pytest.LogCaptureFixture
) -> None:
    sandbox.delete_submissions(1, [6])
    out = io.BytesIO()
    columns = client.get_form(1).default_columns()
    with caplog.at_level(logging.INFO, logger="formexport"):
        rows = export_in_batches(client.api, 1, columns, [5, 6, 7], out)
    assert rows == 2
    assert sorted(exported_ids(out.getvalue())) == [5, 7]
    assert [r.status for r in exports(sandbox)] == [422, 200]
    assert SKIPPED in caplog.messages


def _delete_once_listed(sandbox: Sandbox, form: int, victim: int, pages: int) -> None:
    """Delete ``victim`` as soon as ``pages`` pages of the form's submissions were listed."""
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        listed = [
            r
            for r in sandbox.requests
            if r.path == f"/open/forms/{form}/submissions" and r.query.get("per_page") != "1"
        ]
        if len(listed) >= pages:
            sandbox.delete_submissions(form, [victim])
            return
        time.sleep(0.005)


def test_a_submission_deleted_between_its_listing_and_its_batch(
    env: Sandbox, caplog: pytest.LogCaptureFixture
) -> None:
    # Status hidden: form 2's 2500 submissions are listed 100 a page and exported in batches of
    # 1000. One of the second batch goes once its page was listed; the server holds that
    # batch's request a second (a slow answer), so the deletion comes before it is read.
    newest_first = sorted(submission_ids(env, 2), reverse=True)
    victim = newest_first[1500]
    env.clear_requests()
    env.faults.add(Fault("export", delay=0.01))  # the first batch
    env.faults.add(Fault("export", delay=1.0))  # the second
    deleter = threading.Thread(target=_delete_once_listed, args=(env, 2, victim, 20))

    def start_deleting(event: ProgressEvent) -> None:
        if event.phase == "batches" and event.completed == 1000:
            deleter.start()

    with caplog.at_level(logging.INFO, logger="formexport"):
        frame = fx.load_export(2, progress=start_deleting)
    deleter.join(timeout=60)
    ids = frame["submission_id"].tolist()
    assert len(ids) == 2499
    assert sorted(ids) == sorted(set(newest_first) - {victim})
    assert [r.status for r in exports(env)] == [200, 422, 200, 200]
    assert SKIPPED in caplog.messages

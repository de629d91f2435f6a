"""Keeping to OpnForm's rate limits: the batched route at the server's ceiling, and no
repeated export requests that could start a second job."""

from __future__ import annotations

import pytest

import formexport as fx
from formexport.sandbox import Fault, Sandbox, make_field
from tests.integration.helpers import exports


def test_batches_beyond_the_limits_wait_for_the_next_window(sandbox: Sandbox) -> None:
    sandbox.config.rate_window_seconds = 3.0
    form = sandbox.add_form(
        "Big survey", [make_field("text", "Answer"), make_field("number", "Score")], 11_500
    )
    df = fx.load_export(form["id"], token=sandbox.token, base_url=sandbox.base_url, progress=None)
    assert len(df) == 11_500
    assert df["id"].is_unique
    assert [r.status for r in exports(sandbox)].count(200) == 12  # 11 x 1000, then 500
    # 115 pages of ids and 12 exports do not fit one window: the server refused some
    # requests, and each was waited out and repeated, never given up on.
    statuses = [r.status for r in sandbox.requests]
    assert 429 in statuses
    assert set(statuses) == {200, 404, 429}  # 404: the one status-route probe


def test_export_request_failing_with_5xx_is_not_repeated(sandbox: Sandbox) -> None:
    # The server may have started a job before failing; a retry could start a second one.
    sandbox.faults.add(Fault("export", http_status=503))
    with pytest.raises(fx.ServerError):
        fx.load_export(1, token=sandbox.token, base_url=sandbox.base_url, progress=None)
    assert len(exports(sandbox)) == 1


def test_export_request_cut_off_after_sending_is_not_repeated(sandbox: Sandbox) -> None:
    sandbox.faults.add(Fault("export", reset=True))
    with pytest.raises(fx.NetworkError):
        fx.load_export(1, token=sandbox.token, base_url=sandbox.base_url, progress=None)
    assert len(exports(sandbox)) == 1

"""Keeping to OpnForm's rate limits: the batched route at the server's ceiling without a single
429, and no repeated export requests that could start a second job."""

from __future__ import annotations

import pytest

import formexport as fx
from formexport import config
from formexport.sandbox import Fault, Sandbox, make_field
from tests.integration.helpers import exports


def test_batches_beyond_the_limits_wait_for_the_next_window(
    sandbox: Sandbox, monkeypatch: pytest.MonkeyPatch
) -> None:
    sandbox.config.rate_window_seconds = 3.0
    monkeypatch.setattr(config, "RATE_LIMIT_WINDOW", 3.0)
    form = sandbox.add_form(
        "Big survey", [make_field("text", "Answer"), make_field("number", "Score")], 11_500
    )
    df = fx.load_export(form["id"], token=sandbox.token, base_url=sandbox.base_url, progress=None)
    assert len(df) == 11_500
    assert df["id"].is_unique
    assert [r.status for r in exports(sandbox)].count(200) == 12  # 11 x 1000, then 500
    # 115 pages of ids and 12 exports do not fit one window: the client held the requests
    # beyond the limits back until the next window, so the server refused none.
    statuses = [r.status for r in sandbox.requests]
    assert set(statuses) == {200, 404}  # 404: the one status-route probe
    pages = [r.at for r in sandbox.requests if r.path.endswith("/submissions")]
    assert pages[-1] - pages[0] >= 3.0  # more than one window's worth


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

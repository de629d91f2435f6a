"""Only what you need: ``since=`` and ``status=`` against the emulator, submissions arriving."""

from __future__ import annotations

import io
from datetime import date, datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
import requests

import formexport as fx
from formexport.cli import main
from formexport.opnform.endpoints import OpnFormAPI
from formexport.opnform.selection import Selection, select_ids
from formexport.sandbox import Sandbox
from tests.integration.helpers import exports, served


def kwargs(sandbox: Sandbox) -> dict[str, Any]:
    return {"token": sandbox.token, "base_url": sandbox.base_url, "progress": None}


def first_field(sandbox: Sandbox, form: int) -> str:
    with fx.Client(token=sandbox.token, base_url=sandbox.base_url) as client:
        return client.get_form(form).fields[0].id


def arrive(sandbox: Sandbox, form: int, count: int, *, partial: bool = False) -> list[int]:
    """New submissions, created now (sandbox time), newest last."""
    field = first_field(sandbox, form)
    return [
        sandbox.add_submission(form, {field: f"New {n}"}, partial=partial) for n in range(count)
    ]


def pages(sandbox: Sandbox) -> list[Any]:
    """Requests for pages of the JSON submissions list."""
    return [r for r in served(sandbox, "GET", "/submissions") if r.path.endswith("/submissions")]


def listed_ids(sandbox: Sandbox, form: int, status: str) -> list[int]:
    ids, page = [], 1
    while True:
        body = requests.get(
            f"{sandbox.base_url}/open/forms/{form}/submissions",
            params={"page": page, "per_page": 100, "status": status},
            headers={"Authorization": f"Bearer {sandbox.token}"},
            timeout=10,
        ).json()
        ids += [item["id"] for item in body["data"]]
        if page >= body["meta"]["last_page"]:
            return ids
        page += 1


def test_a_recent_window_costs_a_few_requests(sandbox: Sandbox) -> None:
    new = arrive(sandbox, 2, 3) + arrive(sandbox, 2, 1, partial=True)
    sandbox.clear_requests()
    df = fx.load_export(2, since=timedelta(hours=1), **kwargs(sandbox))
    assert sorted(df["submission_id"].tolist()) == sorted(new)
    assert set(df["Full name"]) == {"New 0", "New 1", "New 2"}
    assert df["status"].value_counts().to_dict() == {"Completed": 3, "In Progress": 1}
    assert df.attrs["values"] == "exact"  # from the listed page, at no extra request
    # The form, one page of the submissions list, one export of the chosen ids: 2500 rows
    # are neither exported nor listed.
    assert [(r.method, r.path) for r in sandbox.requests] == [
        ("GET", "/open/forms/2"),
        ("GET", "/open/forms/2/submissions"),
        ("POST", "/open/forms/2/submissions/export"),
    ]


def test_nothing_since_gives_every_column_and_no_export(sandbox: Sandbox, tmp_path: Path) -> None:
    full = fx.load_export(1, **kwargs(sandbox))
    sandbox.clear_requests()
    empty = fx.load_export(1, since=timedelta(minutes=5), **kwargs(sandbox))
    assert len(empty) == 0
    assert list(empty.columns) == list(full.columns)
    assert empty.dtypes.astype(str).tolist() == full.dtypes.astype(str).tolist()
    assert not exports(sandbox)
    with fx.Client(token=sandbox.token, base_url=sandbox.base_url) as client:
        job = client.start_export(1, since=timedelta(minutes=5))
        assert "no submission matched" in job._repr_html_()
    csv = fx.download_export(
        1, tmp_path / "none.csv", since=timedelta(minutes=5), **kwargs(sandbox)
    )
    assert csv.read_bytes() == b'\xef\xbb\xbf""\n'  # what the server writes for no rows
    parquet = fx.export_to_parquet(1, tmp_path / "none.parquet", since=timedelta(minutes=5),
                                   **kwargs(sandbox))  # fmt: skip
    pd.testing.assert_frame_equal(pd.read_parquet(parquet), empty)


def test_since_keeps_submissions_created_at_or_after_it(sandbox: Sandbox) -> None:
    field = first_field(sandbox, 1)
    moment = datetime(2026, 11, 30, 12, 0, 0, tzinfo=timezone.utc)
    ids = {
        offset: sandbox.add_submission(
            1, {field: f"At {offset}"}, created_at=moment + timedelta(seconds=offset)
        )
        for offset in (-1, 0, 1)
    }
    aware = fx.load_export(1, since=moment, **kwargs(sandbox))
    assert sorted(aware["submission_id"]) == [ids[0], ids[1]]
    naive = fx.load_export(1, since=moment.replace(tzinfo=None), **kwargs(sandbox))  # UTC
    assert sorted(naive["submission_id"]) == [ids[0], ids[1]]
    paris = timezone(timedelta(hours=1))
    local = fx.load_export(1, since=datetime(2026, 11, 30, 13, 0, 0, tzinfo=paris),
                           **kwargs(sandbox))  # fmt: skip
    assert sorted(local["submission_id"]) == [ids[0], ids[1]]
    day = fx.load_export(1, since=date(2026, 11, 30), **kwargs(sandbox))
    assert sorted(day["submission_id"]) == sorted(ids.values())


def test_submissions_arriving_while_the_list_is_read_are_exported_once(
    sandbox: Sandbox, monkeypatch: pytest.MonkeyPatch
) -> None:
    window = arrive(sandbox, 2, 150)  # two pages of the submissions list
    original = OpnFormAPI.submissions_page
    late: list[int] = []

    def page_then_arrival(self: OpnFormAPI, *args: Any, **options: Any) -> Any:
        answer = original(self, *args, **options)
        if not late:  # between the first and the second page, five more arrive
            late.extend(arrive(sandbox, 2, 5))
        return answer

    monkeypatch.setattr(OpnFormAPI, "submissions_page", page_then_arrival)
    with fx.Client(token=sandbox.token, base_url=sandbox.base_url) as client:
        since = Selection(since=datetime.now(timezone.utc) - timedelta(hours=1))
        chosen = select_ids(client.api, 2, since)
    # The late five pushed five of the first page onto the second: listed twice, kept once;
    # the late ones themselves came after the first page was read.
    assert chosen == sorted(window, reverse=True)
    earlier, late[:] = list(late), []
    df = fx.load_export(2, since=timedelta(hours=1), **kwargs(sandbox))
    assert sorted(df["submission_id"]) == sorted(window + earlier)  # the export: each once


def test_each_status_lists_what_the_server_lists(sandbox: Sandbox) -> None:
    for status in ("completed", "partial"):
        sandbox.clear_requests()
        df = fx.load_export(2, status=status, **kwargs(sandbox))
        assert sorted(df["submission_id"]) == sorted(listed_ids(sandbox, 2, status))
        wanted = "Completed" if status == "completed" else "In Progress"
        assert set(df["status"]) == {wanted}
        assert pages(sandbox)
        assert {r.query["status"] for r in pages(sandbox)} == {status}
    sandbox.clear_requests()
    everything = fx.load_export(2, status="all", **kwargs(sandbox))
    assert len(everything) == 2500
    # The batched route's own listing (no other for "all"): the count, 25 pages, and the empty
    # page that shows a full last one was the end.
    assert len(pages(sandbox)) == 1 + 25 + 1


def test_since_and_status_together(sandbox: Sandbox) -> None:
    completed = arrive(sandbox, 2, 2)
    arrive(sandbox, 2, 2, partial=True)
    df = fx.load_export(2, since=timedelta(hours=1), status="completed", **kwargs(sandbox))
    assert sorted(df["submission_id"]) == sorted(completed)


@pytest.mark.parametrize("access", ["blocked", "open"])
def test_a_large_window_goes_the_usual_large_export_way(sandbox: Sandbox, access: str) -> None:
    sandbox.config.status_access = access
    form = int(sandbox.add_form("Big", [sandbox.make_field("text", "Name")], 1100)["id"])
    new = arrive(sandbox, form, 2)
    with fx.Client(token=sandbox.token, base_url=sandbox.base_url) as client:
        job = client.start_export(form, since=date(2020, 1, 1))
        assert job.delivery_mode == ("batched" if access == "blocked" else "server_job")
        arrive(sandbox, form, 1)  # after the listing: not chosen
        df = job.to_dataframe()
    assert len(df) == 1102
    assert set(new) <= set(df["submission_id"])


def test_parquet_and_csv_verbs_take_since(sandbox: Sandbox, tmp_path: Path) -> None:
    new = arrive(sandbox, 1, 2)
    path = fx.export_to_parquet(1, tmp_path / "new.parquet", since=timedelta(hours=1),
                                **kwargs(sandbox))  # fmt: skip
    assert sorted(pd.read_parquet(path)["submission_id"]) == sorted(new)
    csv = fx.download_export(1, tmp_path / "new.csv", since=timedelta(hours=1), **kwargs(sandbox))
    rows = pd.read_csv(io.BytesIO(csv.read_bytes()), encoding="utf-8-sig")
    assert len(rows) == 2


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"status": "done"}, "status must be one of"),
        ({"since": "yesterday"}, "since is a datetime"),
        ({"since": timedelta(days=-1)}, "negative"),
    ],
)
def test_bad_choices_are_refused_before_anything_is_sent(
    sandbox: Sandbox, options: dict[str, Any], message: str
) -> None:
    with pytest.raises(fx.InvalidArgumentError, match=message):
        fx.load_export(1, **options, **kwargs(sandbox))
    with (
        fx.Client(token=sandbox.token, base_url=sandbox.base_url) as client,
        pytest.raises(fx.InvalidArgumentError, match="not both"),
    ):
        client.start_export(1, submission_ids=[1], status="partial")
    assert not sandbox.requests


def test_cli_since_and_status(
    env: Sandbox, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    new = arrive(env, 2, 2)
    arrive(env, 2, 1, partial=True)
    out = tmp_path / "recent.parquet"
    assert main(["export", "2", "-o", str(out), "--since", "2h", "--status", "completed"]) == 0
    assert sorted(pd.read_parquet(out)["submission_id"]) == sorted(new)
    assert main(["export", "2", "-o", str(out), "--since", "2026-08-31T00:00Z"]) == 0
    assert len(pd.read_parquet(out)) == 3
    with pytest.raises(SystemExit) as refused:
        main(["export", "2", "-o", str(out), "--since", "soon"])
    assert refused.value.code == 2
    assert "expected a duration" in capsys.readouterr().err
    # A job picked up by id is exported as it was started: --since cannot narrow it.
    assert main(["export", "2", "-o", str(out), "--job", "x", "--since", "1h"]) == 2
    assert "--since" in capsys.readouterr().err

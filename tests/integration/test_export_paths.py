"""Each way a server can deliver an export, end to end over loopback."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest
import requests

import formexport as fx
from formexport.progress.reporters import ProgressEvent
from formexport.sandbox import Sandbox
from tests.integration.helpers import assert_same_submissions, exports, served, submission_ids

BOM = b"\xef\xbb\xbf"
FEEDBACK_COLUMNS = [
    "id", "submission_id", "Name", "Email", "Phone", "Rating", "Comments", "Subscribe",
    "Topics", "Visit date", "Amount (USD)", "Zip code", "created_at",
]  # fmt: skip
EVENT_COLUMNS = [
    "id", "submission_id", "Full name", "Email (work)", "Email (home)", "Ticket type",
    "Sessions", "Documents", "Signature", "Dates (start)", "Dates (end)", "Satisfaction",
    "Newsletter", "created_at", "status",
]  # fmt: skip


def test_small_form_is_answered_at_once(env: Sandbox) -> None:
    df = fx.load_export(1, progress=None)
    assert list(df.columns) == FEEDBACK_COLUMNS
    assert len(df) == 250
    assert_same_submissions(df["id"].tolist(), submission_ids(env, 1))
    assert len(exports(env)) == 1
    assert not served(env, "GET", "/export/status/")


def test_slug_and_self_hosted_base_url(sandbox: Sandbox) -> None:
    slug = fx.Client(token=sandbox.token, base_url=sandbox.base_url).get_form(1).slug
    sandbox.clear_requests()
    df = fx.load_export(slug, token=sandbox.token, base_url=sandbox.api_url, progress=None)
    assert len(df) == 250
    assert all(r.path.startswith("/api/") for r in sandbox.requests)


def test_large_form_runs_as_a_watched_job_when_status_is_open(sandbox: Sandbox) -> None:
    sandbox.config.status_access = "open"
    sandbox.config.job_progression = "per_poll"
    events: list[ProgressEvent] = []
    with fx.Client(token=sandbox.token, base_url=sandbox.base_url) as client:
        job = client.start_export(2)
        assert job.is_server_job
        assert job.job_id
        job.wait(progress=events.append)
        df = job.to_dataframe()
    assert list(df.columns) == EVENT_COLUMNS
    assert_same_submissions(df["id"].tolist(), submission_ids(sandbox, 2))
    server_phase = [e for e in events if e.phase == "export"]
    assert server_phase[0].message == "queued"
    assert "Generating export file..." in [e.message for e in server_phase]
    assert server_phase[-1].completed == 100
    assert [e.completed for e in server_phase] == sorted(e.completed for e in server_phase)


def test_closed_status_route_exports_in_batches_without_starting_a_job(sandbox: Sandbox) -> None:
    events: list[ProgressEvent] = []
    df = fx.load_export(2, token=sandbox.token, base_url=sandbox.base_url, progress=events.append)
    assert len(df) == 2500
    assert list(df.columns) == EVENT_COLUMNS
    assert_same_submissions(df["id"].tolist(), submission_ids(sandbox, 2))
    posted = exports(sandbox)
    assert len(posted) == 3  # 1000 + 1000 + 500, each answered as CSV
    assert all(r.status == 200 for r in posted)
    rows = [e.completed for e in events if e.phase == "batches"]
    assert rows == [0, 1000, 2000, 2500]


def test_batched_and_background_exports_hold_the_same_rows(sandbox: Sandbox) -> None:
    kwargs = {"token": sandbox.token, "base_url": sandbox.base_url, "progress": None}
    batched = fx.load_export(2, **kwargs)  # type: ignore[arg-type]
    sandbox.config.status_access = "open"
    background = fx.load_export(2, values="exact", **kwargs)  # type: ignore[arg-type]
    as_served = fx.load_export(2, values="csv", **kwargs)  # type: ignore[arg-type]
    # Batches carry the raw values their id listing read; the background job's CSV, read with
    # the same raw values, holds the same answers. Only signed links and the ids the
    # synchronous writer prints as numbers (2E1 -> 20) differ.
    same = [c for c in background.columns if c not in ("id", "Documents", "Signature")]
    pd.testing.assert_frame_equal(batched[same], background[same])
    assert (batched["id"] == background["id"]).mean() > 0.99
    # Read from its own CSV, the background writer loses nothing but "never answered":
    # a toggle left alone reads False, where the raw values say missing.
    unanswered = batched["Newsletter"].isna()
    assert unanswered.any()
    assert not as_served.loc[unanswered, "Newsletter"].any()
    answered = ~unanswered
    assert as_served.loc[answered, "Newsletter"].equals(batched.loc[answered, "Newsletter"])


def test_joined_batches_have_one_bom_and_one_header(sandbox: Sandbox, tmp_path: Path) -> None:
    path = fx.download_export(
        2, tmp_path / "events.csv", token=sandbox.token, base_url=sandbox.base_url, progress=None
    )
    data = path.read_bytes()
    assert data.startswith(BOM)
    assert data.count(BOM) == 1
    header = data.split(b"\n", 1)[0]
    assert data.count(header[len(BOM) :]) == 1


def test_sync_download_is_byte_for_byte_what_the_server_sent(
    sandbox: Sandbox, tmp_path: Path
) -> None:
    with fx.Client(token=sandbox.token, base_url=sandbox.base_url) as client:
        columns = client.get_form(1).default_columns()
    served_csv = requests.post(
        f"{sandbox.base_url}/open/forms/1/submissions/export",
        json={"columns": columns},
        headers={"Authorization": f"Bearer {sandbox.token}"},
        timeout=10,
    ).content
    path = fx.download_export(
        1, tmp_path / "out.csv", token=sandbox.token, base_url=sandbox.base_url, progress=None
    )
    assert path.read_bytes() == served_csv


def test_async_download_is_byte_for_byte_the_file(sandbox: Sandbox, tmp_path: Path) -> None:
    sandbox.config.status_access = "open"
    with fx.Client(token=sandbox.token, base_url=sandbox.base_url) as client:
        job = client.start_export(2)
        path = job.download(tmp_path / "events.csv")
        assert job.status is not None
        assert job.status.file_url is not None
        original = requests.get(job.status.file_url, timeout=10).content
    assert path.read_bytes() == original
    assert original.startswith(BOM)


def test_s3_file_host_never_receives_the_token(sandbox: Sandbox) -> None:
    sandbox.config.status_access = "open"
    sandbox.config.file_host = "s3"
    df = fx.load_export(2, token=sandbox.token, base_url=sandbox.base_url, progress=None)
    assert len(df) == 2500
    file_requests = [r for r in sandbox.requests if r.host.startswith("127.0.0.2")]
    assert file_requests
    assert all("Authorization" not in r.headers for r in file_requests)
    # The whole file, then the check that nothing follows its announced end.
    assert [r.status for r in file_requests] == [200, 416]


def test_documented_status_path_is_used_when_it_is_the_one_that_answers(
    sandbox: Sandbox,
) -> None:
    sandbox.config.status_access = "open"
    sandbox.config.docs_status_route = True
    sandbox.config.job_progression = "per_poll"
    with fx.Client(token=sandbox.token, base_url=sandbox.base_url) as client:
        job = client.start_export(2)
        job.wait(progress=None)
    assert job.status is not None
    assert job.status.status == "completed"


def test_parquet_equals_dataframe(sandbox: Sandbox, tmp_path: Path) -> None:
    sandbox.config.status_access = "open"
    with fx.Client(token=sandbox.token, base_url=sandbox.base_url) as client:
        job = client.start_export(2)
        path = job.to_parquet(tmp_path / "events.parquet")
        frame = job.to_dataframe()
    assert len(frame) == 2500
    pd.testing.assert_frame_equal(pd.read_parquet(path), frame)


def test_export_to_parquet_writes_every_row(sandbox: Sandbox, tmp_path: Path) -> None:
    path = fx.export_to_parquet(
        1,
        tmp_path / "feedback.parquet",
        token=sandbox.token,
        base_url=sandbox.base_url,
        progress=None,
    )
    assert pd.read_parquet(path).shape == (250, len(FEEDBACK_COLUMNS))


def test_columns_by_id_or_name(sandbox: Sandbox) -> None:
    with fx.Client(token=sandbox.token, base_url=sandbox.base_url) as client:
        fields = {f.name: f.id for f in client.get_form(1).fields}
        df = client.start_export(1, columns=["Email", fields["Name"]]).to_dataframe()
    assert list(df.columns) == ["id", "submission_id", "Email", "Name"]


def test_chosen_submissions_only(sandbox: Sandbox) -> None:
    wanted = submission_ids(sandbox, 1)[:7]
    with fx.Client(token=sandbox.token, base_url=sandbox.base_url) as client:
        df = client.start_export(1, submission_ids=wanted).to_dataframe()
    assert_same_submissions(df["id"].tolist(), wanted)


@pytest.mark.parametrize("version", ["1.13.0", "2.0.0", "2.2.1", "2.3.0", "2.4.0"])
def test_every_server_version_delivers_everything(sandbox: Sandbox, version: str) -> None:
    sandbox.config.version = version
    df = fx.load_export(2, token=sandbox.token, base_url=sandbox.base_url, progress=None)
    assert len(df) == 2500
    assert df.columns[0] == "id"


def test_server_too_old_for_batches_says_so(sandbox: Sandbox) -> None:
    sandbox.config.version = "1.12.0"
    with pytest.raises(fx.UnexpectedResponseError, match=r"1\.13\.0"):
        fx.load_export(2, token=sandbox.token, base_url=sandbox.base_url, progress=None)

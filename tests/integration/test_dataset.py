"""Many forms into a partitioned Parquet dataset on a real S3 API (moto's server, on loopback)."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import duckdb
import pyarrow.dataset as ds
import pytest
import s3fs
from moto.server import ThreadedMotoServer

import formexport as fx
from formexport.sandbox import Fault, Sandbox
from tests.integration.helpers import exports, served

MANIFEST = "_formexport_manifest.json"


@pytest.fixture(scope="module")
def s3_endpoint() -> Iterator[str]:
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    yield f"http://{host}:{port}"
    server.stop()


@pytest.fixture
def bucket(
    s3_endpoint: str, request: pytest.FixtureRequest
) -> Iterator[tuple[str, dict[str, Any]]]:
    options: dict[str, Any] = {
        "key": "testing",
        "secret": "testing",
        "endpoint_url": s3_endpoint,
        "skip_instance_cache": True,
    }
    name = f"forms-{request.node.name.replace('_', '-')[:40].lower()}"
    fs = s3fs.S3FileSystem(**options)
    fs.mkdir(name)
    yield f"s3://{name}/dataset", options
    fs.rm(name, recursive=True)


def s3(options: dict[str, Any]) -> s3fs.S3FileSystem:
    return s3fs.S3FileSystem(**options)


def run(sandbox: Sandbox, dest: str, options: dict[str, Any], **kwargs: Any) -> fx.Manifest:
    return fx.export_forms(
        1, dest, storage_options=options, token=sandbox.token, base_url=sandbox.base_url,
        progress=None, **kwargs,
    )  # fmt: skip


def test_workspace_lands_as_a_hive_partitioned_dataset(
    sandbox: Sandbox, bucket: tuple[str, dict[str, Any]]
) -> None:
    dest, options = bucket
    manifest = run(sandbox, dest, options)
    assert {r.form_id: (r.status, r.rows) for r in manifest.forms.values()} == {
        1: ("ok", 250),
        2: ("ok", 2500),
        3: ("ok", 0),
    }
    fs = s3(options)
    dataset = ds.dataset(
        dest.removeprefix("s3://"), filesystem=fs, format="parquet", partitioning="hive"
    )
    table = dataset.to_table(columns=["form_id", "id"])
    assert table.num_rows == 2750
    assert sorted(set(table.column("form_id").to_pylist())) == [1, 2]
    stored = json.loads(fs.cat(f"{dest}/{MANIFEST}"))
    assert stored["forms"]["2"]["partitions"][0].startswith("form_id=2/export_date=")
    assert stored["forms"]["2"]["high_water_mark"] == max(
        r["high_water_mark"] for r in stored["forms"].values() if r["high_water_mark"]
    )


def test_duckdb_reads_the_dataset(sandbox: Sandbox, bucket: tuple[str, dict[str, Any]]) -> None:
    dest, options = bucket
    run(sandbox, dest, options)
    connection = duckdb.connect()
    connection.register_filesystem(s3(options))
    rows = connection.sql(
        f"SELECT form_id, count(*) FROM read_parquet('{dest}/**/*.parquet', "
        "hive_partitioning = true, union_by_name = true) GROUP BY form_id ORDER BY form_id"
    ).fetchall()
    assert rows == [(1, 250), (2, 2500)]


def test_rerun_exports_nothing_that_did_not_change(
    sandbox: Sandbox, bucket: tuple[str, dict[str, Any]]
) -> None:
    dest, options = bucket
    run(sandbox, dest, options)
    sandbox.clear_requests()
    manifest = run(sandbox, dest, options)
    assert not exports(sandbox)
    assert {r.status for r in manifest.forms.values()} == {"unchanged"}


def test_incremental_run_adds_only_new_submissions(
    sandbox: Sandbox, bucket: tuple[str, dict[str, Any]]
) -> None:
    dest, options = bucket
    first = run(sandbox, dest, options)
    fields = fx.Client(token=sandbox.token, base_url=sandbox.base_url).get_form(1).fields
    new_ids = [sandbox.add_submission(1, {fields[0].id: f"Late reply {n}"}) for n in range(3)]
    sandbox.clear_requests()
    second = run(sandbox, dest, options, incremental=True)
    record = second.record(1)
    assert record is not None
    assert (record.mode, record.rows, record.high_water_mark) == ("incremental", 3, max(new_ids))
    assert len(record.partitions) == 2
    assert [r.path for r in exports(sandbox)] == ["/open/forms/1/submissions/export"]
    fs = s3(options)
    table = ds.dataset(dest.removeprefix("s3://"), filesystem=fs, partitioning="hive").to_table()
    assert table.filter(ds.field("form_id") == 1).num_rows == 253
    assert second.record(2).rows == 0  # type: ignore[union-attr]
    assert first.record(1).high_water_mark < max(new_ids)  # type: ignore[union-attr,operator]


def test_full_refresh_replaces_a_forms_partitions(
    sandbox: Sandbox, bucket: tuple[str, dict[str, Any]]
) -> None:
    dest, options = bucket
    run(sandbox, dest, options)
    manifest = run(sandbox, dest, options, full_refresh=True)
    fs = s3(options)
    files = [p for p in fs.find(dest) if p.endswith(".parquet")]
    assert len(files) == 2
    assert sorted(
        f"{dest.removeprefix('s3://')}/{p}" for r in manifest.forms.values() for p in r.partitions
    ) == sorted(files)


def test_a_failed_form_does_not_stop_the_others(
    sandbox: Sandbox, bucket: tuple[str, dict[str, Any]]
) -> None:
    dest, options = bucket
    sandbox.faults.add(Fault("export", http_status=500, times=None))
    with pytest.raises(fx.PartialExportError) as info:
        fx.export_forms(
            [1, 2], dest, storage_options=options, token=sandbox.token,
            base_url=sandbox.base_url, progress=None, max_workers=1,
        )  # fmt: skip
    assert set(info.value.failed) == {1, 2}
    sandbox.faults.clear()
    manifest = run(sandbox, dest, options)
    assert {r.status for r in manifest.forms.values()} == {"ok"}


def test_killed_run_resumes_from_the_manifest(
    sandbox: Sandbox, bucket: tuple[str, dict[str, Any]]
) -> None:
    dest, options = bucket
    sandbox.config.status_access = "open"
    sandbox.config.job_progression = "timed"
    sandbox.config.seconds_per_step = 2.0
    command = [
        sys.executable, "-m", "formexport", "export-all", "1", "-o", dest, "--workers", "1",
        "--no-progress", "--storage-option", f"endpoint_url={options['endpoint_url']}",
        "--storage-option", "key=testing", "--storage-option", "secret=testing",
    ]  # fmt: skip
    env = {
        **os.environ,
        "OPNFORM_API_TOKEN": sandbox.token,
        "OPNFORM_API_BASE_URL": sandbox.base_url,
        "AWS_DEFAULT_REGION": "us-east-1",
    }
    fs = s3(options)
    with subprocess.Popen(command, env=env, stderr=subprocess.DEVNULL) as process:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            fs.invalidate_cache()
            if fs.exists(f"{dest}/{MANIFEST}"):
                stored = json.loads(fs.cat(f"{dest}/{MANIFEST}"))
                if any(r["status"] == "running" and r["job_id"] for r in stored["forms"].values()):
                    break
            time.sleep(0.1)
        process.send_signal(signal.SIGKILL)
    running = [r for r in stored["forms"].values() if r["status"] == "running"]
    assert running, "the run was not caught in the middle of a background job"
    sandbox.clear_requests()
    sandbox.config.job_progression = "immediate"
    manifest = run(sandbox, dest, options)
    assert {r.status for r in manifest.forms.values()} <= {"ok", "unchanged"}
    resumed = manifest.record(running[0]["form_id"])
    assert resumed is not None
    assert resumed.job_id == running[0]["job_id"]  # the job the killed run had started
    done_before = {int(k) for k, r in stored["forms"].items() if r["status"] == "ok"}
    posted = {int(r.path.split("/")[3]) for r in exports(sandbox)}
    assert not posted & done_before


def test_local_folder_and_cli(
    sandbox: Sandbox, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from formexport.cli import main

    monkeypatch.setenv("OPNFORM_API_TOKEN", sandbox.token)
    monkeypatch.setenv("OPNFORM_API_BASE_URL", sandbox.base_url)
    assert main(["export-all", "Demo workspace", "-o", str(tmp_path), "--no-progress"]) == 0
    assert len(list(tmp_path.glob("form_id=*/export_date=*/*.parquet"))) == 2
    sandbox.faults.add(Fault("export", http_status=500, times=None))
    assert main(["export-all", "1", "-o", str(tmp_path), "--full-refresh", "--no-progress"]) == 1


def test_readers_shown_in_the_readme(sandbox: Sandbox, tmp_path: Path) -> None:
    import dask.dataframe as dd
    import polars as pl

    fx.export_forms(1, tmp_path, token=sandbox.token, base_url=sandbox.base_url, progress=None)
    counts = duckdb.sql(
        f"SELECT form_id, count(*) FROM read_parquet('{tmp_path}/**/*.parquet', "
        "hive_partitioning = true, union_by_name = true) GROUP BY form_id ORDER BY form_id"
    ).fetchall()
    assert counts == [(1, 250), (2, 2500)]
    events = pl.scan_parquet(f"{tmp_path}/form_id=2/**/*.parquet", hive_partitioning=True)
    assert events.collect().height == 2500
    assert len(dd.read_parquet(f"{tmp_path}/form_id=1/")) == 250


def test_a_relative_folder_that_does_not_exist_yet_is_created(
    sandbox: Sandbox, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    manifest = fx.export_forms(
        [1], "exports/new", token=sandbox.token, base_url=sandbox.base_url, progress=None
    )
    assert manifest.forms["1"].rows == 250
    assert (tmp_path / "exports" / "new" / "_formexport_manifest.json").is_file()
    assert len(ds.dataset(tmp_path / "exports" / "new" / "form_id=1").to_table()) == 250


def test_uploaded_files_land_beside_the_dataset(
    sandbox: Sandbox, bucket: tuple[str, dict[str, Any]]
) -> None:
    dest, options = bucket
    form = sandbox.add_form(
        "Applications",
        [{"type": "files", "name": "Documents"}, {"type": "signature", "name": "Signed"}],
    )
    documents, signed = (f["id"] for f in form["properties"])
    first = sandbox.add_submission(
        form["id"], {documents: ["cv_1.pdf", "cv_1.pdf"], signed: "s.png"}
    )
    second = sandbox.add_submission(form["id"], {documents: ["report.docx"]})
    export = {
        "storage_options": options, "token": sandbox.token, "base_url": sandbox.base_url,
        "progress": None, "files": True,
    }  # fmt: skip
    fx.export_forms([form["id"]], dest, **export)
    fs = s3(options)
    table = ds.dataset(dest.removeprefix("s3://"), filesystem=fs, partitioning="hive").to_table()
    ids, documents_cells = (table.column(c).to_pylist() for c in ("submission_id", "Documents"))
    cells = dict(zip(ids, documents_cells, strict=True))
    folder = f"{form['id']}/{first}/{documents}"
    assert cells == {
        first: [f"{folder}/cv_1.pdf", f"{folder}/cv_1 (2).pdf"],
        second: [f"{form['id']}/{second}/{documents}/report.docx"],
    }
    root = f"{dest}/_files"
    for relative in (*cells[first], *cells[second]):
        assert fs.cat(f"{root}/{relative}") == sandbox.uploaded_file(
            form["id"], relative.split("/")[-1].replace(" (2)", "")
        )
    record = json.loads(fs.cat(f"{root}/{form['id']}/_formexport_files.json"))
    assert len(record["files"]) == 4
    # Later runs download only the files they do not hold: the new submission's, then none.
    sandbox.add_submission(form["id"], {documents: ["late.pdf"]})
    sandbox.clear_requests()
    fx.export_forms([form["id"]], dest, incremental=True, **export)
    fetched = served(sandbox, "GET", "/submissions/file/")
    assert [r.path.rsplit("/", 1)[1] for r in fetched] == ["bGF0ZS5wZGY"]  # base64url of late.pdf
    sandbox.clear_requests()
    fx.export_forms([form["id"]], dest, full_refresh=True, **export)
    assert exports(sandbox)
    assert not served(sandbox, "GET", "/submissions/file/")

"""Real processes on one destination: the file there is always one complete export, and a process
stopped with Ctrl-C mid-download leaves nothing behind."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from urllib.parse import urlencode

import pandas as pd
import pytest
import requests

from formexport import config
from formexport.progress.reporters import ProgressEvent
from formexport.reading.blocks import read_header
from formexport.reading.column_plan import plan_columns
from formexport.sandbox import Fault, Sandbox
from tests.reliability.figures import bytes_lost, doc_says, unsigned
from tests.reliability.helpers import exports, finished_job, leftovers, served_bytes

WIDE_HEADER = [
    "id",
    "Full name",
    "Email",
    "Email.1",
    "Ticket type",
    "Sessions",
    "Documents",
    "Signature",
    "Dates",
    "Satisfaction",
    "Newsletter",
    "created_at",
    "status",
]

EXPORT = """
import sys
import formexport as fx
columns = sys.argv[3].split(",") if sys.argv[3] else None
fx.download_export(int(sys.argv[1]), sys.argv[2], columns=columns, progress=None)
"""


def start(
    sandbox: Sandbox, dest: Path, columns: str = "", form: int = 2
) -> subprocess.Popen[bytes]:
    env = {
        **os.environ,
        config.TOKEN_ENV: sandbox.token,
        config.BASE_URL_ENV: sandbox.base_url,
    }
    return subprocess.Popen(
        [sys.executable, "-c", EXPORT, str(form), str(dest), columns],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )


def served_files(sandbox: Sandbox) -> list[bytes]:
    """Each export file the processes downloaded, fetched again from its signed link."""
    links = {
        f"{sandbox.base_url}{r.path}?{urlencode(r.query)}"
        for r in sandbox.requests
        if "/local/temp/" in r.path and r.status == 200
    }
    return [requests.get(link, timeout=10).content for link in sorted(links)]


def run_both(*processes: subprocess.Popen[bytes]) -> None:
    results = [p.communicate(timeout=60) for p in processes]
    assert [p.returncode for p in processes] == [0] * len(processes), results


def test_two_processes_on_one_destination_leave_one_whole_export(
    sandbox: Sandbox, tmp_path: Path
) -> None:
    sandbox.config.status_access = "open"
    other = sandbox.add_form("Second survey", [{"type": "text", "name": "Answer"}], 1500)
    # Slow file transfers so that the two processes download at the same time.
    sandbox.faults.add(Fault("download", bytes_per_second=1_500_000, times=2))
    dest = tmp_path / "out" / "events.csv"
    run_both(start(sandbox, dest, form=2), start(sandbox, dest, form=other["id"]))
    written = dest.read_bytes()
    assert leftovers(dest.parent) == ["events.csv"]
    lost = min(bytes_lost(written, served) for served in served_files(sandbox))
    doc_says("Two real processes export two forms to one destination", "Bytes lost", lost)


def test_two_processes_exporting_one_form_to_one_destination_leave_one_whole_export(
    sandbox: Sandbox, tmp_path: Path
) -> None:
    # OpnForm names export files by form and second: two jobs of one form may write the same S3
    # object. The two processes take turns at the form, and each writes its own temporary file
    # beside the destination: the destination holds one whole export.
    sandbox.config.status_access = "open"
    sandbox.config.file_host = "s3"
    sandbox.faults.add(Fault("download", bytes_per_second=1_500_000, times=2))
    dest = tmp_path / "events.csv"
    run_both(start(sandbox, dest, "created_at"), start(sandbox, dest))
    table = pd.read_csv(dest, dtype=str, keep_default_na=False)
    assert list(table.columns) in (["id", "created_at", "status"], WIDE_HEADER)
    assert table["id"].is_unique
    assert leftovers(tmp_path) == ["events.csv"]
    # Each request exported again, alone: the file must be one of the two, whole.
    written = dest.read_bytes()
    sandbox.faults.clear()
    lost = min(
        bytes_lost(
            unsigned(written),
            unsigned(exported_alone(sandbox, tmp_path / f"alone-{n}.csv", columns)),
        )
        for n, columns in enumerate([["created_at"], None])
    )
    row = "Two processes export one form with different columns to one destination"
    doc_says(row, "Measured", f"One whole, consistent CSV: {len(table)} rows, one header")
    doc_says(row, "Bytes lost", lost)


def exported_alone(sandbox: Sandbox, path: Path, columns: list[str] | None) -> bytes:
    """The export of form 2 with ``columns``, as a background job nothing overlaps."""
    time.sleep(1 - time.time() % 1)  # a second of its own: a file name of its own
    job = finished_job(sandbox, columns=columns)
    return job.download(path).read_bytes()


def test_ctrl_c_in_one_process_leaves_nothing_half_written(
    sandbox: Sandbox, tmp_path: Path
) -> None:
    sandbox.config.status_access = "open"
    sandbox.faults.add(Fault("download", bytes_per_second=300_000))
    dest = tmp_path / "events.csv"
    process = start(sandbox, dest, "")
    try:
        deadline = time.monotonic() + 60
        while not list(tmp_path.glob(".*.part")) and process.poll() is None:
            assert time.monotonic() < deadline, "the download never started"
            time.sleep(0.02)
        process.send_signal(signal.SIGINT)
        _, err = process.communicate(timeout=30)
    finally:
        process.kill()
        process.communicate()
    assert process.returncode != 0
    assert b"KeyboardInterrupt" in err
    assert leftovers(tmp_path) == []


def export_again(sandbox: Sandbox, columns: dict[str, bool]) -> str:
    """Start another export of form 2 straight over HTTP; return its file's link."""
    headers = {"Authorization": f"Bearer {sandbox.token}"}
    base = f"{sandbox.base_url}/open/forms/2/submissions/export"
    posted = requests.post(base, json={"columns": columns}, headers=headers, timeout=10)
    status = requests.get(f"{base}/status/{posted.json()['job_id']}", headers=headers, timeout=10)
    return str(status.json()["file_url"])


NARROW = {"created_at": True}


@pytest.mark.parametrize(
    ("first", "second", "cut"),
    [
        # The newer file (84 kB) is shorter than the part fetched: 416, and a fresh start.
        (None, NARROW, 100_000),
        # The newer file is longer: 206 under a new ETag, and a fresh start.
        (["created_at"], None, 50_000),
    ],
    ids=["shrank", "grew"],
)
def test_a_file_overwritten_between_two_requests_is_not_mixed(
    sandbox: Sandbox,
    tmp_path: Path,
    first: list[str] | None,
    second: dict[str, bool] | None,
    cut: int,
) -> None:
    # A second export of the same form in the same second overwrites the S3 object (OpnForm
    # names export files by the second) between the cut and the resume.
    sandbox.config.status_access = "open"
    sandbox.config.file_host = "s3"
    for attempt in range(5):
        time.sleep(1 - time.time() % 1)  # both exports within one second: one file name
        job = finished_job(sandbox, columns=first)
        columns = second or job.form.default_columns()
        sandbox.clear_requests()
        sandbox.faults.add(Fault("download", cut_after=cut))
        links: list[str] = []

        def overwrite(
            event: ProgressEvent, links: list[str] = links, columns: dict[str, bool] = columns
        ) -> None:
            if event.phase == "download" and not links:
                links.append(export_again(sandbox, columns))

        job.wait(progress=overwrite)  # already done: this only picks the download's progress
        assert job.status is not None
        first_file = str(job.status.file_url).split("?")[0]
        path = job.download(tmp_path / f"events-{attempt}.csv")
        if links[0].split("?")[0] == first_file:
            break  # the two exports shared a file, as intended
    else:
        pytest.fail("the two exports never fell within the same second")
    fetched = [r for r in sandbox.requests if "/opnform-exports/" in r.path]
    assert [(r.headers.get("Range"), r.status) for r in fetched][:3] == [
        (None, 200),
        (f"bytes={cut}-", 416 if second else 206),
        (None, 200),
    ]
    first_answer, resume, again = (r.status for r in fetched[:3])
    row = "The S3 object is overwritten between a cut and its resume"
    doc_says(row, "Measured", f"File requests: {first_answer} (cut)")
    doc_says(row, "Measured", f"{resume}")
    doc_says(row, "Measured", f", {again}")
    # The newer file, downloaded whole, is the other export's: this request is exported again
    # and its own file delivered, not a splice.
    assert len(exports(sandbox)) == 2  # (since the log was cleared) the other, this one again
    assert read_header(path) == [p.header for p in plan_columns(job.form, job.columns)]
    doc_says(row, "Bytes lost", bytes_lost(path.read_bytes(), served_bytes(job)))

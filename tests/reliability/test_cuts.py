"""A connection cut at any offset, any number of times: the file is byte-identical to the
server's, resumed with Range where the host answers 206 and fetched again where it does not."""

from __future__ import annotations

import itertools
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import formexport as fx
from formexport.sandbox import Fault, Sandbox
from tests.reliability.figures import bytes_lost, doc_says
from tests.reliability.helpers import (
    file_requests,
    finished_job,
    leftovers,
    served_bytes,
    undownloaded,
)

# Up to four cuts in one download: within the five resumes a download allows.
MOST_CUTS = 4
CUTS = st.lists(st.integers(min_value=0, max_value=1_300_000), min_size=1, max_size=MOST_CUTS)
SHARED_JOB = settings(
    max_examples=25,
    deadline=None,
    # One finished export serves every example; each example clears its own faults and log.
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)


def expected_ranges(cuts: list[int], size: int) -> list[str | None]:
    """The Range header of each request when every resume starts where the last body stopped."""
    ranges: list[str | None] = []
    offset = 0
    for cut in cuts:
        ranges.append(f"bytes={offset}-" if offset else None)
        if cut >= size - offset:
            offset = size
            break
        offset += cut
    else:
        ranges.append(f"bytes={offset}-" if offset else None)
    ranges.append(f"bytes={size}-")  # the check that nothing follows the end
    return ranges


def download_cut_at(
    sandbox: Sandbox, job: fx.ExportJob, cuts: list[int], folder: Path, original: bytes
) -> int:
    """Download ``job`` into ``folder`` through a connection cut after each of ``cuts`` bytes,
    with nothing else left behind; return the bytes lost."""
    sandbox.faults.clear()
    sandbox.clear_requests()
    for cut in cuts:
        sandbox.faults.add(Fault("download", cut_after=cut))
    path = undownloaded(sandbox, job).download(folder / "events.csv")
    assert leftovers(folder) == ["events.csv"]
    return bytes_lost(path.read_bytes(), original)


@pytest.mark.parametrize("file_host", ["local", "s3"])
def test_cuts_resume_with_range_and_lose_nothing(
    sandbox: Sandbox, tmp_path: Path, file_host: str
) -> None:
    sandbox.config.file_host = file_host
    sandbox.config.rate_limits = False  # a hundred downloads a minute would hit the API limit
    job = finished_job(sandbox)
    original = served_bytes(job)
    names = itertools.count()
    worst = {"requests": 0, "lost": 0}

    @SHARED_JOB
    @given(cuts=CUTS)
    def download_with_cuts(cuts: list[int]) -> None:
        lost = download_cut_at(sandbox, job, cuts, tmp_path / str(next(names)), original)
        ranges = [r.headers.get("Range") for r in file_requests(sandbox)]
        assert ranges == expected_ranges(cuts, len(original))  # no byte fetched twice
        worst["requests"] = max(worst["requests"], len(ranges))
        worst["lost"] = max(worst["lost"], lost)

    download_with_cuts()
    # Each cut costs one request, plus the first and the check after the end.
    assert worst["requests"] <= MOST_CUTS + 2
    row = "Download cut after N bytes"
    doc_says(row, "Measured", f"at most {MOST_CUTS + 2} requests for {MOST_CUTS} cuts")
    doc_says(row, "Bytes lost", worst["lost"])


def test_cuts_on_a_host_that_ignores_range_refetch_from_the_start(
    sandbox: Sandbox, tmp_path: Path
) -> None:
    sandbox.config.rate_limits = False
    job = finished_job(sandbox)
    original = served_bytes(job)
    sandbox.config.range_requests = False
    names = itertools.count()
    lost: list[int] = []

    @SHARED_JOB
    @given(cuts=CUTS)
    def download_with_cuts(cuts: list[int]) -> None:
        lost.append(download_cut_at(sandbox, job, cuts, tmp_path / str(next(names)), original))
        statuses = [r.status for r in file_requests(sandbox)]
        assert set(statuses) == {200}  # every attempt is a whole new answer

    download_with_cuts()
    doc_says("Same cuts on a host that ignores `Range`", "Bytes lost", max(lost))


def test_more_cuts_than_resumes_is_a_download_error(sandbox: Sandbox, tmp_path: Path) -> None:
    job = finished_job(sandbox)
    sandbox.faults.add(Fault("download", cut_after=1000, times=None))
    with pytest.raises(fx.DownloadError, match="failed 6 times") as info:
        job.download(tmp_path / "events.csv")
    assert "6000 bytes" in str(info.value)  # what arrived is kept until the last try
    assert leftovers(tmp_path) == []

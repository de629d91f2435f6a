"""Reading a background export while it downloads, and falling back when the stream breaks."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pandas as pd
import pytest

import formexport as fx
from formexport.reading import blocks, parquet_output, sinks
from formexport.sandbox import Fault, Sandbox, make_field


@pytest.fixture
def sources(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The kind of source each typed read got: "stream" while downloading, else "file"."""
    seen: list[str] = []
    read_all = sinks._read_all

    def spy(source: Any, reader: Any, out: Any) -> None:
        seen.append("file" if blocks.can_read_again(source) else "stream")
        read_all(source, reader, out)

    monkeypatch.setattr(sinks, "_read_all", spy)
    return seen


def finished(sandbox: Sandbox, form: int = 2) -> fx.ExportJob:
    sandbox.config.status_access = "open"
    job = fx.Client(token=sandbox.token, base_url=sandbox.base_url).start_export(form)
    job.wait(progress=None)
    return job


def read_twice(job: fx.ExportJob) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The export read while downloading, then read again from the finished file."""
    streamed = job.to_dataframe()
    from_file = job.to_dataframe()
    return streamed, from_file


def test_a_background_export_is_read_while_it_downloads(
    sandbox: Sandbox, sources: list[str]
) -> None:
    job = finished(sandbox)
    sandbox.faults.add(Fault("download", bytes_per_second=2_000_000))
    streamed, from_file = read_twice(job)
    assert sources == ["stream", "file"]
    pd.testing.assert_frame_equal(streamed, from_file)
    assert len(streamed) == 2500


def test_a_cut_resumed_with_range_keeps_the_stream(sandbox: Sandbox, sources: list[str]) -> None:
    job = finished(sandbox)
    sandbox.faults.add(Fault("download", cut_after=300_000))
    streamed, from_file = read_twice(job)
    assert sources == ["stream", "file"]
    pd.testing.assert_frame_equal(streamed, from_file)


def test_a_host_that_restarts_from_the_first_byte_falls_back(
    sandbox: Sandbox, sources: list[str]
) -> None:
    job = finished(sandbox)
    sandbox.config.range_requests = False
    sandbox.faults.add(Fault("download", cut_after=300_000))
    streamed, from_file = read_twice(job)
    # The stream broke at the restart; the finished file was read instead.
    assert sources == ["stream", "file", "file"]
    pd.testing.assert_frame_equal(streamed, from_file)


def test_an_expired_link_mid_download_falls_back_to_the_fresh_export(
    sandbox: Sandbox, sources: list[str]
) -> None:
    job = finished(sandbox)
    first = job.job_id
    sandbox.faults.add(Fault("download", cut_after=200_000))
    sandbox.faults.add(Fault("download", http_status=403, body=""))
    frame = job.to_dataframe()
    assert job.job_id != first
    assert sources == ["stream", "file"]  # the fresh export's file, not a splice of two
    assert len(frame) == 2500


def test_php_escaped_quotes_are_rewritten_while_streaming(
    sandbox: Sandbox, sources: list[str]
) -> None:
    form = sandbox.add_form("Paths", [make_field("text", "Path")], 1500, seed=1)
    fields = fx.Client(token=sandbox.token, base_url=sandbox.base_url).get_form(form["id"]).fields
    sandbox.add_submission(form["id"], {fields[0].id: 'C:\\temp\\"quoted"'})
    job = finished(sandbox, form["id"])
    frame = job.to_dataframe()
    assert sources == ["stream"]
    assert 'C:\\temp\\"quoted"' in set(frame["Path"])
    assert len(frame) == 1501


def test_a_download_failure_reaches_the_caller(sandbox: Sandbox, sources: list[str]) -> None:
    job = finished(sandbox)
    sandbox.faults.add(Fault("download", reset=True, times=None))
    with pytest.raises(fx.DownloadError):
        job.to_dataframe()


def test_parquet_is_written_while_downloading(
    sandbox: Sandbox, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    seen: list[str] = []
    write = parquet_output.write_parquet

    def spy(source: Any, sink: Any, reader: Any) -> None:
        seen.append("file" if isinstance(source, (bytes, Path)) else "stream")
        write(source, sink, reader)

    monkeypatch.setattr(parquet_output, "write_parquet", spy)
    job = finished(sandbox)
    path = job.to_parquet(tmp_path / "events.parquet")
    assert seen == ["stream"]
    pd.testing.assert_frame_equal(pd.read_parquet(path), job.to_dataframe())

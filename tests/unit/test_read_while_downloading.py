"""Reading while downloading, and the one fallback to the finished file."""

from __future__ import annotations

import io
import threading
from collections.abc import Iterator

import pytest

from formexport.errors import DownloadError
from formexport.jobs.read_while_downloading import read_while_downloading
from formexport.reading.blocks import BlockTooSmall
from formexport.reading.typed_reader import Restart
from formexport.transfer.tee import Tee

CHUNKS = [b"id,a\n", b"1,x\n", b"2,y\n", b"3,z\n"]


class FakeDownload:
    """Writes CHUNKS through the tee into a file object, as download_file does."""

    def __init__(
        self,
        *,
        restart_after: int | None = None,
        fail: Exception | None = None,
        chunks: list[bytes] = CHUNKS,
    ) -> None:
        self.file = io.BytesIO()
        self.chunks = chunks
        self.finished = threading.Event()
        self.cancelled = threading.Event()
        self._restart_after = restart_after
        self._fail = fail

    def __call__(self, tee: Tee) -> None:
        out = tee.wrap(self.file)  # type: ignore[arg-type]
        try:
            for number, chunk in enumerate(self.chunks):
                if number == self._restart_after:
                    out.seek(0)  # the host ignored Range: the transfer starts over
                    out.truncate()
                    for again in self.chunks[:number]:
                        out.write(again)
                out.write(chunk)
        except BaseException:
            self.cancelled.set()
            raise
        if self._fail is not None:
            raise self._fail
        self.finished.set()


def joined(chunks: Iterator[bytes]) -> bytes:
    return b"".join(chunks)


def never() -> bytes:
    raise AssertionError("the file was read although the stream was fine")


def test_the_stream_is_read_while_it_arrives() -> None:
    download = FakeDownload()
    assert read_while_downloading(download, joined, never) == b"".join(CHUNKS)


def test_a_restarted_transfer_gives_way_to_the_finished_file() -> None:
    download = FakeDownload(restart_after=2)

    def from_file() -> bytes:
        assert download.finished.is_set()  # the download ran on to its end first
        return download.file.getvalue()

    assert read_while_downloading(download, joined, from_file) == b"".join(CHUNKS)


@pytest.mark.parametrize("reason", [Restart(), BlockTooSmall()])
def test_a_reader_that_needs_a_second_pass_reads_the_file(reason: Exception) -> None:
    download = FakeDownload()

    def first_chunk_then_give_up(chunks: Iterator[bytes]) -> bytes:
        next(chunks)
        raise reason

    def from_file() -> bytes:
        assert download.finished.is_set()
        return b"file"

    assert read_while_downloading(download, first_chunk_then_give_up, from_file) == b"file"


def test_a_download_failure_reaches_the_reader() -> None:
    with pytest.raises(DownloadError, match="cut"):
        read_while_downloading(FakeDownload(fail=DownloadError("cut")), joined, never)


def test_a_download_failure_wins_over_the_fallback() -> None:
    def give_up(chunks: Iterator[bytes]) -> bytes:
        next(chunks)
        raise Restart

    with pytest.raises(DownloadError, match="cut"):
        read_while_downloading(FakeDownload(fail=DownloadError("cut")), give_up, never)


def test_a_reader_error_stops_the_download() -> None:
    # Far more chunks than the pipe holds: the download waits on the reader when it fails.
    download = FakeDownload(chunks=CHUNKS + [b"4,w\n"] * 10_000)

    def broken(chunks: Iterator[bytes]) -> bytes:
        next(chunks)
        raise ValueError("not CSV")

    with pytest.raises(ValueError, match="not CSV"):
        read_while_downloading(download, broken, never)
    assert download.cancelled.wait(5)
    assert not download.finished.is_set()


def test_a_damaged_stream_is_named_from_the_finished_file() -> None:
    """Records are not counted while streaming: the finished file, read again, names the one
    that is not what fputcsv writes."""
    from formexport.errors import CsvFormatError
    from formexport.reading import blocks
    from formexport.reading.source import open_export

    good = [b"id,a,b\n"] + [f"r{i},x,y\n".encode() for i in range(200)]
    damaged = [*good[:5], b'zz,"open \\" and on,x,y\n', *good[5:]]
    download = FakeDownload(chunks=damaged)

    def read(source: object) -> int:
        opened = open_export(source)  # type: ignore[arg-type]
        return sum(b.num_rows for b in blocks.iter_batches(opened.body, 3))

    with pytest.raises(CsvFormatError, match=r"in record 6 \(the header is record 1\)"):
        read_while_downloading(download, read, lambda: read(download.file.getvalue()))
    assert download.finished.is_set()

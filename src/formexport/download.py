"""Fetching a signed export link: streamed, resumed, verified, then moved into place atomically."""

from __future__ import annotations

import contextlib
import hashlib
import logging
import os
import re
import tempfile
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import BinaryIO

import requests
import urllib3

from formexport import _http, config
from formexport._redact import redact_url
from formexport.errors import DownloadError

logger = logging.getLogger("formexport")

# A link this close to its expiry is treated as expired: the transfer would not finish in time.
EXPIRY_MARGIN = timedelta(seconds=5)
# How file hosts say a signed link is no longer good: local disk 401, S3 403, or the file is gone.
EXPIRED_STATUSES = frozenset({400, 401, 403, 404, 410})
# A cut or stalled body: requests' wrappers, or urllib3's own errors when reading raw.
_INTERRUPTIONS = (
    requests.ConnectionError,
    requests.Timeout,
    requests.exceptions.ChunkedEncodingError,
    urllib3.exceptions.HTTPError,
)
_CONTENT_RANGE = re.compile(r"^bytes (\d+)-(\d+)/(\d+|\*)$")


class LinkExpired(DownloadError):
    """The signed link expired (by ``expires_at`` or by the file host's answer)."""


@dataclass(frozen=True)
class DownloadResult:
    """What landed on disk."""

    path: Path
    size: int
    sha256: str


ProgressCallback = Callable[[int, int | None], None]


@contextlib.contextmanager
def atomic_destination(dest: Path) -> Iterator[BinaryIO]:
    """A private temporary file beside ``dest``, moved onto it only if the block succeeds.

    Each writer gets its own temporary name, so two processes writing the same destination
    never mix bytes: the last complete file wins.
    """
    dest.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp_name = tempfile.mkstemp(prefix=f".{dest.name}.", suffix=".part", dir=dest.parent)
    tmp = Path(tmp_name)
    try:
        with os.fdopen(fd, "w+b") as handle:
            yield handle
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, dest)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


def write_atomically(dest: Path, chunks: Iterator[bytes] | list[bytes]) -> Path:
    """Write ``chunks`` to ``dest`` through :func:`atomic_destination`."""
    with atomic_destination(dest) as handle:
        for chunk in chunks:
            handle.write(chunk)
    return dest


def check_not_expired(expires_at: datetime | None, *, now: datetime | None = None) -> None:
    """Raise :class:`LinkExpired` when ``expires_at`` has passed (or nearly)."""
    if expires_at is None:
        return
    current = now or datetime.now(timezone.utc)
    if current + EXPIRY_MARGIN >= expires_at:
        raise LinkExpired(f"The export link expired at {expires_at.isoformat()}.")


class _Transfer:
    """One file transfer with its resume state."""

    def __init__(
        self,
        url: str,
        handle: BinaryIO,
        session: requests.Session,
        on_progress: ProgressCallback,
        chunk_size: int,
    ) -> None:
        self.url = url
        self.handle = handle
        self.session = session
        self.on_progress = on_progress
        self.chunk_size = chunk_size
        self.received = 0
        self.total: int | None = None
        self.digest = hashlib.sha256()

    def run(self, max_resumes: int) -> None:
        failures = 0
        while True:
            try:
                if self._attempt():
                    return
                cause: Exception | None = None
            except _INTERRUPTIONS as exc:
                cause = exc
            failures += 1
            reason = type(cause).__name__ if cause else "body shorter than announced"
            if failures > max_resumes:
                raise DownloadError(
                    f"Downloading {redact_url(self.url)} failed {failures} times ({reason}) "
                    f"after {self.received} bytes; giving up."
                ) from cause
            logger.info("Download interrupted after %d bytes (%s); resuming", self.received, reason)
            time.sleep(config.RESUME_BACKOFF * 2 ** (failures - 1))

    def _attempt(self) -> bool:
        headers = {"Accept-Encoding": "identity"}
        if self.received:
            headers["Range"] = f"bytes={self.received}-"
        with self.session.get(
            self.url, headers=headers, stream=True, timeout=_http.TIMEOUT
        ) as response:
            if response.status_code == 416:
                return self._range_refused(response)
            self._accept(response)
            # read1 hands over every byte that arrived, so a cut loses nothing and the
            # resume starts exactly where the body stopped.
            while chunk := response.raw.read1(self.chunk_size):
                self.handle.write(chunk)
                self.digest.update(chunk)
                self.received += len(chunk)
                self.on_progress(self.received, self.total)
        return self._complete()

    def _accept(self, response: requests.Response) -> None:
        status = response.status_code
        if status in EXPIRED_STATUSES:
            raise LinkExpired(
                f"The file host refused the export link with HTTP {status}: it has expired or "
                "the file is gone."
            )
        if status == 206:
            self._accept_partial(response)
        elif status == 200:
            if self.received:
                logger.info("The file host ignored the Range request; downloading from the start")
                self._restart()
            self.total = _int_header(response, "Content-Length")
        else:
            _http.raise_for_status(response, subject="export file")
            raise DownloadError(f"Unexpected HTTP {status} for the export file.")

    def _accept_partial(self, response: requests.Response) -> None:
        match = _CONTENT_RANGE.match(response.headers.get("Content-Range", ""))
        if match is None or int(match.group(1)) != self.received:
            # A range we did not ask for: the bytes cannot be appended safely.
            raise DownloadError(
                "The file host answered a resume with a mismatched Content-Range "
                f"({response.headers.get('Content-Range')!r}); the file cannot be trusted."
            )
        total = match.group(3)
        self.total = int(total) if total != "*" else self.total

    def _range_refused(self, response: requests.Response) -> bool:
        # 416 carries the real size as "bytes */N": the host may have said more than it had.
        size = response.headers.get("Content-Range", "").rpartition("/")[2]
        if size.isdigit() and int(size) == self.received:
            return True
        logger.info("The file host refused the resume; downloading from the start")
        self._restart()
        return False

    def _restart(self) -> None:
        self.handle.seek(0)
        self.handle.truncate()
        self.received = 0
        self.digest = hashlib.sha256()

    def _complete(self) -> bool:
        if self.total is None or self.received == self.total:
            return True
        if self.received > self.total:
            raise DownloadError(
                f"The file host sent {self.received} bytes for a {self.total}-byte file."
            )
        return False  # cut short without an error: resume


def _int_header(response: requests.Response, name: str) -> int | None:
    value = response.headers.get(name)
    return int(value) if value and value.isdigit() else None


def download_file(
    url: str,
    dest: Path,
    *,
    session: requests.Session | None = None,
    expires_at: datetime | None = None,
    on_progress: ProgressCallback = lambda received, total: None,
    chunk_size: int = config.DOWNLOAD_CHUNK_SIZE,
    max_resumes: int = config.DOWNLOAD_RESUMES,
) -> DownloadResult:
    """Download a signed link to ``dest`` without ever leaving a partial file there.

    Raises
    ------
    LinkExpired
        The link is past ``expires_at`` or the host refused it.
    DownloadError
        The transfer kept failing, or the host's answers do not add up.
    """
    check_not_expired(expires_at)
    own_session = session is None
    http = session or _http.file_session()
    try:
        with atomic_destination(Path(dest)) as handle:
            transfer = _Transfer(url, handle, http, on_progress, chunk_size)
            transfer.run(max_resumes)
        return DownloadResult(Path(dest), transfer.received, transfer.digest.hexdigest())
    finally:
        if own_session:
            http.close()

"""One uploaded file: its signed link into a partial file, then onto the destination.

The transfer is :class:`~formexport.transfer.ranges.Transfer`: a cut body resumes with
``Range``, a failing host is retried, and no credentials are ever sent (the session is the
file session of :func:`formexport.opnform.http.file_session`: the OpnForm token belongs to the
API, not to file links). The partial file outlives a failure: the next attempt (a fresh link,
a new run) asks only for the bytes it lacks.
"""

from __future__ import annotations

import os
import threading
from pathlib import Path
from typing import BinaryIO, cast

import requests

from formexport import config
from formexport.opnform import http
from formexport.opnform.ratelimit import link_pace
from formexport.opnform.retry import RetryPolicy
from formexport.transfer.ranges import LinkGone, Transfer
from formexport.transfer.tee import DownloadCancelled
from formexport.uploads.destination import Destination
from formexport.uploads.plan import Upload
from formexport.uploads.record import SavedFile


class Fetcher:
    """Fetches uploaded files onto a destination, from any number of threads.

    Parameters
    ----------
    destination : Destination
        Where files go.
    staging : Path
        A private folder for the partial files of a remote destination.
    retry : RetryPolicy
        Pauses and repeats of each transfer.
    """

    def __init__(self, destination: Destination, staging: Path, retry: RetryPolicy) -> None:
        self.destination = destination
        self.staging = staging
        self.retry = retry
        self.cancelled = threading.Event()
        self._local = threading.local()
        self._sessions: list[requests.Session] = []
        self._lock = threading.Lock()

    def fetch(self, upload: Upload) -> SavedFile:
        """Save ``upload``; return its record.

        Raises
        ------
        LinkGone
            The server no longer has the file (its partial file is removed).
        LinkExpired
            The link expired (the partial file stays for a fresh link).
        DownloadError
            The transfer kept failing (the partial file stays).
        UploadedFilesError
            The destination cannot be written.
        """
        self.destination.prepare(upload.path)
        partial = self.destination.partial(upload.path, self.staging)
        # OpnForm serves 100 file requests a minute to one address: wait for a free one here
        # rather than be refused.
        pace = link_pace(upload.link, self.retry)
        pace.acquire("links", subject="An uploaded file", sleep=self.retry.sleep)
        fd = os.open(partial, os.O_RDWR | os.O_CREAT, 0o600)  # uploads hold personal data
        try:
            with os.fdopen(fd, "r+b") as handle:
                transfer = self._transfer(upload.link, handle)
                transfer.continue_partial()
                transfer.run(config.DOWNLOAD_RESUMES)
                handle.flush()
                if self.destination.is_local:
                    os.fsync(handle.fileno())
        except LinkGone:
            partial.unlink(missing_ok=True)  # nothing to resume: the file is gone
            raise
        self.destination.publish(partial, upload.path)
        return SavedFile.of(upload, transfer.received, transfer.digest.hexdigest())

    def _transfer(self, link: str, handle: BinaryIO) -> Transfer:
        return Transfer(
            link,
            cast(BinaryIO, _Cancellable(handle, self.cancelled)),
            self._session(),
            lambda received, total: None,
            config.DOWNLOAD_CHUNK_SIZE,
            self.retry,
            confirm_end=False,
        )

    def _session(self) -> requests.Session:
        session: requests.Session | None = getattr(self._local, "session", None)
        if session is None:
            session = self._local.session = http.file_session(self.retry)
            with self._lock:
                self._sessions.append(session)
        return session

    def close(self) -> None:
        """Close every thread's session."""
        with self._lock:
            sessions, self._sessions = self._sessions, []
        for session in sessions:
            session.close()


class _Cancellable:
    """A partial file whose next write stops the transfer once the fetch is cancelled."""

    def __init__(self, handle: BinaryIO, cancelled: threading.Event) -> None:
        self._handle = handle
        self._cancelled = cancelled

    def write(self, chunk: bytes) -> int:
        if self._cancelled.is_set():
            raise DownloadCancelled
        return self._handle.write(chunk)

    def read(self, size: int = -1) -> bytes:
        return self._handle.read(size)

    def seek(self, offset: int, whence: int = 0) -> int:
        return self._handle.seek(offset, whence)

    def truncate(self, size: int | None = None) -> int:
        return self._handle.truncate(size)

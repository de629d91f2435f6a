"""One signed-link transfer over HTTP: resumed, retried and checked, byte for byte.

:func:`formexport.transfer.download.download_file` drives it into a temporary file; this module only
speaks HTTP with the file host and appends what it sends.
"""

from __future__ import annotations

import hashlib
import logging
import re
from collections.abc import Callable
from typing import BinaryIO

import requests
import urllib3

from formexport.errors import DownloadError
from formexport.opnform import http
from formexport.opnform.retry import RetryPolicy
from formexport.redaction import redact_url, scrub_exception
from formexport.waits import log_level

logger = logging.getLogger("formexport")

# How file hosts say a signed link is no longer good: local disk 401, S3 403, or the file is gone.
EXPIRED_STATUSES = frozenset({400, 401, 403, 404, 410})
# Among them, the answers that say the link is good but the host has no such file.
GONE_STATUSES = frozenset({404, 410})
# A cut or stalled body: requests' wrappers, or urllib3's own errors when reading raw.
_INTERRUPTIONS = (
    requests.ConnectionError,
    requests.Timeout,
    requests.exceptions.ChunkedEncodingError,
    urllib3.exceptions.HTTPError,
)
_CONTENT_RANGE = re.compile(r"^bytes (\d+)-(\d+)/(\d+|\*)$")
# Answers worth another attempt: the host is briefly failing (429 has its own rule).
TRANSIENT_STATUSES = frozenset({500, 502, 503, 504})
_SMALL_BODY = 64 * 1024


class LinkExpired(DownloadError):
    """The signed link expired (by ``expires_at`` or by the file host's answer)."""


class LinkGone(LinkExpired):
    """The file host has no file behind the link (404 or 410): a fresh link will not help."""

    def __init__(self, message: str, *, status: int) -> None:
        super().__init__(message)
        self.status = status


class _Again(Exception):
    """Worth another attempt, after ``retry_after`` seconds if the host said so."""

    retry_after: float | None = None


class _Transient(_Again):
    """A failing host (5xx)."""

    def __init__(self, status: int, retry_after: float | None) -> None:
        super().__init__(f"HTTP {status}")
        self.retry_after = retry_after


class _RateLimited(Exception):
    """429: the host asks to wait ``retry_after`` seconds (or says nothing)."""

    def __init__(self, retry_after: float | None) -> None:
        super().__init__("HTTP 429")
        self.retry_after = retry_after


class _FileChanged(_Again):
    """The file behind the link changed between two requests (its ETag differs)."""


ProgressCallback = Callable[[int, int | None], None]


class Transfer:
    """One file transfer with its resume state.

    ``retry`` decides the pauses: a 429 waits what its ``Retry-After`` says (the policy's
    rate-limit rule, not counted as a failure), any other failure the policy's back-off.
    ``confirm_end`` asks for the bytes after the announced end once the body is in (see
    :meth:`_at_end`); small files whose hash is recorded skip that second request.
    """

    def __init__(
        self,
        url: str,
        handle: BinaryIO,
        session: requests.Session,
        on_progress: ProgressCallback,
        chunk_size: int,
        retry: RetryPolicy | None = None,
        *,
        confirm_end: bool = True,
    ) -> None:
        self.url = url
        self.handle = handle
        self.session = session
        self.on_progress = on_progress
        self.chunk_size = chunk_size
        self.retry = retry if retry is not None else RetryPolicy()
        self.received = 0
        self.total: int | None = None
        # Without the check, the announced length is trusted (one request a file, not two).
        self._confirm_end = confirm_end
        self.end_confirmed = not confirm_end
        self.etag: str | None = None
        self.digest = hashlib.sha256()

    def continue_partial(self) -> None:
        """Count what ``handle`` already holds (an earlier, interrupted transfer of the same
        link's file) as received, so that the next request asks for the rest only."""
        self.handle.seek(0)
        while chunk := self.handle.read(self.chunk_size):
            self.digest.update(chunk)
            self.received += len(chunk)

    def run(self, max_resumes: int) -> None:
        """Transfer until every byte is there; ``max_resumes`` failed attempts after the first."""
        failures = refused = 0
        while True:
            try:
                if self._attempt() and self._at_end():
                    return
                cause: Exception | None = None
            except _RateLimited as exc:
                refused += 1
                self.retry.wait_out_rate_limit(
                    exc.retry_after, refused=refused, subject="The export file's host"
                )
                continue
            except (*_INTERRUPTIONS, _Again) as exc:
                cause = exc
            except requests.RequestException as exc:
                raise DownloadError(
                    f"Downloading {redact_url(self.url)} failed ({type(exc).__name__}); the "
                    "link may be malformed. Start a new export."
                ) from scrub_exception(exc)
            refused, failures = 0, failures + 1
            self._pause_or_give_up(cause, failures, max_resumes)

    def _pause_or_give_up(self, cause: Exception | None, failures: int, max_resumes: int) -> None:
        if isinstance(cause, _Again):
            reason, retry_after = str(cause), cause.retry_after
        else:
            reason = type(cause).__name__ if cause else "body shorter than announced"
            retry_after = None
        if failures > max_resumes:
            raise DownloadError(
                f"Downloading {redact_url(self.url)} failed {failures} times ({reason}) "
                f"after {self.received} bytes; giving up."
            ) from (scrub_exception(cause) if cause else None)
        pause = self.retry.backoff(failures, retry_after)
        wait = self.retry.retry_wait(pause, f"the download broke off: {reason}")
        logger.log(
            log_level(wait),
            "Download interrupted after %d bytes (%s); resuming in %.1f s",
            self.received,
            reason,
            pause,
        )
        self.retry.pause(wait)

    def _get_from_here(self) -> requests.Response:
        headers = {"Accept-Encoding": "identity"}
        if self.received:
            headers["Range"] = f"bytes={self.received}-"
            if self.etag:
                # Only the rest of the same file: a changed one comes back whole (200).
                headers["If-Range"] = self.etag
        return self.session.get(self.url, headers=headers, stream=True, timeout=http.timeout())

    def _attempt(self) -> bool:
        """One request from where the file stands; True once it holds every announced byte."""
        with self._get_from_here() as response:
            if response.status_code == 416:
                return self._range_refused(response)
            self._accept(response)
            self._stream(response)
        return self._complete()

    def _at_end(self) -> bool:
        """Ask for the bytes after the end: ``416`` confirms it, ``206`` hands over more.

        A host (or a proxy) that announced fewer bytes than the file has would otherwise leave
        the file silently short; one small request rules that out.
        """
        while self.received and not self.end_confirmed:
            with self._get_from_here() as response:
                status = response.status_code
                if status == 416:
                    return self._range_refused(response)
                if status == 206 and self._continues(response):
                    logger.warning(
                        "The file host announced %d bytes but has more; fetching the rest",
                        self.received,
                    )
                    self._accept_partial(response)
                    self._stream(response)
                    if not self._complete():
                        return False
                    continue
                size = _int_header(response, "Content-Length") if status == 200 else None
                if size is not None and size != self.received:
                    # The host ignores Range, and its whole file is not the size we have.
                    logger.warning("The file host changed its answer; downloading again")
                    self._restart()
                    return False
                return True  # any other answer: the announced length stands
        return True

    def _continues(self, response: requests.Response) -> bool:
        match = _CONTENT_RANGE.match(response.headers.get("Content-Range", ""))
        return match is not None and int(match.group(1)) == self.received

    def _stream(self, response: requests.Response) -> None:
        # read1 hands over every byte that arrived, so a cut loses nothing and the
        # resume starts exactly where the body stopped.
        while chunk := response.raw.read1(self.chunk_size):
            self.handle.write(chunk)
            self.digest.update(chunk)
            self.received += len(chunk)
            self.on_progress(self.received, self.total)

    def _accept(self, response: requests.Response) -> None:
        status = response.status_code
        if status in GONE_STATUSES:
            raise LinkGone(
                f"The file host answered HTTP {status}: it no longer has the file.", status=status
            )
        if status in EXPIRED_STATUSES:
            raise LinkExpired(
                f"The file host refused the export link with HTTP {status}: it has expired or "
                "the file is gone."
            )
        if status == 429:
            raise _RateLimited(http.retry_after_seconds(response))
        if status in TRANSIENT_STATUSES:
            raise _Transient(status, http.retry_after_seconds(response))
        if status in (200, 206) and "html" in response.headers.get("Content-Type", "").lower():
            raise DownloadError(
                f"The file host answered HTTP {status} with an HTML page instead of the export "
                "(a proxy or a login page in the way?); nothing was saved. Check the network "
                "path to the file host, then start a new export."
            )
        if status == 206:
            self._accept_partial(response)
        elif status == 200:
            if self.received:
                logger.info("The file host ignored the Range request; downloading from the start")
                self._restart()
            self.total = _int_header(response, "Content-Length")
            self.etag = _strong_etag(response)
        else:
            http.raise_for_status(response, subject="export file")
            raise DownloadError(f"Unexpected HTTP {status} for the export file.")

    def _accept_partial(self, response: requests.Response) -> None:
        match = _CONTENT_RANGE.match(response.headers.get("Content-Range", ""))
        if match is None or int(match.group(1)) != self.received:
            # A range we did not ask for: the bytes cannot be appended safely.
            raise DownloadError(
                "The file host answered a resume with a mismatched Content-Range "
                f"({response.headers.get('Content-Range')!r}); the file cannot be trusted."
            )
        etag = _strong_etag(response)
        if self.etag and etag and etag != self.etag:
            # Another export of the same form in the same second overwrote the file (OpnForm
            # names files by the second): its bytes must not be appended to the first one's.
            logger.warning("The export file changed during the download; downloading again")
            self._restart()
            raise _FileChanged("the file changed")
        total = match.group(3)
        self.total = int(total) if total != "*" else self.total

    def _range_refused(self, response: requests.Response) -> bool:
        """416: nothing at or after our offset; ``bytes */N``, when given, is the real size."""
        if not self.received:
            raise DownloadError("The file host answered HTTP 416 to a request without a range.")
        # A short error body: read it so the connection can serve the next request.
        response.raw.read(_SMALL_BODY, decode_content=False)
        size_text = response.headers.get("Content-Range", "").rpartition("/")[2]
        # Without "*/N" (S3 sends none) only the size announced earlier can confirm the end:
        # a file that shrank under the same link is downloaded again, not kept half.
        size = int(size_text) if size_text.isdigit() else self.total
        if size == self.received:
            self.end_confirmed = True
            return True
        logger.info("The file host refused the resume; downloading from the start")
        self._restart()
        return False

    def _restart(self) -> None:
        self.handle.seek(0)
        self.handle.truncate()
        self.received = 0
        self.end_confirmed = not self._confirm_end
        self.digest = hashlib.sha256()

    def _complete(self) -> bool:
        if self.total is None or self.received == self.total:
            return True
        if self.received > self.total:
            raise DownloadError(
                f"The file host sent {self.received} bytes for a {self.total}-byte file."
            )
        return False  # cut short without an error: resume


def _strong_etag(response: requests.Response) -> str | None:
    etag = response.headers.get("ETag")
    return etag if etag and not etag.startswith("W/") else None


def _int_header(response: requests.Response, name: str) -> int | None:
    value = response.headers.get(name)
    return int(value) if value and value.isdigit() else None

"""Saving every uploaded file of an export: a few at a time, only what is missing.

Files the record lists at the size the destination holds are kept as they are; the others
download, ``config.UPLOAD_WORKERS`` at a time. Files whose link expired meanwhile (or before)
are fetched again behind fresh links from the JSON submissions list, for those submissions
only, up to ``config.UPLOAD_LINK_RENEWALS`` times. A file the server no longer has (404) is a
:class:`UploadedFileGoneWarning` naming its submission and field: its cell goes without it,
the rest is kept. A file that kept failing otherwise raises
:class:`~formexport.UploadedFilesError` once every other file is saved and recorded, so that a
new run fetches only what is missing.
"""

from __future__ import annotations

import logging
import tempfile
import warnings
from collections.abc import Callable, Iterable, Iterator, Sequence
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass
from pathlib import Path

from formexport import config
from formexport.errors import DownloadError, UploadedFilesError
from formexport.opnform.endpoints import OpnFormAPI
from formexport.progress.events import ProgressEvent
from formexport.transfer.ranges import LinkExpired, LinkGone
from formexport.uploads.destination import Destination
from formexport.uploads.fetch import Fetcher
from formexport.uploads.plan import Upload
from formexport.uploads.record import SavedFile, SavedRecord
from formexport.uploads.renew import renew_links
from formexport.waits import WaitRelay

logger = logging.getLogger("formexport")

Report = Callable[[ProgressEvent], None]
Outcome = SavedFile | DownloadError


class UploadedFileGoneWarning(UserWarning):
    """The server no longer has an uploaded file (404): its cell holds nothing for it."""


@dataclass(frozen=True)
class SavedUploads:
    """The files saved for an export, by their path under the destination."""

    destination: Destination
    files: dict[str, SavedFile]

    def cell(self, planned: Sequence[Upload]) -> list[str]:
        """What a cell holds once its files are saved: their paths (a file the server no
        longer has is left out, as an empty answer is an empty list)."""
        return [self.destination.cell(u.path) for u in planned if u.path in self.files]

    def entries(self, planned: Sequence[Upload]) -> list[dict[str, object]]:
        """``attrs["files"]``: each saved file of ``planned``, in order, once."""
        seen: set[str] = set()
        shown = []
        for upload in planned:
            saved = self.files.get(upload.path)
            if saved is not None and upload.path not in seen:
                seen.add(upload.path)
                shown.append(saved.shown(self.destination))
        return shown


class UploadSaver:
    """Saves the uploaded files of one form's export.

    Parameters
    ----------
    api : OpnFormAPI
        For fresh links (the JSON submissions list) and the retry policy.
    form_id : int
        The form.
    destination : Destination
        Where files go.
    report : callable
        Receives the ``"files"`` progress events.
    """

    def __init__(
        self,
        api: OpnFormAPI,
        form_id: int,
        destination: Destination,
        report: Report = lambda event: None,
    ) -> None:
        self.api = api
        self.form_id = form_id
        self.destination = destination
        self.report = report

    def save(self, planned: Sequence[Upload]) -> SavedUploads:
        """Save every file of ``planned`` that the destination does not hold yet."""
        uploads = list({u.path: u for u in planned}.values())
        record = SavedRecord(self.destination, self.form_id).load()
        sizes = self.destination.sizes(str(self.form_id)) if uploads else {}
        saved: dict[str, SavedFile] = {}
        missing = []
        for upload in uploads:
            entry = record.saved(upload, sizes)
            if entry is None:
                missing.append(upload)
            else:
                saved[upload.path] = entry
        if uploads:
            logger.info(
                "Uploaded files: %d to download to %s, %d saved before",
                len(missing),
                self.destination.shown,
                len(saved),
            )
        progress = _Progress(self.report, len(uploads), saved.values())
        with tempfile.TemporaryDirectory(prefix="formexport-files-") as staging:
            fetcher = Fetcher(self.destination, Path(staging), self.api.retry)
            try:
                failed = self._fetch(missing, fetcher, record, saved, progress)
            finally:
                fetcher.close()
                record.flush()
        if failed:
            raise _failure(failed, self.destination)
        return SavedUploads(self.destination, saved)

    def _fetch(
        self,
        missing: list[Upload],
        fetcher: Fetcher,
        record: SavedRecord,
        saved: dict[str, SavedFile],
        progress: _Progress,
    ) -> list[tuple[Upload, str]]:
        """Fetch ``missing``, renewing expired links; return the files that kept failing."""
        pending, failed = missing, []
        for renewal in range(config.UPLOAD_LINK_RENEWALS + 1):
            expired = []
            for upload, outcome in _fetched(pending, fetcher):
                if isinstance(outcome, SavedFile):
                    saved[upload.path] = outcome
                    record.add(outcome)
                    progress.add(outcome.bytes)
                elif isinstance(outcome, LinkGone):
                    self._gone(upload, progress)
                elif isinstance(outcome, LinkExpired):
                    expired.append(upload)
                else:
                    failed.append((upload, str(outcome)))
                    progress.add(0)
            if not expired:
                break
            if renewal == config.UPLOAD_LINK_RENEWALS:
                failed += [(u, "its links kept expiring") for u in expired]
                break
            renewed = renew_links(self.api, self.form_id, expired)
            for upload in renewed.gone:
                self._gone(upload, progress)
            pending = renewed.fresh
        return failed

    def _gone(self, upload: Upload, progress: _Progress) -> None:
        progress.add(0)
        message = (
            f"The server no longer has the file {upload.name!r} of submission "
            f"{upload.submission_id}, field {upload.field_id} (HTTP 404): its cell goes "
            "without it."
        )
        warnings.warn(message, UploadedFileGoneWarning, stacklevel=2)


class _Progress:
    """``Files 37/120 · 14 MB``: files done (saved before included) and their bytes."""

    def __init__(self, report: Report, total: int, before: Iterable[SavedFile]) -> None:
        kept = list(before)
        self.report, self.total = report, total
        self.done = len(kept)
        self.size = sum(entry.bytes for entry in kept)
        if total:
            self._show()

    def add(self, size: int) -> None:
        self.done += 1
        self.size += size
        self._show()

    def _show(self) -> None:
        self.report(ProgressEvent("files", self.done, self.total, size=self.size))


def _fetched(pending: list[Upload], fetcher: Fetcher) -> Iterator[tuple[Upload, Outcome]]:
    """Each file of ``pending`` and its outcome, as they finish (``UPLOAD_WORKERS`` at once).

    Reported from the calling thread, so progress displays are only ever updated from one. A
    destination that cannot be written stops everything; so does Ctrl-C, and the transfers
    under way stop at their next chunk (their partial files stay, for the next run).
    """
    if not pending:
        return
    pool = ThreadPoolExecutor(max_workers=config.UPLOAD_WORKERS, thread_name_prefix="formexport")
    # The workers' waits (OpnForm's 100 file requests a minute) count down on this thread's
    # display: it looks at them at least once a second while the files arrive.
    relay = WaitRelay()
    futures: dict[Future[SavedFile], Upload] = {
        pool.submit(relay.run, fetcher.fetch, upload): upload for upload in pending
    }
    try:
        waiting = set(futures)
        while waiting:
            finished, waiting = wait(waiting, timeout=1.0, return_when=FIRST_COMPLETED)
            relay.show()
            for future in finished:
                error = future.exception()
                if error is None:
                    yield futures[future], future.result()
                elif isinstance(error, DownloadError):
                    yield futures[future], error
                else:
                    raise error
    except BaseException:
        fetcher.cancelled.set()
        raise
    finally:
        pool.shutdown(wait=True, cancel_futures=True)


def _failure(failed: list[tuple[Upload, str]], destination: Destination) -> UploadedFilesError:
    named = [upload.describe() for upload, _ in failed]
    shown = "; ".join(f"{upload.describe()} ({reason})" for upload, reason in failed[:5])
    more = f" and {len(failed) - 5} more" if len(failed) > 5 else ""
    return UploadedFilesError(
        f"{len(failed)} uploaded files could not be downloaded: {shown}{more}. The others are "
        f"saved in {destination.shown}; run the export again to fetch only the missing ones.",
        failed=named,
    )

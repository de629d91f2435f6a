"""An export built by a background job on the server, then downloaded from its signed link."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from pathlib import Path

from formexport.jobs.poll_schedule import PollSchedule
from formexport.jobs.polling import JobWaiter
from formexport.jobs.progress_flow import ExportProgress
from formexport.jobs.strategy import ExportStrategy, FileCheck, ScratchFolder
from formexport.local.job_timings import JobTimings
from formexport.opnform.endpoints import OpnFormAPI
from formexport.opnform.models import ExportStatus, JobState
from formexport.progress.events import ProgressEvent
from formexport.transfer.download import download_file
from formexport.transfer.tee import Tee


def status_message(status: ExportStatus) -> str:
    """What the progress display says about a job's status."""
    if status.processed_submissions is not None and status.total_submissions:
        return f"{status.processed_submissions}/{status.total_submissions} submissions"
    if status.status == JobState.PROCESSING and status.error_message:
        return status.error_message  # the server's "Generating export file..."
    return status.status


def pickup_message(job_id: str, started: datetime) -> str:
    """The progress display's note that an earlier call's job is being picked up."""
    return (
        f"picked up export job {job_id}, started {started:%Y-%m-%d %H:%M} UTC by an earlier "
        "call that did not get its data; pass reattach=False (CLI: --no-reattach) for a "
        "fresh export"
    )


class ServerJob(ExportStrategy):
    """A job on the server: polled until ``completed``, then downloaded (resumable, verified).

    Parameters
    ----------
    api : OpnFormAPI
        The server.
    form_id : int
        The form.
    job_id : str
        The server's job id.
    accepted_at : float, optional
        When the server accepted the job (``time.monotonic()``), for a job started just now.
    picked_up : datetime, optional
        When an earlier call on this machine started the job, for a job picked up again.
    expected_rows : int, optional
        Rows the job exports, as counted before it started: with the timings of earlier jobs
        on the server, it forecasts when the job ends before the server says anything.
    request_known : bool
        False for a job attached by its id alone, whose columns and submissions are not known:
        its file is not checked against a request.
    """

    mode = "server_job"
    is_server_job = True

    def __init__(
        self,
        api: OpnFormAPI,
        form_id: int,
        job_id: str,
        *,
        accepted_at: float | None = None,
        picked_up: datetime | None = None,
        expected_rows: int | None = None,
        request_known: bool = True,
    ) -> None:
        super().__init__(form_id)
        self._api = api
        self.job_id: str = job_id
        # OpnForm names the file by form and second: another export's may have replaced it.
        self.checks_file = request_known
        self._accepted_at = accepted_at
        self._picked_up = picked_up
        self._expected_rows = expected_rows

    def exported_at(self) -> datetime | None:
        return self.status.updated_at if self.status is not None else None

    def is_ready(self) -> bool:
        return self.status is not None and self.status.status == JobState.COMPLETED

    def refresh(self) -> ExportStatus:
        self.status = self._api.get_export_status(self.form_id, self.job_id)
        return self.status

    def wait(
        self, timeout: float | None, progress: ExportProgress, scratch: ScratchFolder
    ) -> ExportStatus:
        """Poll until the job completes.

        Raises
        ------
        ExportJobNotFoundError
            The job's status expired on the server (a fresh export may replace it).
        ExportFailedError, ExportTimeoutError, ExportInterrupted
        """
        self._announce_pickup(progress)
        if self.status is not None and self.is_ready():
            return self.status
        waiter = self._waiter(progress)
        self.status = waiter.wait(timeout)
        assert waiter.schedule is not None
        self._remember_timing(waiter.schedule)
        return self.status

    def _remember_timing(self, schedule: PollSchedule) -> None:
        # How long this job took forecasts the next one on the same server.
        timing = schedule.timing()
        if timing is not None:
            JobTimings().add(self._api.settings.base_url, timing)

    def _announce_pickup(self, progress: ExportProgress) -> None:
        # Picking up an earlier call's job returns data exported back then: say so where the
        # user looks, once, with the way to a fresh export (not only in logging).
        if self._picked_up is None:
            return
        message = pickup_message(self.job_id, self._picked_up)
        self._picked_up = None
        done = self.status.progress if self.status is not None else 0
        progress.update(ProgressEvent("export", done, 100, message, job_id=self.job_id))

    def _waiter(self, progress: ExportProgress) -> JobWaiter:
        job_id = self.job_id

        shown: list[tuple[float, str]] = []  # the last status shown

        def report(status: ExportStatus) -> None:
            self.status = status
            message = status_message(status)
            if status.status == JobState.QUEUED and shown[-1:] == [(status.progress, message)]:
                return  # still queued: the display counts the wait for a worker meanwhile
            shown[:] = [(status.progress, message)]
            started = self._started(status)
            progress.update(
                ProgressEvent(
                    "export", status.progress, 100, message, job_id=job_id, started_at=started
                )
            )

        if self._accepted_at is not None and self.status is None:
            # Shown at once, not at the first poll: the job was just accepted, so it is queued.
            started = self._started(None)
            shown[:] = [(0, JobState.QUEUED)]
            progress.update(
                ProgressEvent("export", 0, 100, JobState.QUEUED, job_id=job_id, started_at=started)
            )
        return JobWaiter(
            lambda: self._api.get_export_status(self.form_id, job_id),
            job_id=job_id,
            form_id=self.form_id,
            on_status=report,
            schedule=self._schedule(),
            retry=self._api.retry,
        )

    def _schedule(self) -> PollSchedule:
        """A job just accepted is asked about when it should end, its budget counted from its
        acceptance; one picked up again at once, then when it should end."""
        retry = self._api.retry
        accepted = self._accepted_at is not None
        return PollSchedule(
            self._accepted_at if self._accepted_at is not None else retry.clock(),
            accepted=accepted,
            rows=self._expected_rows,
            history=JobTimings().forecast(self._api.settings.base_url),
            jitter=retry.jitter,
        )

    def _started(self, status: ExportStatus | None) -> datetime | None:
        """When the job started: the server's ``created_at``, else when it was accepted."""
        if status is not None and status.created_at is not None:
            return status.created_at
        if self._accepted_at is None:
            return None
        waited = self._api.retry.clock() - self._accepted_at
        return datetime.now(timezone.utc) - timedelta(seconds=waited)

    def can_stream(self) -> bool:
        return self.local_copy() is None

    def fetch(
        self,
        dest: Path,
        progress: ExportProgress,
        tee: Tee | None = None,
        check: FileCheck | None = None,
        *,
        private: bool,
    ) -> None:
        """Download the file to ``dest`` (or copy it, once downloaded).

        Raises
        ------
        LinkExpired
            The link has expired (a fresh export may replace the job).
        """
        if self.local_copy() is not None:
            super().fetch(dest, progress, tee, check, private=private)
            return
        status = self.status
        assert status is not None
        assert status.file_url

        def report(received: int, total: int | None) -> None:
            progress.update(ProgressEvent("download", received, total, job_id=self.job_id))

        download_file(
            status.file_url,
            dest,
            expires_at=status.expires_at,
            on_progress=report,
            tee=tee,
            private=private,
            check=check,
            retry=self._api.retry,  # its waits end when a background export is cancelled
        )
        self.data = dest

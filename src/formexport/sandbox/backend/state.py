"""The emulator's in-memory backend: accounts, forms, jobs, files and limits behind one lock.

The HTTP apps hold :attr:`Backend.lock` while they read or change anything here, and
release it before streaming a body or sleeping for a fault. The backend is also the
:class:`~formexport.sandbox.backend.export_jobs.Worker` of export jobs: it counts their rows
and writes their files, to local disk or to the S3-like host.
"""

from __future__ import annotations

import shutil
import threading
from collections.abc import Callable, Hashable
from pathlib import Path
from typing import Any

from formexport.sandbox.backend.accounts import Accounts, Token
from formexport.sandbox.backend.export_jobs import JobFailure, QueuedExport, catch_up, step_count
from formexport.sandbox.backend.faults import FaultQueue
from formexport.sandbox.backend.ratelimit import RateLimiter
from formexport.sandbox.backend.seed import seed_accounts, seed_forms
from formexport.sandbox.backend.settings import SandboxConfig
from formexport.sandbox.backend.traffic import ArrivalFeed, retention_cutoff
from formexport.sandbox.backend.uploads import UploadStore
from formexport.sandbox.backend.worker import READY_WAIT, FileTask, FileWriter, Write
from formexport.sandbox.data.catalog import Catalog, Form
from formexport.sandbox.platform.clock import Clock, file_stamp, iso_micro
from formexport.sandbox.platform.profiles import Profile
from formexport.sandbox.platform.signing import S3_MAX_EXPIRES, Signer
from formexport.sandbox.platform.wire import RecordedRequest
from formexport.sandbox.writers.cells import LINKED_TYPES, plan_columns
from formexport.sandbox.writers.exports import Exporter

BUCKET = "opnform-exports"
EXPORT_DIR = "exports/temp"
LIFETIMES_HOURS = (24, 72, 168, 336, 720)
S3_TOO_LONG = (
    "The expiration date of a signature version 4 presigned URL must be less than one week"
)
_DAY = 86400


class Backend:
    """State shared by the API host and the file host.

    Parameters
    ----------
    config : SandboxConfig
        Live settings (read on every request).
    clock : Clock
        Sandbox time.
    files_dir : Path
        Where export files and uploaded files are written (a temporary directory owned by
        the Sandbox).
    seeded : bool
        Whether :meth:`reset` recreates the demo forms.
    demo_secret : str
        Secret of the demo token, kept across resets.
    file_host : callable
        Returns the S3-like host's base URL, starting it if needed.
    """

    def __init__(
        self,
        *,
        config: SandboxConfig,
        clock: Clock,
        files_dir: Path,
        seeded: bool,
        demo_secret: str,
        file_host: Callable[[], str],
    ) -> None:
        self.lock = threading.RLock()
        self.config = config
        self.clock = clock
        self.files_dir = files_dir
        self.signer = Signer()
        self.exporter = Exporter(self.signer)
        self.limiter = RateLimiter()
        self.faults = FaultQueue()
        self.uploads = UploadStore(files_dir / "uploads")
        self.requests: list[RecordedRequest] = []
        self.errors: list[BaseException] = []
        self.base_url = ""
        self._seeded, self._demo_secret, self._file_host = seeded, demo_secret, file_host
        self.accounts = Accounts()
        self.catalog = Catalog()
        self.jobs: dict[str, QueuedExport] = {}
        self.writer = FileWriter()
        self._tasks: dict[str, FileTask] = {}
        # Files of jobs of chosen duration, by what makes their bytes: copied for the same again.
        self._written: dict[Hashable, Path] = {}
        self._feeds: dict[int, ArrivalFeed] = {}
        self._rivals: dict[int, list[tuple[list[str], list[int] | None]]] = {}
        self.token = self._populate()

    def _populate(self) -> Token:
        self.accounts = Accounts()
        token = seed_accounts(self.accounts, demo_secret=self._demo_secret)
        self.catalog = Catalog()
        if self._seeded:
            seed_forms(self.catalog)
        self.jobs = {}
        self._tasks = {}
        self._written = {}
        self._rivals = {}
        return token

    @property
    def profile(self) -> Profile:
        """Feature switches of the configured version."""
        return self.config.profile

    def now(self) -> float:
        """Sandbox time."""
        return self.clock.now()

    def reset(self, config: SandboxConfig) -> None:
        """Seeded data, the given settings, no faults, limits, jobs, files, log or arrivals."""
        self.stop_arrivals()  # before taking the lock: a feed takes it to add a row
        with self.lock:
            self.config = config
            self.faults.clear()
            self.limiter.reset()
            self.requests.clear()
            self.errors.clear()
            self.clock.reset()
            self.writer.cancel_all()
            self.token = self._populate()
            self.uploads.reset()
            for sub in ("local", "s3"):
                shutil.rmtree(self.files_dir / sub, ignore_errors=True)

    def file_host_url(self) -> str:
        """Base URL of the S3-like host (started on first use)."""
        return self._file_host()

    def record(self, entry: RecordedRequest) -> None:
        """Append to the request log."""
        with self.lock:
            self.requests.append(entry)

    # --- forms ---------------------------------------------------------------------

    def add_form(self, **arguments: Any) -> Form:
        """Create a form in an existing workspace (see ``Catalog.add_form``)."""
        with self.lock:
            if arguments["workspace_id"] not in self.accounts.workspaces:
                raise ValueError(f"no workspace {arguments['workspace_id']}")
            return self.catalog.add_form(now=self.now(), **arguments)

    def form(self, form_id: int) -> Form:
        """A form by id; ``KeyError`` if unknown."""
        form = self.catalog.forms.get(form_id)
        if form is None:
            raise KeyError(f"no form {form_id}")
        return form

    def start_arrivals(self, form_id: int, every: float, count: int | None) -> ArrivalFeed:
        """Add a generated submission to a form every ``every`` seconds, in the background.

        A feed already running on that form is stopped first.
        """
        with self.lock:
            self.form(form_id)

        def add() -> int:
            with self.lock:
                return self.catalog.add_generated(self.form(form_id), self.now()).id

        self.stop_arrivals(form_id)
        feed = ArrivalFeed(add, every, count)
        with self.lock:
            self._feeds[form_id] = feed
        return feed

    def feed(self, form_id: int) -> ArrivalFeed | None:
        """The arrival feed last started on a form, if any."""
        with self.lock:
            return self._feeds.get(form_id)

    def stop_arrivals(self, form_id: int | None = None) -> list[int]:
        """Stop the feed of one form (or every feed); return the ids it added."""
        with self.lock:
            chosen = [form_id] if form_id is not None else list(self._feeds)
            feeds = [feed for key in chosen if (feed := self._feeds.pop(key, None)) is not None]
        return [i for feed in feeds for i in feed.stop()]

    def update_fields(self, form_id: int, properties: list[dict[str, Any]]) -> Form:
        """Save a form's blocks as its editor does (see ``Catalog.update_fields``)."""
        with self.lock:
            form = self.form(form_id)
            self.catalog.update_fields(form, properties, now=self.now())
            return form

    def delete_submissions(self, form_id: int, submission_ids: list[int]) -> list[int]:
        """Delete some of a form's submissions; return the ids that existed."""
        with self.lock:
            return self.form(form_id).submissions.delete(submission_ids)

    def run_retention(self) -> dict[int, int]:
        """OpnForm's hourly purge, now: each form with a retention period loses its old rows."""
        deleted = {}
        with self.lock:
            now = self.now()
            for form in self.catalog.forms.values():
                if form.retention is None:
                    continue
                cutoff = retention_cutoff(now, *form.retention)
                gone = form.submissions.delete(form.submissions.created_until(cutoff))
                if gone:
                    deleted[form.id] = len(gone)
        return deleted

    # --- export jobs ---------------------------------------------------------------

    def add_rival(
        self, form_id: int, selected: list[str], submission_ids: list[int] | None, times: int
    ) -> int:
        """Pair each of the next ``times`` jobs of a form with another client's export of it
        (``selected`` columns): its file is written in the same second, right after the job's,
        and replaces it. Returns the number of jobs still to be paired."""
        if times < 1:
            raise ValueError("times must be 1 or more")
        with self.lock:
            self.form(form_id)
            pending = self._rivals.setdefault(form_id, [])
            pending += [(list(selected), submission_ids)] * times
            return len(pending)

    def start_job(
        self, form: Form, user_id: int, selected: list[str], submission_ids: list[int] | None
    ) -> QueuedExport:
        """Queue an export job (and run it at once in ``immediate`` mode)."""
        job = self._queued(form, user_id, selected, submission_ids)
        pending = self._rivals.get(form.id)
        if pending:
            job.rival = self._queued(form, user_id, *pending.pop(0))
            job.rival.finished = True  # it moves with the job (complete_alongside)
        if self.config.job_seconds is not None and self.config.job_progression == "timed":
            self._start_chosen(job, self.config.job_seconds)
        self._catch_up(job)
        return job

    def _queued(
        self, form: Form, user_id: int, selected: list[str], submission_ids: list[int] | None
    ) -> QueuedExport:
        job = QueuedExport(
            form_id=form.id,
            user_id=user_id,
            selected=selected,
            submission_ids=submission_ids,
            posted_at=self.now(),
            ttl=self.config.status_ttl_seconds,
        )
        self.jobs[job.id] = job
        return job

    def _start_chosen(self, job: QueuedExport, seconds: float) -> None:
        """A job of chosen duration: its steps spread over ``seconds``, its file begun now."""
        rows = self.count_rows(job)
        job.step_seconds = seconds / step_count(rows)
        if rows:
            # Dated as its steps will be: started at the first, the file named at the 95 % one.
            job.started_at = job.posted_at + job.step_seconds
            self.prepare(job, job.posted_at + (step_count(rows) - 1) * job.step_seconds)

    def poll_job(self, job_id: str) -> dict[str, Any] | None:
        """A status read: the current entry (None once expired); moves ``per_poll`` jobs."""
        job = self.jobs.get(job_id)
        if job is None:
            return None
        self._catch_up(job)
        now = self.now()
        if job.expired(now):
            del self.jobs[job_id]
            return None
        body = job.body()
        if self.config.job_progression == "per_poll":
            job.advance(now, self, fail_with=self.config.fail_jobs, ttl=self._ttl())
        return body

    def _catch_up(self, job: QueuedExport) -> None:
        catch_up(
            job,
            mode=self.config.job_progression,
            now=self.now(),
            seconds_per_step=self.config.seconds_per_step,
            worker=self,
            fail_with=self.config.fail_jobs,
            ttl=self._ttl(),
        )

    def _ttl(self) -> float:
        return self.config.status_ttl_seconds

    def count_rows(self, job: QueuedExport) -> int:
        """Worker: rows the job exports."""
        return len(Exporter.row_ids(self.form(job.form_id), job.submission_ids))

    def prepare(self, job: QueuedExport, at: float) -> None:
        """Worker: start writing the file (in the background unless ``immediate``), unless
        the job began it already."""
        if job.id in self._tasks:
            return
        form, profile = self.form(job.form_id), self.profile
        expires = None
        if profile.lifetime_setting and job.started_at is not None:
            expires = job.started_at + self.lifetime_hours() * 3600
        name = f"{form.slug}-submissions-{file_stamp(at)}.csv"
        s3 = self.config.file_host == "s3"
        task = FileTask(self.export_path(name, s3=s3), name, expires, s3)
        link_expires = self.link_expiry(at, expires=expires)
        link = self.exporter.file_link(
            root=self.base_url, form_id=form.id, b64=profile.file_links_b64, expires=link_expires
        )
        writes = [job] if job.rival is None else [job, job.rival]
        plans = [
            (
                plan_columns(form, each.selected, attribution=profile.attribution),
                Exporter.row_ids(form, each.submission_ids),  # immutable: safe off the lock
            )
            for each in writes
        ]
        columns, ids = plans[0]
        if job.rival is not None:
            job.rival.total = len(plans[1][1])
        bom = profile.async_bom

        def write_file(check: Callable[[], None]) -> None:
            for chosen, rows in plans:  # one name: the rival's file replaces the job's
                self.exporter.write_file(task.path, form, rows, chosen, link, bom=bom, check=check)
            if job.rival is not None:  # the name holds another export's bytes now
                self._written = {k: p for k, p in self._written.items() if p != task.path}

        write: Write = write_file
        if job.step_seconds is not None and job.rival is None:
            linked = any(c.field_type in LINKED_TYPES for c in columns)
            links = (self.base_url, profile.file_links_b64, link_expires) if linked else None
            # Submissions never change under their id: the ids stand for the rows.
            made_of = (form.id, tuple(ids), tuple(columns), bom, links)
            write = self._reusing(made_of, task, write)
        self._tasks[job.id] = task
        background = self.config.job_progression != "immediate"
        self.writer.run(task, write, background=background)

    def _reusing(self, made_of: Hashable, task: FileTask, write: Write) -> Write:
        """``write``, or a copy of the file an identical export wrote; noting when it is done."""

        def write_or_copy(check: Callable[[], None]) -> None:
            earlier = self._written.get(made_of)
            if earlier == task.path:
                pass  # the same name, the same bytes: two exports within one second
            elif earlier is not None and earlier.exists():
                shutil.copyfile(earlier, task.path)
            else:
                write(check)
            self._written[made_of] = task.path
            task.written_at = self.now()

        return write_or_copy

    def ready(self, job: QueuedExport) -> bool:
        """Worker: whether the job's file is written."""
        task = self._tasks.get(job.id)
        return task is None or task.ready(READY_WAIT)

    def written_at(self, job: QueuedExport) -> float:
        """Worker: when the file of a job of chosen duration was done (0 for other jobs)."""
        task = self._tasks.get(job.id)
        return task.written_at if task is not None and task.written_at is not None else 0.0

    def finish(self, job: QueuedExport, at: float) -> tuple[str, str]:
        """Worker: sign the written file's URL; return ``(file_url, expires_at)``."""
        task = self._tasks.pop(job.id, None)
        if task is None or task.error:
            raise JobFailure(task.error if task else "The export file was not written")
        expires = task.expires if task.expires is not None else at + _DAY
        if task.s3 and expires - at > S3_MAX_EXPIRES:
            raise JobFailure(S3_TOO_LONG)
        if task.s3:
            path = f"/{BUCKET}/{EXPORT_DIR}/{task.name}"
            query = self.signer.presign_s3(path, at, int(expires - at))
            url = f"{self.file_host_url()}{path}?{query}"
        else:
            path = f"/local/temp/{EXPORT_DIR}/{task.name}"
            url = self.base_url + self.signer.sign_route(path, int(expires))
        return url, iso_micro(expires)

    def export_path(self, name: str, *, s3: bool) -> Path:
        """Where an export file lives on disk."""
        if s3:
            return self.files_dir / "s3" / BUCKET / EXPORT_DIR / name
        return self.files_dir / "local" / EXPORT_DIR / name

    def lifetime_hours(self) -> int:
        """The workspace link lifetime (v2.2.1+; other values fall back to 24)."""
        hours = self.config.link_lifetime_hours
        return hours if hours in LIFETIMES_HOURS else 24

    def link_expiry(self, at: float, *, expires: float | None = None) -> int | None:
        """``expires`` of in-CSV file links made at ``at`` (None: permanent, before v2.0.0)."""
        profile = self.profile
        if profile.lifetime_setting:
            return int(expires if expires is not None else at + self.lifetime_hours() * 3600)
        if profile.file_links_expire:
            return int(at + _DAY)
        return None

"""The client users hold: settings, one HTTP session, and the choice of export strategy."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from datetime import datetime, timezone
from functools import partial
from types import TracebackType

import requests

from formexport import config
from formexport.credentials import lookup_settings
from formexport.errors import InvalidArgumentError, NotFoundError
from formexport.jobs.batched_export import BatchedExport
from formexport.jobs.cached import CachedExport
from formexport.jobs.export_job import ExportJob
from formexport.jobs.nothing_chosen import NothingChosen
from formexport.jobs.server_job import ServerJob
from formexport.local.export_cache import ExportCache, MaxAge
from formexport.local.folder import request_key
from formexport.local.form_turns import FormTurn
from formexport.local.job_records import JobRecord, JobRecords
from formexport.opnform.checks import field_ids, without_fields
from formexport.opnform.endpoints import FormRef, OpnFormAPI, StartedJob, normalize_columns
from formexport.opnform.models import ExportStatus, FormInfo, JobState
from formexport.opnform.retry import RetryPolicy
from formexport.opnform.selection import Selection, Since, select_ids
from formexport.opnform.submissions import ExactCollector

logger = logging.getLogger("formexport")

Columns = Mapping[str, bool] | Sequence[str]


class Client:
    """A connection to one OpnForm server with one token.

    Parameters
    ----------
    token : str, optional
        A personal access token with the ``forms-read`` ability. Defaults to
        ``OPNFORM_API_TOKEN``, then to the signed-in ``profile`` (see :func:`formexport.login`).
        It is sent only to ``base_url``'s origin and never shown.
    base_url : str, optional
        ``https://api.opnform.com`` (the default, or ``OPNFORM_API_BASE_URL``) or a
        self-hosted ``https://forms.example.com/api``; a profile's token goes to the profile's
        server only.
    profile : str, optional
        The signed-in profile whose token to use when no token is given or set; default
        ``OPNFORM_PROFILE``, then ``"default"``.
    session : requests.Session, optional
        For proxies, custom certificates, extra headers or cookies: its settings are used,
        with formexport's own retries and token rule.
    allow_insecure_http : bool, optional
        Let the token travel over plain ``http://`` to a host that is not loopback (a private
        network you trust). ``None`` (the default) reads ``FORMEXPORT_ALLOW_INSECURE_HTTP``;
        otherwise such a base URL raises :class:`~formexport.ConfigurationError`.
    retry : RetryPolicy, optional
        When to ask the server again and how to wait (requests, rate limits and polling);
        the defaults of :mod:`formexport.config` otherwise.

    Examples
    --------
    >>> import formexport as fx
    >>> with fx.Client() as client:
    ...     form = client.get_form("customer-feedback-8tc53r")
    ...     df = client.start_export(form.id, columns=["Email"]).to_dataframe()
    >>> form.title, df.columns.tolist()
    ('Customer feedback', ['id', 'submission_id', 'Email'])
    """

    def __init__(
        self,
        token: str | None = None,
        base_url: str | None = None,
        *,
        profile: str | None = None,
        session: requests.Session | None = None,
        allow_insecure_http: bool | None = None,
        retry: RetryPolicy | None = None,
    ) -> None:
        self.settings = lookup_settings(
            token, base_url, profile=profile, allow_insecure_http=allow_insecure_http
        )
        self.api = OpnFormAPI(self.settings, session=session, retry=retry)

    @classmethod
    def from_settings(
        cls, settings: config.Settings, *, retry: RetryPolicy | None = None
    ) -> Client:
        """Another client on settings already looked up (a client's ``settings``).

        The token is not looked up again, and messages still say where it came from.
        """
        client = cls.__new__(cls)
        client.settings = settings
        client.api = OpnFormAPI(settings, retry=retry)
        return client

    @property
    def base_url(self) -> str:
        """The API root requests go to."""
        return self.settings.base_url

    @property
    def profile(self) -> str | None:
        """The signed-in profile whose token is used, or None (``token=``, the environment)."""
        source = self.settings.source
        return source.profile if source.kind == "profile" else None

    def __repr__(self) -> str:
        profile = f", profile={self.profile!r}" if self.profile is not None else ""
        return f"Client(base_url={self.base_url!r}{profile})"

    def __enter__(self) -> Client:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.close()

    def close(self) -> None:
        """Release the HTTP connections."""
        self.api.close()

    def get_form(self, form: FormRef) -> FormInfo:
        """The form's definition: id, slug, fields."""
        return self.api.get_form(form)

    def get_export_status(self, form: FormRef, job_id: str) -> ExportStatus:
        """One status request for a background export.

        Raises
        ------
        ExportJobNotFoundError
            Unknown job, or its status expired on the server.
        StatusUnavailableError
            The server does not let tokens read export status (OpnForm's default).
        """
        return self.api.get_export_status(form, job_id)

    def start_export(
        self,
        form: FormRef,
        columns: Columns | None = None,
        submission_ids: Sequence[int] | None = None,
        *,
        since: Since | None = None,
        status: str | None = None,
        cache: bool = False,
        max_age: MaxAge = None,
        reattach: bool = True,
        timeout: float | None = None,
        exclude: Sequence[str] | None = None,
    ) -> ExportJob:
        """Start exporting a form's submissions; return the :class:`ExportJob`.

        Parameters
        ----------
        form : int or str
            The form's numeric id or its slug.
        columns : list of str or dict of str to bool, optional
            Field ids (or unambiguous field names), ``created_at``, ``status`` or
            ``meta.attribution.<utm_*>``; ``None`` exports every field plus ``created_at``.
        submission_ids : list of int, optional
            Export only these submissions.
        since : datetime, date or timedelta, optional
            Export only submissions created at or after this moment (a naive datetime is UTC,
            a date starts at its midnight UTC, a timedelta counts back from now).
        status : {"completed", "partial", "all"}, optional
            Export only completed or only partial submissions; ``None`` or ``"all"`` exports
            what the server exports (both).
        cache : bool
            Return a finished export of the same request kept on this machine, if there is one
            (younger than ``max_age``); see :mod:`formexport.local.export_cache`.
        max_age : float or timedelta, optional
            The oldest cached export to accept, in seconds; implies ``cache=True``.
        reattach : bool
            Pick up an unfinished background job this machine started for the same request
            whose data was never delivered (a call that timed out, was interrupted, or whose
            kernel died), instead of starting another; the progress display says so. A job
            whose data was delivered is never picked up: every other call exports afresh.
        timeout : float, optional
            Seconds the export request may wait: for its turn behind another export of the
            form (see Notes), then out OpnForm's rate limit; past them
            :class:`~formexport.ExportTimeoutError` or :class:`~formexport.RateLimitError`.
            ``None`` waits as long as it takes.
        exclude : list of str, optional
            Fields (names or ids) left out of the export: never requested from the server. A
            name that matches no field is refused, not ignored.

        Notes
        -----
        Exports of one form take turns on this machine, from the request until the data is
        delivered (or the job closed): OpnForm names a background job's file after the form
        and the second it finished, so two jobs of one form finishing together would share one
        file. The turn is keyed on the server and the form's numeric id, and holds between the
        threads and processes of this machine; a file delivered all the same is checked
        against its request (see :class:`ExportJob`).

        When the export is larger than 1000 submissions and the server does not let tokens read
        job status (OpnForm's default), no background job is started: the returned job exports
        in synchronous batches of 1000 when waited for.

        The server's export has no date or status filter: with ``since`` or ``status``, the
        chosen submissions are listed through the JSON submissions list (newest first, read
        until one is older than ``since``) and exported by id. When none is chosen, nothing is
        exported and the job holds an export without rows.
        """
        if columns is not None:
            normalize_columns(columns)  # a malformed selection is refused before any request
        selection = _selection(since, status, submission_ids)
        deadline = None if timeout is None else time.monotonic() + timeout
        info = self.api.get_form(form)
        chosen = info.default_columns() if columns is None else normalize_columns(columns, info)
        if exclude is not None:
            chosen = without_fields(chosen, exclude, info)
        ids = None if submission_ids is None else [int(i) for i in submission_ids]
        listed = None
        if selection is not None:
            ids, listed = self._select(info, selection)
            if not ids:
                nothing = ExportJob(self.api, info, chosen, NothingChosen(info.id))
                nothing.excluded = _field_names(info, exclude)
                return nothing
        key = request_key(self.base_url, info.id, chosen, ids)
        job = None
        if cache or max_age is not None:
            job = self._cached(key, info, chosen, max_age)
        if job is None:
            # Taken before the request: whether the server answers at once or starts a job
            # (whose file another export may share) is known only from its answer.
            turn = self._turn(info, deadline)
            try:
                job = self._reattach(key, info, chosen, ids) if reattach else None
                if job is None:
                    job = self._start(info, chosen, ids, deadline, listed)
                    self._record_started(job, key)
            except BaseException:
                turn.release()
                raise
            job.hold_turn(turn)
        job.request_key = key
        job.excluded = _field_names(info, exclude)
        return job

    def _turn(self, info: FormInfo, deadline: float | None) -> FormTurn:
        """The form's turn, taken (waiting for it as the retry policy waits: shown, if a
        display is listening, and ended when a background export is cancelled)."""
        turn = FormTurn(self.base_url, info.id)
        turn.take(deadline=deadline, sleep=self.api.retry.sleep)
        return turn

    def _record_started(self, job: ExportJob, key: str) -> None:
        if job.is_server_job:
            logger.info("Started export job %s for form %s", job.job_id, job.form_id)
            self._record(job, key)

    def _select(self, info: FormInfo, selection: Selection) -> tuple[list[int], ExactCollector]:
        """The chosen submissions' ids, and their raw values (listed along with them)."""
        listed = ExactCollector()
        return select_ids(self.api, info.id, selection, on_item=listed.add), listed

    def _start(
        self,
        info: FormInfo,
        chosen: Mapping[str, bool],
        ids: list[int] | None,
        deadline: float | None,
        listed: ExactCollector | None = None,
    ) -> ExportJob:
        total = len(ids) if ids is not None else self.api.count_submissions(info.id)
        if total > config.SYNC_EXPORT_LIMIT and not self.api.status_readable(info.id):
            return self._batched(info, chosen, ids, total, listed)
        answer = self.api.post_export(info.id, chosen, ids, deadline=deadline)
        if isinstance(answer, StartedJob) and not self.api.status_readable(info.id):
            # Submissions arrived between counting and exporting; that job cannot be watched.
            logger.warning(
                "Export job %s cannot be watched with a token; exporting in batches instead",
                answer.job_id,
            )
            return self._batched(info, chosen, ids, total, listed)
        return ExportJob.from_answer(
            self.api,
            info,
            chosen,
            answer,
            submission_ids=ids,
            listed_values=listed,
            expected_rows=total,
        )

    def _cached(
        self, key: str, info: FormInfo, chosen: Mapping[str, bool], max_age: MaxAge
    ) -> ExportJob | None:
        entry = ExportCache().lookup(key, max_age)
        if entry is None:
            return None
        logger.info("Using the cached export of form %s (%.0f s old)", info.id, entry.age)
        stored_at = datetime.fromtimestamp(entry.created, timezone.utc)
        return ExportJob(self.api, info, chosen, CachedExport(info.id, entry.path, stored_at))

    def _reattach(
        self, key: str, info: FormInfo, chosen: Mapping[str, bool], ids: list[int] | None
    ) -> ExportJob | None:
        records = JobRecords()
        record = records.find(key)
        if record is None:
            return None
        # The job was started by an earlier call that never delivered its data; the progress
        # display tells the user, as picking it up returns the submissions of back then.
        background = ServerJob(self.api, info.id, record.job_id, picked_up=record.started)
        job = ExportJob(self.api, info, chosen, background, submission_ids=ids)
        try:
            status = job.refresh()
        except NotFoundError:  # the job's status expired on the server, or cannot be read
            records.forget(record.job_id)
            return None
        expired = status.expires_at is not None and status.expires_at <= _now()
        if status.status == JobState.FAILED or (status.status == JobState.COMPLETED and expired):
            records.forget(record.job_id)
            return None
        logger.info(
            "Picking up export job %s of form %s, started %s and not delivered (%s)",
            record.job_id,
            info.id,
            record.started.strftime("%Y-%m-%d %H:%M UTC"),
            status.status_text,
        )
        self._record(job, key)
        return job

    def _record(self, job: ExportJob, key: str) -> None:
        def save(changed: ExportJob) -> None:
            if changed.job_id is None:
                return
            status = changed.status
            JobRecords().save(
                JobRecord(
                    key=key,
                    server=self.base_url,
                    form_id=changed.form_id,
                    job_id=changed.job_id,
                    started=(status.created_at if status and status.created_at else _now()),
                    expires=status.expires_at if status else None,
                )
            )

        save(job)
        job.on_change = save

    def _batched(
        self,
        info: FormInfo,
        columns: Mapping[str, bool],
        ids: list[int] | None,
        total: int,
        listed: ExactCollector | None = None,
    ) -> ExportJob:
        collector = listed
        source: Callable[[], Iterable[int]]
        if ids is not None:
            source = partial(iter, ids)
        else:
            # Listing the ids brings every submission's raw values along: keep them.
            collector = ExactCollector()
            source = partial(self.api.iter_submission_ids, info.id, on_item=collector.add)
        batched = BatchedExport(self.api, info.id, columns, source, total, collector)
        return ExportJob(self.api, info, columns, batched, submission_ids=ids)

    def attach(self, form: FormRef, job_id: str) -> ExportJob:
        """Pick up a background export started earlier; see :meth:`ExportJob.attach`."""
        return ExportJob.attach(form, job_id, client=self)


def _now() -> datetime:
    return datetime.now(timezone.utc)


def _field_names(info: FormInfo, keys: Sequence[str] | None) -> tuple[str, ...]:
    """The names of the fields ``keys`` names (for the export's ``attrs``)."""
    if not keys:
        return ()
    names = {f.id: f.name for f in (*info.fields, *info.removed_fields)}
    return tuple(names[fid] for fid in field_ids(keys, info, option="exclude"))


def _selection(
    since: Since | None, status: str | None, submission_ids: Sequence[int] | None
) -> Selection | None:
    """``since=``/``status=`` checked before any request (they choose ids themselves)."""
    selection = Selection.from_options(since, status, _now)
    if selection is not None and submission_ids is not None:
        raise InvalidArgumentError(
            "Pass submission_ids or since=/status=, not both: they each choose the submissions."
        )
    return selection

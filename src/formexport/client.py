"""The client users hold: settings and one session to a server, and the calls made on them.

How an export starts and is delivered is decided in :mod:`formexport.jobs`
(:mod:`~formexport.jobs.start`, which asks :func:`~formexport.jobs.delivery_mode.choose_delivery`).
"""

from __future__ import annotations

from collections.abc import Sequence
from types import TracebackType

import requests

from formexport import config
from formexport.credentials import lookup_settings
from formexport.jobs import start
from formexport.jobs.export_job import ExportJob
from formexport.jobs.requested import Columns
from formexport.local.export_cache import MaxAge
from formexport.opnform.connection import Connection
from formexport.opnform.endpoints import FormRef
from formexport.opnform.models import ExportStatus, FormInfo
from formexport.opnform.retry import RetryPolicy
from formexport.opnform.selection import Since


class Client(Connection):
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
        settings = lookup_settings(
            token, base_url, profile=profile, allow_insecure_http=allow_insecure_http
        )
        super().__init__(settings, session=session, retry=retry)

    @classmethod
    def from_settings(
        cls, settings: config.Settings, *, retry: RetryPolicy | None = None
    ) -> Client:
        """Another client on settings already looked up (a client's ``settings``).

        The token is not looked up again, and messages still say where it came from.
        """
        client = cls.__new__(cls)
        Connection.__init__(client, settings, retry=retry)
        return client

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
        return start.start_export(
            self.api,
            form,
            columns,
            submission_ids,
            since=since,
            status=status,
            cache=cache,
            max_age=max_age,
            reattach=reattach,
            timeout=timeout,
            exclude=exclude,
        )

    def attach(self, form: FormRef, job_id: str) -> ExportJob:
        """Pick up a background export started earlier; see :meth:`ExportJob.attach`."""
        return ExportJob.attach(form, job_id, client=self)

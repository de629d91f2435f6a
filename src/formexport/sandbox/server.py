"""The :class:`Sandbox`: an OpnForm server on loopback for demos and offline tests."""

from __future__ import annotations

import copy
import tempfile
import threading
from pathlib import Path
from types import TracebackType
from typing import Any

from formexport.sandbox.backend.accounts import new_secret
from formexport.sandbox.backend.faults import FaultQueue
from formexport.sandbox.backend.seed import DEMO_USER_ID
from formexport.sandbox.backend.settings import SandboxConfig
from formexport.sandbox.backend.state import Backend
from formexport.sandbox.backend.traffic import ArrivalFeed, check_retention
from formexport.sandbox.data.fields import make_field
from formexport.sandbox.http.app import ApiApp
from formexport.sandbox.http.control import ControlApp
from formexport.sandbox.http.filehost import S3App
from formexport.sandbox.http.httpserver import HostServer
from formexport.sandbox.http.resources import form_resource
from formexport.sandbox.http.validation import validate_export
from formexport.sandbox.platform.clock import Clock, to_timestamp
from formexport.sandbox.platform.wire import HttpError, RecordedRequest

API_HOST = "127.0.0.1"
FILE_HOST = "127.0.0.2"


class Sandbox:
    """A running OpnForm emulator (API on 127.0.0.1, S3-like file host on 127.0.0.2).

    It starts at once, seeded with demo data, and answers like OpnForm's server code:
    the token whitelist that hides the export status route, both CSV writers, the
    queued-job lifecycle, signed links that expire, rate limits and version switches.

    Parameters
    ----------
    port : int
        API port; 0 (the default) picks a free one.
    config : SandboxConfig, optional
        Starting settings; :meth:`reset` returns to them.
    seed : bool
        Create the demo forms (the demo user, workspaces and token always exist).

    Examples
    --------
    >>> import requests
    >>> with Sandbox() as sb:
    ...     forms = requests.get(
    ...         f"{sb.base_url}/open/workspaces/1/forms",
    ...         headers={"Authorization": f"Bearer {sb.token}"},
    ...     ).json()
    >>> [f["title"] for f in forms["data"]]
    ['Empty survey', 'Event registration', 'Customer feedback']
    """

    def __init__(
        self, port: int = 0, *, config: SandboxConfig | None = None, seed: bool = True
    ) -> None:
        self._initial = (config or SandboxConfig()).copy()
        self._tmp = tempfile.TemporaryDirectory(prefix="formexport-sandbox-")
        self._file_server: HostServer | None = None
        self._file_lock = threading.Lock()
        self._closed = False
        self.clock = Clock()
        self._backend = Backend(
            config=self._initial.copy(),
            clock=self.clock,
            files_dir=Path(self._tmp.name),
            seeded=seed,
            demo_secret=new_secret(),
            file_host=self._file_host,
        )
        try:
            app = ApiApp(self._backend, ControlApp(self).handle)
            self._api = HostServer(API_HOST, port, app, self._backend)
        except BaseException:
            self._tmp.cleanup()
            raise
        self._backend.base_url = self._api.url
        if self._initial.file_host == "s3":
            self._file_host()

    # --- addresses and credentials -----------------------------------------------------

    @property
    def base_url(self) -> str:
        """``http://127.0.0.1:PORT``: cloud style, routes at the root."""
        return self._api.url

    @property
    def api_url(self) -> str:
        """``http://127.0.0.1:PORT/api``: self-hosted style (the ``/api`` prefix is stripped)."""
        return f"{self._api.url}/api"

    @property
    def file_host_url(self) -> str:
        """``http://127.0.0.2:PORT`` of the S3-like host (started on first use)."""
        return self._file_host()

    @property
    def token(self) -> str:
        """The demo user's token (forms-read, forms-write, workspaces-read)."""
        return self._backend.token.plain

    def add_token(self, abilities: list[str] | None = None, user_id: int | None = None) -> str:
        """Create another personal access token.

        Parameters
        ----------
        abilities : list of str, optional
            Default ``["forms-read"]``.
        user_id : int, optional
            Default the demo user (1). User 2 belongs to workspace 2 only; other ids
            create users without any workspace.

        Returns
        -------
        str
            ``<id>|<secret>``.
        """
        chosen = ["forms-read"] if abilities is None else list(abilities)
        with self._backend.lock:
            token = self._backend.accounts.issue(user_id or DEMO_USER_ID, chosen)
        return token.plain

    def revoke_token(self, token: str) -> None:
        """Delete a token; later requests with it get 401."""
        with self._backend.lock:
            self._backend.accounts.revoke(token)

    # --- data ------------------------------------------------------------------------

    make_field = staticmethod(make_field)

    def add_form(
        self,
        title: str,
        fields: list[dict[str, Any]],
        n_submissions: int = 0,
        *,
        workspace_id: int = 1,
        partial: bool = False,
        seed: int = 0,
        removed_fields: list[dict[str, Any]] | tuple[dict[str, Any], ...] = (),
    ) -> dict[str, Any]:
        """Create a form with ``n_submissions`` generated submissions.

        Parameters
        ----------
        title : str
            Form title (the slug is derived from it).
        fields : list of dict
            OpnForm blocks, e.g. from :meth:`make_field`; a dict without ``id`` is
            passed to ``make_field(type, name, **rest)``.
        n_submissions : int
            Generated lazily and deterministically from ``seed``, so a million rows are
            cheap to add (exporting them is what costs time).
        workspace_id : int
            1 (the demo user's) or 2 (not the demo user's).
        partial : bool
            Turn on partial submissions (about 10% of rows are partial, and exports get
            a ``status`` column).
        seed : int
            Same seed and fields → same submissions.
        removed_fields : sequence of dict
            Deleted fields: valid export columns, headers ``<name>`` (keys say "deleted").

        Returns
        -------
        dict
            The form resource (``id``, ``slug``, ``properties``...).
        """
        with self._backend.lock:
            form = self._backend.add_form(
                title=title,
                fields=[_block(f) for f in fields],
                n_submissions=n_submissions,
                workspace_id=workspace_id,
                partial=partial,
                seed=seed,
                removed_fields=[_block(f) for f in removed_fields],
            )
            return form_resource(form, self.base_url)

    def form_fields(self, form_id: int) -> list[dict[str, Any]]:
        """A copy of the form's blocks (its ``properties``), in form order, to edit and pass to
        :meth:`update_fields`."""
        with self._backend.lock:
            return copy.deepcopy(self._backend.form(form_id).properties)

    def update_fields(self, form_id: int, properties: list[dict[str, Any]]) -> dict[str, Any]:
        """Save a form's blocks as OpnForm's form editor does: rename, add, reorder or remove
        fields, change their options or type.

        A field left out joins ``removed_properties`` (its answers stay exportable by id); one
        sent again leaves it. The form's ``updated_at`` moves to now, and later generated
        submissions answer the new fields. Submissions already stored keep their values.

        Parameters
        ----------
        form_id : int
            The form.
        properties : list of dict
            Every block the form keeps, in order: edited copies from :meth:`form_fields`, and
            new ones from :meth:`make_field` (or short ``{"type", "name"}`` dicts).

        Returns
        -------
        dict
            The form resource.

        Examples
        --------
        >>> with Sandbox() as sb:
        ...     fields = sb.form_fields(1)                 # Name, Email, Phone, ...
        ...     fields[0]["name"] = "Full name"
        ...     form = sb.update_fields(1, [*fields[:-1], sb.make_field("number", "Age")])
        >>> [f["name"] for f in form["properties"]][::3]
        ['Full name', 'Rating', 'Topics', 'Age']
        >>> [f["name"] for f in form["removed_properties"]]
        ['Zip code']
        """
        blocks = [_block(f) for f in properties]
        form = self._backend.update_fields(form_id, blocks)
        with self._backend.lock:
            return form_resource(form, self.base_url)

    def add_submission(
        self,
        form_id: int,
        data: dict[str, Any],
        *,
        partial: bool = False,
        created_at: Any = None,
        meta: dict[str, Any] | None = None,
    ) -> int:
        """Store one submission with raw values keyed by field id; returns its id.

        ``created_at`` is a datetime (naive means UTC), an ISO string or Unix seconds;
        default now (sandbox time).
        """
        with self._backend.lock:
            form = self._backend.form(form_id)
            when = self.clock.now() if created_at is None else to_timestamp(created_at)
            submission = self._backend.catalog.add_submission(
                form, data, partial=partial, created_at=when, meta=meta
            )
            return submission.id

    # --- uploaded files -------------------------------------------------------------------

    def uploaded_file(self, form_id: int, name: str) -> bytes | None:
        """The bytes the file route serves for a file uploaded to a form (None once lost).

        Every name a submission holds has a file: its bytes are derived from the form and the
        name (the same every time), unless :meth:`store_uploaded_file` put others.

        Examples
        --------
        >>> with Sandbox() as sb:
        ...     sb.uploaded_file(2, "cv_1.pdf").startswith(b"Upload cv_1.pdf of form 2")
        True
        """
        return self._backend.uploads.content(form_id, name)

    def store_uploaded_file(self, form_id: int, name: str, content: bytes) -> None:
        """Serve ``content`` for ``name`` (a large file to cut and resume, say)."""
        self._backend.uploads.put(form_id, name, content)

    def lose_uploaded_file(self, form_id: int, name: str) -> None:
        """The server's disk no longer has the file: its links answer 404 "File not found."."""
        self._backend.uploads.lose(form_id, name)

    # --- a form that lives while it is exported ------------------------------------------

    def start_arrivals(
        self, form_id: int, every: float = 0.1, *, count: int | None = None
    ) -> ArrivalFeed:
        """Keep adding submissions with generated answers to a form, in the background.

        Each arrives ``every`` seconds (real time) and is created "now" in sandbox time, so
        ten a second share their ``created_at`` second, as on a busy form. A feed already
        running on the form is stopped first; :meth:`reset` and :meth:`close` stop them all.

        Parameters
        ----------
        form_id : int
            The form.
        every : float
            Seconds between two arrivals.
        count : int, optional
            Stop after this many; ``None`` runs until stopped.

        Returns
        -------
        ArrivalFeed
            ``.ids`` (added so far) and ``.stop()``; as a context manager it stops at the end.

        Examples
        --------
        >>> with Sandbox() as sb, sb.start_arrivals(1, every=0.01, count=3) as feed:
        ...     added = feed.stop()
        >>> len(added) <= 3
        True
        """
        return self._backend.start_arrivals(form_id, every, count)

    def arrivals(self, form_id: int) -> ArrivalFeed | None:
        """The feed last started on a form and not stopped since (running or done), if any."""
        return self._backend.feed(form_id)

    def stop_arrivals(self, form_id: int | None = None) -> list[int]:
        """Stop the arrivals of one form (or of every form); return the ids they added."""
        return self._backend.stop_arrivals(form_id)

    def add_generated_submissions(
        self, form_id: int, count: int, *, every: float = 0.1, until: Any = None
    ) -> list[int]:
        """Add ``count`` submissions with generated answers, created ``every`` seconds apart.

        The last is created at ``until`` (a datetime, ISO string or Unix seconds; default
        now, sandbox time): the history of a busy form, many submissions per second sharing
        their ``created_at``. Returns the new ids, oldest first.
        """
        if count < 0 or not every >= 0:
            raise ValueError("count and every must be >= 0")
        with self._backend.lock:
            form = self._backend.form(form_id)
            last = self.clock.now() if until is None else to_timestamp(until)
            catalog = self._backend.catalog
            return [
                catalog.add_generated(form, last - (count - 1 - n) * every).id for n in range(count)
            ]

    def add_rival_export(
        self,
        form_id: int,
        columns: list[str],
        *,
        submission_ids: list[int] | None = None,
        times: int = 1,
    ) -> int:
        """Another client (not formexport) exports a form in the same second as the next jobs.

        Each of the next ``times`` export jobs of the form is paired with a job of ``columns``
        (keys as the export route takes them; ``submission_ids`` to choose rows) started
        alongside it: both finish together, and OpnForm names files by form and second, so
        the rival's file replaces the job's under the one name both status answers point at.
        Returns how many jobs are still to be paired.
        """
        payload: dict[str, Any] = {"columns": dict.fromkeys(columns, True)}
        if submission_ids is not None:
            payload["submissionIds"] = submission_ids
        with self._backend.lock:
            form = self._backend.form(form_id)
            try:
                chosen = validate_export(payload, form, self.config.profile)
            except HttpError as exc:  # what the export route would answer: 422 and why
                body = exc.response.body
                raise ValueError(body.decode() if isinstance(body, bytes) else exc) from None
            return self._backend.add_rival(form_id, chosen.selected, chosen.submission_ids, times)

    def delete_submissions(self, form_id: int, submission_ids: list[int]) -> list[int]:
        """Delete submissions of a form, as its owner can; return the ids that existed."""
        return self._backend.delete_submissions(form_id, [int(i) for i in submission_ids])

    def set_retention(self, form_id: int, value: int | None, unit: str | None) -> None:
        """A form's ``submission_retention_value`` and ``_unit`` (``day``, ``week``, ``month``,
        ``year``); ``None, None`` keeps every submission. :meth:`run_retention` applies it."""
        retention = check_retention(value, unit)
        with self._backend.lock:
            self._backend.form(form_id).retention = retention

    def rename_field(self, form_id: int, field_id: str, name: str) -> None:
        """Rename a field, as its owner does in OpnForm's editor (exports' headers follow):
        :meth:`update_fields` with that one change."""
        fields = self.form_fields(form_id)
        block = next((b for b in fields if b["id"] == field_id), None)
        if block is None:
            raise KeyError(f"form {form_id} has no field {field_id}")
        block["name"] = name
        self.update_fields(form_id, fields)

    def run_retention(self) -> dict[int, int]:
        """Run OpnForm's hourly purge job now: every form with a retention period loses the
        submissions last updated before it (by sandbox time). Returns ``{form_id: deleted}``."""
        return self._backend.run_retention()

    # --- knobs, faults, log ------------------------------------------------------------

    @property
    def config(self) -> SandboxConfig:
        """Live settings; changes apply to the next request."""
        return self._backend.config

    @config.setter
    def config(self, value: SandboxConfig) -> None:
        if not isinstance(value, SandboxConfig):
            raise TypeError("config must be a SandboxConfig")
        with self._backend.lock:
            self._backend.config = value

    @property
    def faults(self) -> FaultQueue:
        """Queue of injected faults: ``sb.faults.add(Fault("status", http_status=503))``."""
        return self._backend.faults

    @property
    def requests(self) -> list[RecordedRequest]:
        """Requests received by both hosts, in order (control API excluded)."""
        with self._backend.lock:
            return list(self._backend.requests)

    def clear_requests(self) -> None:
        """Empty the request log."""
        with self._backend.lock:
            self._backend.requests.clear()

    def info(self) -> dict[str, Any]:
        """URLs, token and version, as ``GET /_sandbox/info`` returns them."""
        return {
            "base_url": self.base_url,
            "api_url": self.api_url,
            "token": self.token,
            "file_host_url": self._file_server.url if self._file_server else None,
            "version": self.config.version,
        }

    def reset(self) -> None:
        """Back to the seeded data, the starting settings, no faults, log, jobs or files."""
        self._backend.reset(self._initial.copy())
        if self._initial.file_host == "s3":
            self._file_host()

    def check(self) -> None:
        """Re-raise the first exception a handler thread hit since the last check."""
        with self._backend.lock:
            errors = list(self._backend.errors)
            self._backend.errors.clear()
        if errors:
            raise errors[0]

    # --- lifecycle ---------------------------------------------------------------------

    def _file_host(self) -> str:
        with self._file_lock:
            if self._closed:
                raise RuntimeError("the sandbox is closed")
            if self._file_server is None:
                self._file_server = HostServer(FILE_HOST, 0, S3App(self._backend), self._backend)
            return self._file_server.url

    def close(self) -> None:
        """Stop both hosts and delete the export files (idempotent)."""
        with self._file_lock:
            if self._closed:
                return
            self._closed = True
            file_server, self._file_server = self._file_server, None
        self._backend.stop_arrivals()
        self._api.close()
        if file_server is not None:
            file_server.close()
        self._backend.writer.cancel_all()
        self._tmp.cleanup()

    def __enter__(self) -> Sandbox:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.close()

    def __repr__(self) -> str:
        state = "closed" if self._closed else self.base_url
        return f"<Sandbox {state} version={self.config.version}>"


def _block(field: dict[str, Any]) -> dict[str, Any]:
    """A full block, or ``make_field(type, name, **rest)`` for a short ``{"type", "name"}``."""
    if "id" in field:
        return dict(field)
    rest = {k: v for k, v in field.items() if k not in ("type", "name")}
    return make_field(str(field["type"]), str(field["name"]), **rest)

"""Every error formexport raises, under one root.

Catch :class:`FormExportError` to handle any of them. The tree::

    FormExportError
    ├── ConfigurationError            no token, a base URL that cannot work, a missing extra
    │   └── NoTokenError              no token= nor OPNFORM_API_TOKEN, and the profile not signed in
    ├── InvalidArgumentError          a bad argument, caught before anything is sent
    ├── NetworkError                  the connection failed or timed out, even after retries
    │   └── ConnectionFailedError     no connection at all: unknown host, nothing listening, no TLS
    ├── APIError                      the OpnForm API answered with an error
    │   ├── AuthenticationError       401: token missing, wrong or revoked
    │   ├── PermissionDeniedError     403: token lacks an ability, or user not in the workspace
    │   ├── NotFoundError             404: no such form (or route)
    │   │   ├── FormNotFoundError         no form with that id or slug
    │   │   ├── ExportJobNotFoundError    the export job is unknown or its status expired
    │   │   └── StatusUnavailableError    the server does not let tokens read export status
    │   ├── ValidationError           422: the request was refused (``.errors``)
    │   ├── RateLimitError            429: too many requests (``.retry_after``)
    │   ├── ServerError               5xx
    │   └── UnexpectedResponseError   an answer that is not OpnForm's (HTML, broken JSON)
    ├── ExportFailedError             the server reported the export job as failed
    ├── ExportTimeoutError            the export did not finish within the timeout
    ├── ExportExpiredError            the file's link expired and no fresh export replaced it
    ├── ExportCancelled               a background export was cancelled; its job runs on
    ├── DownloadError                 the export file could not be downloaded intact
    ├── CsvFormatError                the export file is not CSV as OpnForm writes it
    ├── FileFormatError               the export does not fit the file format asked for
    ├── UploadedFilesError            respondents' uploaded files could not be saved
    └── DatasetError                  a Parquet dataset cannot be written or its manifest read
        └── PartialExportError        some forms of a multi-form export failed

:class:`ExportInterrupted` is separate: it is a :class:`KeyboardInterrupt` (so ``except
Exception`` does not swallow Ctrl-C) that carries the id of the job left running on the server.

Messages never contain the API token or a link's signature. Errors whose next step depends on
where the user is (Python or the ``formexport`` command) keep what happened in ``reason`` and
the ids in attributes; their message adds the Python way, and the command renders its own.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from concurrent.futures import CancelledError

__all__ = [
    "APIError",
    "AuthenticationError",
    "ConfigurationError",
    "ConnectionFailedError",
    "CsvFormatError",
    "DatasetError",
    "DownloadError",
    "ExportCancelled",
    "ExportExpiredError",
    "ExportFailedError",
    "ExportInterrupted",
    "ExportJobNotFoundError",
    "ExportTimeoutError",
    "FileFormatError",
    "FormExportError",
    "FormNotFoundError",
    "InvalidArgumentError",
    "NetworkError",
    "NoTokenError",
    "NotFoundError",
    "PartialExportError",
    "PermissionDeniedError",
    "RateLimitError",
    "ServerError",
    "StatusUnavailableError",
    "UnexpectedResponseError",
    "UploadedFilesError",
    "ValidationError",
]


class FormExportError(Exception):
    """Root of every error raised by formexport."""


class ConfigurationError(FormExportError):
    """The client cannot be set up: no token, an unusable base URL, or an optional package a
    file format needs is not installed (its message names the extra to install)."""


class NoTokenError(ConfigurationError):
    """No token anywhere: none passed, ``OPNFORM_API_TOKEN`` unset, the profile not signed in.

    Attributes
    ----------
    profile : str
        The profile looked in.
    reason : str
        The message without its next step (signing in from Python); the ``formexport``
        command tells it as a command.
    """

    def __init__(self, description: str, *, profile: str, reason: str) -> None:
        super().__init__(description)
        self.profile = profile
        self.reason = reason


class InvalidArgumentError(FormExportError, ValueError):
    """A bad argument (form id, columns, job id), caught before anything is sent."""


class NetworkError(FormExportError):
    """The server could not be reached (reset, cut, timed out), even after retries."""


class ConnectionFailedError(NetworkError):
    """No connection to the server could be made at all; the base URL is the usual suspect.

    The host name is unknown, nothing listens on its port (a server that is down, a wrong
    port), or the TLS handshake failed (an ``https://`` URL for a server that speaks plain
    HTTP, a certificate that cannot be verified). The message names the host and port.
    """


class APIError(FormExportError):
    """The OpnForm API answered with an error.

    Attributes
    ----------
    status_code : int
        The HTTP status of the answer.
    message : str
        What the server said (``message`` of its JSON body), possibly empty.
    """

    def __init__(self, description: str, *, status_code: int, message: str = "") -> None:
        super().__init__(description)
        self.status_code = status_code
        self.message = message


class AuthenticationError(APIError):
    """401: the token is missing, wrong or revoked."""


class PermissionDeniedError(APIError):
    """403: the token lacks the needed ability, or its user is not in the form's workspace."""


class NotFoundError(APIError):
    """404: the form, job or route does not exist (or is hidden from tokens)."""


class FormNotFoundError(NotFoundError):
    """404: no form with that id or slug (among those the server knows).

    Attributes
    ----------
    form : int or str
        The id or slug asked for.
    reason : str
        The message without its next step (which lists the forms with
        :func:`formexport.list_forms`).
    """

    def __init__(
        self, description: str, *, form: int | str, status_code: int = 404, message: str = ""
    ) -> None:
        super().__init__(
            f"{description} List the forms this token can read with formexport.list_forms().",
            status_code=status_code,
            message=message,
        )
        self.form = form
        self.reason = description


class ExportJobNotFoundError(NotFoundError):
    """The export job is unknown, or its status expired (2 hours after its last update)."""


class StatusUnavailableError(NotFoundError):
    """The server does not let personal access tokens read export-job status.

    OpnForm leaves the status route out of its token whitelist, so a token gets an empty 404.
    :func:`formexport.load_export` works around it by exporting in synchronous batches.
    """


class ValidationError(APIError):
    """422: the server refused the request.

    Attributes
    ----------
    errors : dict of str to list of str
        The server's messages by field, e.g. ``{"columns": ["The columns contain invalid ..."]}``.
    """

    def __init__(
        self,
        description: str,
        *,
        status_code: int = 422,
        message: str = "",
        errors: Mapping[str, Sequence[str]] | None = None,
    ) -> None:
        super().__init__(description, status_code=status_code, message=message)
        self.errors: dict[str, list[str]] = {k: list(v) for k, v in (errors or {}).items()}


class RateLimitError(APIError):
    """429: too many requests, and waiting would not fit the caller's time budget.

    Attributes
    ----------
    retry_after : float or None
        Seconds the server asked to wait, when it said.
    """

    def __init__(
        self,
        description: str,
        *,
        status_code: int = 429,
        message: str = "",
        retry_after: float | None = None,
    ) -> None:
        super().__init__(description, status_code=status_code, message=message)
        self.retry_after = retry_after


class ServerError(APIError):
    """5xx: the server failed, and retrying did not help."""


class UnexpectedResponseError(APIError):
    """The answer is not what OpnForm sends: an HTML page, broken JSON, a missing field."""


class ExportFailedError(FormExportError):
    """The server reported the export job as failed.

    Attributes
    ----------
    job_id : str or None
        The job that failed.
    error_message : str or None
        The server's reason, e.g. ``"No submissions to export"``.
    """

    def __init__(self, description: str, *, job_id: str | None, error_message: str | None) -> None:
        super().__init__(description)
        self.job_id = job_id
        self.error_message = error_message


class ExportTimeoutError(FormExportError):
    """The export did not finish within the timeout; the job may still finish on the server.

    Attributes
    ----------
    job_id : str or None
        The job still running, to re-attach to later.
    form_id : int or None
        Its form.
    reason : str
        The message without its next step (re-attaching from Python).
    """

    def __init__(self, description: str, *, job_id: str | None, form_id: int | None = None) -> None:
        hint = ""
        if job_id is not None:
            hint = f" It may still finish: re-attach with {_python_reattach(form_id, job_id)}."
        super().__init__(description + hint)
        self.job_id = job_id
        self.form_id = form_id
        self.reason = description


class ExportExpiredError(FormExportError):
    """The export file's link expired, and no fresh export could replace it."""


class _LeftRunning(BaseException):
    """An export nobody watches any more, whose job runs on: it names how to pick it up."""

    def __init__(self, description: str, *, job_id: str | None, form_id: int | None = None) -> None:
        hint = f" Re-attach with {_python_reattach(form_id, job_id)}." if job_id is not None else ""
        super().__init__(description + hint)
        self.job_id = job_id
        self.form_id = form_id
        self.reason = description


class ExportCancelled(_LeftRunning, FormExportError, CancelledError):
    """A background export was cancelled: nobody watches it, its job runs on the server.

    Raised by :meth:`formexport.ExportFuture.result` after :meth:`~formexport.ExportFuture.cancel`
    (also a :class:`concurrent.futures.CancelledError`).

    Attributes
    ----------
    job_id : str or None
        The job left running, to pick up again.
    form_id : int or None
        Its form.
    reason : str
        The message without its next step (re-attaching from Python).
    """


class DownloadError(FormExportError):
    """The export file could not be downloaded intact."""


class ExportInterrupted(_LeftRunning, KeyboardInterrupt):
    """Ctrl-C while waiting for an export job; the job keeps running on the server.

    Attributes
    ----------
    job_id : str or None
        The job left running, to re-attach to with :meth:`formexport.ExportJob.attach`.
    form_id : int or None
        Its form.
    reason : str
        The message without its next step (re-attaching from Python).
    """


def _python_reattach(form_id: int | None, job_id: str) -> str:
    """The Python call that picks up a running job: ``formexport.ExportJob.attach(12, '…')``."""
    form = "form" if form_id is None else repr(form_id)
    return f"formexport.ExportJob.attach({form}, {job_id!r})"


class CsvFormatError(FormExportError):
    """The export file is not CSV as OpnForm writes it (bad quoting, not UTF-8)."""


class FileFormatError(FormExportError):
    """The export cannot be written in the file format asked for: more rows than an Excel
    sheet holds, a value Stata cannot store. The message names the limit; Parquet and CSV
    files have none of these limits."""


class UploadedFilesError(FormExportError):
    """Respondents' uploaded files (``files=``) could not be saved.

    The destination cannot be written (a folder without write permission, a URL whose fsspec
    package is not installed), or some files kept failing to download. Files saved before the
    error stay, recorded beside them: a new run fetches only the missing ones.

    Attributes
    ----------
    failed : list of str
        The files that could not be fetched, as ``"submission 1532, field <id>: <name>"``.
    """

    def __init__(self, description: str, *, failed: Sequence[str] = ()) -> None:
        super().__init__(description)
        self.failed = list(failed)


class DatasetError(FormExportError):
    """A Parquet dataset cannot be written, or its manifest cannot be read."""


class PartialExportError(DatasetError):
    """Some forms of a multi-form export failed; the others were written.

    Attributes
    ----------
    failed : dict of int to str
        Each failed form's id and the reason.
    """

    def __init__(self, description: str, *, failed: Mapping[int, str]) -> None:
        super().__init__(description)
        self.failed = dict(failed)

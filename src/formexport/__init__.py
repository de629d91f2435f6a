"""formexport: OpnForm submissions into pandas and Parquet.

>>> import formexport as fx
>>> df = fx.load_export(1)      # the form's id, or its slug
>>> df.shape
(250, 13)

Sign in once with ``fx.login()`` (or ``formexport login``), or set ``OPNFORM_API_TOKEN`` and
``OPNFORM_API_BASE_URL`` (default ``https://api.opnform.com``). :mod:`formexport.sandbox` is a
local OpnForm emulator for demos and offline tests; the examples in formexport's docstrings run
against it (its demo form 1 holds 250 submissions, form 2 holds 2500).
"""

from typing import TYPE_CHECKING, Any

from formexport._version import __version__
from formexport.errors import (
    APIError,
    AuthenticationError,
    ConfigurationError,
    ConnectionFailedError,
    CsvFormatError,
    DatasetError,
    DownloadError,
    ExportCancelled,
    ExportExpiredError,
    ExportFailedError,
    ExportInterrupted,
    ExportJobNotFoundError,
    ExportTimeoutError,
    FileFormatError,
    FormExportError,
    FormNotFoundError,
    InvalidArgumentError,
    NetworkError,
    NotFoundError,
    NoTokenError,
    PartialExportError,
    PermissionDeniedError,
    RateLimitError,
    ServerError,
    StatusUnavailableError,
    UnexpectedResponseError,
    UploadedFilesError,
    ValidationError,
)

if TYPE_CHECKING:
    from formexport.background import load_export_async, start_export
    from formexport.client import Client
    from formexport.dataset.export_forms import export_forms
    from formexport.dataset.manifest import FormRecord, Manifest
    from formexport.dataset.read_back import read_codebook, read_dataset
    from formexport.describe import describe_form
    from formexport.formats.excel import FileFormatWarning
    from formexport.forms import list_forms
    from formexport.futures import ExportFuture
    from formexport.jobs.export_job import ExportJob
    from formexport.local.export_cache import cache_dir, clear_cache
    from formexport.opnform.models import ExportStatus, FormField, FormInfo, FormSummary, JobState
    from formexport.progress.reporters import ProgressEvent, ProgressReporter
    from formexport.read_file import read_export
    from formexport.reading.column_plan import ColumnPlanWarning
    from formexport.reading.typed_reader import TypeFallbackWarning
    from formexport.signin import Account, login, logout, whoami
    from formexport.uploads.saving import UploadedFileGoneWarning
    from formexport.verbs import download_export, export_to_file, export_to_parquet, load_export

# Everything else loads on first use, so that `import formexport` stays cheap (requests, pandas
# and pyarrow are imported only when an export runs).
_LAZY = {
    "Account": "formexport.signin",
    "Client": "formexport.client",
    "ColumnPlanWarning": "formexport.reading.column_plan",
    "ExportFuture": "formexport.futures",
    "ExportJob": "formexport.jobs.export_job",
    "ExportStatus": "formexport.opnform.models",
    "FileFormatWarning": "formexport.formats.excel",
    "FormField": "formexport.opnform.models",
    "FormInfo": "formexport.opnform.models",
    "FormRecord": "formexport.dataset.manifest",
    "FormSummary": "formexport.opnform.models",
    "JobState": "formexport.opnform.models",
    "Manifest": "formexport.dataset.manifest",
    "ProgressEvent": "formexport.progress.reporters",
    "ProgressReporter": "formexport.progress.reporters",
    "TypeFallbackWarning": "formexport.reading.typed_reader",
    "UploadedFileGoneWarning": "formexport.uploads.saving",
    "cache_dir": "formexport.local.export_cache",
    "clear_cache": "formexport.local.export_cache",
    "describe_form": "formexport.describe",
    "download_export": "formexport.verbs",
    "export_forms": "formexport.dataset.export_forms",
    "export_to_file": "formexport.verbs",
    "export_to_parquet": "formexport.verbs",
    "list_forms": "formexport.forms",
    "load_export": "formexport.verbs",
    "load_export_async": "formexport.background",
    "login": "formexport.signin",
    "logout": "formexport.signin",
    "read_codebook": "formexport.dataset.read_back",
    "read_dataset": "formexport.dataset.read_back",
    "read_export": "formexport.read_file",
    "start_export": "formexport.background",
    "whoami": "formexport.signin",
}


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'formexport' has no attribute {name!r}")
    import importlib

    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(__all__)


__all__ = [
    "APIError",
    "Account",
    "AuthenticationError",
    "Client",
    "ColumnPlanWarning",
    "ConfigurationError",
    "ConnectionFailedError",
    "CsvFormatError",
    "DatasetError",
    "DownloadError",
    "ExportCancelled",
    "ExportExpiredError",
    "ExportFailedError",
    "ExportFuture",
    "ExportInterrupted",
    "ExportJob",
    "ExportJobNotFoundError",
    "ExportStatus",
    "ExportTimeoutError",
    "FileFormatError",
    "FileFormatWarning",
    "FormExportError",
    "FormField",
    "FormInfo",
    "FormNotFoundError",
    "FormRecord",
    "FormSummary",
    "InvalidArgumentError",
    "JobState",
    "Manifest",
    "NetworkError",
    "NoTokenError",
    "NotFoundError",
    "PartialExportError",
    "PermissionDeniedError",
    "ProgressEvent",
    "ProgressReporter",
    "RateLimitError",
    "ServerError",
    "StatusUnavailableError",
    "TypeFallbackWarning",
    "UnexpectedResponseError",
    "UploadedFileGoneWarning",
    "UploadedFilesError",
    "ValidationError",
    "__version__",
    "cache_dir",
    "clear_cache",
    "describe_form",
    "download_export",
    "export_forms",
    "export_to_file",
    "export_to_parquet",
    "list_forms",
    "load_export",
    "load_export_async",
    "login",
    "logout",
    "read_codebook",
    "read_dataset",
    "read_export",
    "start_export",
    "whoami",
]

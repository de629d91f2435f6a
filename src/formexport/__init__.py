"""formexport: OpnForm submissions into pandas and Parquet.

>>> import formexport as fx
>>> df = fx.load_export(123)   # doctest: +SKIP

The token comes from ``OPNFORM_API_TOKEN`` and the server from ``OPNFORM_API_BASE_URL``
(default ``https://api.opnform.com``). :mod:`formexport.sandbox` is a local OpnForm emulator
for demos and offline tests.
"""

from formexport._version import __version__
from formexport.api import download_export, export_to_parquet, load_export
from formexport.client import Client
from formexport.errors import (
    APIError,
    AuthenticationError,
    ConfigurationError,
    CsvFormatError,
    DownloadError,
    ExportExpiredError,
    ExportFailedError,
    ExportInterrupted,
    ExportJobNotFoundError,
    ExportTimeoutError,
    FormExportError,
    InvalidArgumentError,
    NetworkError,
    NotFoundError,
    PermissionDeniedError,
    RateLimitError,
    ServerError,
    StatusUnavailableError,
    UnexpectedResponseError,
    ValidationError,
)
from formexport.job import ExportJob
from formexport.models import ExportStatus, FormField, FormInfo, JobState
from formexport.progress import ProgressEvent, ProgressReporter
from formexport.schema import ColumnPlanWarning
from formexport.typed import TypeFallbackWarning

__all__ = [
    "APIError",
    "AuthenticationError",
    "Client",
    "ColumnPlanWarning",
    "ConfigurationError",
    "CsvFormatError",
    "DownloadError",
    "ExportExpiredError",
    "ExportFailedError",
    "ExportInterrupted",
    "ExportJob",
    "ExportJobNotFoundError",
    "ExportStatus",
    "ExportTimeoutError",
    "FormExportError",
    "FormField",
    "FormInfo",
    "InvalidArgumentError",
    "JobState",
    "NetworkError",
    "NotFoundError",
    "PermissionDeniedError",
    "ProgressEvent",
    "ProgressReporter",
    "RateLimitError",
    "ServerError",
    "StatusUnavailableError",
    "TypeFallbackWarning",
    "UnexpectedResponseError",
    "ValidationError",
    "__version__",
    "download_export",
    "export_to_parquet",
    "load_export",
]

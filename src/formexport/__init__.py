"""formexport: OpnForm submissions into pandas and Parquet.

>>> import formexport as fx
>>> df = fx.load_export(123)   # doctest: +SKIP

The token comes from ``OPNFORM_API_TOKEN`` and the server from ``OPNFORM_API_BASE_URL``
(default ``https://api.opnform.com``). :mod:`formexport.sandbox` is a local OpnForm emulator
for demos and offline tests.
"""

from formexport._version import __version__
from formexport.api import download_export, export_to_parquet, load_export
from formexport.cache import cache_dir, clear_cache
from formexport.client import Client
from formexport.dataset import export_forms
from formexport.errors import (
    APIError,
    AuthenticationError,
    ConfigurationError,
    CsvFormatError,
    DatasetError,
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
    PartialExportError,
    PermissionDeniedError,
    RateLimitError,
    ServerError,
    StatusUnavailableError,
    UnexpectedResponseError,
    ValidationError,
)
from formexport.job import ExportJob
from formexport.manifest import FormRecord, Manifest
from formexport.models import ExportStatus, FormField, FormInfo, FormSummary, JobState
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
    "DatasetError",
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
    "FormRecord",
    "FormSummary",
    "InvalidArgumentError",
    "JobState",
    "Manifest",
    "NetworkError",
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
    "ValidationError",
    "__version__",
    "cache_dir",
    "clear_cache",
    "download_export",
    "export_forms",
    "export_to_parquet",
    "load_export",
]

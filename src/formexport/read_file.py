"""The verbs for an export file already at hand: read it into a DataFrame, or convert it.

Many analysts download the CSV from OpnForm's web page. :func:`read_export` reads such a file
(or one :func:`~formexport.download_export` saved) with the reader :func:`~formexport.load_export`
uses: both of OpnForm's writers, with or without a byte-order mark, ``fputcsv``'s ``\\"``, hashids
the writer of answered exports printed as numbers. Without a form, every cell is its exact text;
with one, the columns are typed from the form's fields, which one request reads.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import tempfile
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from os import PathLike
from pathlib import Path
from typing import TYPE_CHECKING, Any, BinaryIO

from formexport.client import Client
from formexport.errors import DownloadError, InvalidArgumentError
from formexport.opnform.endpoints import FormRef
from formexport.opnform.models import FormInfo
from formexport.reading import blocks, recognize, sinks, text_output
from formexport.reading.source import OpenedExport, open_export
from formexport.reading.typed_reader import ExportContext, TypedReader
from formexport.redaction import redact_url
from formexport.transfer.download import atomic_destination

if TYPE_CHECKING:
    import pandas as pd

ExportFile = str | PathLike[str] | bytes
#: What :func:`convert_export` writes, by the suffix of its destination.
CONVERSIONS = {".parquet": "parquet", ".csv": "csv"}


def read_export(
    source: ExportFile,
    form: FormRef | FormInfo | None = None,
    *,
    naming: str = "name",
    dtype_backend: str = sinks.DEFAULT_DTYPE_BACKEND,
    token: str | None = None,
    base_url: str | None = None,
    profile: str | None = None,
    storage_options: Mapping[str, Any] | None = None,
) -> pd.DataFrame:
    """Read an OpnForm CSV export you already have: downloaded from OpnForm's web page, or
    saved by :func:`download_export`.

    Parameters
    ----------
    source : str, path or bytes
        A local path, the file's bytes, or an fsspec URL (``s3://bucket/subs.csv``,
        ``memory://subs.csv``; remote file systems need their fsspec package, e.g. ``s3fs``).
    form : int, str or FormInfo, optional
        The form the file was exported from (its id or slug; one request reads its fields,
        with ``token`` and ``base_url``). Without it, every cell is read as its exact text.
    naming : {"name", "id"}
        With ``form``: name field columns after the field or by field id.
    dtype_backend : {"numpy_nullable", "pyarrow"}
        As for :func:`load_export`.
    token, base_url, profile : str, optional
        As for :func:`load_export`; only used with ``form``.
    storage_options : dict, optional
        Passed to fsspec for a URL (credentials, ``endpoint_url``, ...).

    Returns
    -------
    pandas.DataFrame
        Without ``form``: the file's columns (repeated names get ``.1``, ``.2``), every cell
        its exact text as a ``string`` (empty cells missing), ``id`` as served. With ``form``:
        what :func:`load_export` gives for the same export with ``values="csv"``: ``id`` and
        ``submission_id``, typed field columns, ``created_at``, ``status``; the columns are
        worked out from the header (names as OpnForm writes them), deleted fields included.

    Raises
    ------
    CsvFormatError
        The file is no OpnForm export (another CSV, an HTML page, an empty file...).
    InvalidArgumentError
        No such file, or none of its columns is a field of ``form``.

    Notes
    -----
    A file holds what OpnForm's CSV writer printed, nothing more. The writer of exports
    answered at once (up to 1000 submissions) prints 0 and false as empty cells, drops the
    ``+`` of phone numbers and prints number-like text as numbers; :func:`load_export` takes
    those exact values from the JSON submissions list (``values="auto"``), which a file does
    not carry. So ``read_export(path, form=...)`` equals ``load_export(form, values="csv")``;
    ``df.attrs["writer"]`` says which writer wrote the file. Columns of the file that are not
    fields of ``form`` (renamed since?) are read as text, with a ``ColumnPlanWarning``.

    Examples
    --------
    >>> import formexport as fx
    >>> path = fx.download_export(1, "feedback.csv", columns=["Name", "Rating"])
    >>> fx.read_export(path).dtypes
    id        string
    Name      string
    Rating    string
    dtype: object
    >>> fx.read_export(path, form=1).dtypes
    id               string
    submission_id     Int64
    Name             string
    Rating            Int64
    dtype: object
    """
    sinks.check_options(naming=naming, dtype_backend=dtype_backend)
    with _local_copy(source, storage_options) as (data, name):
        opened, reader = _open(data, name, form, naming, _Server(token, base_url, profile))
        return sinks.read_frame(opened.body, reader, dtype_backend)


def convert_export(
    source: ExportFile,
    path: str | PathLike[str],
    form: FormRef | FormInfo | None = None,
    *,
    naming: str = "name",
    token: str | None = None,
    base_url: str | None = None,
    profile: str | None = None,
    storage_options: Mapping[str, Any] | None = None,
) -> Path:
    """Convert an export file into Parquet or standard CSV, read as :func:`read_export` reads
    it; return the path written.

    The output's suffix chooses: ``.parquet`` is written as :func:`export_to_parquet` writes
    (typed with ``form``, text without), block by block; ``.csv`` is standard CSV (UTF-8 with
    a byte-order mark, quotes doubled) that any CSV reader reads right: each cell's exact text,
    or with ``form`` the typed values as text (lists and matrices as JSON).
    """
    dest = Path(path).expanduser()
    fmt = output_format(dest)
    sinks.check_options(naming=naming)
    with _local_copy(source, storage_options) as (data, name):
        opened, reader = _open(data, name, form, naming, _Server(token, base_url, profile))
        with atomic_destination(dest) as out:
            _write(fmt, opened, reader, out)
    return dest


def output_format(dest: Path) -> str:
    """``"parquet"`` or ``"csv"``, from the destination's suffix."""
    fmt = CONVERSIONS.get(dest.suffix.lower())
    if fmt is None:
        raise InvalidArgumentError(
            f"Cannot tell what to write to {str(dest)!r}: end its name in "
            f"{' or '.join(CONVERSIONS)}."
        )
    return fmt


def _write(fmt: str, opened: OpenedExport, reader: TypedReader, out: BinaryIO) -> None:
    if fmt == "parquet":
        sinks.write_parquet(opened.body, out, reader)
    else:
        text_output.write_csv(opened.body, out, reader)


def _open(
    data: Path | bytes,
    name: str,
    form: FormRef | FormInfo | None,
    naming: str,
    server: _Server,
) -> tuple[OpenedExport, TypedReader]:
    """The export opened and its typed reader, once the file is known to be an export."""
    start = blocks.first_bytes(data, recognize.SNIFF_SIZE)
    recognize.check_start(start, name)
    opened = open_export(data)
    recognize.check_header(opened.header, start, name)
    info, context = _form_and_context(form, server) if form is not None else (None, None)
    reader = sinks.make_reader(
        opened.head, form=info, columns=None, naming=naming, context=context, writer=opened.writer
    )
    return opened, reader


@dataclass(frozen=True)
class _Server:
    """Where the form's definition is read, as for every verb."""

    token: str | None
    base_url: str | None
    profile: str | None


def _form_and_context(form: FormRef | FormInfo, server: _Server) -> tuple[FormInfo, ExportContext]:
    if isinstance(form, FormInfo):
        return form, ExportContext(form_id=form.id, form_slug=form.slug)
    with Client(server.token, server.base_url, profile=server.profile) as client:
        info = client.get_form(form)
        origin = client.base_url
    return info, ExportContext(form_id=info.id, form_slug=info.slug, server=origin)


@contextlib.contextmanager
def _local_copy(
    source: ExportFile, storage_options: Mapping[str, Any] | None
) -> Iterator[tuple[Path | bytes, str]]:
    """The export as bytes or a local file, and how messages name it.

    A remote file is copied into a private temporary file first (read twice at most: a column
    whose type changes mid-file is read again from the start), deleted afterwards.
    """
    if isinstance(source, (bytes, bytearray, memoryview)):
        yield bytes(source), "The file given as bytes"
        return
    if not isinstance(source, (str, PathLike)):
        raise InvalidArgumentError(
            f"An export file is a path, an fsspec URL or bytes, not {type(source).__name__}."
        )
    text = os.fspath(source)
    if isinstance(text, bytes) or "://" not in text:
        yield _local_path(Path(os.fsdecode(text)).expanduser()), str(text)
        return
    from fsspec.implementations.local import LocalFileSystem

    fs, where = _filesystem(text, storage_options)
    shown = redact_url(text)
    if isinstance(fs, LocalFileSystem):
        yield _local_path(Path(where)), shown
        return
    with _remote_copy(fs, where, shown) as copy:
        yield copy, shown


def _local_path(path: Path) -> Path:
    if not path.is_file():
        why = "is a folder" if path.is_dir() else "does not exist"
        raise InvalidArgumentError(f"Cannot read the export {str(path)!r}: it {why}.")
    try:
        path.open("rb").close()
    except OSError as exc:
        raise InvalidArgumentError(
            f"Cannot read the export {str(path)!r}: {exc.strerror or exc}."
        ) from exc
    return path


def _filesystem(url: str, storage_options: Mapping[str, Any] | None) -> tuple[Any, str]:
    import fsspec

    try:
        return fsspec.core.url_to_fs(url, **dict(storage_options or {}))  # type: ignore[no-any-return]
    except (ImportError, ValueError) as exc:
        raise InvalidArgumentError(
            f"Cannot open {redact_url(url)!r} ({exc}). Remote URLs need their fsspec package, "
            "e.g. pip install s3fs for s3://, gcsfs for gs://, adlfs for abfs://."
        ) from exc


@contextlib.contextmanager
def _remote_copy(fs: Any, where: str, shown: str) -> Iterator[Path]:
    # mkstemp creates the file 0600 whatever the umask: exports hold personal data.
    fd, name = tempfile.mkstemp(prefix="formexport-", suffix=".csv")
    copy = Path(name)
    try:
        with os.fdopen(fd, "wb") as out:
            try:
                with fs.open(where, "rb") as remote:
                    shutil.copyfileobj(remote, out, 1 << 20)
            except FileNotFoundError as exc:
                raise InvalidArgumentError(
                    f"Cannot read the export {shown!r}: no such file."
                ) from exc
            except OSError as exc:
                raise DownloadError(f"Cannot read the export {shown!r}: {exc}") from exc
        yield copy
    finally:
        copy.unlink(missing_ok=True)

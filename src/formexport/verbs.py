"""The one-call verbs: export a form into a DataFrame, a Parquet file, a CSV file, or the file
its name says (Excel, Stata, SPSS too).

:func:`load_export`, :func:`export_to_file`, :func:`export_to_parquet` and
:func:`download_export` block until the data is delivered; :mod:`formexport.background` runs
the same exports in the background.
"""

from __future__ import annotations

from collections.abc import Sequence
from os import PathLike
from pathlib import Path
from typing import TYPE_CHECKING

from formexport.client import Client
from formexport.export_call import Columns, ExportRequest, start_and_wait, write_file
from formexport.jobs.output import Output
from formexport.local.export_cache import MaxAge
from formexport.opnform.endpoints import FormRef
from formexport.opnform.selection import Since
from formexport.progress.reporters import ProgressOption
from formexport.reading.sinks import DEFAULT_DTYPE_BACKEND, check_options
from formexport.uploads.destination import Destination, FilesArg

if TYPE_CHECKING:
    import pandas as pd


def load_export(
    form: FormRef,
    *,
    columns: Columns | None = None,
    exclude: Sequence[str] | None = None,
    token: str | None = None,
    base_url: str | None = None,
    profile: str | None = None,
    progress: ProgressOption = "auto",
    timeout: float | None = None,
    cache: bool = False,
    max_age: MaxAge = None,
    reattach: bool = True,
    naming: str = "name",
    dtype_backend: str = DEFAULT_DTYPE_BACKEND,
    values: str = "auto",
    pseudonymize: Sequence[str] | None = None,
    since: Since | None = None,
    status: str | None = None,
    files: FilesArg | None = None,
) -> pd.DataFrame:
    """Export every submission of a form into a pandas DataFrame.

    Parameters
    ----------
    form : int or str
        The form's numeric id or slug.
    columns : list of str or dict of str to bool, optional
        Field ids or names to export; ``None`` exports every field plus ``created_at``
        (and ``status`` for forms that keep partial submissions).
    exclude : list of str, optional
        Fields (names or ids) left out: never requested from the server, so their answers
        never reach this machine. A name that matches no field is refused, not ignored.
    token : str, optional
        Personal access token with ``forms-read``; defaults to ``OPNFORM_API_TOKEN``, then to
        the signed-in ``profile`` (see :func:`login`).
    base_url : str, optional
        API root; defaults to ``OPNFORM_API_BASE_URL``, then ``https://api.opnform.com`` (a
        profile's token goes to the profile's server).
    profile : str, optional
        The signed-in profile to use when no token is given or set; default
        ``OPNFORM_PROFILE``, then ``"default"``.
    progress : str, None or callable
        ``"auto"`` (a widget in Jupyter, a text bar in a terminal, log lines otherwise),
        ``"tqdm"``, ``"widget"``, ``"log"``, ``None``, or a function receiving
        :class:`~formexport.ProgressEvent` objects. ``FORMEXPORT_PROGRESS`` overrides
        ``"auto"``.
    timeout : float, optional
        Seconds to wait for the server to take and build the export (rate limits included);
        ``None`` waits as long as it takes.
    cache : bool
        Keep the finished export on this machine and reuse it for the same request (server,
        form, columns). Off by default: exports hold personal data. See :func:`clear_cache`.
    max_age : float or timedelta, optional
        Reuse a cached export only if it is younger than this (seconds); implies ``cache=True``.
    reattach : bool
        Pick up this machine's unfinished job for the same request whose data was never
        delivered (see Notes). ``False`` always starts a fresh export.
    naming : {"name", "id"}
        Name field columns after the field (repeated names get ``.1``, ``.2``) or by field id.
    dtype_backend : {"numpy_nullable", "pyarrow"}
        ``"numpy_nullable"`` (the default: ``Int64``, ``Float64``, ``boolean``, ``string``,
        ``category`` in the form's order for select fields and ``status``, Python lists,
        ``datetime64`` dates) or ``"pyarrow"`` (``pandas.ArrowDtype`` columns).
    values : {"auto", "csv", "exact"}
        Where field values come from. The server's synchronous writer (exports of up to 1000
        submissions, and batched exports) prints 0 and false as empty cells and drops the
        ``+`` of phone numbers; ``"exact"`` reads the raw values from the JSON submissions
        list (one request per 100 submissions). ``"auto"`` does so for exports of up to 1000
        submissions and reads the CSV otherwise.
    pseudonymize : list of str, optional
        Fields (names or ids) whose answers become pseudonyms: the first 16 hex digits of
        HMAC-SHA-256 of each answer's text, with the key of ``FORMEXPORT_PSEUDONYM_KEY`` or
        one created once for this user. Equal answers get equal pseudonyms in every export
        made with the same key, so exports still join on them; the answers themselves never
        reach the frame (``attrs["pseudonymized"]`` names the columns and the key's id).
        Cannot be combined with ``cache``, which keeps the server's CSV.
    since : datetime, date or timedelta, optional
        Only submissions created at or after this moment: ``timedelta(days=7)`` for the last
        seven days, ``date(2026, 8, 1)`` from that day's midnight UTC, a datetime (naive means
        UTC). The chosen ids are listed newest first (a recent window costs a request or two)
        and exported by id. When none is chosen, the frame has no rows but every column.
    status : {"completed", "partial", "all"}, optional
        Only completed or only partial submissions (``None``, like ``"all"``: both, as the
        server exports). Lists the chosen ids through the JSON submissions list.
    files : str or path, optional
        Save every file of every file-upload and signature field in this folder (or fsspec
        URL, e.g. ``s3://bucket/uploads``), as ``<files>/<form id>/<submission id>/<field
        id>/<file name>``: their signed links expire (24 h by default). Those cells then hold
        the saved files' paths instead of the links. A new call downloads only the files not
        saved yet; see Notes.

    Returns
    -------
    pandas.DataFrame
        One row per submission, newest first. ``id`` (as served) and ``submission_id`` (the
        numeric id), then one column per field, typed from the form (see ``docs/data-types.md``),
        then ``created_at`` (UTC) and ``status``. ``df.attrs`` records the form, job, server,
        export time and, under ``"columns"``, each column's field id and type; with ``files``,
        ``"files"`` lists each saved file's submission, field, name, path, bytes and SHA-256.

    Raises
    ------
    FormExportError
        Any failure; see :mod:`formexport.errors` for the subclasses.

    Notes
    -----
    Every call starts a fresh export, so it returns the submissions of now, with two
    exceptions: ``cache=True`` / ``max_age`` reuse a cached export, and a background job this
    machine started for the same request whose data was never delivered (the call timed out or
    was interrupted, the kernel died) is picked up instead of starting a second export, while it
    runs or its link has not expired. The progress display says so, with the job id and when it
    started. Once a job's data has been delivered (a DataFrame returned, a file written), it is
    never picked up again.

    With ``files``, each file's size and SHA-256 are recorded beside it
    (``<files>/<form id>/_formexport_files.json``); files found there whole are not downloaded
    again, and a transfer that was cut resumes where it stopped. A link that expired is
    renewed from the JSON submissions list. A file the server no longer has is an
    :class:`~formexport.UploadedFileGoneWarning` naming its submission and field, and its cell
    goes without it; a file that keeps failing raises :class:`~formexport.UploadedFilesError`
    once the others are saved.

    Examples
    --------
    >>> import formexport as fx
    >>> df = fx.load_export(1)
    >>> df[["Name", "Rating", "Subscribe", "created_at"]].dtypes
    Name                       string
    Rating                      Int64
    Subscribe                 boolean
    created_at    datetime64[us, UTC]
    dtype: object
    >>> fx.load_export("customer-feedback-8tc53r", columns=["Name", "Rating"]).columns.tolist()
    ['id', 'submission_id', 'Name', 'Rating']
    >>> from datetime import date
    >>> signed = fx.load_export(2, columns=["Signature"], since=date(2026, 8, 30), files="uploads")
    >>> len(signed.attrs["files"]), signed.attrs["files"][0]["bytes"]
    (56, 70)
    >>> signed.loc[0, "Signature"][0].split("/uploads/")[1]
    '2/2750/87287ebd-6b49-5353-af7f-ae0d6723238b/sign_77afca57-4153-4643-adb1-41d4f8f10e56.png'
    """
    check_options(naming=naming, dtype_backend=dtype_backend, values=values)
    request = ExportRequest(
        form=form,
        columns=columns,
        exclude=exclude,
        progress=progress,
        timeout=timeout,
        cache=cache,
        max_age=max_age,
        reattach=reattach,
        since=since,
        status=status,
    )
    request.check_keeps_no_answers(pseudonymize)
    destination = None if files is None else Destination.of(files)
    with (
        Client(token, base_url, profile=profile) as client,
        start_and_wait(client, request) as job,
    ):
        return job.to_dataframe(
            naming=naming,
            dtype_backend=dtype_backend,
            values=values,
            pseudonymize=pseudonymize,
            files=destination,
        )


def export_to_file(
    form: FormRef,
    path: str | PathLike[str],
    *,
    columns: Columns | None = None,
    exclude: Sequence[str] | None = None,
    token: str | None = None,
    base_url: str | None = None,
    profile: str | None = None,
    progress: ProgressOption = "auto",
    timeout: float | None = None,
    cache: bool = False,
    max_age: MaxAge = None,
    reattach: bool = True,
    naming: str = "name",
    values: str = "auto",
    pseudonymize: Sequence[str] | None = None,
    since: Since | None = None,
    status: str | None = None,
    files: FilesArg | None = None,
) -> Path:
    """Export a form's submissions into the file ``path`` names; return its path.

    The extension picks the format: ``.parquet`` (as :func:`export_to_parquet` writes it),
    ``.csv`` (the export as served, as :func:`download_export` saves it), ``.xlsx`` (an Excel
    workbook: the submissions, and the codebook on a second sheet), ``.dta`` (Stata) or
    ``.sav`` (SPSS, with the ``spss`` extra: ``pip install 'formexport[spss]'``). Excel,
    Stata and SPSS files are written from the frame :func:`load_export` returns, select
    fields as labelled whole numbers in the form's option order in Stata and SPSS;
    ``docs/data-types.md`` lists each format's conversions. The file appears only once
    complete.

    Takes the keywords of :func:`load_export` (but ``dtype_backend``, which shapes
    DataFrames only; nor ``naming``, ``values`` and ``pseudonymize`` for a ``.csv`` file, the
    export as served).

    Raises
    ------
    InvalidArgumentError
        A name whose extension is none of those (nothing is sent).
    ConfigurationError
        A ``.sav`` file without pyreadstat (nothing is sent).
    FileFormatError
        The export does not fit the format: more rows than an Excel sheet holds.

    Examples
    --------
    >>> import formexport as fx
    >>> import pandas as pd
    >>> fx.export_to_file(2, "events.xlsx").name
    'events.xlsx'
    >>> book = pd.read_excel("events.xlsx", sheet_name="Codebook", index_col="column")
    >>> book.loc["Ticket type", "options"]
    'Standard; VIP; Student'
    >>> stata = pd.read_stata(fx.export_to_file(2, "events.dta", progress=None))
    >>> stata["Ticket_type"].cat.categories.tolist()
    ['Standard', 'VIP', 'Student']
    """
    output = Output.checked(path, naming, DEFAULT_DTYPE_BACKEND, values, pseudonymize, files)
    request = ExportRequest(
        form=form,
        columns=columns,
        exclude=exclude,
        progress=progress,
        timeout=timeout,
        cache=cache,
        max_age=max_age,
        reattach=reattach,
        since=since,
        status=status,
    )
    request.check_keeps_no_answers(pseudonymize)
    return write_file(request, output, token=token, base_url=base_url, profile=profile).path


def export_to_parquet(
    form: FormRef,
    path: str | PathLike[str],
    *,
    columns: Columns | None = None,
    exclude: Sequence[str] | None = None,
    token: str | None = None,
    base_url: str | None = None,
    profile: str | None = None,
    progress: ProgressOption = "auto",
    timeout: float | None = None,
    cache: bool = False,
    max_age: MaxAge = None,
    reattach: bool = True,
    naming: str = "name",
    values: str = "auto",
    pseudonymize: Sequence[str] | None = None,
    since: Since | None = None,
    status: str | None = None,
    files: FilesArg | None = None,
) -> Path:
    """Export a form's submissions into a typed Parquet file; return its path.

    Takes the same keywords as :func:`load_export` (but ``dtype_backend``). The CSV is
    converted block by block, so memory stays flat however large the export; the file appears
    only once complete. ``pandas.read_parquet(path)`` equals ``load_export`` with the same
    options; the schema metadata (key ``formexport``) records each column's field id and type.

    Examples
    --------
    >>> import formexport as fx
    >>> import pandas as pd
    >>> path = fx.export_to_parquet(2, "events.parquet")
    >>> pd.read_parquet(path)["Ticket type"].value_counts()
    Ticket type
    VIP         878
    Student     824
    Standard    798
    Name: count, dtype: int64
    """
    check_options(naming=naming, values=values)
    request = ExportRequest(
        form=form,
        columns=columns,
        exclude=exclude,
        progress=progress,
        timeout=timeout,
        cache=cache,
        max_age=max_age,
        reattach=reattach,
        since=since,
        status=status,
    )
    request.check_keeps_no_answers(pseudonymize)
    destination = None if files is None else Destination.of(files)
    with (
        Client(token, base_url, profile=profile) as client,
        start_and_wait(client, request) as job,
    ):
        return job.to_parquet(
            path, naming=naming, values=values, pseudonymize=pseudonymize, files=destination
        )


def download_export(
    form: FormRef,
    path: str | PathLike[str],
    *,
    columns: Columns | None = None,
    exclude: Sequence[str] | None = None,
    token: str | None = None,
    base_url: str | None = None,
    profile: str | None = None,
    progress: ProgressOption = "auto",
    timeout: float | None = None,
    cache: bool = False,
    max_age: MaxAge = None,
    reattach: bool = True,
    since: Since | None = None,
    status: str | None = None,
    files: FilesArg | None = None,
) -> Path:
    """Save a form's export as the server wrote it (CSV); return its path.

    Takes the same keywords as :func:`load_export`. When the server hides job status from
    tokens and the export runs in batches, the batches are joined into one CSV with one header.
    When ``since``/``status`` choose no submission, the file is what the server writes for an
    export without submissions (no header). With ``files``, the uploaded files are saved as
    :func:`load_export` saves them, but the CSV keeps the server's links: the record beside the
    files (``<files>/<form id>/_formexport_files.json``) names each file's submission and field.

    Examples
    --------
    >>> import formexport as fx
    >>> path = fx.download_export(1, "feedback.csv", columns=["Name", "Rating"])
    >>> path.read_text(encoding="utf-8-sig").splitlines()[:2]
    ['"id","Name","Rating"', '"oZz","Ravi Patel","1"']
    """
    request = ExportRequest(
        form=form,
        columns=columns,
        exclude=exclude,
        progress=progress,
        timeout=timeout,
        cache=cache,
        max_age=max_age,
        reattach=reattach,
        since=since,
        status=status,
    )
    destination = None if files is None else Destination.of(files)
    with (
        Client(token, base_url, profile=profile) as client,
        start_and_wait(client, request) as job,
    ):
        return job.download(path, files=destination)

"""The codebook verb: what each column of a form's export holds, before exporting it."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING

from formexport.client import Client
from formexport.opnform.endpoints import FormRef, normalize_columns
from formexport.opnform.models import FormInfo
from formexport.reading import codebook
from formexport.reading.options import ReadOptions

if TYPE_CHECKING:
    import pandas as pd


def describe_form(
    form: FormRef | FormInfo,
    *,
    columns: Mapping[str, bool] | Sequence[str] | None = None,
    naming: str = "name",
    token: str | None = None,
    base_url: str | None = None,
    profile: str | None = None,
) -> pd.DataFrame:
    """The codebook of a form's export: one row per column of :func:`load_export`'s frame.

    Parameters
    ----------
    form : int, str or FormInfo
        The form's id or slug (its definition is read with one request), or a
        :class:`~formexport.FormInfo` already at hand (no request).
    columns : list of str or dict of str to bool, optional
        The columns the export would ask for, as for :func:`load_export`.
    naming : {"name", "id"}
        Column names as :func:`load_export` gives them.
    token, base_url, profile : str, optional
        As for :func:`load_export`.

    Returns
    -------
    pandas.DataFrame
        Columns ``column`` (as in the export), ``kind`` (``"field"``, ``"id"``,
        ``"created_at"``, ``"status"``...), ``field_id``, ``field_name``, ``field_type``
        (OpnForm's), ``type`` (how it is read: ``"category"``, ``"list"``, ``"date"``...),
        ``options`` (the choices, in the form's order), ``required`` and ``help``. The export's
        ``df.attrs["columns"]`` holds the same values per column.

    Examples
    --------
    >>> import formexport as fx
    >>> book = fx.describe_form(2)
    >>> book.loc[book["type"] == "category", ["column", "options"]]
             column                   options
    5   Ticket type  [Standard, VIP, Student]
    14       status  [Completed, In Progress]
    """
    options = ReadOptions(naming=naming)
    if columns is not None:
        normalize_columns(columns)  # a malformed selection is refused before any request
    if isinstance(form, FormInfo):
        info = form
    else:
        with Client(token, base_url, profile=profile) as client:
            info = client.get_form(form)
    chosen = info.default_columns() if columns is None else normalize_columns(columns, info)
    return codebook.codebook(info, chosen, naming=options.naming)

"""An export request checked against its form: the columns, the chosen submissions, its key.

:func:`resolve_request` turns what a caller asks for (columns by name or id, ``exclude=``,
``submission_ids``, ``since=``/``status=``) into what the server is asked for, refusing malformed
arguments before any request is sent.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from formexport.errors import InvalidArgumentError
from formexport.local.folder import request_key
from formexport.opnform.checks import field_ids, without_fields
from formexport.opnform.endpoints import FormRef, OpnFormAPI, normalize_columns
from formexport.opnform.models import FormInfo
from formexport.opnform.selection import Selection, Since, select_ids
from formexport.opnform.submissions import ExactCollector

Columns = Mapping[str, bool] | Sequence[str]


@dataclass(frozen=True)
class RequestedExport:
    """What the server is asked to export.

    Attributes
    ----------
    form : FormInfo
        The form, as read for the request.
    columns : dict of str to bool
        The columns requested (``exclude=`` taken out).
    submission_ids : list of int or None
        The submissions chosen (``submission_ids``, or those ``since=``/``status=`` listed).
    listed : ExactCollector or None
        The raw values of the submissions ``since=``/``status=`` listed (exact values, at no
        extra request).
    chose_nothing : bool
        ``since=``/``status=`` matched no submission: nothing is asked of the server.
    key : str
        Names the request in the local job record and the export cache.
    excluded : tuple of str
        The names of the fields ``exclude=`` left out (for the export's ``attrs``).
    """

    form: FormInfo
    columns: dict[str, bool]
    submission_ids: list[int] | None
    listed: ExactCollector | None
    chose_nothing: bool
    key: str
    excluded: tuple[str, ...]


def resolve_request(
    api: OpnFormAPI,
    form: FormRef,
    columns: Columns | None = None,
    submission_ids: Sequence[int] | None = None,
    *,
    since: Since | None = None,
    status: str | None = None,
    exclude: Sequence[str] | None = None,
) -> RequestedExport:
    """The request checked against the form (read with one request), its submissions chosen."""
    if columns is not None:
        normalize_columns(columns)  # a malformed selection is refused before any request
    selection = _selection(since, status, submission_ids)
    info = api.get_form(form)
    chosen = info.default_columns() if columns is None else normalize_columns(columns, info)
    if exclude is not None:
        chosen = without_fields(chosen, exclude, info)
    ids = None if submission_ids is None else [int(i) for i in submission_ids]
    listed = None
    if selection is not None:
        listed = ExactCollector()
        ids = select_ids(api, info.id, selection, on_item=listed.add)
    return RequestedExport(
        form=info,
        columns=chosen,
        submission_ids=ids,
        listed=listed,
        chose_nothing=selection is not None and not ids,
        key=request_key(api.settings.base_url, info.id, chosen, ids),
        excluded=_field_names(info, exclude),
    )


def _selection(
    since: Since | None, status: str | None, submission_ids: Sequence[int] | None
) -> Selection | None:
    """``since=``/``status=`` checked before any request (they choose ids themselves)."""
    selection = Selection.from_options(since, status)
    if selection is not None and submission_ids is not None:
        raise InvalidArgumentError(
            "Pass submission_ids or since=/status=, not both: they each choose the submissions."
        )
    return selection


def _field_names(info: FormInfo, keys: Sequence[str] | None) -> tuple[str, ...]:
    """The names of the fields ``keys`` names (for the export's ``attrs``)."""
    if not keys:
        return ()
    names = {f.id: f.name for f in (*info.fields, *info.removed_fields)}
    return tuple(names[fid] for fid in field_ids(keys, info, option="exclude"))

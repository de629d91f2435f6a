"""Which form field each CSV column holds: the column plan.

OpnForm builds an export's columns by rules that depend only on the request and the form
(its ``FormSubmissionFormatter``), so the plan is derived from them and then checked against
the header the server wrote:

1. ``id`` first (the encoded submission id);
2. each requested key, in request order: ``meta.attribution.X`` gives a column ``X``; any other
   key selects the *first* field whose key ``"<name> (<id>)"`` (deleted fields:
   ``"<name> (deleted) (<id>)"``) contains it as a substring, once;
3. ``created_at`` after the fields, whenever requested;
4. ``status`` last, whenever the form keeps partial submissions.

A file whose request is not known (a CSV downloaded from OpnForm's web page) is planned from its
header instead, by the same rules read backwards (:func:`plan_from_header`).

Headers are the keys with everything from the first " (" to the last ")" removed, so names
repeat; the plan is matched by position, never by name. When the header disagrees with the plan
(the form changed in between, or an export attached by job id used other columns), columns are
matched by header name where that is unambiguous and the rest are read as text.
"""

from __future__ import annotations

import logging
import re
import warnings
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace

from formexport.errors import InvalidArgumentError
from formexport.opnform.models import ATTRIBUTION_PARAMETERS, FormField, FormInfo

logger = logging.getLogger("formexport")

ATTRIBUTION_PREFIX = "meta.attribution."
ID, FIELD, ATTRIBUTION, CREATED_AT, STATUS, EXTRA = (
    "id",
    "field",
    "attribution",
    "created_at",
    "status",
    "extra",
)
#: The ``status`` column's values, as the server writes them (a partial submission first
#: shows as in progress).
STATUS_VALUES = ("Completed", "In Progress")
# PCRE without /u: "\s" is ASCII whitespace and "." stops at a newline.
_HEADER_NOISE = re.compile(r"[ \t\n\x0b\f\r]\(.*\)")
# What PhpSpreadsheet's value binder turns into a number (the sync writer's headers too).
_NUMERIC = re.compile(r"^[+-]?(\d+\.?\d*|\d*\.?\d+)([Ee][-+]?[0-2]?\d{1,3})?$", re.ASCII)


class ColumnPlanWarning(UserWarning):
    """The export's header does not match the columns the form and the request imply."""


@dataclass(frozen=True)
class PlannedColumn:
    """One CSV column and where its values come from.

    Attributes
    ----------
    header : str
        The header text the server writes for it.
    kind : str
        ``"id"``, ``"field"``, ``"attribution"``, ``"created_at"``, ``"status"``, or
        ``"extra"`` for a column no rule explains (read as text).
    field : FormField or None
        The form field, for ``kind == "field"``.
    deleted : bool
        True for a field deleted from the form (its answers are still exported).
    """

    header: str
    kind: str
    field: FormField | None = None
    deleted: bool = False

    @property
    def field_type(self) -> str:
        """The OpnForm field type, or ``""`` for system and unknown columns."""
        return self.field.type if self.field is not None else ""


def header_text(key: str) -> str:
    """The header OpnForm writes for a formatted key: ``"Amount (USD) (uuid)"`` → ``"Amount"``."""
    return _HEADER_NOISE.sub("", key)


def _formatted_keys(form: FormInfo) -> list[tuple[str, FormField, bool]]:
    keys = [(f"{f.name} ({f.id})", f, False) for f in form.fields]
    keys += [(f"{f.name} (deleted) ({f.id})", f, True) for f in form.removed_fields]
    return keys


def plan_columns(form: FormInfo, columns: Mapping[str, bool]) -> list[PlannedColumn]:
    """The columns the server writes for a request, in order.

    Parameters
    ----------
    form : FormInfo
        The form, as read before the export.
    columns : dict of str to bool
        The ``columns`` object sent with the export request (only ``True`` selects).
    """
    selected = [key for key, chosen in columns.items() if chosen is True]
    keys = _formatted_keys(form)
    # A PHP array keyed by formatted key: selecting a field twice keeps its first place.
    planned: dict[str, PlannedColumn] = {"id": PlannedColumn("id", ID)}
    for wanted in selected:
        if wanted.startswith(ATTRIBUTION_PREFIX):
            param = wanted[len(ATTRIBUTION_PREFIX) :]
            planned[param] = PlannedColumn(param, ATTRIBUTION)
            continue
        match = next(((key, f, gone) for key, f, gone in keys if wanted in key), None)
        if match is not None:
            key, found, gone = match
            planned[key] = PlannedColumn(header_text(key), FIELD, found, gone)
    if "created_at" in selected:
        planned["created_at"] = PlannedColumn("created_at", CREATED_AT)
    if form.partial_submissions:
        planned["status"] = PlannedColumn("status", STATUS)
    return list(planned.values())


def _same_header(expected: str, served: str) -> bool:
    if expected == served:
        return True
    # The synchronous writer turns numeric-looking headers ("2024", "1.50") into numbers.
    return bool(_NUMERIC.match(expected)) and bool(_NUMERIC.match(served))


def header_matches(plan: Sequence[PlannedColumn], header: Sequence[str]) -> bool:
    """True when the served header is the one the plan expects, column for column."""
    return len(plan) == len(header) and all(
        _same_header(p.header, h) for p, h in zip(plan, header, strict=True)
    )


def match_header(plan: Sequence[PlannedColumn], header: Sequence[str]) -> list[PlannedColumn]:
    """Check the plan against the served header; fall back to names where it disagrees.

    A warning (:class:`ColumnPlanWarning`) names the columns that could not be tied to a field
    and are therefore read as text.
    """
    if header_matches(plan, header):
        return list(plan)
    matched = _match_by_name(plan, header)
    untyped = [h for h, p in zip(header, matched, strict=True) if p.kind == EXTRA]
    message = (
        "The export's columns do not match the form's current fields and the request "
        f"(expected {[p.header for p in plan]}, got {list(header)}); columns were matched by "
        "header name instead."
    )
    if untyped:
        message += f" These are read as text: {untyped}."
    warnings.warn(message, ColumnPlanWarning, stacklevel=3)
    return matched


def _match_by_name(plan: Sequence[PlannedColumn], header: Sequence[str]) -> list[PlannedColumn]:
    by_name: dict[str, list[PlannedColumn]] = {}
    for column in plan:
        by_name.setdefault(column.header, []).append(column)
    result = []
    for position, name in enumerate(header):
        candidates = by_name.get(name, [])
        if position == 0 and name == "id":
            result.append(PlannedColumn("id", ID))
        elif len(candidates) == 1 and candidates[0].kind != ID:
            result.append(candidates[0])
        else:
            result.append(PlannedColumn(name, EXTRA))
    return result


def text_plan(header: Sequence[str]) -> list[PlannedColumn]:
    """A plan that reads every column as text, ``id`` too (no form known)."""
    return [PlannedColumn(h, EXTRA) for h in header]


def as_text(column: PlannedColumn) -> PlannedColumn:
    """The same column, read as text."""
    return replace(column, kind=EXTRA)


def plan_from_header(form: FormInfo, header: Sequence[str]) -> list[PlannedColumn]:
    """The columns of an export whose request is not known, worked out from its header.

    By the server's rules read backwards: ``id`` first; ``status`` last and ``created_at``
    before it; every other column holds the first field not yet taken (the form's fields in
    order, then its deleted fields) whose header it is, else the attribution parameter of its
    name. A column no rule explains is read as text, with a :class:`ColumnPlanWarning` naming
    it; when none of the file's columns is a field of the form, :class:`InvalidArgumentError`
    names them (the file holds another form's answers).
    """
    head = [PlannedColumn("id", ID)] if header[:1] == ["id"] else []
    tail = _system_tail(form, header[len(head) :])
    middle = header[len(head) : len(header) - len(tail)]
    untaken = [(header_text(key), f, gone) for key, f, gone in _formatted_keys(form)]
    plan = [*head, *(_column_named(name, untaken) for name in middle), *tail]
    _check_explained(form, plan)
    return plan


def _system_tail(form: FormInfo, header: Sequence[str]) -> list[PlannedColumn]:
    """``created_at`` and ``status`` at the end of the header, where the server puts them."""
    rest, tail = list(header), []
    named_status = any(f.name == "status" for f in form.fields)
    if rest[-1:] == ["status"] and (form.partial_submissions or not named_status):
        tail.append(PlannedColumn(rest.pop(), STATUS))
    if rest[-1:] == ["created_at"]:
        tail.insert(0, PlannedColumn(rest.pop(), CREATED_AT))
    return tail


def _column_named(name: str, untaken: list[tuple[str, FormField, bool]]) -> PlannedColumn:
    for index, (header, found, gone) in enumerate(untaken):
        if _same_header(header, name):
            del untaken[index]
            return PlannedColumn(name, FIELD, found, gone)
    if name in ATTRIBUTION_PARAMETERS:
        return PlannedColumn(name, ATTRIBUTION)
    return PlannedColumn(name, EXTRA)


def _check_explained(form: FormInfo, plan: Sequence[PlannedColumn]) -> None:
    unknown = [column.header for column in plan if column.kind == EXTRA]
    if not unknown:
        return
    which = f"form {form.id} ({form.title or form.slug})"
    if not any(column.kind == FIELD for column in plan):
        fields = [f.name for f in form.fields]
        raise InvalidArgumentError(
            f"This file does not hold the answers of {which}: none of its columns {unknown} "
            f"is a field of that form, whose fields are {fields}. Name the form the file was "
            "exported from, or leave the form out to read every cell as text."
        )
    warnings.warn(
        f"The columns {unknown} of this file are not fields of {which} (renamed or deleted "
        "since the export?); they are read as text.",
        ColumnPlanWarning,
        stacklevel=4,
    )

"""Export columns and cell values, as ``FormExportService::formatSubmissionForExport`` builds them.

Column plan (OpnForm's ``FormSubmissionFormatter``): ``id`` first; then, in request order,
each key whose value is ``true`` selects the first formatted key ``"<name> (<id>)"`` that
*contains* it (or ``meta.attribution.X`` adds ``X``); ``created_at`` always after the
fields; ``status`` whenever the form has partial submissions on. Headers are the keys with
the greedy ``/\\s\\(.*\\)/`` removed, so same-named fields give duplicate headers.

Cell values are returned as PHP-typed values (str, int, float, bool); the
two CSV writers then print them differently.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, cast

from formexport.sandbox.data.catalog import Form
from formexport.sandbox.data.fields import Submission, is_layout
from formexport.sandbox.data.hashid import HashidEncoder
from formexport.sandbox.platform.clock import ymd_hi
from formexport.sandbox.platform.php import php_implode, php_str

CellValue = str | int | float | bool | None
LinkMaker = Callable[[str], str]
Extractor = Callable[[Submission], CellValue]

ATTRIBUTION_PREFIX = "meta.attribution."
# PCRE without /u: \s is ASCII whitespace and "." stops at "\n".
_HEADER_NOISE = re.compile(r"[ \t\n\x0b\f\r]\(.*\)")
_NEEDS_INNER_QUOTES = re.compile(r'[,"\r\n]')
_STRUCTURED = frozenset({"multi_select", "matrix", "files", "signature"})
#: Field types whose cells are signed links (their bytes change with the links' expiry).
LINKED_TYPES = frozenset({"files", "signature"})
_SCALARS = frozenset({str, int, float, bool})


@dataclass(frozen=True)
class Column:
    """One export column: its formatted key and where the value comes from."""

    key: str
    source: str  # "id" | "field" | "attribution" | "created_at" | "status"
    ref: str = ""  # field id or attribution parameter
    field_type: str = ""

    @property
    def header(self) -> str:
        """The header text: the key without ``" (…)"``."""
        return header_text(self.key)


def header_text(key: str) -> str:
    """``"Amount (USD) (uuid)"`` → ``"Amount"`` (greedy, like the PHP regex)."""
    return _HEADER_NOISE.sub("", key)


def formatted_keys(form: Form) -> list[tuple[str, dict[str, Any]]]:
    """``getCleanKeyValue`` keys: live fields, then deleted ones, layout blocks skipped."""
    keys = [(f"{b['name']} ({b['id']})", b) for b in form.properties if not is_layout(b)]
    keys += [
        (f"{b['name']} (deleted) ({b['id']})", b)
        for b in form.removed_properties
        if not is_layout(b)
    ]
    return keys


def plan_columns(form: Form, selected: Sequence[str], *, attribution: bool) -> list[Column]:
    """The ordered columns for the keys a request selected (values ``=== true``)."""
    keys = formatted_keys(form)
    # A PHP array: assigning an existing key keeps its position.
    columns: dict[str, Column] = {"id": Column("id", "id")}
    for wanted in selected:
        if attribution and wanted.startswith(ATTRIBUTION_PREFIX):
            param = wanted[len(ATTRIBUTION_PREFIX) :]
            columns[param] = Column(param, "attribution", ref=param)
            continue
        match = next(((key, block) for key, block in keys if wanted in key), None)
        if match is not None:
            key, block = match
            columns[key] = Column(key, "field", str(block["id"]), str(block.get("type", "")))
    if "created_at" in selected:
        columns["created_at"] = Column("created_at", "created_at")
    if form.partial:
        columns["status"] = Column("status", "status")
    return list(columns.values())


def render_value(field_type: str, value: Any, link: LinkMaker) -> CellValue:
    """The cell for one stored value (before the writer's own conversions)."""
    if value is None:
        return ""
    if field_type == "multi_select" and isinstance(value, list):
        return ",".join(_csv_safe(php_str(item)) for item in value)
    if field_type == "matrix" and isinstance(value, dict):
        return " | ".join(f"{k}: {php_str(v)}" for k, v in value.items() if v is not None)
    if field_type in LINKED_TYPES:
        names = value if isinstance(value, list) else [value]
        return ", ".join(link(php_str(name)) for name in names if name)
    if isinstance(value, (list, dict)):
        return php_implode(",", value)
    if isinstance(value, (str, int, float, bool)):
        return value
    return php_str(value)


def _csv_safe(item: str) -> str:
    """``escapeCsvField``: quote a multi-select item holding , " CR or LF."""
    if _NEEDS_INNER_QUOTES.search(item):
        return '"' + item.replace('"', '""') + '"'
    return item


class RowFormatter:
    """Turns submissions into lists of cell values for a column plan.

    Parameters
    ----------
    columns : list of Column
        From :func:`plan_columns`.
    link : callable
        Stored file name → signed URL (for ``files`` and ``signature`` fields).
    encoder : HashidEncoder
        Encodes the ``id`` column.
    """

    def __init__(self, columns: list[Column], link: LinkMaker, encoder: HashidEncoder) -> None:
        self.columns = columns
        self._extractors = [self._extractor(c, link, encoder) for c in columns]

    @property
    def header(self) -> list[str]:
        """The header row."""
        return [c.header for c in self.columns]

    def __call__(self, submission: Submission) -> list[CellValue]:
        return [extract(submission) for extract in self._extractors]

    @staticmethod
    def _extractor(column: Column, link: LinkMaker, encoder: HashidEncoder) -> Extractor:
        if column.source == "id":
            return lambda s: encoder.encode(s.id)
        if column.source == "created_at":
            return lambda s: ymd_hi(s.created_at)
        if column.source == "status":
            return lambda s: "In Progress" if s.partial else "Completed"
        if column.source == "attribution":
            return lambda s: _attribution(s, column.ref)
        return _field_extractor(column.ref, column.field_type, link)


def _field_extractor(field_id: str, field_type: str, link: LinkMaker) -> Extractor:
    # Specialised per type: million-row exports call these ten million times.
    if field_type == "files":
        return lambda s: _file_links(s.data.get(field_id), link)
    if field_type in _STRUCTURED:
        return lambda s: render_value(field_type, s.data.get(field_id), link)

    def scalar(submission: Submission) -> CellValue:
        value = submission.data.get(field_id)
        if value.__class__ in _SCALARS:
            return cast(CellValue, value)
        return render_value(field_type, value, link)

    return scalar


def _file_links(value: Any, link: LinkMaker) -> CellValue:
    if not value:
        return ""
    if value.__class__ is list:
        return ", ".join(
            [link(name) if name.__class__ is str else link(php_str(name)) for name in value if name]
        )
    return render_value("files", value, link)


def _attribution(submission: Submission, param: str) -> CellValue:
    attribution = (submission.meta or {}).get("attribution") or {}
    value = attribution.get(param, "") if isinstance(attribution, dict) else ""
    return render_value("text", value, str)

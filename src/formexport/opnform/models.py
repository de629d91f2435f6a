"""Plain data the API returns: export-job status and form definitions."""

from __future__ import annotations

import dataclasses
import difflib
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any

from formexport import html_tables
from formexport.errors import InvalidArgumentError, UnexpectedResponseError
from formexport.redaction import redact_url

__all__ = [
    "ExactValues",
    "ExportStatus",
    "FormField",
    "FormInfo",
    "FormSummary",
    "JobState",
    "parse_timestamp",
]

# Block types that hold no answer and never appear in an export.
LAYOUT_BLOCK_PREFIX = "nf-"
# Export column keys besides field ids; OpnForm's validator refuses any other key with a 422
# (``FormSubmissionExportRequest``): ``ip_address``, for one, is not an export column.
SYSTEM_COLUMNS = ("created_at", "status")
ATTRIBUTION_PREFIX = "meta.attribution."
#: The ``meta.attribution.<parameter>`` keys OpnForm 2.4 accepts (``SubmissionAttribution``).
ATTRIBUTION_PARAMETERS = (
    "utm_source",
    "utm_medium",
    "utm_campaign",
    "utm_id",
    "utm_term",
    "utm_content",
    "utm_source_platform",
    "utm_creative_format",
    "utm_marketing_tactic",
    "gclid",
    "gbraid",
    "wbraid",
    "dclid",
    "fbclid",
    "ttclid",
    "msclkid",
)


class JobState:
    """The values of :attr:`ExportStatus.status`."""

    QUEUED = "queued"
    PROCESSING = "processing"
    COMPLETED = "completed"
    FAILED = "failed"
    FINISHED = frozenset({COMPLETED, FAILED})


def parse_timestamp(value: object) -> datetime | None:
    """Parse an OpnForm timestamp (``2026-08-22T10:15:30.123456Z`` and kin) as aware UTC."""
    if value is None or value == "":
        return None
    if not isinstance(value, str):
        raise UnexpectedResponseError(
            f"Expected a timestamp string, got {type(value).__name__}.", status_code=200
        )
    text = value.strip().replace(" ", "T", 1)
    if text.endswith(("Z", "z")):
        text = text[:-1] + "+00:00"
    try:
        parsed = datetime.fromisoformat(text)
    except ValueError as exc:
        raise UnexpectedResponseError(
            f"Could not read the timestamp {value!r} sent by the server.",
            status_code=200,
        ) from exc
    if parsed.tzinfo is None:
        # OpnForm runs in UTC and some of its timestamps omit the offset.
        parsed = parsed.replace(tzinfo=timezone.utc)
    return parsed.astimezone(timezone.utc)


def _optional_int(value: object) -> int | None:
    if value is None or value == "":
        return None
    if isinstance(value, bool) or not isinstance(value, (int, float, str)):
        raise UnexpectedResponseError(f"Expected a number, got {value!r}.", status_code=200)
    try:
        return int(float(value))
    except ValueError as exc:
        raise UnexpectedResponseError(
            f"Expected a number, got {value!r}.", status_code=200
        ) from exc


def _optional_str(value: object) -> str | None:
    return None if value is None else str(value)


@dataclass(frozen=True)
class ExportStatus:
    """The state of an asynchronous export job, as the status endpoint reports it.

    Every field of the documented response is here. Fields the server leaves out (the real
    server never sends ``form_id`` or ``user_id``) are ``None``; timestamps are timezone-aware
    UTC datetimes.

    Attributes
    ----------
    status : str
        ``"queued"``, ``"processing"``, ``"completed"`` or ``"failed"`` (see :class:`JobState`).
    progress : int
        Percent done, 0-100. The server holds 95 while it writes the file.
    file_url : str or None
        The signed download link, once completed. Treat it like a password: anyone holding it
        can download the export until ``expires_at``. ``repr`` hides its signature.
    error_message : str or None
        The failure reason when ``status`` is ``"failed"``. While the file is being written the
        server also puts ``"Generating export file..."`` here; see :attr:`status_text`.
    """

    status: str
    progress: int = 0
    form_id: int | None = None
    user_id: int | None = None
    job_id: str | None = None
    processed_submissions: int | None = None
    total_submissions: int | None = None
    file_url: str | None = field(default=None, repr=False)
    expires_at: datetime | None = None
    error_message: str | None = None
    created_at: datetime | None = None
    updated_at: datetime | None = None

    @classmethod
    def from_json(cls, body: Mapping[str, Any]) -> ExportStatus:
        """Build from the status endpoint's JSON, tolerating every server version."""
        status = body.get("status")
        if not isinstance(status, str) or not status:
            raise UnexpectedResponseError(
                "The export status answer has no 'status' field.", status_code=200
            )
        return cls(
            status=status.lower(),
            progress=_optional_int(body.get("progress")) or 0,
            form_id=_optional_int(body.get("form_id")),
            user_id=_optional_int(body.get("user_id")),
            job_id=_optional_str(body.get("job_id")),
            processed_submissions=_optional_int(body.get("processed_submissions")),
            total_submissions=_optional_int(body.get("total_submissions")),
            file_url=_optional_str(body.get("file_url")),
            expires_at=parse_timestamp(body.get("expires_at")),
            error_message=_optional_str(body.get("error_message")),
            created_at=parse_timestamp(body.get("created_at")),
            updated_at=parse_timestamp(body.get("updated_at")),
        )

    @property
    def is_finished(self) -> bool:
        """True once the job completed or failed."""
        return self.status in JobState.FINISHED

    @property
    def status_text(self) -> str:
        """A short human description, e.g. ``"processing 44% (500/1001 submissions)"``."""
        text = f"{self.status} {self.progress}%"
        if self.processed_submissions is not None and self.total_submissions:
            text += f" ({self.processed_submissions}/{self.total_submissions} submissions)"
        elif self.status == JobState.PROCESSING and self.error_message:
            text += f" ({self.error_message.rstrip('.')})"
        return text

    def __repr__(self) -> str:
        shown = [
            f"{f.name}={getattr(self, f.name)!r}"
            for f in dataclasses.fields(self)
            if f.repr and getattr(self, f.name) is not None
        ]
        if self.file_url:
            shown.append(f"file_url={redact_url(self.file_url)!r}")
        return f"ExportStatus({', '.join(shown)})"

    def html_rows(self) -> list[tuple[str, str]]:
        """State, progress, rows and link lifetime as label/value pairs (no link, no token)."""
        rows = [
            ("State", self.status),
            ("Progress", html_tables.bar(self.progress, self.status, f"{self.progress}%")),
        ]
        if self.processed_submissions is not None and self.total_submissions:
            rows.append(("Rows", f"{self.processed_submissions} of {self.total_submissions}"))
        elif self.status == JobState.PROCESSING and self.error_message:
            rows.append(("Step", self.error_message))
        if self.status == JobState.FAILED:
            rows.append(("Error", self.error_message or "no reason given"))
        if self.status == JobState.COMPLETED:
            rows.append(("Link", html_tables.time_left(self.expires_at)))
        return rows

    def _repr_html_(self) -> str:
        """A small table for notebooks; the signed link itself is never shown."""
        title = f"Export job {self.job_id}" if self.job_id else "Export status"
        return html_tables.table(title, self.html_rows())


@dataclass(frozen=True)
class FormField:
    """One input field of a form (layout blocks are left out).

    Attributes
    ----------
    id : str
        The field id used as an export column key (usually a UUID).
    name : str
        The label shown to respondents; the CSV header uses it.
    type : str
        OpnForm's field type, e.g. ``"text"``, ``"number"``, ``"multi_select"``.
    definition : dict
        The whole block as the server sent it (options, date settings, ...).
    """

    id: str
    name: str
    type: str
    hidden: bool = False
    definition: Mapping[str, Any] = field(default_factory=dict, repr=False, compare=False)

    @property
    def options(self) -> tuple[str, ...]:
        """The choices of a select, radio or multi-select field, in the form's order.

        ``()`` for other fields. OpnForm keeps them as ``{"id", "name"}`` objects under the
        field's type (``select.options``); answers store the name.
        """
        for key in (self.type, "select"):
            section = self.definition.get(key)
            choices = section.get("options") if isinstance(section, Mapping) else None
            if isinstance(choices, list):
                return tuple(_option_name(choice) for choice in choices)
        return ()

    @property
    def required(self) -> bool:
        """Whether respondents must answer the field."""
        return self.definition.get("required") is True

    @property
    def help(self) -> str | None:
        """The help text shown under the field, if any (as the form stores it, maybe HTML)."""
        text = self.definition.get("help")
        return str(text) if text not in (None, "") else None

    @classmethod
    def from_json(cls, block: Mapping[str, Any]) -> FormField:
        """Build from one entry of a form's ``properties``."""
        return cls(
            id=str(block.get("id", "")),
            name=str(block.get("name", "")),
            type=str(block.get("type", "")),
            hidden=bool(block.get("hidden", False)),
            definition=dict(block),
        )


def _option_name(choice: object) -> str:
    if isinstance(choice, Mapping):
        return str(choice.get("name", choice.get("id", "")))
    return str(choice)


def _input_fields(blocks: object) -> tuple[FormField, ...]:
    if not isinstance(blocks, list):
        return ()
    fields = (FormField.from_json(b) for b in blocks if isinstance(b, Mapping))
    return tuple(f for f in fields if f.id and not f.type.startswith(LAYOUT_BLOCK_PREFIX))


@dataclass(frozen=True)
class FormInfo:
    """What formexport needs to know about a form.

    Attributes
    ----------
    id : int
        The numeric form id.
    slug : str
        The form's slug, also usable wherever a form id is.
    fields : tuple of FormField
        The form's input fields, in form order.
    removed_fields : tuple of FormField
        Fields deleted from the form; their answers can still be exported.
    partial_submissions : bool
        Whether the form keeps partial submissions (the CSV then has a ``status`` column).
    submissions_count : int or None
        Completed submissions, as the server counts them.
    """

    id: int
    slug: str
    title: str
    workspace_id: int | None = None
    fields: tuple[FormField, ...] = ()
    removed_fields: tuple[FormField, ...] = ()
    partial_submissions: bool = False
    submissions_count: int | None = None
    updated_at: datetime | None = None

    @classmethod
    def from_json(cls, body: Mapping[str, Any]) -> FormInfo:
        """Build from ``GET /open/forms/{id}``."""
        form_id = _optional_int(body.get("id"))
        if form_id is None:
            raise UnexpectedResponseError("The form answer has no numeric 'id'.", status_code=200)
        return cls(
            id=form_id,
            slug=str(body.get("slug") or form_id),
            title=str(body.get("title") or ""),
            workspace_id=_optional_int(body.get("workspace_id")),
            fields=_input_fields(body.get("properties")),
            removed_fields=_input_fields(body.get("removed_properties")),
            partial_submissions=bool(body.get("enable_partial_submissions", False)),
            submissions_count=_optional_int(body.get("submissions_count")),
            updated_at=parse_timestamp(body.get("updated_at")),
        )

    def default_columns(self, *, deleted: bool = False) -> dict[str, bool]:
        """Every field plus ``created_at``: what ``columns=None`` exports.

        Only keys OpnForm's validator accepts (see :meth:`check_columns`). ``status`` is not
        requested: the server adds that column by itself whenever the form keeps partial
        submissions, and servers before 2.0 refuse it as a key. ``deleted=True`` adds the
        deleted fields, whose answers the server still exports (after the current ones).
        """
        kept = (*self.fields, *self.removed_fields) if deleted else self.fields
        columns = {f.id: True for f in kept}
        columns["created_at"] = True
        return columns

    def column_keys(self) -> frozenset[str]:
        """The ``columns`` keys OpnForm accepts for this form: its field ids (deleted fields
        too), ``created_at``, ``status`` and ``meta.attribution.<parameter>``."""
        fields = (f.id for f in (*self.fields, *self.removed_fields))
        attribution = (ATTRIBUTION_PREFIX + p for p in ATTRIBUTION_PARAMETERS)
        return frozenset((*fields, *SYSTEM_COLUMNS, *attribution))

    def check_columns(self, keys: Iterable[str]) -> None:
        """Raise :class:`~formexport.InvalidArgumentError` for keys OpnForm would refuse (it
        answers 422 for any key it does not know, whatever its value)."""
        accepted = self.column_keys()
        refused = [key for key in keys if key not in accepted]
        if refused:
            raise InvalidArgumentError(
                f"OpnForm would refuse the columns {', '.join(refused)} of form {self.id} "
                f"(it answers 422 for any key it does not know).{self.closest_names(refused)} "
                f"The form's fields: {self.field_list()}. A column is a field id (of a "
                "current or deleted field), a field name that matches exactly one field, "
                f"'created_at', 'status', or '{ATTRIBUTION_PREFIX}<parameter>' (utm_source, "
                "gclid, ...)."
            )

    def closest_names(self, refused: Sequence[str]) -> str:
        """``Did you mean …?`` for refused keys close to a field's name or id."""
        names = [f.name for f in self.fields] + [f.id for f in self.fields] + list(SYSTEM_COLUMNS)
        guesses = []
        for key in refused:
            near = difflib.get_close_matches(key, names, n=1, cutoff=0.6)
            if near:
                guesses.append(f"{near[0]!r} instead of {key!r}")
        return f" Did you mean {', '.join(guesses)}?" if guesses else ""

    def field_list(self, most: int = 12) -> str:
        """The form's field names (the first ``most``), to name in a message."""
        names = [f.name for f in self.fields]
        shown = ", ".join(names[:most])
        more = f" and {len(names) - most} more" if len(names) > most else ""
        return f"{shown}{more} (describe_form({self.id}) lists them with their ids)"


@dataclass(frozen=True)
class FormSummary:
    """A form as a workspace's form list shows it (no fields).

    Attributes
    ----------
    submissions_count : int or None
        Completed submissions. With ``updated_at`` it tells whether a form changed since an
        earlier export.
    """

    id: int
    slug: str
    title: str
    workspace_id: int | None = None
    submissions_count: int | None = None
    updated_at: datetime | None = None

    @classmethod
    def from_json(cls, body: Mapping[str, Any]) -> FormSummary:
        """Build from an item of ``GET /open/workspaces/{id}/forms`` (or a form resource)."""
        info = FormInfo.from_json(body)
        return cls(
            id=info.id,
            slug=info.slug,
            title=info.title,
            workspace_id=info.workspace_id,
            submissions_count=info.submissions_count,
            updated_at=info.updated_at,
        )


@dataclass(frozen=True)
class ExactValues:
    """Raw stored values by submission id (``data`` of each JSON submission)."""

    by_id: Mapping[int, Mapping[str, Any]]

    def __len__(self) -> int:
        return len(self.by_id)

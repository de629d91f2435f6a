"""Only some submissions: those created since a moment, or of one status.

OpnForm's export has no date or status filter (``FormSubmissionExportRequest``), but its JSON
submissions list does by status, and lists newest first (``FormSubmissionController::index``).
So the chosen submissions are listed page by page until one is older than ``since``, and then
exported by id: a recent window costs one page and one export, however large the form. The
listed pages carry the raw values too, which are kept for exact values.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta, timezone
from typing import Any

from formexport.errors import InvalidArgumentError, UnexpectedResponseError
from formexport.opnform.endpoints import FormRef, OpnFormAPI
from formexport.opnform.listing import Listed

logger = logging.getLogger("formexport")

#: ``status=`` values: the server's own filter of its submissions list.
STATUSES = ("completed", "partial", "all")

Since = date | datetime | timedelta


@dataclass(frozen=True)
class Selection:
    """Which submissions an export keeps.

    Attributes
    ----------
    since : datetime or None
        Keep submissions created at or after this moment (aware, UTC).
    status : str
        ``"completed"``, ``"partial"`` or ``"all"``.
    """

    since: datetime | None = None
    status: str = "all"

    @classmethod
    def from_options(
        cls,
        since: Since | None,
        status: str | None,
        now: Callable[[], datetime] = lambda: datetime.now(timezone.utc),
    ) -> Selection | None:
        """The selection for ``since=`` and ``status=``; None when they keep everything.

        ``since`` is a datetime (naive means UTC), a date (from its midnight, UTC) or a
        timedelta (that long before now). Raises :class:`InvalidArgumentError` for anything else.
        """
        if status is not None and status not in STATUSES:
            raise InvalidArgumentError(f"status must be one of {STATUSES}, not {status!r}.")
        moment = _moment(since, now) if since is not None else None
        chosen = cls(moment, status or "all")
        return None if chosen == cls() else chosen

    def keeps(self, created_at: datetime) -> bool:
        """Whether a submission created then is recent enough."""
        return self.since is None or created_at >= self.since

    def describe(self) -> str:
        """``"created since 2026-08-21 00:00 UTC, completed"`` (for log lines)."""
        parts = []
        if self.since is not None:
            parts.append(f"created since {self.since:%Y-%m-%d %H:%M:%S} UTC")
        if self.status != "all":
            parts.append(self.status)
        return ", ".join(parts)


def _moment(since: object, now: Callable[[], datetime]) -> datetime:
    if isinstance(since, timedelta):
        if since < timedelta(0):
            raise InvalidArgumentError(f"since= as a timedelta looks back: {since} is negative.")
        return now().astimezone(timezone.utc) - since
    if isinstance(since, datetime):
        aware = since if since.tzinfo is not None else since.replace(tzinfo=timezone.utc)
        return aware.astimezone(timezone.utc)
    if isinstance(since, date):
        return datetime.combine(since, time(0), tzinfo=timezone.utc)
    raise InvalidArgumentError(
        "since is a datetime, a date or a timedelta (e.g. timedelta(days=7)), "
        f"not {type(since).__name__}."
    )


def _created_at(row: Listed) -> datetime:
    if row.created_at is None:
        raise UnexpectedResponseError(
            "A submission in the submissions list has no created_at; since= cannot be applied.",
            status_code=200,
        )
    return row.created_at


def select_ids(
    api: OpnFormAPI,
    form: FormRef,
    selection: Selection,
    on_item: Callable[[int, Mapping[str, Any]], None] | None = None,
) -> list[int]:
    """The ids of the chosen submissions, newest first, each once.

    The list is read until a submission older than ``selection.since``; ``on_item`` receives
    each chosen submission's JSON (its raw values come along at no extra request).
    """
    chosen: list[int] = []
    seen: set[int] = set()
    # Each submission once, none missed while the form changes (formexport.opnform.listing):
    # a page holds every row older than its first, so the listing may stop at an older one.
    for row in api.list_submissions(form, status=selection.status):
        if not selection.keeps(_created_at(row)):
            break
        if row.id not in seen:
            seen.add(row.id)
            chosen.append(row.id)
            if on_item is not None:
                on_item(row.id, row.item)
    logger.info("Form %s: %d submissions %s", form, len(chosen), selection.describe() or "in all")
    return chosen

"""Exact values from the JSON submissions list, for exports the synchronous writer lost.

OpnForm's synchronous CSV writer (exports of up to 1000 submissions, and every batch of the
batched route) prints ``0`` and ``false`` as empty cells and turns numeric-looking text into
numbers (``+33612345678`` → ``33612345678``). ``GET /open/forms/{id}/submissions`` carries the
raw stored values, 100 submissions a request, so field values are taken from there instead,
matched to the CSV rows by submission id.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from formexport import config
from formexport.endpoints import FormRef, OpnFormAPI

logger = logging.getLogger("formexport")

#: Where values come from: ``"auto"`` (exact for the synchronous writer), ``"csv"``, ``"exact"``.
VALUE_SOURCES = ("auto", "csv", "exact")


@dataclass(frozen=True)
class ExactValues:
    """Raw stored values by submission id (``data`` of each JSON submission)."""

    by_id: Mapping[int, Mapping[str, Any]]

    def __len__(self) -> int:
        return len(self.by_id)


def _pages(api: OpnFormAPI, form: FormRef) -> Iterator[Mapping[str, Any]]:
    page, last_page = 1, 1
    while page <= last_page:
        result = api.submissions_page(form, page, config.SUBMISSIONS_PAGE_SIZE)
        last_page = result.last_page
        yield from result.items
        page += 1


def fetch_exact_values(api: OpnFormAPI, form: FormRef) -> ExactValues:
    """Read every submission of a form through the JSON list (one request per 100)."""
    by_id: dict[int, Mapping[str, Any]] = {}
    for item in _pages(api, form):
        data = item.get("data")
        try:
            submission_id = int(item["id"])
        except (KeyError, TypeError, ValueError):
            continue
        if isinstance(data, Mapping):
            by_id.setdefault(submission_id, data)
    logger.info("Read the exact values of %d submissions from the JSON list", len(by_id))
    return ExactValues(by_id)

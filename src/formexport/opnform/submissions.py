"""Exact values from the JSON submissions list, for exports the synchronous writer lost.

OpnForm's synchronous CSV writer (exports of up to 1000 submissions, and every batch of the
batched route) prints ``0`` and ``false`` as empty cells and turns numeric-looking text into
numbers (``+33612345678`` → ``33612345678``). ``GET /open/forms/{id}/submissions`` carries the
raw stored values, 100 submissions a request, so field values are taken from there instead,
matched to the CSV rows by submission id.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any

from formexport import config
from formexport.opnform.endpoints import FormRef, OpnFormAPI
from formexport.opnform.models import ExactValues

logger = logging.getLogger("formexport")


class ExactCollector:
    """Keeps the raw values of submissions listed for the batched route, up to ``limit``.

    Listing submission ids through the JSON API returns their values too; keeping them makes
    batched exports exact at no extra request. Past ``limit`` submissions they are dropped, so
    that memory stays bounded for very large forms (their CSV values are used instead).
    """

    def __init__(self, limit: int = config.EXACT_VALUES_LIMIT) -> None:
        self._limit = limit
        self._by_id: dict[int, Mapping[str, Any]] | None = {}

    def add(self, submission_id: int, item: Mapping[str, Any]) -> None:
        """Keep one listed submission's ``data``."""
        if self._by_id is None:
            return
        if len(self._by_id) >= self._limit:
            logger.info(
                "More than %d submissions: reading the batches' CSV values, not the JSON's",
                self._limit,
            )
            self._by_id = None
            return
        data = item.get("data")
        if isinstance(data, Mapping):
            self._by_id.setdefault(submission_id, data)

    def values(self) -> ExactValues | None:
        """What was kept, or None when the limit was passed."""
        return None if self._by_id is None else ExactValues(self._by_id)


def fetch_exact_values(api: OpnFormAPI, form: FormRef) -> ExactValues:
    """Read every submission of a form through the JSON list (about one request per 90).

    The export was answered before this listing starts, so every row it holds is listed, even
    while submissions arrive or are deleted (see :mod:`formexport.opnform.listing`).
    """
    by_id: dict[int, Mapping[str, Any]] = {}
    for row in api.list_submissions(form):
        data = row.item.get("data")
        if isinstance(data, Mapping):
            by_id.setdefault(row.id, data)
    logger.info("Read the exact values of %d submissions from the JSON list", len(by_id))
    return ExactValues(by_id)

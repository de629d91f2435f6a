"""Exporting in synchronous batches, for servers that hide export status from tokens.

OpnForm answers an export of at most 1000 chosen submissions at once, as CSV. Listing the
submission ids through the JSON API and exporting them 1000 at a time therefore delivers any
number of rows without ever starting a background job. The batches are joined into one CSV: the
first batch's header (and byte-order mark) once, then every batch's rows.

Since no job can come of a batch, a batch whose answer was lost (a 5xx, a cut connection) is
simply sent again, and a 429 waited out against the deadline; both by
:meth:`~formexport.opnform.endpoints.OpnFormAPI.post_export`, under the one retry policy.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable, Iterable, Iterator, Mapping
from itertools import islice
from typing import BinaryIO

from formexport import config
from formexport.errors import UnexpectedResponseError, ValidationError
from formexport.opnform.endpoints import AnsweredCsv, FormRef, OpnFormAPI, StartedJob
from formexport.reading.blocks import split_header, strip_bom

logger = logging.getLogger("formexport")

_ID_ERROR = re.compile(r"^submissionIds\.(\d+)$")


def batched(ids: Iterable[int], size: int) -> Iterator[list[int]]:
    """Consecutive lists of at most ``size`` ids."""
    iterator = iter(ids)
    while batch := list(islice(iterator, size)):
        yield batch


def export_in_batches(
    api: OpnFormAPI,
    form: FormRef,
    columns: Mapping[str, bool],
    ids: Iterable[int],
    out: BinaryIO,
    *,
    on_rows: Callable[[int], None] = lambda rows: None,
    deadline: float | None = None,
    batch_size: int = config.SYNC_EXPORT_LIMIT,
) -> int:
    """Export ``ids`` batch by batch into ``out`` as one CSV; return the number of rows.

    ``ids`` may be a lazy iterator: listing the next page of ids and exporting the current
    batch draw on separate rate limits, so interleaving them keeps both busy.
    """
    header: bytes | None = None
    rows = 0
    for batch in batched(ids, batch_size):
        answer, batch = _export_batch(api, form, columns, batch, deadline)
        if answer is None:
            continue
        if isinstance(answer, StartedJob):
            raise UnexpectedResponseError(
                f"The server started a background job (job {answer.job_id}) for {len(batch)} "
                "chosen submissions: it ignores submissionIds (OpnForm before 1.13.0), and it "
                "hides export status from tokens, so exports above 1000 rows cannot be "
                "fetched from it with a token. Upgrade the server.",
                status_code=200,
            )
        batch_header, body = split_header(answer.content)
        if header is None:
            header = batch_header
            out.write(header)
        elif strip_bom(batch_header) != strip_bom(header):
            raise UnexpectedResponseError(
                "Two export batches came back with different columns; the form changed "
                "during the export. Run it again.",
                status_code=200,
            )
        out.write(body if body.endswith(b"\n") or not body else body + b"\n")
        rows += len(batch)
        on_rows(rows)
    return rows


def _export_batch(
    api: OpnFormAPI,
    form: FormRef,
    columns: Mapping[str, bool],
    batch: list[int],
    deadline: float | None,
) -> tuple[AnsweredCsv | StartedJob | None, list[int]]:
    """Export one batch; submissions deleted since they were listed are dropped and retried."""
    try:
        return api.post_export(form, columns, batch, deadline=deadline), batch
    except ValidationError as exc:
        gone = {int(m.group(1)) for key in exc.errors if (m := _ID_ERROR.match(key))}
        if not gone or len(gone) < len(exc.errors):
            raise
        logger.info("%d submissions were deleted during the export; skipping them", len(gone))
        remaining = [i for position, i in enumerate(batch) if position not in gone]
        if not remaining:
            return None, remaining
        return api.post_export(form, columns, remaining, deadline=deadline), remaining

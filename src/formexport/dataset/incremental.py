"""Which submissions an incremental run exports: those the dataset does not hold yet.

Submission ids grow with creation time, but not exactly: submissions of one second come in any
order, and one saved a moment before another may get the higher id. A run that exported "ids
above the highest one" would miss such a submission for good. So an incremental run lists the
submissions created since a minute before the newest one in the dataset (that listing misses
none, however the form changes meanwhile: :mod:`formexport.opnform.listing`) and exports those
that are not among the dataset's submissions of that last minute, which the manifest keeps
(``recent_ids``). Submissions that arrive during the run are listed or not, and exported by a
later run if not; never twice.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from formexport import config
from formexport.dataset.columns import created_column, submission_ids
from formexport.dataset.manifest import FormRecord
from formexport.opnform.endpoints import Listed, OpnFormAPI
from formexport.opnform.models import parse_timestamp

logger = logging.getLogger("formexport")

_SLACK = timedelta(seconds=config.ID_ORDER_SLACK_SECONDS)
# A full export's created_at has no seconds: a row shown at 10:15 was created before 10:16.
_MINUTE = timedelta(minutes=1)


@dataclass(frozen=True)
class Edge:
    """The newest end of a form's data in the dataset: when its newest submission was created,
    and the ids of those created within ``ID_ORDER_SLACK_SECONDS`` before it."""

    newest: datetime
    recent: frozenset[int]

    @property
    def since(self) -> datetime:
        """The creation time from which the next run lists submissions."""
        return self.newest - _SLACK

    @classmethod
    def of_record(cls, record: FormRecord) -> Edge | None:
        """The edge the manifest records, if it records one."""
        newest = parse_timestamp(record.high_water_time)
        return None if newest is None else cls(newest, frozenset(record.recent_ids))

    def store(self, record: FormRecord) -> None:
        """Record the edge in the manifest."""
        record.high_water_time = self.newest.isoformat()
        record.recent_ids = sorted(self.recent)


def edge_after(before: Edge | None, listed: Iterable[Listed]) -> Edge | None:
    """The edge once ``listed`` (every submission created since ``before.since``, or every
    one) is held: listed rows of the new last minute are the recent ones."""
    rows = list(listed)
    times = [r.created_at for r in rows if r.created_at is not None]
    if before is not None:
        times.append(before.newest)
    if not times:
        return None
    cut = max(times) - _SLACK
    recent = {r.id for r in rows if r.created_at is None or r.created_at >= cut}
    return Edge(max(times), frozenset(recent))


def listed_since(api: OpnFormAPI, form_id: int, since: datetime | None) -> Iterator[Listed]:
    """The form's submissions created at or after ``since`` (every one, if None)."""
    for row in api.list_submissions(form_id):
        if since is not None and row.created_at is not None and row.created_at < since:
            return  # a page is newest first, and later pages hold only older rows
        yield row


def edge_of_rows(ids: Any, created: Any) -> Edge | None:
    """The edge of exported rows: their ``submission_id`` and ``created_at`` (to the minute)
    as Arrow arrays; None when no row has both."""
    import pyarrow as pa
    import pyarrow.compute as pc

    valid = pc.and_(pc.is_valid(ids), pc.is_valid(created))
    ids, created = ids.filter(valid), created.filter(valid)
    if not len(ids):
        return None
    newest: datetime = pc.max(created).as_py()
    # Every row that may have been created after newest - slack, at the minute's precision.
    cut = pc.greater_equal(created, pa.scalar(newest - _SLACK - _MINUTE, created.type))
    recent = frozenset(int(i) for i in ids.filter(cut).to_pylist())
    return Edge(newest, recent)


def edge_of_export(table: Any) -> Edge | None:
    """The edge of a full export (the typed export as an Arrow table)."""
    ids, created = submission_ids(table), created_column(table)
    return None if ids is None or created is None else edge_of_rows(ids, created)


def edge_of_files(fs: Any, root: str, partitions: Iterable[str]) -> Edge | None:
    """The edge of the dataset's files of a form (for manifests that do not record it)."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    ids, created = [], []
    for relative in partitions:
        with fs.open(f"{root}/{relative}", "rb") as handle:
            table = pq.read_table(handle)
        id_column, time_column = submission_ids(table), created_column(table)
        if id_column is not None and time_column is not None:
            ids.append(id_column.cast(pa.int64()))
            created.append(time_column.cast(pa.timestamp("us", "UTC")))
    if not ids:
        return None
    return edge_of_rows(pa.chunked_array(ids, pa.int64()), pa.chunked_array(created))


def store_edge(record: FormRecord, edge: Edge | None) -> None:
    """Record ``edge`` in the manifest (None: the form has no rows to start from)."""
    if edge is None:
        record.high_water_time, record.recent_ids = None, []
    else:
        edge.store(record)


def new_submissions(
    api: OpnFormAPI, fs: Any, root: str, record: FormRecord
) -> tuple[list[int], Edge | None]:
    """The ids an incremental run exports for ``record``'s form, and the edge after it."""
    edge = Edge.of_record(record)
    if edge is None and record.partitions:
        edge = edge_of_files(fs, root, record.partitions)  # a manifest of an older version
        if edge is None:
            # Files without created_at: by id, as that version did.
            newer = api.iter_submission_ids(record.form_id, newer_than=record.high_water_mark)
            return list(newer), None
    listed = list(listed_since(api, record.form_id, edge.since if edge else None))
    new = [row.id for row in listed if edge is None or row.id not in edge.recent]
    logger.info("Form %s: %d new submissions", record.form_id, len(new))
    return new, edge_after(edge, listed)

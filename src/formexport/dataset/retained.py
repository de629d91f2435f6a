"""Rows the server no longer has stay in the dataset, unless deletions are mirrored.

Forms can delete their own submissions after a retention period (OpnForm's hourly job), and
owners delete submissions by hand. A dataset built by scheduled runs is then the only archive
of them, so a full export does not simply replace a form's files: the rows of the old files
whose submissions the new export lacks are kept, each old file cut down to them (or left whole
when all its rows are gone upstream), and counted in the manifest. ``mirror_deletions=True``
drops them instead, so the dataset matches the server.
"""

from __future__ import annotations

import logging
import posixpath
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from formexport.dataset.columns import submission_ids
from formexport.dataset.manifest import FormRecord

logger = logging.getLogger("formexport")


@dataclass
class Retained:
    """What a full export keeps of a form's old files."""

    #: Old files kept whole, and files written with the rows cut out of the others.
    partitions: list[str] = field(default_factory=list)
    #: Old files that go (replaced by the new export, or by their cut-down copy).
    replaced: list[str] = field(default_factory=list)
    #: Rows kept (or, when mirroring, dropped) whose submissions the server no longer has.
    rows: int = 0


def retain(
    fs: Any,
    root: str,
    old: Iterable[str],
    current: Any,
    *,
    mirror: bool,
    stamp: str,
) -> Retained:
    """Keep the rows of ``old`` files whose submission ids are not in ``current`` (an Arrow
    array of the new export's ids); with ``mirror``, only count them."""
    import pyarrow.compute as pc
    import pyarrow.parquet as pq

    kept = Retained()
    for relative in old:
        path = f"{root}/{relative}"
        if not fs.exists(path):
            continue
        with fs.open(path, "rb") as handle:
            table = pq.read_table(handle)
        ids = submission_ids(table)
        # Rows whose id could not be read are in the new export as well: they are not "gone".
        gone = None if ids is None else pc.and_(pc.is_valid(ids), pc.invert(pc.is_in(ids, current)))
        count = 0 if gone is None else int(pc.sum(gone).as_py() or 0)
        kept.rows += count
        if mirror or count == 0:
            kept.replaced.append(relative)
        elif count == table.num_rows:
            kept.partitions.append(relative)  # every row is gone upstream: keep the file
        else:
            assert gone is not None
            target = _kept_name(relative, stamp)
            with fs.open(f"{root}/{target}", "wb") as out:
                pq.write_table(table.filter(gone), out)
            kept.partitions.append(target)
            kept.replaced.append(relative)
    return kept


def keep_gone_rows(
    fs: Any, root: str, record: FormRecord, exported: Any, *, mirror: bool, stamp: str
) -> Retained:
    """For a full export (``exported``, an Arrow table) of ``record``'s form: keep the rows of
    its old files that the server no longer has (or drop them, with ``mirror``), record how
    many in the manifest and say so in the log."""
    current = submission_ids(exported)
    if current is None:
        return Retained(replaced=list(record.partitions))
    retained = retain(
        fs, root, record.partitions, current.combine_chunks(), mirror=mirror, stamp=stamp
    )
    record.rows_gone_upstream = 0 if mirror else retained.rows
    record.rows_dropped = retained.rows if mirror else 0
    if retained.rows and mirror:
        logger.info(
            "Form %s: %d rows dropped, as the server no longer has their submissions "
            "(mirror_deletions)",
            record.form_id,
            retained.rows,
        )
    elif retained.rows:
        logger.info(
            "Form %s: %d rows kept whose submissions the server no longer has (deleted, or "
            "past the form's retention period); mirror_deletions=True would drop them",
            record.form_id,
            retained.rows,
        )
    return retained


def _kept_name(relative: str, stamp: str) -> str:
    """``…/part-full-X.parquet`` → ``…/part-full-X-kept-<stamp>.parquet`` (same partition)."""
    folder, name = posixpath.split(relative)
    base = name.removesuffix(".parquet").split("-kept-")[0]
    return posixpath.join(folder, f"{base}-kept-{stamp}.parquet")

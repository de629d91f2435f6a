"""An export run as synchronous batches, where the server hides job status from tokens."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Mapping
from datetime import datetime, timezone
from pathlib import Path

from formexport.jobs.batching import export_in_batches
from formexport.jobs.progress_flow import ExportProgress
from formexport.jobs.strategy import ExportStrategy, ScratchFolder
from formexport.opnform.endpoints import OpnFormAPI
from formexport.opnform.models import ExportStatus
from formexport.opnform.submissions import ExactCollector
from formexport.progress.events import ProgressEvent
from formexport.reading.blocks import Writer
from formexport.transfer.download import atomic_destination


class BatchedExport(ExportStrategy):
    """Submission ids exported 1000 at a time, each batch answered at once, joined into one CSV.

    Nothing runs until :meth:`wait`: a background job the token could not watch is never
    started (see :mod:`formexport.jobs.batching`).

    Parameters
    ----------
    api : OpnFormAPI
        The server.
    form_id : int
        The form.
    columns : dict of str to bool
        The columns requested.
    ids : callable
        Returns the submission ids to export, lazily (listing and exporting interleave).
    total : int
        The number of submissions expected, for progress.
    listed_values : ExactCollector, optional
        Collects every submission's raw values while the ids are listed: exact values at no
        extra request.
    """

    mode = "batched"
    no_job_text = "none (exported in batches of 1000)"

    def __init__(
        self,
        api: OpnFormAPI,
        form_id: int,
        columns: Mapping[str, bool],
        ids: Callable[[], Iterable[int]],
        total: int,
        listed_values: ExactCollector | None = None,
    ) -> None:
        super().__init__(form_id)
        self._api = api
        self._columns = dict(columns)
        self._ids = ids
        self.total = total
        self._listed_values = listed_values

    def wait(
        self, timeout: float | None, progress: ExportProgress, scratch: ScratchFolder
    ) -> ExportStatus:
        """Run the batches (once; again only after the scratch copy was deleted)."""
        if self.data is None:
            self._run(timeout, progress, scratch.path("batched.csv"))
        return super().wait(timeout, progress, scratch)

    def _run(self, timeout: float | None, progress: ExportProgress, path: Path) -> None:
        deadline = None if timeout is None else time.monotonic() + timeout

        def report(rows: int) -> None:
            # The count was taken before the listing: submissions arriving since may be in too.
            expected = None if self.total is None else max(self.total, rows)
            progress.update(ProgressEvent("batches", rows, expected))

        report(0)
        with atomic_destination(path, private=True) as out:
            export_in_batches(
                self._api,
                self.form_id,
                self._columns,
                self._ids(),
                out,
                on_rows=report,
                deadline=deadline,
            )
        self.data = path
        self._exported_at = datetime.now(timezone.utc)
        if self._listed_values is not None:
            self.exact_values = self._listed_values.values()

    def exact_by_default(self, writer: Writer) -> bool:
        # Batches come from the synchronous writer, which loses 0, false and "+". When this
        # export listed the ids itself, the listing brought the exact values along.
        return writer == Writer.ANSWER and self.exact_values is not None

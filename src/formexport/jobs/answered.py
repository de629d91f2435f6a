"""An export the server answered at once, as CSV (up to 1000 submissions)."""

from __future__ import annotations

from datetime import datetime, timezone

from formexport.jobs.strategy import ExportStrategy
from formexport.reading.blocks import Writer


class AnsweredExport(ExportStrategy):
    """The CSV came with the answer to the export request: nothing to wait for or download."""

    mode = "answered"
    no_job_text = "none (the server answered at once)"

    def __init__(self, form_id: int, content: bytes) -> None:
        super().__init__(form_id, content)
        self._exported_at = datetime.now(timezone.utc)

    def exact_by_default(self, writer: Writer) -> bool:
        # The synchronous writer loses 0, false and "+"; its exports are small enough (at most
        # 10 requests) to read exact values from the JSON list by default.
        return writer == Writer.ANSWER

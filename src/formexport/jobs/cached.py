"""A finished export kept on this machine (``cache=True``)."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

from formexport.jobs.strategy import ExportStrategy


class CachedExport(ExportStrategy):
    """The export cache's copy of the same request: read from disk, no request to the server."""

    mode = "cached"
    no_job_text = "none (read from the local cache)"

    def __init__(self, form_id: int, path: Path, stored_at: datetime | None = None) -> None:
        super().__init__(form_id, path)
        self._exported_at = stored_at

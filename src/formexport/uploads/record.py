"""What was saved: one JSON file per form beside its files (``<form id>/_formexport_files.json``).

For each saved file, by its path under the destination: its submission, field, the server's
name, its size and SHA-256. A later run trusts a file the record lists at the size found on the
destination, and downloads every other one again; a record that cannot be read is ignored (the
files it listed are downloaded again), never fatal.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Mapping
from dataclasses import asdict, dataclass
from typing import Any

from formexport import config
from formexport.uploads.destination import Destination
from formexport.uploads.plan import Upload

logger = logging.getLogger("formexport")

RECORD_VERSION = 1


@dataclass(frozen=True)
class SavedFile:
    """One saved file, as ``DataFrame.attrs["files"]`` lists it.

    Attributes
    ----------
    submission_id : int or None
    field_id : str
    name : str
        The name the server stores it under.
    path : str
        Where it was saved, relative to the destination.
    bytes : int
    sha256 : str
    """

    submission_id: int | None
    field_id: str
    name: str
    path: str
    bytes: int
    sha256: str

    @classmethod
    def of(cls, upload: Upload, size: int, sha256: str) -> SavedFile:
        """The record of ``upload``, saved with ``size`` bytes hashing to ``sha256``."""
        return cls(upload.submission_id, upload.field_id, upload.name, upload.path, size, sha256)

    def shown(self, destination: Destination) -> dict[str, Any]:
        """A JSON-ready entry, its path as the cells show it."""
        entry = asdict(self)
        entry["path"] = destination.cell(self.path)
        return entry


class SavedRecord:
    """The record of one form's saved files on a destination."""

    def __init__(self, destination: Destination, form_id: int) -> None:
        self.destination = destination
        self.form_id = form_id
        self.relative = f"{form_id}/{config.UPLOADS_RECORD}"
        self.files: dict[str, SavedFile] = {}
        self._unsaved = 0

    def load(self) -> SavedRecord:
        """Read what an earlier run recorded (nothing, when there is no readable record)."""
        text = self.destination.read_text(self.relative)
        if text is None:
            return self
        try:
            body = json.loads(text)
            self.files = {path: SavedFile(**entry) for path, entry in body["files"].items()}
        except (ValueError, KeyError, TypeError, AttributeError) as exc:
            logger.warning(
                "The record of saved files %s cannot be read (%s); its files are fetched again",
                self.destination.path(self.relative),
                exc,
            )
            self.files = {}
        return self

    def saved(self, upload: Upload, sizes: Mapping[str, int]) -> SavedFile | None:
        """The record of ``upload`` if the destination still holds it whole."""
        entry = self.files.get(upload.path)
        if entry is None or sizes.get(upload.path) != entry.bytes:
            return None
        return entry

    def add(self, saved: SavedFile) -> None:
        """Record a saved file; written out every ``UPLOADS_RECORD_EVERY`` files, or every
        tenth of the record for a large one (each write holds every file: writing it after
        each hundred files of a hundred thousand would write it a thousand times)."""
        self.files[saved.path] = saved
        self._unsaved += 1
        if self._unsaved >= max(config.UPLOADS_RECORD_EVERY, len(self.files) // 10):
            self.flush()

    def flush(self) -> None:
        """Write the record, if files were added since it was last written."""
        if not self._unsaved:
            return
        body = {
            "version": RECORD_VERSION,
            "form_id": self.form_id,
            "files": {path: asdict(entry) for path, entry in sorted(self.files.items())},
        }
        self.destination.write_text(self.relative, json.dumps(body, indent=1))
        self._unsaved = 0

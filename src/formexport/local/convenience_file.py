"""A small versioned JSON file of the private folder that an export can do without.

The job record (:mod:`~formexport.local.job_records`) and the job timings
(:mod:`~formexport.local.job_timings`) only spare work: a file that is damaged, unreadable or of
another version counts as empty, and one that cannot be written is left as it was, each with a
log line, so that neither ever fails an export. Writes go through a temporary file moved into
place (:func:`~formexport.local.folder.private_file`).
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

from formexport.errors import ConfigurationError
from formexport.local import folder

logger = logging.getLogger("formexport")
T = TypeVar("T")


class ConvenienceFile:
    """One such file.

    Parameters
    ----------
    path : Path
        Where it is.
    version : int
        The format it is written in; a file of another version reads as empty.
    what : str
        What it holds, for the log lines (``"job record"``).
    level : int
        The level of those log lines.
    """

    def __init__(self, path: Path, version: int, *, what: str, level: int) -> None:
        self.path = path
        self.version = version
        self._what = what
        self._level = level

    def read(self, parse: Callable[[dict[str, Any]], T], empty: T) -> T:
        """The file's body as ``parse`` makes it, or ``empty`` when there is none to read."""
        try:
            data = json.loads(self.path.read_text(encoding="utf-8"))
            return parse(data) if data.get("version") == self.version else empty
        except FileNotFoundError:
            return empty
        except (OSError, ValueError, KeyError, TypeError, AttributeError) as exc:
            what, path = self._what, self.path
            logger.log(self._level, "Ignoring the unreadable %s %s (%s)", what, path, exc)
            return empty

    def write(self, body: dict[str, Any]) -> None:
        """Replace the file with ``body`` and its version."""
        try:
            with folder.private_file(self.path) as out:
                out.write(json.dumps({"version": self.version, **body}, indent=1).encode())
        except (OSError, ConfigurationError) as exc:
            logger.log(self._level, "Could not update the %s %s (%s)", self._what, self.path, exc)

    def delete(self) -> None:
        """Remove the file, if there is one."""
        self.path.unlink(missing_ok=True)

"""An opt-in cache of finished exports (``cache=True`` / ``max_age=`` on the verbs).

Each entry is the CSV exactly as the server wrote it, named by
:func:`formexport.local.folder.request_key` — server, form, columns and submission ids —
plus a small JSON file written last, which marks the entry complete. Exports hold personal
data: the folder is ``0700``, the files ``0600``, and :func:`clear_cache` (or
``formexport cache clear``) removes them.
"""

from __future__ import annotations

import json
import logging
import os
import time
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any, Protocol

from formexport.errors import InvalidArgumentError
from formexport.local import folder
from formexport.local.job_records import JobRecords

logger = logging.getLogger("formexport")

EXPORTS_DIR = "exports"

MaxAge = float | int | timedelta | None


class FinishedExport(Protocol):
    """What the cache needs of a finished export (an :class:`~formexport.ExportJob` is one)."""

    @property
    def server(self) -> str:
        """The API base URL the export comes from."""

    form_id: int

    def keep(self, path: Path) -> Path:
        """Save the export at ``path`` and read it from there from now on."""


@dataclass(frozen=True)
class CacheEntry:
    """One cached export.

    Attributes
    ----------
    key : str
        The request key.
    path : Path
        The CSV file.
    server, form_id, created :
        Where it came from and when it was stored (Unix seconds).
    size : int
        Bytes.
    """

    key: str
    path: Path
    server: str
    form_id: int
    created: float
    size: int

    @property
    def age(self) -> float:
        """Seconds since the entry was stored."""
        return max(0.0, time.time() - self.created)


def max_age_seconds(max_age: MaxAge) -> float | None:
    """``max_age`` as seconds (``None``: any age).

    Raises
    ------
    InvalidArgumentError
        For a negative or non-numeric value.
    """
    if max_age is None:
        return None
    seconds = max_age.total_seconds() if isinstance(max_age, timedelta) else max_age
    if isinstance(seconds, bool) or not isinstance(seconds, (int, float)) or seconds < 0:
        raise InvalidArgumentError(
            f"max_age={max_age!r} must be a number of seconds or a timedelta, 0 or more."
        )
    return float(seconds)


class ExportCache:
    """Finished exports on disk, one CSV per request key.

    Parameters
    ----------
    root : Path, optional
        The formexport folder; :func:`formexport.local.folder.root_dir` by default.
    """

    def __init__(self, root: Path | None = None) -> None:
        self.folder = (root or folder.root_dir()) / EXPORTS_DIR

    def _paths(self, key: str) -> tuple[Path, Path]:
        return self.folder / f"{key}.csv", self.folder / f"{key}.json"

    def get(self, key: str) -> CacheEntry | None:
        """The complete entry for ``key``, if any."""
        csv_path, meta_path = self._paths(key)
        try:
            meta = json.loads(meta_path.read_text(encoding="utf-8"))
            size = csv_path.stat().st_size
        except (OSError, ValueError):
            return None
        if not isinstance(meta, dict) or meta.get("size") != size:
            return None  # interrupted or tampered with: not served
        return _entry(key, csv_path, meta)

    def lookup(self, key: str, max_age: MaxAge = None) -> CacheEntry | None:
        """The entry for ``key`` if it is younger than ``max_age`` (seconds or timedelta)."""
        limit = max_age_seconds(max_age)
        entry = self.get(key)
        if entry is None or (limit is not None and entry.age > limit):
            return None
        return entry

    def store(self, key: str, job: FinishedExport) -> CacheEntry:
        """Save ``job``'s finished export under ``key``; the job reads it from there after."""
        csv_path, meta_path = self._paths(key)
        folder.private_dir(self.folder)
        meta_path.unlink(missing_ok=True)  # the old entry stops counting before it is replaced
        job.keep(csv_path)
        os.chmod(csv_path, folder.FILE_MODE)
        meta = {
            "server": job.server,
            "form_id": job.form_id,
            "created": time.time(),
            "size": csv_path.stat().st_size,
        }
        with folder.private_file(meta_path) as out:
            out.write(json.dumps(meta).encode())
        logger.info("Cached the export of form %s (%d bytes)", job.form_id, meta["size"])
        return _entry(key, csv_path, meta)

    def entries(self) -> list[CacheEntry]:
        """Every complete entry, newest first."""
        if not self.folder.is_dir():
            return []
        found = (self.get(p.stem) for p in self.folder.glob("*.json"))
        return sorted((e for e in found if e is not None), key=lambda e: -e.created)

    def clear(self) -> int:
        """Delete every cached export (complete or not); return how many files were removed."""
        if not self.folder.is_dir():
            return 0
        removed = 0
        for path in self.folder.iterdir():
            if path.is_file():
                path.unlink(missing_ok=True)
                removed += 1
        return removed


def _entry(key: str, path: Path, meta: dict[str, Any]) -> CacheEntry:
    return CacheEntry(
        key=key,
        path=path,
        server=str(meta.get("server", "")),
        form_id=int(meta.get("form_id", 0)),
        created=float(meta.get("created", 0.0)),
        size=int(meta.get("size", 0)),
    )


def cache_dir() -> Path:
    """The folder formexport keeps cached exports and its job record in.

    ``FORMEXPORT_CACHE_DIR`` when set, else the user cache directory (on Linux
    ``~/.cache/formexport``, on macOS ``~/Library/Caches/formexport``).
    """
    return folder.root_dir()


def clear_cache() -> int:
    """Delete every cached export and the record of recent jobs from this machine.

    Cached exports hold your respondents' personal data; clear them when you no longer need
    them (``formexport cache clear`` does the same from a shell).

    Returns
    -------
    int
        The number of cached files and recorded jobs removed.

    Examples
    --------
    >>> import formexport as fx
    >>> df = fx.load_export(1, cache=True)      # keeps the export on this machine
    >>> fx.clear_cache()                        # the cached CSV and the record of its request
    2
    """
    root = folder.root_dir()
    return ExportCache(root).clear() + JobRecords(root).clear()

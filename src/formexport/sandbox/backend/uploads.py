"""The storage disk of uploaded files: ``forms/{form}/submissions/{name}``.

Every name a submission holds has a file (its bytes are :func:`upload_bytes`, unless a test
put others), until a test loses it, as a disk that was cleaned or an S3 lifecycle rule would:
the file route then answers 404. Files are written to disk on first use, under a digest of
their name, so that any name (``..``, control characters, 300 bytes) is served from a plain
file with ``Range`` support, as Symfony's ``BinaryFileResponse`` serves OpnForm's.
"""

from __future__ import annotations

import hashlib
import shutil
import threading
from pathlib import Path

from formexport.sandbox.data.uploads import name_key, upload_bytes


class UploadStore:
    """Uploaded files by form and stored name.

    Parameters
    ----------
    folder : Path
        Where the files are written (emptied by :meth:`reset`).
    """

    def __init__(self, folder: Path) -> None:
        self._folder = folder
        self._content: dict[tuple[int, str], bytes] = {}
        self._lost: set[tuple[int, str]] = set()
        self._lock = threading.Lock()

    def content(self, form_id: int, name: str) -> bytes | None:
        """The file's bytes, or None when the disk no longer has it."""
        with self._lock:
            key = (form_id, name)
            if key in self._lost:
                return None
            stored = self._content.get(key)
        return stored if stored is not None else upload_bytes(form_id, name)

    def put(self, form_id: int, name: str, content: bytes) -> None:
        """Store ``content`` under ``name`` (found again if it was lost)."""
        with self._lock:
            self._content[(form_id, name)] = bytes(content)
            self._lost.discard((form_id, name))
        self._path(form_id, name).unlink(missing_ok=True)

    def lose(self, form_id: int, name: str) -> None:
        """The disk no longer has the file (the file route answers 404)."""
        with self._lock:
            self._lost.add((form_id, name))
            self._content.pop((form_id, name), None)
        self._path(form_id, name).unlink(missing_ok=True)

    def file(self, form_id: int, name: str) -> Path | None:
        """The file on disk, written on first use; None when it is lost."""
        content = self.content(form_id, name)
        if content is None:
            return None
        path = self._path(form_id, name)
        if not path.is_file() or path.stat().st_size != len(content):
            path.parent.mkdir(parents=True, exist_ok=True)
            partial = path.with_suffix(f".{threading.get_ident()}.tmp")
            partial.write_bytes(content)
            partial.replace(path)
        return path

    def reset(self) -> None:
        """No stored content, nothing lost, no file on disk."""
        with self._lock:
            self._content.clear()
            self._lost.clear()
        shutil.rmtree(self._folder, ignore_errors=True)

    def _path(self, form_id: int, name: str) -> Path:
        return self._folder / str(form_id) / hashlib.sha256(name_key(name)).hexdigest()

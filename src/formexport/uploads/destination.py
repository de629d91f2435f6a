"""Where uploaded files are saved: a local folder or any fsspec URL (``s3://``, ``gs://``, …).

A local destination receives each file by an atomic rename of its finished partial file, kept
beside it (hidden) while it downloads, so that an interrupted run resumes it. A remote one
receives each finished file in one upload; its partial files stay on this machine.
"""

from __future__ import annotations

import hashlib
import os
import tempfile
from dataclasses import dataclass
from os import PathLike
from pathlib import Path
from typing import Any

from formexport.errors import InvalidArgumentError, UploadedFilesError
from formexport.transfer.download import new_file_mode

FilesArg = str | PathLike[str]


@dataclass(frozen=True)
class Destination:
    """A folder for uploaded files.

    Attributes
    ----------
    fs : fsspec.AbstractFileSystem
        The filesystem.
    root : str
        The folder, as ``fs`` names it (an absolute path for a local folder).
    shown : str
        The folder as cells name it: the absolute path, or the URL with its protocol.
    relative : bool
        Cells hold paths relative to the folder (a dataset's, so that it can move) instead of
        full ones.
    """

    fs: Any
    root: str
    shown: str
    relative: bool = False

    @classmethod
    def of(
        cls,
        target: FilesArg | Destination,
        storage_options: dict[str, Any] | None = None,
        *,
        relative: bool = False,
    ) -> Destination:
        """The destination ``target`` names, checked (a local folder must be writable).

        Raises
        ------
        InvalidArgumentError
            ``target`` is empty or not a path.
        UploadedFilesError
            The URL's fsspec package is missing, or the local folder cannot be written.
        """
        if isinstance(target, Destination):
            return target
        if not isinstance(target, (str, PathLike)) or not os.fspath(target).strip():
            raise InvalidArgumentError(
                f"files={target!r}: name a folder or an fsspec URL to save uploaded files in."
            )
        text = os.fspath(target)
        fs, root = _filesystem(text, storage_options or {})
        root = root.rstrip("/") or "/"
        destination = cls(fs, root, root if _is_local(fs) else fs.unstrip_protocol(root), relative)
        if destination.is_local:
            destination._check_writable(text)
        return destination

    @property
    def is_local(self) -> bool:
        """True for a folder on this machine."""
        return _is_local(self.fs)

    def path(self, relative: str) -> str:
        """``relative`` (``"12/1532/<field>/cv.pdf"``) as the filesystem names it."""
        return f"{self.root}/{relative}"

    def cell(self, relative: str) -> str:
        """What a cell holds for the file at ``relative``."""
        return relative if self.relative else f"{self.shown}/{relative}"

    def sizes(self, folder: str) -> dict[str, int]:
        """The files under ``folder`` (relative) and their sizes, in one listing."""
        try:
            found = self.fs.find(self.path(folder), detail=True)
        except FileNotFoundError:
            return {}
        except OSError as exc:
            raise self._error(f"list {self.path(folder)}", exc) from exc
        prefix = f"{self.root}/"
        return {
            path[len(prefix) :]: int(info.get("size") or 0)
            for path, info in found.items()
            if info.get("type") == "file" and path.startswith(prefix)
        }

    def partial(self, relative: str, staging: Path) -> Path:
        """Where the file at ``relative`` downloads: a hidden file beside it when local (a
        later run resumes it), else in ``staging``."""
        name = f".formexport-{_digest(relative)}.part"  # any name fits: the file's may not
        if self.is_local:
            return Path(self.path(relative)).parent / name
        return staging / name

    def publish(self, partial: Path, relative: str) -> None:
        """Move a finished partial file to ``relative``."""
        target = self.path(relative)
        try:
            if self.is_local:
                # Private while it arrived (half a file helps nobody); saved, it is the user's
                # file and follows the umask like any program's.
                os.chmod(partial, new_file_mode())
                os.replace(partial, target)
            else:
                self.fs.put_file(str(partial), target)
                partial.unlink(missing_ok=True)
        except OSError as exc:
            raise self._error(f"save {target}", exc) from exc

    def prepare(self, relative: str) -> None:
        """Create the local folder ``relative`` goes to (remote stores need none)."""
        if self.is_local:
            try:
                Path(self.path(relative)).parent.mkdir(parents=True, exist_ok=True)
            except OSError as exc:
                raise self._error(f"create the folder of {self.path(relative)}", exc) from exc

    def read_text(self, relative: str) -> str | None:
        """The text file at ``relative``, or None if there is none."""
        try:
            with self.fs.open(self.path(relative), "r", encoding="utf-8") as handle:
                text: str = handle.read()
                return text
        except FileNotFoundError:
            return None
        except OSError as exc:
            raise self._error(f"read {self.path(relative)}", exc) from exc

    def write_text(self, relative: str, text: str) -> None:
        """Write a text file so that readers see the old one or the new one, never half."""
        target = self.path(relative)
        try:
            if self.is_local:
                folder = Path(target).parent
                folder.mkdir(parents=True, exist_ok=True)
                fd, name = tempfile.mkstemp(prefix=".formexport-", suffix=".tmp", dir=folder)
                with os.fdopen(fd, "w", encoding="utf-8") as handle:
                    handle.write(text)
                os.chmod(name, new_file_mode())
                os.replace(name, target)
            else:
                with self.fs.open(target, "w", encoding="utf-8") as handle:
                    handle.write(text)  # one object written whole
        except OSError as exc:
            raise self._error(f"write {target}", exc) from exc

    def _check_writable(self, given: str) -> None:
        folder = Path(self.root)
        try:
            folder.mkdir(parents=True, exist_ok=True)
            with tempfile.TemporaryFile(dir=folder):
                pass
        except OSError as exc:
            if folder.exists() and not folder.is_dir():
                raise UploadedFilesError(
                    f"files={given!r} is a file; name a folder to save uploaded files in."
                ) from exc
            raise self._error(f"write to {folder}", exc) from exc

    def _error(self, what: str, exc: OSError) -> UploadedFilesError:
        reason = exc.strerror or str(exc) or type(exc).__name__
        return UploadedFilesError(
            f"Could not {what} ({reason}). Save uploaded files to a folder you can write to "
            "(for a remote URL: check its credentials and permissions); files already saved "
            "stay, and a new run fetches only the missing ones."
        )


def _filesystem(text: str, options: dict[str, Any]) -> tuple[Any, str]:
    import fsspec

    protocol = text.split("://", 1)[0] if "://" in text else "file"
    try:
        return fsspec.core.url_to_fs(text, **options)  # type: ignore[no-any-return]
    except ImportError as exc:
        raise UploadedFilesError(
            f"Saving uploaded files to {text!r} needs fsspec's package for {protocol}:// "
            f"({exc}). Install it, e.g. pip install s3fs for s3://, gcsfs for gs://, adlfs for "
            "abfs://."
        ) from exc
    except ValueError as exc:
        raise UploadedFilesError(
            f"Cannot save uploaded files to {text!r}: {exc}. Name a local folder or an fsspec "
            "URL such as s3://bucket/folder."
        ) from exc


def _is_local(fs: Any) -> bool:
    from fsspec.implementations.local import LocalFileSystem

    return isinstance(fs, LocalFileSystem)


def _digest(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest()[:24]

"""Fetching a signed export link: streamed, resumed, verified, then moved into place atomically.

What can go wrong on the way, and what happens:

* a cut body (reset, time-out, fewer bytes than announced) resumes with ``Range`` when the host
  answers ``206`` with the right ``Content-Range`` (and, when it sent a strong ``ETag``, the same
  one: ``If-Range`` asks for that), and starts over when it answers ``200``;
* ``429`` answers are waited out as their ``Retry-After`` says, ``5xx`` answers and cuts are
  retried after the retry policy's growing pause (see :mod:`formexport.opnform.retry`);
* a host that announced fewer bytes than it has is caught by asking for the bytes after the end
  (``416`` confirms the end, ``206`` hands over the rest);
* an HTML page (a proxy's login page) is refused, never saved as the export;
* the destination only ever receives a complete file: bytes go to a private (0600) temporary
  file beside it, removed on any failure, and ``os.replace`` moves it into place. The complete
  file gets the mode any program's new file gets (``0666`` less the umask: ``0644`` usually),
  except formexport's own copies (scratch, cache), which stay ``0600``.
"""

from __future__ import annotations

import contextlib
import os
import re
import tempfile
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import BinaryIO

import requests

from formexport import config
from formexport.errors import DownloadError, InvalidArgumentError
from formexport.opnform import http
from formexport.opnform.retry import RetryPolicy
from formexport.transfer.ranges import LinkExpired, ProgressCallback, Transfer
from formexport.transfer.tee import Tee

__all__ = [
    "DownloadResult",
    "LinkExpired",
    "atomic_destination",
    "atomic_path",
    "check_not_expired",
    "download_file",
    "new_file_mode",
    "safe_filename",
    "write_atomically",
]

# A link this close to its expiry is treated as expired: the transfer would not finish in time.
EXPIRY_MARGIN = timedelta(seconds=5)
# Characters no file name from a server may carry: separators, Windows' reserved set, control
# characters, lone surrogates (not encodable), and the controls that reverse text on screen.
_NAME_UNSAFE = re.compile(r'[\x00-\x1f\x7f-\x9f/\\<>:"|?*\ud800-\udfff\u202a-\u202e\u2066-\u2069]')
_MAX_NAME_BYTES = 255
# Device names Windows reserves whatever the extension ("con.txt" opens the console).
_RESERVED_STEMS = frozenset(
    {"con", "prn", "aux", "nul", "conin$", "conout$"}
    | {f"{device}{n}" for device in ("com", "lpt") for n in "0123456789¹²³"}
)
# An extension longer than this is part of the name, not a type to keep when shortening.
_MAX_EXTENSION = 16
_UMASK_LOCK = threading.Lock()


def safe_filename(
    name: str, default: str = "export.csv", *, max_bytes: int = _MAX_NAME_BYTES
) -> str:
    """A file name from a server (a slug, an uploaded file's name) that cannot leave its folder.

    Only the last path component survives; separators, control and reserved characters go,
    and leading or trailing dots and spaces too (so no ``..``, no hidden file). A device name
    Windows reserves (``CON``, ``nul.txt``) gets a ``_`` in front, and a name longer than
    ``max_bytes`` (UTF-8) is shortened, keeping its extension.

    Examples
    --------
    >>> safe_filename("../../etc/passwd")
    'passwd'
    >>> safe_filename("..")
    'export.csv'
    >>> safe_filename("CON.txt"), safe_filename("report" * 60 + ".pdf", max_bytes=20)
    ('_CON.txt', 'reportreportrepo.pdf')
    """
    last = name.replace("\\", "/").rsplit("/", 1)[-1]
    cleaned = _shortened(_NAME_UNSAFE.sub("", last).strip(" ."), max_bytes)
    if cleaned.split(".", 1)[0].rstrip(" ").lower() in _RESERVED_STEMS:
        cleaned = _shortened("_" + cleaned, max_bytes)
    return cleaned or default


def _shortened(name: str, max_bytes: int) -> str:
    """``name`` cut to ``max_bytes`` of UTF-8 (never inside a character), extension kept."""
    if len(name.encode("utf-8")) <= max_bytes:
        return name
    stem, dot, extension = name.rpartition(".")
    kept = f".{extension}" if dot and stem and len(extension) <= _MAX_EXTENSION else ""
    stem = name[: len(name) - len(kept)]
    room = max(max_bytes - len(kept.encode("utf-8")), 0)
    cut = stem.encode("utf-8")[:room].decode("utf-8", "ignore").rstrip(" .")
    return cut + kept if cut else cut


def file_destination(path: str | os.PathLike[str], name_in_folder: str) -> Path:
    """Where a download goes: ``path``, or ``name_in_folder`` inside it when it is a folder."""
    dest = Path(path).expanduser()
    if dest.is_dir():
        dest = dest / name_in_folder
    if dest.name in ("", ".", ".."):
        raise InvalidArgumentError(f"{path!r} is not a file path to write the export to.")
    return dest


@dataclass(frozen=True)
class DownloadResult:
    """What landed on disk."""

    path: Path
    size: int
    sha256: str


def new_file_mode() -> int:
    """The mode a program's new file gets here: ``0666`` less the umask (``0644`` usually)."""
    return 0o666 & ~_umask()


def _umask() -> int:
    try:  # Linux shows it; reading it elsewhere means setting it
        with open("/proc/self/status", encoding="ascii") as status:
            for line in status:
                if line.startswith("Umask:"):
                    return int(line.split()[1], 8)
    except (OSError, ValueError, IndexError):
        pass
    with _UMASK_LOCK:
        # The most private mask meanwhile, should another thread create a file in between.
        mask = os.umask(0o077)
        os.umask(mask)
    return mask


@contextlib.contextmanager
def atomic_destination(
    dest: Path,
    durable: bool = True,
    *,
    private: bool = False,
    check: Callable[[Path], None] | None = None,
) -> Iterator[BinaryIO]:
    """A private temporary file beside ``dest``, moved onto it only if the block succeeds.

    Each writer gets its own temporary name, so two processes writing the same destination
    never mix bytes: the last complete file wins. ``durable`` files are forced to disk before
    the move. ``check`` reads the complete temporary file before the move; whatever it raises
    leaves ``dest`` as it was. The file in place then gets :func:`new_file_mode`, like any
    program's output, or stays ``0600`` when ``private`` (formexport's own copies: scratch,
    cache).
    """
    try:
        dest.parent.mkdir(parents=True, exist_ok=True)
        # mkstemp creates the file 0600 whatever the umask: nobody else can open it while it
        # is written, so nobody holds it open when it becomes readable.
        fd, tmp_name = tempfile.mkstemp(prefix=f".{dest.name}.", suffix=".part", dir=dest.parent)
    except OSError as exc:
        raise _write_error(dest, exc) from exc
    tmp = Path(tmp_name)
    try:
        with os.fdopen(fd, "w+b") as handle:
            yield handle
            handle.flush()
            if durable:
                os.fsync(handle.fileno())
        if check is not None:
            check(tmp)
        if not private:
            # Half a file of personal data is no use to anyone else: the part stays private
            # while written and checked. Complete, it is the user's output, and follows the
            # umask as any program's file does (colleagues in a shared folder open it).
            os.chmod(tmp, new_file_mode())
        os.replace(tmp, dest)
    except OSError as exc:
        tmp.unlink(missing_ok=True)
        if isinstance(exc, requests.RequestException):
            raise  # requests' errors are OSErrors too; they are not about the disk
        raise _write_error(dest, exc) from exc
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


@contextlib.contextmanager
def atomic_path(dest: Path) -> Iterator[Path]:
    """:func:`atomic_destination` for writers that take a path rather than a file (pyreadstat,
    openpyxl): the private temporary file's path, moved onto ``dest`` if the block succeeds."""
    try:
        dest.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp_name = tempfile.mkstemp(prefix=f".{dest.name}.", suffix=".part", dir=dest.parent)
        os.close(fd)
    except OSError as exc:
        raise _write_error(dest, exc) from exc
    tmp = Path(tmp_name)
    try:
        yield tmp
        with open(tmp, "rb+") as written:
            os.fsync(written.fileno())
        os.replace(tmp, dest)
    except OSError as exc:
        tmp.unlink(missing_ok=True)
        raise _write_error(dest, exc) from exc
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


def _write_error(dest: Path, exc: OSError) -> DownloadError:
    return DownloadError(
        f"Could not write {dest}: {exc.strerror or exc}. Choose a destination in a folder you "
        "can write to, with enough free space; nothing was left behind."
    )


def write_atomically(
    dest: Path, chunks: Iterator[bytes] | list[bytes], *, private: bool = False
) -> Path:
    """Write ``chunks`` to ``dest`` through :func:`atomic_destination`."""
    with atomic_destination(dest, private=private) as handle:
        for chunk in chunks:
            handle.write(chunk)
    return dest


def check_not_expired(expires_at: datetime | None, *, now: datetime | None = None) -> None:
    """Raise :class:`LinkExpired` when ``expires_at`` has passed (or nearly)."""
    if expires_at is None:
        return
    current = now or datetime.now(timezone.utc)
    if current + EXPIRY_MARGIN >= expires_at:
        raise LinkExpired(f"The export link expired at {expires_at.isoformat()}.")


def download_file(
    url: str,
    dest: Path,
    *,
    session: requests.Session | None = None,
    expires_at: datetime | None = None,
    on_progress: ProgressCallback = lambda received, total: None,
    chunk_size: int = config.DOWNLOAD_CHUNK_SIZE,
    max_resumes: int = config.DOWNLOAD_RESUMES,
    tee: Tee | None = None,
    retry: RetryPolicy | None = None,
    private: bool = False,
    check: Callable[[Path], None] | None = None,
) -> DownloadResult:
    """Download a signed link to ``dest`` without ever leaving a partial file there.

    Raises
    ------
    LinkExpired
        The link is past ``expires_at`` or the host refused it.
    DownloadError
        The transfer kept failing, or the host's answers do not add up.

    ``tee`` also hands every byte to a reader in another thread while it arrives; the file is
    then a scratch copy, not forced to disk, so the reader sees the end sooner. ``retry``
    decides when to try again and how long to wait (the defaults of :mod:`formexport.config`).
    ``private`` keeps the file ``0600``; ``check`` reads the complete file before it is moved
    to ``dest`` (see :func:`atomic_destination`).
    """
    check_not_expired(expires_at)
    policy = retry if retry is not None else RetryPolicy()
    own_session = session is None
    file_session = session or http.file_session(policy)
    try:
        with atomic_destination(
            Path(dest), durable=tee is None, private=private, check=check
        ) as handle:
            target = tee.wrap(handle) if tee is not None else handle
            transfer = Transfer(url, target, file_session, on_progress, chunk_size, policy)
            transfer.run(max_resumes)
        return DownloadResult(Path(dest), transfer.received, transfer.digest.hexdigest())
    finally:
        if own_session:
            file_session.close()

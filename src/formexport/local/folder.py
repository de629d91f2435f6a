"""formexport's private folder on this machine, and the key that names one export request.

The folder is the user cache directory (``platformdirs``), or ``FORMEXPORT_CACHE_DIR``. It holds
the record of recent export jobs and, when asked for with ``cache=True``, finished exports —
which are personal data: the folders are created ``0700`` and the files ``0600``.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import tempfile
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path
from typing import BinaryIO
from urllib.parse import urlsplit, urlunsplit

from formexport.config import CACHE_DIR_ENV, CONFIG_DIR_ENV
from formexport.errors import ConfigurationError

APP_NAME = "formexport"
DIR_MODE = 0o700
FILE_MODE = 0o600
_DEFAULT_PORTS = {"http": 80, "https": 443}


def root_dir() -> Path:
    """The folder formexport keeps its records and cached exports in (not created here)."""
    configured = os.environ.get(CACHE_DIR_ENV, "").strip()
    if configured:
        return Path(configured).expanduser()
    import platformdirs

    return Path(platformdirs.user_cache_dir(APP_NAME, appauthor=False))


def config_root() -> Path:
    """The folder of what formexport keeps for good: signed-in profiles, the pseudonym key.

    The user config directory (``platformdirs``), or ``FORMEXPORT_CONFIG_DIR``; not created
    here. Unlike the cache folder, nothing in it is ever cleared by formexport.
    """
    configured = os.environ.get(CONFIG_DIR_ENV, "").strip()
    if configured:
        return Path(configured).expanduser()
    import platformdirs

    return Path(platformdirs.user_config_dir(APP_NAME, appauthor=False))


def private_dir(path: Path, *, env: str = CACHE_DIR_ENV) -> Path:
    """Create ``path`` (and missing parents) readable by the owner only; return it.

    ``env`` is the variable that chooses the folder, named when it cannot be used.

    Raises
    ------
    ConfigurationError
        The folder cannot be created or is not a folder.
    """
    try:
        path.mkdir(mode=DIR_MODE, parents=True, exist_ok=True)
        # mkdir's mode is masked by the umask, and an existing folder keeps its mode.
        os.chmod(path, DIR_MODE)
    except OSError as exc:
        raise ConfigurationError(
            f"Cannot use {path} for formexport's files ({exc.strerror}); "
            f"set {env} to a writable folder."
        ) from exc
    return path


@contextlib.contextmanager
def private_file(dest: Path, *, env: str = CACHE_DIR_ENV) -> Iterator[BinaryIO]:
    """Write ``dest`` (mode ``0600``) through a temporary file moved into place on success."""
    private_dir(dest.parent, env=env)
    fd, tmp_name = tempfile.mkstemp(prefix=f".{dest.name}.", suffix=".tmp", dir=dest.parent)
    os.chmod(tmp_name, FILE_MODE)
    try:
        with os.fdopen(fd, "wb") as out:
            yield out
        os.replace(tmp_name, dest)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp_name)
        raise


def canonical_server(base_url: str) -> str:
    """``base_url`` spelled one way: scheme and host in lower case, no default port, no
    trailing slash (the path keeps its case: servers may tell ``/API`` from ``/api``)."""
    parts = urlsplit(base_url.strip())
    scheme = parts.scheme.lower()
    host = (parts.hostname or "").lower()
    if ":" in host:
        host = f"[{host}]"  # an IPv6 address
    port = parts.port
    netloc = host if port is None or port == _DEFAULT_PORTS.get(scheme) else f"{host}:{port}"
    return urlunsplit((scheme, netloc, parts.path.rstrip("/"), "", ""))


def request_key(
    server: str,
    form_id: int,
    columns: Mapping[str, bool],
    submission_ids: Sequence[int] | None,
) -> str:
    """A stable name for one export request: server, form, columns and submission ids.

    Every parameter that changes the file is part of it, so two requests share cached data or
    a recorded job only when they would get the same export; two spellings of one server
    (``HTTPS://Forms.example.com:443/api/`` and ``https://forms.example.com/api``) are one.
    """
    canonical = json.dumps(
        {
            "server": canonical_server(server),
            "form": int(form_id),
            "columns": sorted((str(k), bool(v)) for k, v in columns.items()),
            "ids": None if submission_ids is None else sorted(int(i) for i in submission_ids),
        },
        sort_keys=True,
        separators=(",", ":"),
    )
    return hashlib.sha256(canonical.encode()).hexdigest()[:32]

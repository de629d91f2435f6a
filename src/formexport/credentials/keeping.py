"""Where a profile's token is kept: the system keyring, or a file only the user can read.

The keyring (the ``keyring`` package: macOS Keychain, Windows Credential Locker, the Secret
Service of GNOME or KDE...) is used where one is available, under the service name
``config.KEYRING_SERVICE`` and the user name ``<profile>@<base URL>``. Where none is (a server,
a container, keyring's ``fail`` or ``null`` backend) or it fails, the token goes into
``tokens.json`` of the config folder, mode ``0600`` in a ``0700`` folder, and the profile says
so. Nothing here logs or repeats a token.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import stat
from pathlib import Path
from typing import Any

from formexport import config
from formexport.errors import ConfigurationError
from formexport.local.folder import FILE_MODE, private_file
from formexport.redaction import Secret

logger = logging.getLogger("formexport")

KEYRING = "keyring"
FILE = "file"
TOKENS_FILE = "tokens.json"
# keyring backends that keep nothing: no keyring, for formexport's purpose.
_NO_KEYRING = frozenset({"keyring.backends.fail.Keyring", "keyring.backends.null.Keyring"})


def keyring_user(profile: str, base_url: str) -> str:
    """The keyring entry's user name (profile names cannot hold ``@``)."""
    return f"{profile}@{base_url}"


def system_keyring() -> Any | None:
    """keyring's chosen backend, or None when there is none that keeps passwords."""
    try:
        import keyring

        backend = keyring.get_keyring()
    except Exception as exc:  # a broken keyring set-up: the file serves instead
        logger.debug("No system keyring (%s: %s)", type(exc).__name__, exc)
        return None
    kind = f"{type(backend).__module__}.{type(backend).__qualname__}"
    if kind in _NO_KEYRING or getattr(backend, "backends", None) == []:
        return None
    return backend


def keyring_name(backend: Any) -> str:
    """The backend's own name, e.g. ``SecretService Keyring``."""
    return str(getattr(backend, "name", "") or type(backend).__name__)


def keep_in_keyring(user: str, token: Secret) -> str | None:
    """Store ``token`` in the system keyring; its name, or None when it cannot keep it."""
    backend = system_keyring()
    if backend is None:
        return None
    try:
        backend.set_password(config.KEYRING_SERVICE, user, token.reveal())
        # Some backends accept a password and keep nothing; only a read-back proves it.
        kept = backend.get_password(config.KEYRING_SERVICE, user) == token.reveal()
    except Exception as exc:  # locked, dismissed, no D-Bus...: the file serves instead
        logger.info(
            "The system keyring refused the token (%s); keeping it in a file instead",
            type(exc).__name__,
        )
        return None
    return keyring_name(backend) if kept else None


def read_from_keyring(user: str) -> str | None:
    """The token kept under ``user``, or None when the keyring has none or cannot be read."""
    backend = system_keyring()
    if backend is None:
        return None
    try:
        value = backend.get_password(config.KEYRING_SERVICE, user)
    except Exception as exc:
        logger.info("The system keyring could not be read (%s)", type(exc).__name__)
        return None
    return value if isinstance(value, str) and value else None


def drop_from_keyring(user: str) -> None:
    """Delete the keyring entry, if there is one and the keyring lets us."""
    backend = system_keyring()
    if backend is None:
        return
    with contextlib.suppress(Exception):  # already gone, or the keyring is locked
        backend.delete_password(config.KEYRING_SERVICE, user)


class TokenFile:
    """``tokens.json``: profile name → token, for machines without a keyring."""

    def __init__(self, folder: Path) -> None:
        self.path = folder / TOKENS_FILE

    def read(self, profile: str) -> str | None:
        """The token kept for ``profile``, or None."""
        token = self._load().get(profile)
        return token if isinstance(token, str) and token else None

    def keep(self, profile: str, token: Secret) -> None:
        """Keep ``token`` for ``profile`` (the file is rewritten, mode ``0600``)."""
        tokens = self._load()
        tokens[profile] = token.reveal()
        self._write(tokens)

    def drop(self, profile: str) -> None:
        """Forget ``profile``'s token; the file goes when it holds none."""
        tokens = self._load()
        if tokens.pop(profile, None) is None:
            return
        if tokens:
            self._write(tokens)
        else:
            with contextlib.suppress(FileNotFoundError):
                self.path.unlink()

    def _load(self) -> dict[str, Any]:
        try:
            mode = stat.S_IMODE(self.path.stat().st_mode)
            text = self.path.read_text(encoding="utf-8")
        except FileNotFoundError:
            return {}
        except OSError as exc:
            raise ConfigurationError(
                f"Cannot read {self.path} ({exc.strerror}); set {config.CONFIG_DIR_ENV} to a "
                "folder of your own, or sign in again."
            ) from exc
        if mode & 0o077:
            logger.warning("%s was readable by others; made it yours only (0600)", self.path)
            os.chmod(self.path, FILE_MODE)
        try:
            body = json.loads(text)
        except ValueError:
            body = None
        tokens = body.get("tokens") if isinstance(body, dict) else None
        if not isinstance(tokens, dict):
            raise ConfigurationError(
                f"{self.path} is not formexport's token file; move it away and sign in again."
            )
        return tokens

    def _write(self, tokens: dict[str, Any]) -> None:
        data = json.dumps({"version": 1, "tokens": tokens}, ensure_ascii=False, indent=1)
        with private_file(self.path, env=config.CONFIG_DIR_ENV) as out:
            out.write(data.encode("utf-8"))

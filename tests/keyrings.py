"""Keyring backends for tests, so that no test ever reads or writes the real user's keyring.

``tests/conftest.py`` gives every test a fresh :class:`MemoryKeyring` (and subprocesses
keyring's ``fail`` backend through ``PYTHON_KEYRING_BACKEND``). :class:`FileKeyring` serves
command-line tests in subprocesses, which cannot share a memory one; :class:`BrokenKeyring`
is a keyring that is there but refuses (locked, dismissed, no D-Bus), and
:class:`ForgetfulKeyring` one that accepts passwords and keeps none.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

from keyring.backend import KeyringBackend
from keyring.errors import KeyringLocked, PasswordDeleteError

FILE_ENV = "TEST_KEYRING_FILE"


class MemoryKeyring(KeyringBackend):
    """Passwords in a dict: what a system keyring does, within one process."""

    priority = 1  # type: ignore[assignment]

    def __init__(self) -> None:
        super().__init__()
        self.passwords: dict[tuple[str, str], str] = {}

    def get_password(self, service: str, username: str) -> str | None:
        return self.passwords.get((service, username))

    def set_password(self, service: str, username: str, password: str) -> None:
        self.passwords[(service, username)] = password

    def delete_password(self, service: str, username: str) -> None:
        if self.passwords.pop((service, username), None) is None:
            raise PasswordDeleteError("no such password")


class FileKeyring(MemoryKeyring):
    """A keyring shared by processes: a JSON file named by ``TEST_KEYRING_FILE``."""

    @property
    def _path(self) -> Path:
        return Path(os.environ[FILE_ENV])

    def get_password(self, service: str, username: str) -> str | None:
        self._load()
        return super().get_password(service, username)

    def set_password(self, service: str, username: str, password: str) -> None:
        self._load()
        super().set_password(service, username, password)
        self._save()

    def delete_password(self, service: str, username: str) -> None:
        self._load()
        super().delete_password(service, username)
        self._save()

    def _load(self) -> None:
        text = self._path.read_text() if self._path.exists() else "[]"
        self.passwords = {(s, u): p for s, u, p in json.loads(text)}

    def _save(self) -> None:
        self._path.write_text(json.dumps([[s, u, p] for (s, u), p in self.passwords.items()]))


class ForgetfulKeyring(MemoryKeyring):
    """A keyring that accepts every password and keeps none."""

    def set_password(self, service: str, username: str, password: str) -> None:
        return None


class BrokenKeyring(MemoryKeyring):
    """A keyring that is there but refuses every request, as a locked one does."""

    def get_password(self, service: str, username: str) -> str | None:
        raise KeyringLocked("the keyring is locked")

    def set_password(self, service: str, username: str, password: str) -> None:
        raise KeyringLocked("the keyring is locked")

    def delete_password(self, service: str, username: str) -> None:
        raise KeyringLocked("the keyring is locked")

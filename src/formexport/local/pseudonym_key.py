"""The key that turns answers into pseudonyms: from the environment, or made once and kept.

``FORMEXPORT_PSEUDONYM_KEY`` names it where machines must agree (a team's scheduled runs and
its analysts' notebooks); otherwise a random key is created the first time one is needed, in the
config folder (``pseudonym.key``, readable by the user only), and used from then on. Nothing in
formexport ever deletes it: a new key gives every answer new pseudonyms.
"""

from __future__ import annotations

import hashlib
import os
import secrets
from dataclasses import dataclass, field
from pathlib import Path

from formexport import config
from formexport.errors import ConfigurationError
from formexport.local.folder import config_root, private_file

KEY_FILE = "pseudonym.key"


@dataclass(frozen=True)
class PseudonymKey:
    """A secret key (never shown) and a short id that tells keys apart without revealing them.

    Attributes
    ----------
    key_id : str
        The first 8 hex digits of the key's SHA-256: equal ids, joinable pseudonyms.
    source : str
        Where the key came from: the variable, or the file's path.
    """

    secret: bytes = field(repr=False)
    source: str

    @property
    def key_id(self) -> str:
        return hashlib.sha256(self.secret).hexdigest()[:8]


def pseudonym_key() -> PseudonymKey:
    """The key to use: ``FORMEXPORT_PSEUDONYM_KEY``, else the kept one (created if needed).

    Raises
    ------
    ConfigurationError
        The variable's key is too short to be secret, or the config folder cannot be written.
    """
    given = os.environ.get(config.PSEUDONYM_KEY_ENV, "")
    if given:
        if len(given.strip()) < config.PSEUDONYM_KEY_MIN_LENGTH:
            raise ConfigurationError(
                f"{config.PSEUDONYM_KEY_ENV} is shorter than "
                f"{config.PSEUDONYM_KEY_MIN_LENGTH} characters, so its pseudonyms could be "
                "reversed by guessing the key: use a long random value, e.g. the output of "
                "python -c 'import secrets; print(secrets.token_hex(32))'."
            )
        return PseudonymKey(given.strip().encode("utf-8"), config.PSEUDONYM_KEY_ENV)
    return _kept_key(config_root() / KEY_FILE)


def _kept_key(path: Path) -> PseudonymKey:
    try:
        text = path.read_text(encoding="ascii").strip()
    except FileNotFoundError:
        text = secrets.token_hex(32)
        with private_file(path, env=config.CONFIG_DIR_ENV) as out:
            out.write(text.encode("ascii"))
    except OSError as exc:
        raise ConfigurationError(
            f"Cannot read the pseudonym key {path} ({exc.strerror}); set "
            f"{config.PSEUDONYM_KEY_ENV} or {config.CONFIG_DIR_ENV}."
        ) from exc
    return PseudonymKey(text.encode("ascii"), str(path))

"""``profiles.json``: what each sign-in is (server, user, where its token is kept), never a token.

The file lives in the user config folder (``platformdirs``), or ``FORMEXPORT_CONFIG_DIR``:
``0700`` folder, ``0600`` file, rewritten whole through a temporary file. The tokens themselves
are kept by :mod:`formexport.credentials.keeping`.
"""

from __future__ import annotations

import json
import threading
from dataclasses import asdict, dataclass, fields
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from formexport import config
from formexport.credentials import keeping
from formexport.errors import ConfigurationError
from formexport.local.folder import config_root, private_file
from formexport.redaction import Secret

FILE_NAME = "profiles.json"
FORMAT_VERSION = 1
# Threads of one process sign in and out in turn, so that no profile is lost to a rewrite.
_LOCK = threading.RLock()


def config_dir() -> Path:
    """The folder of the signed-in profiles (not created here)."""
    return config_root()


@dataclass(frozen=True)
class Profile:
    """One sign-in.

    Attributes
    ----------
    name : str
        The profile's name.
    base_url : str
        The server its token was checked on, and the only one it is sent to.
    user_name, email : str
        The token's user, as the server told at sign-in.
    kept_in : {"keyring", "file"}
        Where the token is kept.
    keyring : str
        The keyring's name, when kept in one.
    insecure_http : bool
        Plain ``http`` to a host that is not loopback was allowed at sign-in.
    signed_in_at : str
        When (ISO 8601, UTC).
    """

    name: str
    base_url: str
    user_name: str
    email: str
    kept_in: str
    keyring: str = ""
    insecure_http: bool = False
    signed_in_at: str = ""

    @property
    def keyring_user(self) -> str:
        """The user name of its keyring entry."""
        return keeping.keyring_user(self.name, self.base_url)

    def where(self, folder: Path) -> str:
        """Where the token is kept, in words."""
        if self.kept_in == keeping.KEYRING:
            return f"the system keyring ({self.keyring})"
        return (
            f"the file {folder / keeping.TOKENS_FILE}, readable by you only (no system keyring "
            "on this machine)"
        )

    @classmethod
    def from_json(cls, name: str, item: Any) -> Profile | None:
        """The profile stored as ``item``, or None when it is not one."""
        if not isinstance(item, dict):
            return None
        known = {f.name for f in fields(cls)} - {"name"}
        values = {key: value for key, value in item.items() if key in known}
        try:
            profile = cls(name=name, **values)
        except TypeError:
            return None
        return profile if profile.base_url and profile.kept_in else None


class ProfileStore:
    """The signed-in profiles of this user, and their tokens.

    Parameters
    ----------
    folder : path, optional
        Default :func:`config_dir`.
    """

    def __init__(self, folder: Path | None = None) -> None:
        self.folder = folder if folder is not None else config_dir()
        self.path = self.folder / FILE_NAME
        self.tokens = keeping.TokenFile(self.folder)

    def __repr__(self) -> str:
        return f"ProfileStore({str(self.folder)!r})"

    def get(self, name: str) -> Profile | None:
        """The profile called ``name``, or None when it is not signed in."""
        return Profile.from_json(name, self._load().get(name))

    def names(self) -> list[str]:
        """The signed-in profiles, sorted."""
        return sorted(self._load())

    def sign_in(
        self,
        name: str,
        base_url: str,
        token: Secret,
        user: tuple[str, str],
        *,
        insecure_http: bool = False,
    ) -> Profile:
        """Keep ``token`` for profile ``name`` (replacing its previous sign-in); the profile."""
        with _LOCK:
            previous = self.get(name)
            user_key = keeping.keyring_user(name, base_url)
            if previous is not None and previous.keyring_user != user_key:
                keeping.drop_from_keyring(previous.keyring_user)
            keyring = keeping.keep_in_keyring(user_key, token)
            if keyring is None:
                self.tokens.keep(name, token)
            else:
                self.tokens.drop(name)
            profile = Profile(
                name=name,
                base_url=base_url,
                user_name=user[0],
                email=user[1],
                kept_in=keeping.FILE if keyring is None else keeping.KEYRING,
                keyring=keyring or "",
                insecure_http=insecure_http,
                signed_in_at=datetime.now(timezone.utc).isoformat(timespec="seconds"),
            )
            profiles = self._load()
            profiles[name] = {k: v for k, v in asdict(profile).items() if k != "name"}
            self._write(profiles)
            return profile

    def token_of(self, profile: Profile) -> Secret:
        """The token of ``profile``.

        Raises
        ------
        ConfigurationError
            The keyring or the file no longer has it (cleared, another machine's folder).
        """
        if profile.kept_in == keeping.KEYRING:
            token = keeping.read_from_keyring(profile.keyring_user)
        else:
            token = self.tokens.read(profile.name)
        if token is None:
            raise ConfigurationError(
                f"Profile {profile.name!r} is signed in, but {profile.where(self.folder)} no "
                f"longer holds its token. Sign in again with {config.login_command(profile.name)}."
            )
        return Secret(token)

    def sign_out(self, name: str) -> Profile | None:
        """Forget profile ``name`` and its token; the profile it was, or None."""
        with _LOCK:
            profiles = self._load()
            profile = Profile.from_json(name, profiles.pop(name, None))
            if profile is not None:
                if profile.kept_in == keeping.KEYRING:
                    keeping.drop_from_keyring(profile.keyring_user)
                self._write(profiles)
            self.tokens.drop(name)
            return profile

    def _load(self) -> dict[str, Any]:
        try:
            body = json.loads(self.path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            return {}
        except OSError as exc:
            raise ConfigurationError(
                f"Cannot read {self.path} ({exc.strerror}); set {config.CONFIG_DIR_ENV} to a "
                "folder of your own."
            ) from exc
        except ValueError:
            body = None
        profiles = body.get("profiles") if isinstance(body, dict) else None
        if not isinstance(profiles, dict):
            raise ConfigurationError(
                f"{self.path} is not formexport's list of profiles; move it away and sign in again."
            )
        return profiles

    def _write(self, profiles: dict[str, Any]) -> None:
        data = {"version": FORMAT_VERSION, "profiles": profiles}
        text = json.dumps(data, ensure_ascii=False, indent=1, sort_keys=True)
        with private_file(self.path, env=config.CONFIG_DIR_ENV) as out:
            out.write(text.encode("utf-8"))

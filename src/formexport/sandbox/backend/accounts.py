"""Users, workspaces and Sanctum personal access tokens.

A token reads ``<id>|<secret>``; the secret is 40 random alphanumerics plus their CRC32B
in hex, as Sanctum 4 builds it. Sanctum also accepts the secret alone. Abilities are
checked by the policies (a missing one gives 403), not by middleware.
"""

from __future__ import annotations

import secrets
import string
import zlib
from dataclasses import dataclass, field

ABILITIES = (
    "forms-read",
    "forms-write",
    "workspaces-read",
    "workspaces-write",
    "workspace-users-read",
    "workspace-users-write",
    "manage-integrations",
)
_ALPHANUMERIC = string.ascii_letters + string.digits


def new_secret() -> str:
    """40 random alphanumerics followed by their CRC32B (48 characters)."""
    entropy = "".join(secrets.choice(_ALPHANUMERIC) for _ in range(40))
    return entropy + f"{zlib.crc32(entropy.encode()):08x}"


@dataclass
class User:
    """An account."""

    id: int
    name: str
    email: str


@dataclass
class Workspace:
    """A workspace and its members (user id → role)."""

    id: int
    name: str
    icon: str
    created_at: float
    members: dict[int, str] = field(default_factory=dict)


@dataclass
class Token:
    """A personal access token."""

    id: int
    user_id: int
    secret: str
    abilities: frozenset[str]

    @property
    def plain(self) -> str:
        """The ``<id>|<secret>`` text a client sends."""
        return f"{self.id}|{self.secret}"

    def can(self, *abilities: str) -> bool:
        """Whether the token holds any of ``abilities``."""
        return any(a in self.abilities for a in abilities)


class Accounts:
    """Users, workspaces and tokens; the caller holds the state lock."""

    def __init__(self) -> None:
        self.users: dict[int, User] = {}
        self.workspaces: dict[int, Workspace] = {}
        self._tokens: dict[int, Token] = {}

    def add_user(self, user_id: int, name: str, email: str) -> User:
        """Create (or replace) a user."""
        user = User(user_id, name, email)
        self.users[user_id] = user
        return user

    def ensure_user(self, user_id: int) -> User:
        """The user with this id, created without any workspace if unknown."""
        return self.users.get(user_id) or self.add_user(
            user_id, f"User {user_id}", f"user{user_id}@example.com"
        )

    def add_workspace(self, workspace: Workspace) -> None:
        """Create (or replace) a workspace."""
        self.workspaces[workspace.id] = workspace

    def issue(self, user_id: int, abilities: list[str], secret: str | None = None) -> Token:
        """A new token for ``user_id``; unknown abilities raise ``ValueError``."""
        unknown = sorted(set(abilities) - set(ABILITIES))
        if unknown:
            raise ValueError(f"unknown abilities {unknown}; choose from {list(ABILITIES)}")
        self.ensure_user(user_id)
        token = Token(
            id=max(self._tokens, default=0) + 1,
            user_id=user_id,
            secret=secret or new_secret(),
            abilities=frozenset(abilities),
        )
        self._tokens[token.id] = token
        return token

    def revoke(self, plain: str) -> bool:
        """Delete a token; True if it existed."""
        token = self.find(plain)
        if token is None:
            return False
        del self._tokens[token.id]
        return True

    def find(self, plain: str) -> Token | None:
        """``PersonalAccessToken::findToken``: ``id|secret``, or the secret alone."""
        if "|" not in plain:
            return next((t for t in self._tokens.values() if t.secret == plain), None)
        token_id, _, secret = plain.partition("|")
        token = self._tokens.get(int(token_id)) if token_id.isdigit() else None
        if token is None or not secrets.compare_digest(token.secret, secret):
            return None
        return token

    def authenticate(self, authorization: str | None) -> Token | None:
        """The token named by an ``Authorization`` header, like ``Request::bearerToken``."""
        if not authorization:
            return None
        position = authorization.rfind("Bearer ")
        if position < 0:
            return None
        plain = authorization[position + 7 :].split(",", 1)[0]
        return self.find(plain) if plain else None

    def is_member(self, user_id: int, workspace_id: int) -> bool:
        """Whether a user belongs to a workspace (any role)."""
        workspace = self.workspaces.get(workspace_id)
        return workspace is not None and user_id in workspace.members

    def workspaces_of(self, user_id: int) -> list[Workspace]:
        """The workspaces a user belongs to, by id."""
        return [w for _, w in sorted(self.workspaces.items()) if user_id in w.members]

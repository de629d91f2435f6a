"""What an API handler works with: the request, the backend, route parameters, the token.

It also holds the two steps handlers share: route-model binding (404 with Laravel's
``ModelNotFoundException`` text) and policies (403 "This action is unauthorized.").
"""

from __future__ import annotations

from dataclasses import dataclass

from formexport.sandbox.backend.accounts import Token, Workspace
from formexport.sandbox.backend.settings import SandboxConfig
from formexport.sandbox.backend.state import Backend
from formexport.sandbox.data.catalog import Form
from formexport.sandbox.platform.profiles import Profile
from formexport.sandbox.platform.wire import Request, abort

FORM_MODEL = "App\\Models\\Forms\\Form"
WORKSPACE_MODEL = "App\\Models\\Workspace"
UNAUTHORIZED = "This action is unauthorized."


def not_found_model(model: str, ref: str | None) -> str:
    """``ModelNotFoundException`` message: ``… [Model] 999``, or ``… [Model].`` for a slug."""
    return f"No query results for model [{model}]" + (f" {ref}" if ref is not None else ".")


@dataclass
class Context:
    """One API request on its way through the handlers."""

    req: Request
    backend: Backend
    params: dict[str, str]
    token: Token | None

    @property
    def config(self) -> SandboxConfig:
        """Live settings."""
        return self.backend.config

    @property
    def profile(self) -> Profile:
        """Version switches."""
        return self.backend.profile

    @property
    def user_id(self) -> int:
        """The authenticated user (handlers of authenticated routes only)."""
        if self.token is None:
            raise RuntimeError("route is not authenticated")
        return self.token.user_id

    def now(self) -> float:
        """Sandbox time."""
        return self.backend.now()

    def bind_form(self) -> Form:
        """``{form}``: numeric id (``findOrFail``) or slug; 404 when missing."""
        ref = self.params["form"]
        form = self.backend.catalog.find(ref)
        if form is None:
            numeric = ref.isascii() and ref.isdigit()
            raise abort(404, not_found_model(FORM_MODEL, ref if numeric else None))
        return form

    def bind_workspace(self) -> Workspace:
        """``{workspaceId}`` looked up with ``findOrFail``."""
        ref = self.params["workspace"]
        workspace = self.backend.accounts.workspaces.get(int(ref)) if ref.isdigit() else None
        if workspace is None:
            raise abort(404, not_found_model(WORKSPACE_MODEL, ref))
        return workspace

    def authorize(self, allowed: bool) -> None:
        """A policy outcome: 403 when refused."""
        if not allowed:
            raise abort(403, UNAUTHORIZED)

    def member_of(self, workspace_id: int) -> bool:
        """Whether the user belongs to a workspace."""
        return self.backend.accounts.is_member(self.user_id, workspace_id)

    def can(self, *abilities: str) -> bool:
        """Whether the token holds one of ``abilities``."""
        return self.token is not None and self.token.can(*abilities)

    def authorize_view(self, form: Form) -> None:
        """``FormPolicy::view``: forms-read or manage-integrations, plus membership."""
        self.authorize(
            self.can("forms-read", "manage-integrations") and self.member_of(form.workspace_id)
        )

    def authorize_read(self, form: Form) -> None:
        """Listing submissions: forms-read plus membership."""
        self.authorize(self.can("forms-read") and self.member_of(form.workspace_id))

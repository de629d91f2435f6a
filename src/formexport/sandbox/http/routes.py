"""The API host's route table (Laravel ``routes/api.php``, without the ``/api`` prefix).

Each route carries what the middleware stack needs: the fault kind, the authentication
(``auth.multi`` with the token whitelist, plain ``auth:sanctum``, or none), the limiter,
and whether personal access tokens may call it. Matching follows Laravel: the first route
whose method and path match wins; a path matched only under other methods gives 405.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Literal

from formexport.sandbox.backend.settings import SandboxConfig

Auth = Literal["pat", "sanctum", "none"]
_FORM = r"/open/forms/(?P<form>[^/]+)"


@dataclass(frozen=True)
class Route:
    """One route and its middleware."""

    name: str
    method: str
    pattern: re.Pattern[str]
    kind: str
    handler: str
    auth: Auth = "pat"
    limiter: str | None = "api"
    whitelisted: bool = True

    def available(self, config: SandboxConfig) -> bool:
        """Whether the route exists on the configured server."""
        profile = config.profile
        if self.name == "docs.export.status":
            return config.docs_status_route
        if self.name.startswith("open.forms.submissions.export.status"):
            return profile.async_export
        if self.name == "open.forms.submissions.show":
            return profile.single_submission_route
        return True

    def pat_allowed(self, config: SandboxConfig) -> bool:
        """Whether the token whitelist lets personal access tokens through."""
        if self.kind == "status":
            return config.status_access == "open"
        return self.whitelisted


def _route(
    name: str,
    method: str,
    path: str,
    kind: str,
    handler: str,
    *,
    auth: Auth = "pat",
    limiter: str | None = "api",
    whitelisted: bool = True,
) -> Route:
    return Route(name, method, re.compile(f"^{path}$"), kind, handler, auth, limiter, whitelisted)


ROUTES = (
    _route("open.workspaces.index", "GET", "/open/workspaces", "workspaces", "list_workspaces"),
    _route(
        "open.workspaces.forms.index",
        "GET",
        r"/open/workspaces/(?P<workspace>[^/]+)/forms",
        "forms",
        "workspace_forms",
    ),
    _route("open.forms.index-all", "GET", "/open/forms", "forms", "all_forms"),
    _route("open.forms.show", "GET", _FORM, "form", "show_form"),
    _route("open.forms.submissions", "GET", f"{_FORM}/submissions", "submissions", "submissions"),
    _route(
        "open.forms.submissions.export",
        "POST",
        f"{_FORM}/submissions/export",
        "export",
        "export",
        limiter="export",
    ),
    _route(
        "open.forms.submissions.export.status",
        "GET",
        f"{_FORM}/submissions/export/status/(?P<job>[^/]+)",
        "status",
        "export_status",
        limiter="export-status",
        whitelisted=False,
    ),
    _route(
        "docs.export.status",
        "GET",
        f"{_FORM}/submissions/export/(?P<job>[^/]+)/status",
        "status",
        "export_status",
        limiter="export-status",
        whitelisted=False,
    ),
    _route(
        "open.forms.submissions.file",
        "GET",
        f"{_FORM}/submissions/file/(?P<filename>[^/]+)",
        "file",
        "file_link",
        auth="none",
    ),
    _route(
        "open.forms.submissions.show",
        "GET",
        f"{_FORM}/submissions/(?P<submission>[^/]+)",
        "other",
        "blocked",
        whitelisted=False,
    ),
    _route("local.temp", "GET", "/local/temp/(?P<path>.+)", "download", "local_temp", auth="none"),
    _route(
        "zapier.validate",
        "GET",
        "/external/zapier/validate",
        "validate",
        "zapier_validate",
        auth="sanctum",
        limiter="zapier",
    ),
    _route(
        "healthcheck",
        "GET",
        "/healthcheck",
        "healthcheck",
        "healthcheck",
        auth="none",
        limiter=None,
    ),
    _route("user.current", "GET", "/user", "other", "blocked", whitelisted=False),
    _route("open.providers", "GET", "/open/providers", "other", "blocked", whitelisted=False),
)


@dataclass(frozen=True)
class Match:
    """A matched route and its path parameters."""

    route: Route
    params: dict[str, str]


@dataclass(frozen=True)
class MethodNotAllowed:
    """The path exists under other methods only."""

    allowed: tuple[str, ...]


def resolve(method: str, path: str, config: SandboxConfig) -> Match | MethodNotAllowed | None:
    """The route for a request (``HEAD`` matches ``GET`` routes); None if no path matches."""
    wanted = "GET" if method == "HEAD" else method
    trimmed = path.rstrip("/") or "/"
    others: list[str] = []
    for route in ROUTES:
        if not route.available(config):
            continue
        match = route.pattern.match(trimmed)
        if match is None:
            continue
        if route.method == wanted:
            return Match(route, match.groupdict())
        others.append(route.method)
    if not others:
        return None
    allowed = tuple(dict.fromkeys(m for o in others for m in ((o, "HEAD") if o == "GET" else (o,))))
    return MethodNotAllowed(allowed)

"""The API host: Laravel's middleware order around the handlers.

Route matching (unknown path → 404 "The route … could not be found.", before any auth)
→ authentication (401) → token whitelist (404 ``{"message": ""}``) → throttle (429, and
``X-RateLimit-*`` on everything after it) → the handler (binding 404, validation 422,
policy 403). Requests under ``/_sandbox/`` go to the control API instead.
"""

from __future__ import annotations

from collections.abc import Callable

from formexport.sandbox.backend.accounts import Token
from formexport.sandbox.backend.state import Backend
from formexport.sandbox.http import export_handlers, file_route, handlers
from formexport.sandbox.http.context import Context
from formexport.sandbox.http.routes import Match, MethodNotAllowed, Route, resolve
from formexport.sandbox.platform.wire import HttpError, Request, Response, abort, json_response

Handler = Callable[[Context], Response]

HANDLERS: dict[str, Handler] = {
    "list_workspaces": handlers.list_workspaces,
    "workspace_forms": handlers.workspace_forms,
    "all_forms": handlers.all_forms,
    "show_form": handlers.show_form,
    "submissions": handlers.submissions,
    "zapier_validate": handlers.zapier_validate,
    "healthcheck": handlers.healthcheck,
    "blocked": handlers.blocked,
    "export": export_handlers.export,
    "export_status": export_handlers.export_status,
    "local_temp": export_handlers.local_temp,
    "file_link": file_route.file_link,
}
CONTROL_PREFIX = "/_sandbox/"


class ApiApp:
    """Answers requests on the API host.

    Parameters
    ----------
    backend : Backend
        The shared state.
    control : callable
        Handles ``/_sandbox/`` requests (the control API).
    """

    def __init__(self, backend: Backend, control: Callable[[Request], Response]) -> None:
        self.backend = backend
        self._control = control

    def is_internal(self, req: Request) -> bool:
        """Control requests are neither logged nor subject to faults."""
        return req.route_path.startswith(CONTROL_PREFIX)

    def classify(self, req: Request) -> str | None:
        """The fault kind of a request's route (None for unknown routes)."""
        with self.backend.lock:
            resolved = resolve(req.method, req.route_path, self.backend.config)
        return resolved.route.kind if isinstance(resolved, Match) else None

    def handle(self, req: Request) -> Response:
        """Run a request through the middleware stack and its handler."""
        if self.is_internal(req):
            return self._control(req)
        with self.backend.lock:
            try:
                return self._dispatch(req)
            except HttpError as error:
                return error.response

    def _dispatch(self, req: Request) -> Response:
        shown = req.route_path.strip("/") or "/"
        resolved = resolve(req.method, req.route_path, self.backend.config)
        if resolved is None:
            raise abort(404, f"The route {shown} could not be found.")
        if isinstance(resolved, MethodNotAllowed):
            allowed = ", ".join(resolved.allowed)
            error = abort(
                405,
                f"The {req.method} method is not supported for route {shown}. "
                f"Supported methods: {allowed}.",
            )
            error.response.headers.append(("Allow", allowed))
            raise error
        route = resolved.route
        token = self._authenticate(req, route)
        throttle = self._throttle(req, route, token)
        context = Context(req, self.backend, resolved.params, token)
        try:
            response = HANDLERS[route.handler](context)
        except HttpError as error:
            response = error.response
        response.headers.extend(throttle)
        return response

    def _authenticate(self, req: Request, route: Route) -> Token | None:
        if route.auth == "none":
            return None
        token = self.backend.accounts.authenticate(req.headers.get("Authorization"))
        if token is None:
            raise HttpError(json_response(401, {"message": "Unauthenticated."}))
        if route.auth == "pat" and not route.pat_allowed(self.backend.config):
            # AuthenticateWithJwtOrSanctum hides routes outside the whitelist.
            raise abort(404, "")
        return token

    def _throttle(
        self, req: Request, route: Route, token: Token | None
    ) -> tuple[tuple[str, str], ...]:
        config = self.backend.config
        if not config.rate_limits or route.limiter is None:
            return ()
        limiter = route.limiter
        if limiter in ("export", "export-status") and not config.profile.split_limiters:
            limiter = "api"  # before v2.0.0 one 100/min bucket covers every route
        key = f"user:{token.user_id}" if token else f"ip:{req.client_ip}"
        verdict = self.backend.limiter.hit(
            limiter, key, window=config.rate_window_seconds, now=self.backend.now()
        )
        if not verdict.allowed:
            raise HttpError(
                json_response(
                    429, {"message": "Too Many Attempts."}, pretty=True, headers=verdict.headers
                )
            )
        return verdict.headers

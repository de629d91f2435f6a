"""Which forms a token can read: ids, slugs and titles to pass to the export verbs."""

from __future__ import annotations

import logging
from collections.abc import Mapping
from datetime import datetime
from typing import TYPE_CHECKING, Any

from formexport.client import Client
from formexport.errors import InvalidArgumentError, PermissionDeniedError
from formexport.opnform.models import FormSummary

if TYPE_CHECKING:
    import pandas as pd

logger = logging.getLogger("formexport")

WorkspaceRef = int | str
COLUMNS = ("id", "slug", "title", "workspace_id", "workspace", "submissions_count", "updated_at")
_DTYPES = {
    "id": "Int64",
    "slug": "string",
    "title": "string",
    "workspace_id": "Int64",
    "workspace": "string",
    "submissions_count": "Int64",
}


def list_forms(
    workspace: WorkspaceRef | None = None,
    *,
    token: str | None = None,
    base_url: str | None = None,
    profile: str | None = None,
) -> pd.DataFrame:
    """The forms the token can read, one row each: what to pass to :func:`load_export`.

    Parameters
    ----------
    workspace : int or str, optional
        Only this workspace's forms: its id, or its name. ``None`` lists every workspace the
        token's user belongs to.
    token : str, optional
        Personal access token with ``forms-read``; defaults to ``OPNFORM_API_TOKEN``, then to
        the signed-in ``profile``. With ``workspaces-read`` as well, workspace names are filled
        in and can be used here.
    base_url, profile : str, optional
        As for :func:`load_export`.

    Returns
    -------
    pandas.DataFrame
        ``id``, ``slug``, ``title``, ``workspace_id``, ``workspace`` (its name, missing when
        the token may not list workspaces), ``submissions_count`` (completed submissions) and
        ``updated_at`` (the form's last change, UTC); by workspace, most recently updated first.

    Raises
    ------
    PermissionDeniedError
        The token lacks ``forms-read``, or a workspace was named but the token may not list
        workspaces (``workspaces-read``): pass its id instead.
    InvalidArgumentError
        No workspace (or more than one) has that name.

    Examples
    --------
    >>> import formexport as fx
    >>> forms = fx.list_forms()
    >>> forms[["id", "title", "workspace"]]
       id               title       workspace
    0   3        Empty survey  Demo workspace
    1   2  Event registration  Demo workspace
    2   1   Customer feedback  Demo workspace
    """
    import pandas as pd

    with Client(token, base_url, profile=profile) as client:
        rows = form_rows(client, workspace)
    frame: pd.DataFrame = pd.DataFrame(rows, columns=list(COLUMNS)).astype(_DTYPES)
    frame["updated_at"] = pd.to_datetime(frame["updated_at"], utc=True)
    return frame


def form_rows(client: Client, workspace: WorkspaceRef | None = None) -> list[dict[str, Any]]:
    """The rows of :func:`list_forms` as plain dicts (``updated_at`` a datetime or None)."""
    names, denied = _workspace_names(client)
    if workspace is not None:
        workspace_id = _workspace_id(workspace, names, denied)
        forms = client.api.list_workspace_forms(workspace_id)
    elif names is not None:
        forms = [form for wid in names for form in client.api.list_workspace_forms(wid)]
    else:
        # Without workspaces-read, the deprecated index is the one list a token may read.
        forms = client.api.list_all_forms()
    order = {wid: position for position, wid in enumerate(names or {})}
    forms = sorted(forms, key=_newest_first)
    forms.sort(key=lambda form: order.get(form.workspace_id or 0, len(order)))
    return [_row(form, names or {}) for form in forms]


def _newest_first(form: FormSummary) -> float:
    return -(form.updated_at.timestamp() if form.updated_at else 0.0)


def _row(form: FormSummary, names: Mapping[int, str]) -> dict[str, Any]:
    updated: datetime | None = form.updated_at
    return {
        "id": form.id,
        "slug": form.slug,
        "title": form.title,
        "workspace_id": form.workspace_id,
        "workspace": names.get(form.workspace_id or 0),
        "submissions_count": form.submissions_count,
        "updated_at": updated,
    }


def _workspace_names(
    client: Client,
) -> tuple[dict[int, str] | None, PermissionDeniedError | None]:
    """Workspace id → name, or None with the refusal when the token lacks workspaces-read."""
    try:
        return dict(client.api.list_workspaces()), None
    except PermissionDeniedError as exc:
        logger.debug("The token may not list workspaces (%s); listing forms without names", exc)
        return None, exc


def _workspace_id(
    workspace: WorkspaceRef,
    names: Mapping[int, str] | None,
    denied: PermissionDeniedError | None,
) -> int:
    if isinstance(workspace, bool) or not isinstance(workspace, (int, str)):
        raise InvalidArgumentError(
            f"A workspace is its id or its name, not {type(workspace).__name__}."
        )
    if isinstance(workspace, int) or workspace.strip().isdigit():
        return int(workspace)
    if names is None:
        raise PermissionDeniedError(
            f"Finding the workspace named {workspace!r} needs a token with the workspaces-read "
            "ability; pass the workspace's id instead.",
            status_code=403,
        ) from denied
    wanted = workspace.strip()
    exact = [wid for wid, name in names.items() if name == wanted]
    loose = [wid for wid, name in names.items() if name.casefold() == wanted.casefold()]
    found = exact or loose
    if len(found) == 1:
        return found[0]
    known = ", ".join(f"{name!r} (id {wid})" for wid, name in names.items()) or "none"
    problem = "Several workspaces are" if found else "No workspace is"
    raise InvalidArgumentError(
        f"{problem} named {workspace!r}; this token's workspaces: {known}. Pass the id."
    )

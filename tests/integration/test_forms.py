"""Listing the forms a token can read, through the routes a token may call."""

from __future__ import annotations

import pandas as pd
import pytest

import formexport as fx
import formexport.forms
from formexport.sandbox import Sandbox


def listed(sandbox: Sandbox, workspace: int | str | None = None, token: str = "") -> pd.DataFrame:
    return fx.list_forms(workspace, token=token or sandbox.token, base_url=sandbox.base_url)


def api_calls(sandbox: Sandbox) -> list[tuple[str, str]]:
    return [(r.path, r.query.get("per_page", "")) for r in sandbox.requests]


def test_every_form_of_the_users_workspaces(sandbox: Sandbox) -> None:
    forms = listed(sandbox)
    assert list(forms.columns) == [
        "id", "slug", "title", "workspace_id", "workspace", "submissions_count", "updated_at",
    ]  # fmt: skip
    assert forms["id"].tolist() == [3, 2, 1]  # most recently updated first
    assert forms["title"].tolist() == ["Empty survey", "Event registration", "Customer feedback"]
    assert set(forms["workspace"]) == {"Demo workspace"}
    assert forms.loc[forms["id"] == 1, "submissions_count"].item() == 250
    assert forms["slug"].tolist()[1] == "event-registration-da71we"
    assert str(forms["id"].dtype) == "Int64"
    assert str(forms["updated_at"].dt.tz) == "UTC"
    # The form of a workspace the user is not in (form 4) is not listed.
    assert 4 not in forms["id"].tolist()
    assert api_calls(sandbox) == [("/open/workspaces", ""), ("/open/workspaces/1/forms", "100")]


def test_each_listed_slug_loads(sandbox: Sandbox) -> None:
    forms = listed(sandbox)
    slug = forms.loc[forms["id"] == 1, "slug"].item()
    frame = fx.load_export(slug, token=sandbox.token, base_url=sandbox.base_url, progress=None)
    assert len(frame) == 250


def test_a_token_without_workspaces_read_lists_through_the_form_index(sandbox: Sandbox) -> None:
    forms = listed(sandbox, token=sandbox.add_token(["forms-read"]))
    assert forms["id"].tolist() == [3, 2, 1]
    assert forms["workspace"].isna().all()
    assert forms["workspace_id"].tolist() == [1, 1, 1]
    assert ("/open/forms", "") in api_calls(sandbox)


@pytest.mark.parametrize("workspace", [1, "1", "Demo workspace", "demo WORKSPACE"])
def test_one_workspace_by_id_or_name(sandbox: Sandbox, workspace: int | str) -> None:
    sandbox.add_form("Elsewhere", [{"type": "text", "name": "Name"}], workspace_id=2)
    assert listed(sandbox, workspace)["id"].tolist() == [3, 2, 1]


def test_an_unknown_workspace_name_lists_the_known_ones(sandbox: Sandbox) -> None:
    with pytest.raises(fx.InvalidArgumentError, match="'Demo workspace' \\(id 1\\)"):
        listed(sandbox, "Marketing")


def test_a_workspace_name_needs_workspaces_read(sandbox: Sandbox) -> None:
    with pytest.raises(fx.PermissionDeniedError, match=r"workspaces-read.*id instead"):
        listed(sandbox, "Demo workspace", token=sandbox.add_token(["forms-read"]))


def test_a_workspace_of_other_people_is_refused(sandbox: Sandbox) -> None:
    with pytest.raises(fx.PermissionDeniedError):
        listed(sandbox, 2)


def test_large_workspaces_are_read_page_by_page(sandbox: Sandbox) -> None:
    for n in range(150):
        sandbox.add_form(f"Survey {n}", [{"type": "text", "name": "Name"}])
    forms = listed(sandbox, 1)
    assert len(forms) == 153
    assert forms["id"].is_unique
    pages = [r.query.get("page") for r in sandbox.requests if r.path.endswith("/forms")]
    assert pages == ["1", "2"]


def test_servers_before_2_3_ignore_per_page(sandbox: Sandbox) -> None:
    sandbox.config.version = "2.2.1"
    for n in range(25):
        sandbox.add_form(f"Survey {n}", [{"type": "text", "name": "Name"}])
    assert len(listed(sandbox, 1)) == 28  # ten per page, three pages

"""Before a dataset run: where it writes, which forms it exports, and how each one."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from formexport.client import Client
from formexport.dataset.manifest import OK, UNCHANGED, FormRecord
from formexport.errors import DatasetError, InvalidArgumentError
from formexport.opnform.endpoints import FormRef
from formexport.opnform.models import FormSummary

FULL, INCREMENTAL, SKIP = "full", "incremental", "skip"


@dataclass(frozen=True)
class Plan:
    """What a run does with one form: export it in full, only what is new, or skip it."""

    form: FormSummary
    mode: str
    previous: FormRecord | None


def filesystem(dest: str | Path, storage_options: Mapping[str, Any] | None) -> tuple[Any, str]:
    import fsspec

    try:
        fs, root = fsspec.core.url_to_fs(str(dest), **dict(storage_options or {}))
    except (ImportError, ValueError) as exc:
        raise DatasetError(
            f"Cannot open {dest!r} ({exc}). Remote URLs need their fsspec package, e.g. "
            "pip install s3fs for s3://, gcsfs for gs://, adlfs for abfs://."
        ) from exc
    return fs, str(root).rstrip("/")


def resolve_forms(client: Client, forms_or_workspace: Any) -> list[FormSummary]:
    if isinstance(forms_or_workspace, (list, tuple)):
        return [_summary(client, form) for form in forms_or_workspace]
    if isinstance(forms_or_workspace, (int, str)) and not isinstance(forms_or_workspace, bool):
        return client.api.list_workspace_forms(_workspace_id(client, forms_or_workspace))
    raise InvalidArgumentError(
        "Pass a workspace (its id or name) or a list of form ids/slugs, not "
        f"{type(forms_or_workspace).__name__}."
    )


def _workspace_id(client: Client, workspace: int | str) -> int:
    if isinstance(workspace, int) or workspace.isdigit():
        return int(workspace)
    named = [wid for wid, name in client.api.list_workspaces() if name == workspace]
    if len(named) != 1:
        raise InvalidArgumentError(
            f"{len(named) or 'No'} workspaces are named {workspace!r}; pass the workspace id."
        )
    return named[0]


def _summary(client: Client, form: FormRef) -> FormSummary:
    info = client.get_form(form)
    return FormSummary(
        info.id, info.slug, info.title, info.workspace_id, info.submissions_count, info.updated_at
    )


def stamp(moment: datetime | None) -> str | None:
    return moment.isoformat() if moment else None


def plan_for(form: FormSummary, previous: FormRecord | None, incremental: bool, full: bool) -> Plan:
    done_before = previous is not None and previous.status in (OK, UNCHANGED)
    if full or not done_before:
        return Plan(form, FULL, previous)
    if incremental:
        return Plan(form, INCREMENTAL, previous)
    assert previous is not None
    same = (previous.submissions_count, previous.form_updated_at) == (
        form.submissions_count,
        stamp(form.updated_at),
    )
    return Plan(form, SKIP if same else FULL, previous)

"""Fresh links for files whose links expired: the JSON submissions list's, never a new export.

``GET /open/forms/{id}/submissions`` lists each submission with its files as
``[{"file_url": …, "file_name": …}]`` under the field's id, their links signed for 10 minutes.
There is no way to ask for chosen submissions (the single-submission route is closed to
tokens), so the list is read page by page, newest first, until every submission wanted was
seen. A submission the list no longer holds was deleted: its files are gone.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from formexport.opnform.endpoints import OpnFormAPI
from formexport.uploads.plan import Upload

logger = logging.getLogger("formexport")


@dataclass
class Renewed:
    """The outcome of a renewal: files behind fresh links, and files the server lost."""

    fresh: list[Upload] = field(default_factory=list)
    gone: list[Upload] = field(default_factory=list)


def renew_links(api: OpnFormAPI, form_id: int, expired: Iterable[Upload]) -> Renewed:
    """Fresh links for ``expired``, from the JSON submissions list."""
    pending = list(expired)
    wanted = {u.submission_id for u in pending if u.submission_id is not None}
    found: dict[int, Mapping[str, Any]] = {}
    if wanted:
        for row in api.list_submissions(form_id):
            if row.id in wanted:
                data = row.item.get("data")
                found[row.id] = data if isinstance(data, Mapping) else {}
                if len(found) == len(wanted):
                    break  # the rest of the list is not needed
    renewed = Renewed()
    for upload in pending:
        data = found.get(upload.submission_id) if upload.submission_id is not None else None
        link = _fresh_link(upload, data.get(upload.field_id) if data is not None else None)
        if link is None:
            renewed.gone.append(upload)
        else:
            renewed.fresh.append(upload.with_link(link))
    logger.info(
        "Renewed the links of %d uploaded files from the submissions list (%d no longer there)",
        len(renewed.fresh),
        len(renewed.gone),
    )
    return renewed


def _fresh_link(upload: Upload, files: object) -> str | None:
    """The link of ``upload`` among a field's ``[{file_url, file_name}]``, by its name (a
    file no longer listed under it was removed from the submission)."""
    if not isinstance(files, list):
        return None
    for entry in files:
        if isinstance(entry, Mapping) and entry.get("file_name") == upload.name:
            link = entry.get("file_url")
            if isinstance(link, str):
                return link
    return None

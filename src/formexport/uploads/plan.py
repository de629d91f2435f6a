"""Which files a cell names, and where each one is saved.

A file-upload or signature cell holds signed links
``…/open/forms/{form}/submissions/file/{name}?expires=…&signature=…`` whose last segment is the
stored name, base64url-encoded since OpnForm 1.13.2 (raw before). Each file goes to
``<form id>/<submission id>/<field id>/<name>`` under the destination. Every part comes from the
server and is untrusted: the name keeps its last component only, without separators, control
characters, reserved characters or Windows device names, and at most 200 bytes (room for a
``(2)``); two files of one cell whose names end up alike (whatever their case) are both kept,
the second as ``name (2).ext``. The same cell always gives the same paths, so a new run finds
what an earlier one saved.
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Iterable
from dataclasses import dataclass
from urllib.parse import unquote, urlsplit

from formexport.transfer.download import safe_filename

# Room for " (99)" and more under the 255 bytes most filesystems allow a name.
NAME_BYTES = 200
DEFAULT_NAME = "file"


@dataclass(frozen=True)
class Upload:
    """One uploaded file to save.

    Attributes
    ----------
    submission_id : int or None
        The submission (None when the export's id cell could not be decoded).
    field_id : str
        The file-upload or signature field.
    name : str
        The name the server stores it under.
    link : str
        The signed link to fetch it from.
    path : str
        Where it is saved, relative to the destination.
    """

    submission_id: int | None
    field_id: str
    name: str
    link: str
    path: str

    @property
    def cell(self) -> tuple[int | None, str]:
        """The cell it belongs to: submission and field."""
        return self.submission_id, self.field_id

    def describe(self) -> str:
        """``submission 1532, field <id>: cv.pdf``, for messages."""
        return f"submission {self.submission_id}, field {self.field_id}: {self.name!r}"

    def with_link(self, link: str) -> Upload:
        """The same file behind a fresh link."""
        return Upload(self.submission_id, self.field_id, self.name, link, self.path)


def server_name(link: str) -> str:
    """The stored name a file link carries in its last path segment.

    Examples
    --------
    >>> server_name("http://h/open/forms/2/submissions/file/Y3ZfMS5wZGY?expires=1&signature=x")
    'cv_1.pdf'
    >>> server_name("http://h/open/forms/2/submissions/file/cv_1.pdf?signature=x")
    'cv_1.pdf'
    """
    segment = unquote(urlsplit(link).path.rsplit("/", 1)[-1])
    padded = segment + "=" * (-len(segment) % 4)
    try:
        decoded = base64.urlsafe_b64decode(padded.encode("ascii")).decode("utf-8")
    except (UnicodeError, binascii.Error, ValueError):
        return segment
    # A raw name (before 1.13.2) may happen to decode: only a round trip tells an encoded one.
    encoded = base64.urlsafe_b64encode(decoded.encode("utf-8")).decode("ascii").rstrip("=")
    return decoded if decoded and encoded == segment else segment


def plan_cell(
    form_id: int,
    submission_id: int | None,
    folder: str,
    field_id: str,
    links: Iterable[str],
) -> list[Upload]:
    """The files of one cell and their paths, in the cell's order.

    ``folder`` names the submission's folder: its id, or the export's id text when the id
    could not be decoded.

    Examples
    --------
    >>> links = ["http://h/file/Q1YucGRm?s=1", "http://h/file/Y3YucGRm?s=1", "http://h/file/Li4?s=1"]
    >>> [u.path for u in plan_cell(2, 7, "7", "f1", links)]
    ['2/7/f1/CV.pdf', '2/7/f1/cv (2).pdf', '2/7/f1/file']
    """
    field_folder = safe_filename(field_id, "field", max_bytes=NAME_BYTES)
    prefix = f"{form_id}/{safe_filename(folder, 'submission', max_bytes=NAME_BYTES)}/{field_folder}"
    taken: set[str] = set()
    planned = []
    for link in links:
        name = server_name(link)
        local = _unique(safe_filename(name, DEFAULT_NAME, max_bytes=NAME_BYTES), taken)
        planned.append(Upload(submission_id, field_id, name, link, f"{prefix}/{local}"))
    return planned


def _unique(name: str, taken: set[str]) -> str:
    """``name``, or ``name (2).ext``, ``(3)``… when the cell has it already (case ignored:
    some filesystems do)."""
    stem, dot, extension = name.rpartition(".")
    if not dot or not stem:
        stem, extension = name, ""
    candidate, number = name, 1
    while candidate.casefold() in taken:
        number += 1
        candidate = f"{stem} ({number}){'.' + extension if extension else ''}"
    taken.add(candidate.casefold())
    return candidate

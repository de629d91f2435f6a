"""Export bodies and files: which rows, in which order, through which writer.

Rows are the form's submissions newest first (partial ones included), or only the
distinct ``submissionIds`` given. Files of async exports are written to disk in batches so
a large export never sits in memory as one bytes object.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path

from formexport.sandbox.data.catalog import Form
from formexport.sandbox.data.fields import Submission
from formexport.sandbox.data.hashid import HashidEncoder
from formexport.sandbox.platform.signing import Signer, encode_file_name
from formexport.sandbox.writers.cells import Column, LinkMaker, RowFormatter
from formexport.sandbox.writers.csv_writers import sync_csv, write_async_csv

SYNC_CSV = "text/csv; charset=UTF-8"
SYNC_PLAIN = "text/plain; charset=UTF-8"
_LINK_CACHE = 100_000
_CHECK_EVERY = 500


class Exporter:
    """Builds export CSVs and signed in-CSV file links.

    Parameters
    ----------
    signer : Signer
        Signs file links (``APP_KEY``).
    """

    def __init__(self, signer: Signer) -> None:
        self._signer = signer
        self._encoder = HashidEncoder()

    @property
    def encoder(self) -> HashidEncoder:
        """The ``id`` column encoder."""
        return self._encoder

    def file_link(self, *, root: str, form_id: int, b64: bool, expires: int | None) -> LinkMaker:
        """Stored file name → ``{root}/open/forms/{id}/submissions/file/{name}?…signature``."""

        made: dict[str, str] = {}

        def link(name: str) -> str:
            url = made.get(name)
            if url is None:
                segment = encode_file_name(name, b64=b64)
                path = f"/open/forms/{form_id}/submissions/file/{segment}"
                url = root + self._signer.sign_route(path, expires)
                if len(made) < _LINK_CACHE:  # generated rows reuse names: sign each once
                    made[name] = url
            return url

        return link

    @staticmethod
    def row_ids(form: Form, submission_ids: list[int] | None) -> Sequence[int]:
        """Ids to export, newest first: the given ones (distinct) or all of the form's."""
        if submission_ids:
            return form.submissions.sort_ids(submission_ids)
        return form.submissions.ordered_ids("all")

    @staticmethod
    def _rows(
        form: Form, ids: Sequence[int], check: Callable[[], None] | None = None
    ) -> Iterator[Submission]:
        for index, submission_id in enumerate(ids):
            if check is not None and index % _CHECK_EVERY == 0:
                check()
            submission = form.submissions.get(submission_id)
            if submission is not None:
                yield submission

    def sync_body(
        self, form: Form, ids: Sequence[int], columns: list[Column], link: LinkMaker
    ) -> tuple[bytes, str]:
        """The synchronous CSV and its (libmagic-like) Content-Type."""
        formatter = RowFormatter(columns, link, self._encoder)
        header = formatter.header if ids else []
        body = sync_csv(header, (formatter(s) for s in self._rows(form, ids)))
        wide_and_long = len(header) >= 2 and len(ids) >= 2
        return body, SYNC_CSV if wide_and_long else SYNC_PLAIN

    def write_file(
        self,
        path: Path,
        form: Form,
        ids: Sequence[int],
        columns: list[Column],
        link: LinkMaker,
        *,
        bom: bool,
        check: Callable[[], None] | None = None,
    ) -> None:
        """Write an async export file with ``fputcsv`` rules.

        OpnForm builds the file in memory and stores it in one ``put``: a file of the same name
        (the same form, in the same second) is replaced whole, the later write winning. Here
        the rows go to a temporary file beside it, moved over it once complete. ``check`` is
        called every few hundred rows and may raise to stop the write (nothing is left).
        """
        formatter = RowFormatter(columns, link, self._encoder)
        fd, name = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".part", dir=path.parent)
        try:
            with os.fdopen(fd, "wb") as stream:
                rows = (formatter(s) for s in self._rows(form, ids, check))
                write_async_csv(stream, formatter.header, rows, bom=bom)
            os.replace(name, path)
        except BaseException:
            Path(name).unlink(missing_ok=True)
            raise

"""The codebook during a run: each exported form's columns settled, and its files kept in one
schema (see :mod:`formexport.dataset.stable_columns` and :mod:`formexport.dataset.conform`)."""

from __future__ import annotations

import threading
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from formexport.dataset.codebook_file import Codebook, FormBook, save_codebook
from formexport.dataset.conform import (
    book_from_files,
    conform,
    conform_files,
    conforms,
    typed_deleted_fields,
    write_table,
)
from formexport.dataset.manifest import FormRecord
from formexport.dataset.stable_columns import export_columns, mark_gone, merge
from formexport.opnform.models import FormInfo


class FormSchemas:
    """The dataset's codebook, as a run of ``export_forms`` (named ``run``) updates it."""

    def __init__(
        self, fs: Any, root: str, codebook: Codebook, *, run: str, lock: threading.Lock
    ) -> None:
        self.fs, self.root, self.codebook = fs, root, codebook
        self.run, self.lock = run, lock

    def settle(self, record: FormRecord, form: FormInfo, exported: Any) -> tuple[Any, FormBook]:
        """An export (an Arrow table) with its deleted fields typed, and the form's book with
        its columns, covering every file the form has."""
        typed = typed_deleted_fields(exported, form)
        book = self.codebook.get(form.id)
        if book is None or record.schema_hash != book.schema_hash:
            book = book_from_files(self.fs, self.root, record.partitions, book, form.id)
        book = merge(form.id, book, export_columns(typed, book), self.run)
        return typed, mark_gone(book, (f.id for f in (*form.fields, *form.removed_fields)))

    def keep(self, record: FormRecord, book: FormBook, files: Iterable[str]) -> None:
        """Save the book, then bring the form's ``files`` to its schema; the manifest's
        ``schema_hash`` says they have it."""
        # The codebook first: a run that stops while files are written again leaves the
        # manifest's old hash behind, and the next run checks every file.
        with self.lock:
            self.codebook.put(book)
            save_codebook(self.fs, self.root, self.codebook)
        if record.schema_hash != book.schema_hash:
            conform_files(self.fs, self.root, files, book)
        record.schema_hash = book.schema_hash

    @staticmethod
    def write(typed: Any, book: FormBook, local: Path, *, exported: Any) -> None:
        """Write an export's table (``typed``; ``exported`` as ``local`` holds it) to ``local``
        in the form's schema, unless the file has it already."""
        if typed is exported and conforms(exported.schema, book):
            return  # most runs: no field renamed, added, deleted or retyped since the first
        write_table(conform(typed, book), local)

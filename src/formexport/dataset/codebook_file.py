"""The dataset's codebook: each form's columns, and the history of the field behind each one.

It is a JSON file beside the data and the manifest (``_formexport_codebook.json``; dataset
readers skip files that start with ``_``), rewritten whenever a run exports a form. For every
column of every form it records the field's id, its current name and earlier ones (with the
run that saw each change), its OpnForm type and earlier ones, how the dataset stores it, its
options and whether the field was deleted; and the Arrow schema every Parquet file of the form
has. :func:`formexport.read_codebook` shows it as a DataFrame.
"""

from __future__ import annotations

import base64
import hashlib
import json
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field, fields
from typing import Any

from formexport.dataset.manifest import utc_now, write_atomically
from formexport.errors import DatasetError

CODEBOOK_NAME = "_formexport_codebook.json"
CODEBOOK_VERSION = 1


@dataclass
class BookColumn:
    """One column of a form's data in the dataset.

    Attributes
    ----------
    key : str
        What ties the column to its source across exports: ``field:<field id>`` (plus
        ``:start``/``:end`` for a date range), ``id``, ``submission_id``, ``created_at``,
        ``status``.
    dataset_column : str
        The column's name in the Parquet files: the field's name when the dataset first met
        it, kept for the dataset's life (``.1``, ``.2`` added when another column has it).
    column : str
        Its name in :func:`formexport.read_dataset`: the field's current name.
    earlier_names, earlier_types : list of dict
        Each earlier name (``{"name", "run"}``) or OpnForm type (``{"field_type", "run"}``),
        with the run that first saw the next one (the run's start, ISO 8601 UTC).
    type : str
        How the dataset stores it, as :func:`formexport.describe_form` says it (``text``,
        ``number``, ``category``, ``list``...): text once the field's type changed.
    options : list of str
        The categories, in order: the form's current options, then earlier ones.
    earlier_options : list of str
        Options the form offered earlier and no longer offers.
    deleted : bool
        The field was deleted from the form (its answers stay, and are still exported).
    first_run : str
        The run that added the column: rows of earlier runs are missing there.
    """

    key: str
    dataset_column: str
    column: str = ""
    kind: str = "field"
    field_id: str | None = None
    part: str | None = None
    field_name: str | None = None
    earlier_names: list[dict[str, str]] = field(default_factory=list)
    field_type: str | None = None
    earlier_types: list[dict[str, str]] = field(default_factory=list)
    type: str = "text"
    options: list[str] = field(default_factory=list)
    earlier_options: list[str] = field(default_factory=list)
    deleted: bool = False
    required: bool | None = None
    help: str | None = None
    first_run: str | None = None

    @classmethod
    def from_json(cls, body: Mapping[str, Any]) -> BookColumn:
        """Read one entry, ignoring keys a newer version may have added."""
        known = {f.name for f in fields(cls)}
        return cls(**{k: v for k, v in body.items() if k in known})


@dataclass
class FormBook:
    """One form's columns, in the order :func:`formexport.read_dataset` gives them, and the
    Arrow schema of its Parquet files (their columns in the files' order)."""

    form_id: int
    columns: list[BookColumn] = field(default_factory=list)
    schema: str = ""
    updated_run: str = ""

    @property
    def arrow_schema(self) -> Any:
        """The schema of every Parquet file of the form (``pyarrow.Schema``)."""
        import pyarrow as pa

        return pa.ipc.read_schema(pa.py_buffer(base64.b64decode(self.schema)))

    def with_schema(self, schema: Any) -> FormBook:
        """Keep ``schema`` as the form's Parquet schema."""
        self.schema = base64.b64encode(schema.serialize().to_pybytes()).decode("ascii")
        return self

    def by_key(self) -> dict[str, BookColumn]:
        """The columns by key."""
        return {c.key: c for c in self.columns}

    def by_dataset_column(self) -> dict[str, BookColumn]:
        """The columns by their name in the Parquet files."""
        return {c.dataset_column: c for c in self.columns}

    @property
    def schema_hash(self) -> str:
        """A short hash of the files' column names and types (the manifest's ``schema_hash``)."""
        return schema_hash(self.arrow_schema)


def schema_hash(schema: Any) -> str:
    """A short hash of a schema's column names and types, metadata aside."""
    shape = json.dumps([[f.name, str(f.type)] for f in schema])
    return hashlib.sha256(shape.encode()).hexdigest()[:16]


@dataclass
class Codebook:
    """Every exported form's :class:`FormBook`."""

    forms: dict[str, FormBook] = field(default_factory=dict)
    version: int = CODEBOOK_VERSION
    updated_at: str = field(default_factory=utc_now)

    def get(self, form_id: int) -> FormBook | None:
        """The form's book, if a run of this version exported it."""
        return self.forms.get(str(form_id))

    def put(self, book: FormBook) -> None:
        """Add or replace a form's book."""
        self.forms[str(book.form_id)] = book
        self.updated_at = utc_now()

    def to_json(self) -> str:
        """The codebook as indented JSON."""
        return json.dumps(asdict(self), indent=2, ensure_ascii=False)

    @classmethod
    def from_json(cls, text: str) -> Codebook:
        """Parse a codebook written by :meth:`to_json`."""
        try:
            body = json.loads(text)
            forms = {
                key: FormBook(
                    form_id=int(value["form_id"]),
                    columns=[BookColumn.from_json(c) for c in value["columns"]],
                    schema=str(value["schema"]),
                    updated_run=str(value.get("updated_run", "")),
                )
                for key, value in body["forms"].items()
            }
            return cls(forms, int(body.get("version", CODEBOOK_VERSION)), str(body["updated_at"]))
        except (ValueError, KeyError, TypeError, AttributeError) as exc:
            raise DatasetError(
                f"The dataset codebook {CODEBOOK_NAME} is damaged ({exc}); move it away: the "
                "next run of export_forms writes it again from the data."
            ) from exc


def load_codebook(fs: Any, root: str) -> Codebook:
    """The codebook at ``root``, or an empty one."""
    path = f"{root}/{CODEBOOK_NAME}"
    if not fs.exists(path):
        return Codebook()
    with fs.open(path, "r", encoding="utf-8") as handle:
        return Codebook.from_json(handle.read())


def save_codebook(fs: Any, root: str, codebook: Codebook) -> None:
    """Write the codebook so that readers see the old or the new one, never half of one."""
    write_atomically(fs, root, CODEBOOK_NAME, codebook.to_json())

"""The way back from the archive into pandas: :func:`read_dataset` and :func:`read_codebook`."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import asdict
from pathlib import Path
from typing import TYPE_CHECKING, Any

from formexport.dataset.codebook_file import FormBook, load_codebook
from formexport.dataset.conform import book_from_files, conform
from formexport.dataset.manifest import MANIFEST_NAME, Manifest, load_manifest
from formexport.dataset.planning import filesystem
from formexport.errors import DatasetError, InvalidArgumentError
from formexport.opnform.endpoints import FormRef
from formexport.reading.arrow_to_pandas import to_pandas
from formexport.reading.options import DEFAULT_DTYPE_BACKEND

if TYPE_CHECKING:
    import pandas as pd

#: The columns of :func:`read_codebook`, after ``form_id``.
DATASET_CODEBOOK_COLUMNS = (
    "column",
    "dataset_column",
    "kind",
    "field_id",
    "part",
    "field_name",
    "earlier_names",
    "field_type",
    "earlier_types",
    "type",
    "options",
    "earlier_options",
    "deleted",
    "first_run",
    "required",
    "help",
)
_ORDER_KEYS = (("created_at", "descending"), ("submission_id", "descending"))


class _Archive:
    """A dataset opened for reading: its manifest, and each form's book and files."""

    def __init__(self, dest: str | Path, storage_options: Mapping[str, Any] | None) -> None:
        self.dest = str(dest)
        self.fs, self.root = filesystem(dest, storage_options)
        if not self.fs.exists(f"{self.root}/{MANIFEST_NAME}"):
            raise DatasetError(
                f"{self.dest} holds no formexport dataset (no {MANIFEST_NAME}); "
                "fx.export_forms(forms, dest) writes one."
            )
        self.manifest: Manifest = load_manifest(self.fs, self.root, "")
        self.codebook = load_codebook(self.fs, self.root)

    def form_ids(self, forms: FormRef | Sequence[FormRef] | None) -> list[int]:
        """The forms asked for (None: every form), as ids the dataset holds."""
        # A form whose first export failed has nothing to read yet.
        listed = {r.form_id for r in self.manifest.forms.values() if r.partitions}
        held = sorted(listed | {int(k) for k in self.codebook.forms})
        if forms is None:
            return held
        wanted = [forms] if isinstance(forms, (int, str)) else list(forms)
        slugs = {r.slug: r.form_id for r in self.manifest.forms.values()}
        ids, missing = [], []
        for form in wanted:
            found = slugs.get(str(form)) or (int(form) if str(form).isdigit() else None)
            if found in held:
                ids.append(int(found))
            else:
                missing.append(form)
        if missing:
            raise InvalidArgumentError(
                f"The dataset {self.dest} holds no form {', '.join(map(repr, missing))}; it "
                f"holds forms {', '.join(map(str, held)) or 'none'}."
            )
        return ids

    def files(self, form_id: int) -> list[str]:
        """The form's Parquet files, as the manifest lists them (oldest first)."""
        record = self.manifest.record(form_id)
        return list(record.partitions) if record is not None else []

    def book(self, form_id: int) -> FormBook:
        """The form's book, covering each of its files (built from them for a dataset written
        before codebooks)."""
        book = book_from_files(
            self.fs, self.root, self.files(form_id), self.codebook.get(form_id), form_id
        )
        if book is None:
            raise DatasetError(
                f"Form {form_id} has no data in {self.dest} yet; run fx.export_forms again."
            )
        return book

    def table(self, form_id: int, book: FormBook) -> Any:
        """Every row of the form, in its dataset schema."""
        import pyarrow as pa
        import pyarrow.parquet as pq

        tables = []
        for relative in self.files(form_id):
            path = f"{self.root}/{relative}"
            if not self.fs.exists(path):
                raise DatasetError(
                    f"{path} is listed in the manifest but missing; run fx.export_forms with "
                    f"full_refresh=True to export form {form_id} again."
                )
            with self.fs.open(path, "rb") as handle:
                tables.append(conform(pq.read_table(handle), book))
        if not tables:
            return conform(book.arrow_schema.empty_table(), book)
        return pa.concat_tables(tables)


def read_dataset(
    dest: str | Path,
    forms: FormRef | Sequence[FormRef] | None = None,
    *,
    storage_options: Mapping[str, Any] | None = None,
) -> pd.DataFrame:
    """Read a dataset written by :func:`export_forms` back into one typed DataFrame.

    Each field's column has the field's current name, whatever it was called when its
    answers were exported, and the types :func:`load_export` gives: categories (the form's
    current options in its order, then earlier options, then other values met), lists,
    dates, nullable numbers. Columns a field gained later are missing in earlier rows; a
    deleted field's column stays. Rows come newest first, as OpnForm exports them.

    Parameters
    ----------
    dest : str or Path
        The dataset: a local folder or any fsspec URL, as given to :func:`export_forms`.
    forms : int, str or list, optional
        One form (its id or slug): that form's columns, as :func:`load_export` names them. A
        list of forms, or None (every form): their rows stacked, a ``form_id`` column first,
        and columns of the same name in several forms in one column (``object`` where their
        types differ).
    storage_options : dict, optional
        Passed to fsspec, as for :func:`export_forms`.

    Returns
    -------
    pandas.DataFrame
        ``attrs["columns"]`` (one form) describes each column as :func:`read_codebook` does.

    Raises
    ------
    DatasetError
        ``dest`` holds no dataset, or a form in it has no data yet.
    InvalidArgumentError
        A form the dataset does not hold.

    Examples
    --------
    >>> import formexport as fx
    >>> manifest = fx.export_forms([1, 2], "archive")
    >>> df = fx.read_dataset("archive", 2)
    >>> df.shape
    (2500, 16)
    >>> df["Ticket type"].cat.categories.tolist()
    ['Standard', 'VIP', 'Student']
    >>> fx.read_dataset("archive").groupby("form_id").size().to_dict()
    {1: 250, 2: 2500}
    """
    archive = _Archive(dest, storage_options)
    ids = archive.form_ids(forms)
    frames = [_frame(archive, form_id) for form_id in ids]
    if isinstance(forms, (int, str)):
        return frames[0]
    return _stacked(ids, frames, archive.manifest.server)


def _frame(archive: _Archive, form_id: int) -> pd.DataFrame:
    book = archive.book(form_id)
    table = archive.table(form_id, book)
    table = table.select([c.dataset_column for c in book.columns])
    table = table.rename_columns([c.column for c in book.columns])
    names = {c.key: c.column for c in book.columns}
    order = [(names[key], way) for key, way in _ORDER_KEYS if key in names]
    if order:
        table = table.sort_by(order)
    columns = {c.column: _described(c) for c in book.columns}
    attrs = {"form_id": form_id, "server": archive.manifest.server, "columns": columns}
    frame = to_pandas(table, DEFAULT_DTYPE_BACKEND, attrs)
    for entry in book.columns:
        if isinstance(frame[entry.column].dtype, _categorical()):
            frame[entry.column] = _in_form_order(frame[entry.column], entry.options)
    return frame


def _described(entry: Any) -> dict[str, Any]:
    return {key: value for key, value in asdict(entry).items() if key != "key"}


def _categorical() -> Any:
    import pandas as pd

    return pd.CategoricalDtype


def _in_form_order(values: pd.Series, options: Sequence[str]) -> pd.Series:
    """Categories: the options in the codebook's order, then any other value met."""
    offered = set(options)
    met = [c for c in values.cat.categories if c not in offered]
    return values.cat.set_categories([*options, *met])


def _stacked(ids: list[int], frames: list[pd.DataFrame], server: str) -> pd.DataFrame:
    import pandas as pd

    for form_id, frame in zip(ids, frames, strict=True):
        frame.insert(0, "form_id", form_id)
    categories: dict[str, list[Any]] = {}
    for frame in frames:
        for name, dtype in frame.dtypes.items():
            if isinstance(dtype, pd.CategoricalDtype):
                known = categories.setdefault(str(name), [])
                known += [c for c in dtype.categories if c not in set(known)]
    for frame in frames:
        for name, union in categories.items():
            if name in frame and isinstance(frame[name].dtype, pd.CategoricalDtype):
                frame[name] = frame[name].cat.set_categories(union)
    stacked = pd.concat(frames, ignore_index=True) if frames else pd.DataFrame({"form_id": []})
    stacked.attrs = {"form_ids": ids, "server": server}
    return stacked


def read_codebook(
    dest: str | Path,
    forms: FormRef | Sequence[FormRef] | None = None,
    *,
    storage_options: Mapping[str, Any] | None = None,
) -> pd.DataFrame:
    """The codebook of a dataset written by :func:`export_forms`: one row per column per form.

    Each row says what :func:`read_dataset` calls the column (``column``: the field's current
    name) and what the Parquet files call it (``dataset_column``: the field's name when the
    dataset first met it, kept for the dataset's life), the field's id, its current
    ``field_name`` and ``earlier_names`` (each with the run that first saw the next name),
    its OpnForm ``field_type`` and ``earlier_types``, how the dataset stores it (``type``:
    ``text`` once the field changed type), its ``options`` (the categories' order: current
    options, then earlier ones) and ``earlier_options``, whether it was ``deleted``, and the
    run that added it (``first_run``; rows of earlier runs are missing there).

    Parameters
    ----------
    dest : str or Path
        The dataset, as given to :func:`export_forms`.
    forms : int, str or list, optional
        The forms to describe (None: every form).
    storage_options : dict, optional
        Passed to fsspec.

    Returns
    -------
    pandas.DataFrame
        Columns ``form_id`` and :data:`DATASET_CODEBOOK_COLUMNS`; runs are ISO 8601 UTC times.

    Examples
    --------
    >>> import formexport as fx
    >>> manifest = fx.export_forms([2], "archive")
    >>> book = fx.read_codebook("archive", 2)
    >>> book.loc[book["column"] == "Ticket type", ["dataset_column", "type", "options"]]
    ... # doctest: +NORMALIZE_WHITESPACE
      dataset_column      type                     options
    5    Ticket type  category  [Standard, VIP, Student]
    """
    import pandas as pd

    archive = _Archive(dest, storage_options)
    rows = [
        {"form_id": form_id, **{key: getattr(entry, key) for key in DATASET_CODEBOOK_COLUMNS}}
        for form_id in archive.form_ids(forms)
        for entry in archive.book(form_id).columns
    ]
    # object columns: None stays None (not NaN), lists stay lists.
    frame: pd.DataFrame = pd.DataFrame(
        rows, columns=["form_id", *DATASET_CODEBOOK_COLUMNS], dtype=object
    )
    return frame

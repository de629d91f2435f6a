"""The codebook of an export: one row per column of the typed frame, saying what it holds.

It is built by the same :class:`~formexport.reading.typed_reader.TypedReader` that reads the
export, from the form alone (no submission is read), so its column names, field ids and types
are those of ``df.attrs["columns"]``.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from formexport.opnform.models import FormInfo
from formexport.reading.blocks import Writer
from formexport.reading.column_plan import plan_columns
from formexport.reading.typed_reader import TypedReader

if TYPE_CHECKING:
    import pandas as pd

#: The codebook's columns; each row's values are those of ``df.attrs["columns"][column]``.
CODEBOOK_COLUMNS = (
    "column",
    "variable",
    "kind",
    "field_id",
    "field_name",
    "field_type",
    "type",
    "options",
    "required",
    "help",
)


def describe_columns(
    form: FormInfo, columns: Mapping[str, bool], *, naming: str = "name"
) -> dict[str, dict[str, Any]]:
    """What ``df.attrs["columns"]`` holds for an export of ``columns`` (before any row is read).

    A converter may still settle on a wider type once it meets the data (whole numbers that
    turn out decimal, a value that fits no type): the export's own ``attrs`` then say so.
    """
    reader = TypedReader(
        plan_columns(form, columns), writer=Writer.ANSWER, naming=naming, empty=True
    )
    return reader.describe()


def codebook(form: FormInfo, columns: Mapping[str, bool], *, naming: str = "name") -> pd.DataFrame:
    """The codebook as a DataFrame: one row per column, :data:`CODEBOOK_COLUMNS` as columns.

    ``options`` is the list of choices in the form's order (empty for fields without);
    ``required`` and ``help`` are ``None`` for columns that are not fields (``id``,
    ``created_at``, ``status``...); ``variable`` is the column's name in Stata and SPSS files.
    """
    import pandas as pd

    rows = codebook_rows(describe_columns(form, columns, naming=naming))
    # object columns: None stays None (not NaN), so the rows serialise to JSON as they are.
    frame: pd.DataFrame = pd.DataFrame(rows, columns=list(CODEBOOK_COLUMNS), dtype=object)
    frame.attrs.update(form_id=form.id, form_slug=form.slug, title=form.title)
    return frame


def codebook_rows(described: Mapping[str, Mapping[str, Any]]) -> list[dict[str, Any]]:
    """The codebook's rows (JSON-ready) from per-column descriptions, as ``df.attrs["columns"]``
    holds them: the same codebook for a form, an export and the files written from it."""
    return [
        {
            "column": name,
            **{key: info.get(key) for key in CODEBOOK_COLUMNS[1:]},
            "options": list(info.get("options", [])),
        }
        for name, info in described.items()
    ]

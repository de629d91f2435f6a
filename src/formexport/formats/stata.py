"""Stata datasets (``.dta``), written by pandas' :meth:`~pandas.DataFrame.to_stata`.

Format 118 (Stata 14 and later): UTF-8 text, long text as ``strL``. Select fields are labelled
integers in the form's option order; each variable's label is its field's name.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from formexport.errors import FileFormatError
from formexport.formats import columns
from formexport.formats.labelled import TEXT_KINDS, labelled

if TYPE_CHECKING:
    import pandas as pd

VERSION = 118
MAX_LABEL = 80  # characters of a variable's or the dataset's label


def write_dta(frame: pd.DataFrame, path: Path) -> None:
    """Write ``frame`` (as :func:`~formexport.load_export` returns it) to a Stata dataset."""
    book = labelled(frame)
    data = book.data.copy()
    for variable in book.of_kind(*TEXT_KINDS):
        # Stata has no missing text: an empty answer is an empty string.
        data[variable] = data[variable].fillna("").astype(object)
    dates = dict.fromkeys(book.of_kind(columns.DATE), "td")
    dates |= dict.fromkeys(book.of_kind(columns.DATETIME), "tc")
    try:
        data.to_stata(
            path,
            version=VERSION,
            write_index=False,
            convert_dates=dates,
            variable_labels={v: label[:MAX_LABEL] for v, label in book.labels.items()},
            value_labels=book.value_labels or None,
            data_label=_dataset_label(frame.attrs),
            time_stamp=_exported_at(frame.attrs),
        )
    except ValueError as exc:
        raise FileFormatError(
            f"Stata cannot hold this export: {exc} Write a .parquet or .csv file instead."
        ) from exc


def _dataset_label(attrs: Mapping[Any, Any]) -> str | None:
    if attrs.get("form_id") is None:
        return None
    slug = f" ({attrs['form_slug']})" if attrs.get("form_slug") else ""
    return f"OpnForm form {attrs['form_id']}{slug}"[:MAX_LABEL]


def _exported_at(attrs: Mapping[Any, Any]) -> datetime | None:
    when = attrs.get("exported_at")
    return datetime.fromisoformat(when) if isinstance(when, str) else None

"""SPSS datasets (``.sav``), written by pyreadstat (the ``spss`` extra).

Select fields are labelled integers in the form's option order (nominal), each variable's label
is its field's name, dates have SPSS's ``DATE`` format and date-times (UTC) ``DATETIME``.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

from formexport.errors import ConfigurationError
from formexport.formats import columns
from formexport.formats.labelled import TEXT_KINDS, LabelledFrame, labelled

if TYPE_CHECKING:
    import pandas as pd

MAX_LABEL = 256  # characters of a variable's label
MAX_FILE_LABEL = 64
_MEASURES = {
    columns.CATEGORY: "nominal",
    columns.BOOLEAN: "nominal",
    columns.INTEGER: "scale",
    columns.NUMBER: "scale",
    columns.DATE: "scale",
    columns.DATETIME: "scale",
}


def require() -> Any:
    """pyreadstat, or a :class:`ConfigurationError` that says how to install it."""
    try:
        import pyreadstat
    except ImportError as exc:
        raise ConfigurationError(
            "Writing .sav (SPSS) files needs pyreadstat, an optional part of formexport: "
            "pip install 'formexport[spss]'"
        ) from exc
    return pyreadstat


def write_sav(frame: pd.DataFrame, path: Path) -> None:
    """Write ``frame`` (as :func:`~formexport.load_export` returns it) to an SPSS dataset."""
    pyreadstat = require()
    book = labelled(frame)
    data = book.data.copy()
    for variable in book.of_kind(*TEXT_KINDS):
        # SPSS has no missing text: an empty answer is an empty string.
        data[variable] = data[variable].fillna("").astype(object)
    pyreadstat.write_sav(
        data,
        str(path),
        file_label=_file_label(frame.attrs),
        column_labels={v: label[:MAX_LABEL] for v, label in book.labels.items()},
        variable_value_labels=book.value_labels,
        variable_measure={v: _MEASURES.get(kind, "nominal") for v, kind in book.kinds.items()},
        variable_format=_formats(book),
    )


def _formats(book: LabelledFrame) -> dict[str, str]:
    """Display formats: whole numbers without decimals, dates as dates."""
    import pandas as pd

    formats = dict.fromkeys(book.of_kind(columns.DATE), "DATE11")
    for variable in book.of_kind(columns.CATEGORY, columns.BOOLEAN):
        formats[variable] = "F8.0"
    for variable in book.of_kind(columns.INTEGER):
        largest = book.data[variable].abs().max()
        digits = 1 if pd.isna(largest) else len(str(int(largest)))
        formats[variable] = f"F{max(digits + 1, 8)}.0"
    return formats


def _file_label(attrs: Mapping[Any, Any]) -> str:
    if attrs.get("form_id") is None:
        return ""
    slug = f" ({attrs['form_slug']})" if attrs.get("form_slug") else ""
    return f"OpnForm form {attrs['form_id']}{slug}"[:MAX_FILE_LABEL]

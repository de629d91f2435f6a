"""The frame Stata and SPSS files are written from: short variable names, labels, codes.

A select field becomes whole numbers 1, 2, 3… in the form's option order (then any other value
met, as the frame's categories go), with the options as value labels; the field's name is the
variable's label; booleans are 1 and 0, lists and matrices text, date-times UTC.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from formexport.formats import columns

if TYPE_CHECKING:
    import pandas as pd

#: Kinds held as text in a statistics file.
TEXT_KINDS = frozenset({columns.TEXT, columns.LIST, columns.MATRIX})


@dataclass(frozen=True)
class LabelledFrame:
    """An export's frame prepared for a statistics package."""

    #: One column per frame column, named by its variable.
    data: pd.DataFrame
    #: Variable → the field's name (or the column's).
    labels: dict[str, str]
    #: Variable of a select field → code → option.
    value_labels: dict[str, dict[int, str]]
    #: Variable → its kind (:mod:`formexport.formats.columns`).
    kinds: dict[str, str]

    def of_kind(self, *kinds: str) -> list[str]:
        """The variables of these kinds, in column order."""
        return [variable for variable, kind in self.kinds.items() if kind in kinds]


def labelled(frame: pd.DataFrame) -> LabelledFrame:
    """``frame`` (as :func:`~formexport.load_export` returns it) ready for Stata or SPSS."""
    import pandas as pd

    names = columns.variables(frame)
    data: dict[str, Any] = {}
    labels, value_labels, kinds = {}, {}, {}
    for name, variable in names.items():
        kind = columns.kind_of(frame, name)
        series = frame[name]
        if kind == columns.CATEGORY:
            data[variable], value_labels[variable] = _codes(series)
        elif kind in TEXT_KINDS:
            data[variable] = pd.Series(columns.text_cells(series, kind), dtype=object)
        elif kind == columns.DATETIME:
            data[variable] = columns.in_utc(series)
        elif kind == columns.BOOLEAN:
            data[variable] = series.astype("Int64")  # 1 / 0, as both packages hold them
        else:
            data[variable] = series
        labels[variable] = columns.variable_label(frame, name)
        kinds[variable] = kind
    out = pd.DataFrame({k: v.reset_index(drop=True) for k, v in data.items()})
    return LabelledFrame(out, labels, value_labels, kinds)


def _codes(series: pd.Series[Any]) -> tuple[pd.Series[Any], dict[int, str]]:
    """A category column as codes from 1 in the order of its categories (missing stays
    missing), and each code's label."""
    import pandas as pd

    codes = series.cat.codes
    numbered = pd.Series(codes.to_numpy() + 1, dtype="Int64").mask(codes.to_numpy() < 0)
    labels = {code: str(option) for code, option in enumerate(series.cat.categories, start=1)}
    return numbered, labels

"""How an export is read: one frozen object, checked once where the user's arguments arrive.

The verbs and :class:`~formexport.ExportJob`'s delivering methods build a :class:`ReadOptions`
from their keywords (before anything is sent to the server) and pass it down; nothing below
checks ``naming``, ``dtype_backend`` or ``values`` again.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from formexport.errors import InvalidArgumentError

#: Field columns named after the field (``"name"``) or by its id (``"id"``).
NAMINGS = ("name", "id")
#: Where values come from: ``"auto"`` (exact for the synchronous writer), ``"csv"``, ``"exact"``.
VALUE_SOURCES = ("auto", "csv", "exact")
DTYPE_BACKENDS = ("numpy_nullable", "pyarrow")
DEFAULT_DTYPE_BACKEND = "numpy_nullable"


@dataclass(frozen=True, kw_only=True)
class ReadOptions:
    """How an export's CSV becomes typed data (see :func:`formexport.load_export`).

    Attributes
    ----------
    naming : {"name", "id"}
        Field columns named after the field or by the field's id.
    dtype_backend : {"numpy_nullable", "pyarrow"}
        The DataFrame's dtypes (files ignore it).
    values : {"auto", "csv", "exact"}
        Where field values come from.
    pseudonymize : tuple of str
        Fields (names or ids) whose answers become pseudonyms.

    Examples
    --------
    >>> ReadOptions(naming="id", pseudonymize=["Email"])
    ReadOptions(naming='id', dtype_backend='numpy_nullable', values='auto', pseudonymize=('Email',))
    >>> ReadOptions(naming="title")
    Traceback (most recent call last):
    ...
    formexport.errors.InvalidArgumentError: naming must be one of ('name', 'id'), not 'title'.
    """

    naming: str = "name"
    dtype_backend: str = DEFAULT_DTYPE_BACKEND
    values: str = "auto"
    pseudonymize: Sequence[str] = ()

    def __post_init__(self) -> None:
        if self.values not in VALUE_SOURCES:
            raise InvalidArgumentError(
                f"values must be one of {VALUE_SOURCES}, not {self.values!r}."
            )
        if self.naming not in NAMINGS:
            raise InvalidArgumentError(f"naming must be one of {NAMINGS}, not {self.naming!r}.")
        if self.dtype_backend not in DTYPE_BACKENDS:
            raise InvalidArgumentError(
                f"dtype_backend must be one of {DTYPE_BACKENDS}, not {self.dtype_backend!r}."
            )
        if isinstance(self.pseudonymize, str):
            raise InvalidArgumentError("pseudonymize is a list of field names or ids, not a str.")
        # A tuple, so that equal options are equal (a background export is known by them).
        object.__setattr__(self, "pseudonymize", tuple(self.pseudonymize))

"""Column names as Stata and SPSS accept them: one name per column, valid in both.

Both programs take names of ASCII letters, digits and ``_`` that start with a letter, Stata up
to 32 characters; SPSS compares them without regard to case and reserves a few words, Stata
others. One rule for both keeps a ``.dta`` and a ``.sav`` file of one export alike, and the
codebook records the name next to the column it comes from.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable

#: Stata's limit (SPSS allows 64 bytes).
MAX_LENGTH = 32
# Stata's reserved words (its manual, [U] 11.3) and SPSS's (compared without case).
_STATA_RESERVED = frozenset(
    (
        "_all",
        "_b",
        "byte",
        "_coef",
        "_cons",
        "double",
        "float",
        "if",
        "in",
        "int",
        "long",
        "_n",
        "_N",
        "_pi",
        "_pred",
        "_rc",
        "_se",
        "_skip",
        "strL",
        "using",
        "with",
        "aggregate",
        "array",
        "boolean",
        "break",
        "case",
        "catch",
        "class",
        "colvector",
        "complex",
        "const",
        "continue",
        "default",
        "delegate",
        "delete",
        "do",
        "else",
        "eltypedef",
        "end",
        "enum",
        "explicit",
        "export",
        "external",
        "for",
        "friend",
        "function",
        "global",
        "goto",
        "inline",
        "local",
        "NULL",
        "pragma",
        "protected",
        "quad",
        "rowvector",
        "short",
        "typedef",
        "typename",
        "virtual",
    )
)
_SPSS_RESERVED = frozenset(
    (
        "all",
        "and",
        "by",
        "eq",
        "ge",
        "gt",
        "le",
        "lt",
        "ne",
        "not",
        "or",
        "to",
        "with",
    )
)
_NOT_NAME = re.compile(r"[^A-Za-z0-9]+")
_STR_WIDTH = re.compile(r"str\d+", re.IGNORECASE)


def variable_names(columns: Iterable[str]) -> list[str]:
    """One valid, distinct Stata and SPSS name per column, in order.

    Accents are dropped, every other run of characters that is not a letter or a digit
    becomes ``_``, a name that does not start with a letter gets a ``v`` in front, and names
    are cut at 32 characters; a reserved word gets ``_`` after it, and a name already taken
    (without regard to case) ``_2``, ``_3``...

    >>> variable_names(["id", "Amount (USD)", "Email", "Email.1", "Zoë", "1st visit", "with"])
    ['id', 'Amount_USD', 'Email', 'Email_1', 'Zoe', 'v1st_visit', 'with_']
    >>> variable_names(["😀", "😀"])
    ['v1', 'v2']
    """
    taken: set[str] = set()
    names = []
    for position, column in enumerate(columns, start=1):
        name = _unique(_base(column) or f"v{position}", taken)
        taken.add(name.lower())
        names.append(name)
    return names


def _base(column: str) -> str:
    ascii_text = unicodedata.normalize("NFKD", column).encode("ascii", "ignore").decode()
    name = _NOT_NAME.sub("_", ascii_text).strip("_")
    if name and not name[0].isalpha():
        name = f"v{name}"
    name = name[:MAX_LENGTH].rstrip("_")
    if _reserved(name):
        name = f"{name[: MAX_LENGTH - 1]}_"
    return name


def _reserved(name: str) -> bool:
    return (
        name in _STATA_RESERVED
        or name.lower() in _SPSS_RESERVED
        or _STR_WIDTH.fullmatch(name) is not None
    )


def _unique(name: str, taken: set[str]) -> str:
    candidate, count = name, 1
    while candidate.lower() in taken:
        count += 1
        suffix = f"_{count}"
        candidate = f"{name[: MAX_LENGTH - len(suffix)]}{suffix}"
    return candidate

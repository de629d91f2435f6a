"""Profile names: short words, checked before they reach a file, a keyring or a message.

A name is letters and digits (any script), ``_``, ``-`` and ``.``, at most
``config.PROFILE_NAME_MAX`` characters, not starting with ``.`` or ``-``; it is compared in
Unicode's NFC form, so an accented name typed either way is one profile. Refusals say which rule
a name breaks without repeating it: a token pasted where a profile name belongs must not be
shown back.
"""

from __future__ import annotations

import os
import unicodedata

from formexport import config
from formexport.errors import InvalidArgumentError

_PUNCTUATION = frozenset("_-.")


def profile_name(name: str) -> str:
    """``name`` checked and in NFC form.

    Raises
    ------
    InvalidArgumentError
        It is empty, too long, or holds anything but letters, digits, ``_``, ``-`` and ``.``
        (path separators, ``..``, NUL and other control characters, spaces...), or starts
        with ``.`` or ``-``.

    Examples
    --------
    >>> profile_name("work")
    'work'
    >>> profile_name("../etc")  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    formexport.errors.InvalidArgumentError: A profile name ... starts with '.'.
    """
    if not isinstance(name, str):
        raise InvalidArgumentError(f"A profile name is a str, not {type(name).__name__}.")
    text = unicodedata.normalize("NFC", name)
    problem = _problem(text)
    if problem:
        raise InvalidArgumentError(
            "A profile name is a short word: letters, digits, '_', '-' and '.', up to "
            f"{config.PROFILE_NAME_MAX} characters, not starting with '.' or '-'; this one "
            f"{problem}."
        )
    return text


def _problem(text: str) -> str:
    if not text:
        return "is empty"
    if len(text) > config.PROFILE_NAME_MAX:
        return f"has {len(text)} characters"
    if text[0] in ".-":
        return f"starts with {text[0]!r}"
    for char in text:
        if char.isalnum() or char in _PUNCTUATION:
            continue
        if char.isprintable() and not char.isspace():
            return f"holds {char!r}"
        return f"holds the character U+{ord(char):04X}"
    return ""


def chosen_profile(profile: str | None = None) -> tuple[str, str]:
    """The profile to use and what named it: ``profile=``, ``OPNFORM_PROFILE`` or the default.

    Returns
    -------
    tuple of str
        The checked name, and ``"profile="``, ``"OPNFORM_PROFILE"`` or ``"default"``.
    """
    if profile is not None:
        return profile_name(profile), "profile="
    named = os.environ.get(config.PROFILE_ENV, "").strip()
    if named:
        return profile_name(named), config.PROFILE_ENV
    return config.DEFAULT_PROFILE, "default"

"""The forms the benchmarks export, named by field set.

The emulator fills each field from its kind and name (``formexport.sandbox.data.generator``):
text fields named like comments or feedback draw from answers two of which ``fputcsv`` writes
with ``\\"`` (``Path C:\\temp\\"quoted"`` and a trailing backslash before the closing quote),
which only the ``fputcsv`` rewrite reads right; other text fields draw from plain phrases.

  realistic  what real answers carry (multiline text, quotes, commas, emoji); its two comment
             fields hold ``\\"`` in about one row in eight each
  plain      realistic with the comment fields renamed, so that they hold phrases: no ``\\"``
  every-row  realistic with every option of the select field holding ``\\"`` (a quote after a
             backslash, or a trailing backslash), so that every row holds one
  every      realistic plus one field of every other typed kind (files, matrix, dates with
             time and ranges, scales, toggles)
  plain-every  every kind, free text without ``\\"``
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from formexport.sandbox import make_field

Fields = list[dict[str, Any]]

# Names the generator fills with phrases instead of comments (it looks for "comment",
# "message", "feedback" and "note" in the name).
_PHRASE_NAMES = {"Comments": "Remarks", "Feedback": "Topic line"}
# Each is written with a backslash right before a quote: inside the text, or before the
# closing quote of a value that ends with a backslash.
_BACKSLASH_OPTIONS = ["Free \\", 'Pro, yearly C:\\temp\\"x"', 'The "big" one \\']


def realistic_fields() -> Fields:
    """Fields whose cells carry what real answers do: multiline text, quotes, commas, emoji."""
    return [
        make_field("text", "Full name"),
        make_field("email", "Email"),
        make_field("phone_number", "Phone"),
        make_field("text", "Comments"),
        make_field("text", "Feedback"),
        make_field("number", "Amount"),
        make_field("rating", "Rating"),
        make_field("checkbox", "Subscribe"),
        make_field("select", "Plan", options=["Free", "Pro, yearly", 'The "big" one']),
        make_field("multi_select", "Topics", options=["Music", "Rock, Pop", "Tech", "Café"]),
        make_field("date", "Visit date"),
        make_field("text", "Zip code"),
    ]


def plain_fields() -> Fields:
    """The realistic fields, free text from the emulator's phrases: never ``\\"``."""
    return [
        make_field("text", _PHRASE_NAMES[f["name"]]) if f["name"] in _PHRASE_NAMES else f
        for f in realistic_fields()
    ]


def every_row_fields() -> Fields:
    """The realistic fields, the select's options all written with ``\\"``: every row holds one."""
    return [
        make_field("select", f["name"], options=_BACKSLASH_OPTIONS) if f["type"] == "select" else f
        for f in realistic_fields()
    ]


def other_kinds() -> Fields:
    """One field of each typed kind the realistic set lacks."""
    return [
        make_field("date", "Appointment", with_time=True),
        make_field("date", "Stay", date_range=True),
        make_field("scale", "Scale"),
        make_field("slider", "Slider"),
        make_field("toggle_switch", "Opt in"),
        make_field("files", "Uploads"),
        make_field("signature", "Signature"),
        make_field("matrix", "Sessions", rows=["Morning", "Afternoon"], columns=["Yes", "No"]),
    ]


FIELD_SETS: dict[str, Callable[[], Fields]] = {
    "realistic": realistic_fields,
    "plain": plain_fields,
    "every-row": every_row_fields,
    "every": lambda: [*realistic_fields(), *other_kinds()],
    "plain-every": lambda: [*plain_fields(), *other_kinds()],
}

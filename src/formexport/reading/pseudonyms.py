"""Answers replaced by pseudonyms: a keyed hash of each cell's text, computed in memory.

A pseudonym is the first ``config.PSEUDONYM_LENGTH`` hex digits of HMAC-SHA-256(key, text):
the same answer gives the same pseudonym in every export made with the same key, on any
machine, so exports still join on it; without the key it cannot be reversed, even for answers
from a small set (an e-mail address, a phone number) that an unkeyed hash would give away to a
dictionary. Each distinct cell is hashed once per block.
"""

from __future__ import annotations

import hashlib
import hmac
from dataclasses import dataclass, field
from typing import Any

from formexport import config

ArrowArray = Any


@dataclass(frozen=True)
class Pseudonymizing:
    """Which fields' answers become pseudonyms, and the key (never shown) that makes them.

    ``key_id`` tells keys apart without revealing them: pseudonyms of equal key ids join.
    """

    field_ids: frozenset[str]
    key: bytes = field(repr=False)
    key_id: str

    def applies_to(self, field_id: str | None) -> bool:
        return field_id is not None and field_id in self.field_ids


def pseudonym(text: str, key: bytes) -> str:
    """The pseudonym of one answer's text.

    Examples
    --------
    >>> pseudonym("ada@example.com", b"a key of sixteen+ characters")
    '260273083ae1302d'
    """
    digest = hmac.new(key, text.encode("utf-8"), hashlib.sha256).hexdigest()
    return digest[: config.PSEUDONYM_LENGTH]


def pseudonyms(values: ArrowArray, key: bytes) -> ArrowArray:
    """A string array of the pseudonyms of ``values`` (text cells); missing cells stay missing."""
    import pyarrow as pa
    import pyarrow.compute as pc

    encoded = pc.dictionary_encode(values)
    hashed = [pseudonym(text, key) for text in encoded.dictionary.to_pylist()]
    return pa.array(hashed, pa.string()).take(encoded.indices)

"""The bytes of the files respondents uploaded, for every stored file name.

A submission stores its uploads by name (``cv_<uuid>.pdf``, ``sign_<uuid>.png``); the
emulator has no real files behind those names, so each one's bytes are derived from the form
and the name: the same name always gives the same bytes, which a test can compute with
:func:`upload_bytes` and compare with what a client saved. Images are a real (1 x 1) PNG;
every other file is a text line naming it, then pseudo-random bytes up to a size between 2
and 64 KiB, so that transfers can be cut, resumed and counted.
"""

from __future__ import annotations

import base64
import hashlib

MIN_SIZE = 2 * 1024
MAX_SIZE = 64 * 1024
PNG = base64.b64decode(
    "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNkYPhfDwAChwGA60e6kgAAAABJRU5ErkJggg=="
)


def name_key(name: str) -> bytes:
    """A stored name as bytes (names may hold anything a client sent, lone surrogates too)."""
    return name.encode("utf-8", "surrogatepass")


def upload_bytes(form_id: int, name: str) -> bytes:
    """The bytes the emulator serves for ``name``, uploaded to form ``form_id``.

    Examples
    --------
    >>> upload_bytes(2, "sign_1.png")[:4]
    b'\\x89PNG'
    >>> content = upload_bytes(2, "cv_1.pdf")
    >>> content.startswith(b"Upload cv_1.pdf of form 2\\n"), MIN_SIZE <= len(content) <= MAX_SIZE
    (True, True)
    >>> upload_bytes(2, "cv_1.pdf") == content
    True
    """
    if name.lower().endswith(".png"):
        return PNG
    seed = b"%d:" % form_id + name_key(name)
    digest = hashlib.sha256(seed).digest()
    size = MIN_SIZE + int.from_bytes(digest[:4], "big") % (MAX_SIZE - MIN_SIZE + 1)
    head = b"Upload " + name_key(name) + b" of form %d\n" % form_id
    return (head + hashlib.shake_256(seed).digest(size))[:size]

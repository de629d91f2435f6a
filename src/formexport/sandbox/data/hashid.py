"""The export's ``id`` column: ``Hashids::encode(submission id)`` with the package defaults.

OpnForm configures no salt, so PyPI ``hashids.Hashids()`` gives the same strings
(1 → ``jR``, 123 → ``Mj3``). The library shuffles its alphabet on every call, which costs
about 17 µs; for one number with no salt and no minimum length the shuffled alphabet
depends only on the "lottery" character, so it is computed once per lottery here. The
fast path is checked against the library at start and is dropped if they ever differ.
"""

from __future__ import annotations

from typing import Any

from hashids import Hashids

_CHECK_IDS = (*range(0, 400), 999, 1000, 1001, 65535, 10**6, 10**9, 2**40)


class HashidEncoder:
    """Encode submission ids like OpnForm's CSV exports.

    Examples
    --------
    >>> HashidEncoder().encode(1), HashidEncoder().encode(123)
    ('jR', 'Mj3')
    """

    def __init__(self) -> None:
        self._library = Hashids()
        self._alphabets: dict[str, str] | None = None
        try:
            self._alphabets = self._lottery_alphabets(self._library)
        except (AttributeError, TypeError):
            return  # a future hashids release changed its internals: use the library.
        if any(self._fast(n) != self._library.encode(n) for n in _CHECK_IDS):
            self._alphabets = None

    def encode(self, number: int) -> str:
        """The hashid of a non-negative integer."""
        if self._alphabets is None:
            return str(self._library.encode(number))
        return self._fast(number)

    def _fast(self, number: int) -> str:
        assert self._alphabets is not None
        lottery = self._lottery[number % 100 % len(self._lottery)]
        alphabet = self._alphabets[lottery]
        size = len(alphabet)
        digits = ""
        while True:
            digits = alphabet[number % size] + digits
            number //= size
            if not number:
                return lottery + digits

    def _lottery_alphabets(self, library: Any) -> dict[str, str]:
        import hashids

        alphabet: str = library._alphabet
        if library._salt or library._min_length:
            raise TypeError("only the default Hashids configuration has a fast path")
        self._lottery = alphabet
        size = len(alphabet)
        return {
            char: str(hashids._reorder(alphabet, (char + alphabet)[:size])) for char in alphabet
        }

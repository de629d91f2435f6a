"""The ``id`` column decoded a whole block at a time, against the hashids package cell by cell."""

from __future__ import annotations

import random
from collections.abc import Collection
from contextlib import nullcontext
from unittest.mock import patch

import pyarrow as pa
import pytest
from hashids import Hashids
from hypothesis import given, settings
from hypothesis import strategies as st

from formexport.reading import ids
from formexport.sandbox.data.hashid import HashidEncoder
from formexport.sandbox.writers.csv_writers import sync_text

LIBRARY = Hashids()
ALPHABET = LIBRARY._alphabet


def library_id(text: str | None) -> int | None:
    """What the package decodes, kept when it is one database id."""
    if text is None:
        return None
    numbers = LIBRARY.decode(text)
    return numbers[0] if len(numbers) == 1 and numbers[0] < 2**63 else None


def fast(cells: list[str | None]) -> list[int | None]:
    decoded = ids.decode_array(pa.array(cells, pa.string()))
    assert decoded is not None
    numbers, ok = decoded
    return [int(n) if valid else None for n, valid in zip(numbers, ok, strict=True)]


def sample_cells(seed: int, size: int) -> list[str | None]:
    rng = random.Random(seed)
    cells: list[str | None] = []
    for _ in range(size):
        kind = rng.random()
        if kind < 0.4:
            cells.append(LIBRARY.encode(rng.randrange(2 ** rng.randrange(1, 64))))
        elif kind < 0.5:
            # The same digits behind another lottery character, or a zero digit in front.
            hashid = LIBRARY.encode(rng.randrange(10**7))
            cells.append(rng.choice(ALPHABET) + hashid[1:])
            cells.append(hashid[0] + rng.choice(ALPHABET) + hashid[1:])
        elif kind < 0.8:
            letters = ALPHABET + "cfhistuCFHISTU-_é 😀"
            cells.append("".join(rng.choice(letters) for _ in range(rng.randrange(0, 16))))
        else:
            cells.append(rng.choice([None, "", "0", "jR", "Nyj6Xl6971B59p", "x" * 40]))
    return cells


def test_a_block_decodes_as_the_package_does() -> None:
    cells = sample_cells(seed=5, size=20_000)
    assert fast(cells) == [library_id(c) for c in cells]
    assert sum(library_id(c) is not None for c in cells) > 8_000


def test_a_block_of_short_ids_decodes_as_the_package_does() -> None:
    # Only as many places as the longest cell are decoded: lone digits, a zero in front.
    hashids = [LIBRARY.encode(n) for n in range(3000)]
    alphabets = ids._alphabets()
    assert alphabets is not None
    # The zero digit of each lottery character's alphabet put in front of the digits.
    padded = [h[0] + alphabets.digits[h[0]][0] + h[1:] for h in hashids[:300]]
    cells = [*hashids, *padded, "j", "", None]
    assert fast(cells) == [library_id(c) for c in cells]
    assert fast(cells)[:3000] == list(range(3000))
    assert fast(padded) == [None] * 300


def test_the_largest_ids_and_one_past_them() -> None:
    cells = [LIBRARY.encode(2**63 - 1), LIBRARY.encode(2**63), LIBRARY.encode(44**12 - 1)]
    assert fast(cells) == [2**63 - 1, None, None]


@settings(max_examples=200, deadline=None)
@given(cells=st.lists(st.none() | st.text(alphabet=ALPHABET + "0c-é", max_size=14), max_size=20))
def test_any_cells_decode_as_the_package_does(cells: list[str | None]) -> None:
    assert fast(cells) == [library_id(c) for c in cells]


def test_a_slice_of_a_block_decodes_its_own_cells() -> None:
    cells = sample_cells(seed=9, size=300)
    block = pa.array(cells, pa.string()).slice(7, 200)
    decoded = ids.decode_array(block)
    assert decoded is not None
    assert [int(n) if v else None for n, v in zip(*decoded, strict=True)] == [
        library_id(c) for c in cells[7:207]
    ]


def one_by_one(
    cells: list[str | None], coerced: bool, known: Collection[int] | None
) -> tuple[list[int | None], list[str]]:
    """The column read cell by cell with every reading (the definition)."""
    found = [ids.readings(t, coerced=coerced, known=known) for t in cells]
    numbers = [next(iter(f)) if len(f) == 1 else None for f in found]
    single = sorted(n for n in numbers if n is not None)
    middle = single[len(single) // 2] if single else 0
    undecoded = []
    for index, (text, options) in enumerate(zip(cells, found, strict=True)):
        if len(options) > 1:
            numbers[index] = min(options, key=lambda n: (abs(n - middle), n))
        elif not options and text:
            undecoded.append(text)
    return numbers, undecoded


@pytest.mark.parametrize("tables", [True, False], ids=["fast", "package-only"])
@pytest.mark.parametrize("known", [None, "some"])
@pytest.mark.parametrize("coerced", [False, True], ids=["async-writer", "sync-writer"])
def test_id_column_reads_as_cell_by_cell(coerced: bool, known: str | None, tables: bool) -> None:
    encoder = HashidEncoder()
    rng = random.Random(3)
    first = rng.randrange(10**6)
    hashids = [encoder.encode(n) for n in range(first, first + 3000)]
    cells: list[str | None] = [sync_text(h) if coerced else h for h in hashids]
    cells += [*sample_cells(seed=4, size=500), "3E9", "20", "1e3", "007", "٣"]
    rng.shuffle(cells)
    known_ids = set(range(first, first + 3000, 2)) if known else None
    column = ids.IdColumn(coerced=coerced, known=known_ids)
    with patch.object(ids, "_lookup", return_value=None) if not tables else nullcontext():
        text, numbers = column.convert(pa.array(cells, pa.string()))
    expected, undecoded = one_by_one(cells, coerced, known_ids)
    assert text.to_pylist() == cells
    assert numbers.to_pylist() == expected
    assert column.undecoded == undecoded
    assert sum(n is not None for n in expected) > 1000


def test_several_readings_take_the_one_nearest_the_block() -> None:
    # "800000" reads as 341 ("8E5") or as 84346685 (another spelling of the same number).
    assert ids.readings("800000", coerced=True) == {341, 84346685}
    encoder = HashidEncoder()
    cells = [sync_text(encoder.encode(n)) for n in range(84346000, 84347000)] + ["800000"]
    column = ids.IdColumn(coerced=True)
    _, numbers = column.convert(pa.array(cells, pa.string()))
    assert numbers.to_pylist()[-1] == 84346685
    assert numbers.to_pylist() == one_by_one(cells, True, None)[0]


def test_known_ids_settle_readings_but_never_drop_a_cell() -> None:
    encoder = HashidEncoder()
    cells = [encoder.encode(n) for n in (5, 6, 7)]
    for coerced in (False, True):
        column = ids.IdColumn(coerced=coerced, known={5, 7})  # 6 was deleted meanwhile
        _, numbers = column.convert(pa.array(cells, pa.string()))
        assert numbers.to_pylist() == [5, 6, 7]
    # "800000" reads as 341 ("8E5") or 84346685: a known id settles it; none known, both stay.
    assert ids.readings("800000", coerced=True, known={341}) == {341}
    assert ids.readings("800000", coerced=True, known={12}) == {341, 84346685}

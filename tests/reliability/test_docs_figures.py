"""Every figure in the measured columns of docs/reliability.md was said by a test of this run.

The tests check their figures against the doc as they measure them (:mod:`figures`); this test
runs after all of them (see conftest) and fails on any number in a measured column that no test
said. It needs the whole of ``tests/reliability`` in the run: a run of a part of it (``-k``,
one file, a node id) cannot tell an unmeasured figure from one measured by a test left out.
"""

from __future__ import annotations

import pytest

from tests.reliability.figures import DOC, PARTIAL_RUN, figures_in, table_cells, unsaid


def test_every_measured_figure_of_the_doc_was_measured(request: pytest.FixtureRequest) -> None:
    partial = request.config.stash.get(PARTIAL_RUN, "")
    if partial:
        pytest.skip(f"the doc's figures are checked when all of tests/reliability runs ({partial})")
    if request.session.testsfailed:
        pytest.skip("tests failed before this one: their figures were not all measured")
    cells = [cell for cell in table_cells(DOC.read_text(encoding="utf-8")) if cell.measured]
    assert len(cells) > 50  # the tables were found
    unmeasured = [
        f"{cell.row[:60]!r} / {cell.column}: {figures_in(unsaid(cell))} in {cell.text!r}"
        for cell in cells
        if figures_in(unsaid(cell))
    ]
    assert not unmeasured, "figures no test measured:\n" + "\n".join(unmeasured)

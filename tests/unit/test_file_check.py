"""The check of a server job's file against its request: columns, row count, chosen ids."""

from __future__ import annotations

import pyarrow as pa
import pytest
from hashids import Hashids

from formexport.jobs.file_check import ForeignFile, RequestCheck, same_second_message
from formexport.reading.column_plan import PlannedColumn
from formexport.reading.tally import Tally, tally_file

PLAN = (PlannedColumn("id", "id"), PlannedColumn("created_at", "created_at"))


def counted(ids: list[int | None]) -> Tally:
    tally = Tally(keep_ids=True)
    tally.add(len(ids), pa.array(ids, pa.int64()))
    return tally


def test_the_header_must_be_the_requested_columns() -> None:
    check = RequestCheck.of(PLAN, 10, None)
    assert check.header_matches(["id", "created_at"])
    assert check.header_matches([])  # a file without rows has no header
    assert not check.header_matches(["id", "created_at", "status"])
    assert not check.header_matches(["id", "Email"])
    error = check.other_columns(["id", *(f"c{n}" for n in range(9))])
    assert str(error) == (
        "its columns (id, c0, c1, c2, c3, c4 and 4 more) are not the 2 requested (id, created_at)"
    )


def test_a_whole_form_has_at_least_its_total() -> None:
    check = RequestCheck.of(PLAN, 2500, None)
    check.check_rows(Tally(rows=2500))
    check.check_rows(Tally(rows=2503))  # submissions that arrived while the job ran
    with pytest.raises(ForeignFile, match="it holds 1500 rows where this export's job counted"):
        check.check_rows(Tally(rows=1500))
    RequestCheck.of(PLAN, None, None).check_rows(Tally(rows=3))  # no total reported


@pytest.mark.parametrize(
    ("found", "problem"),
    [
        ([3, 1, 2], None),
        ([1, 2], "it holds 2 of the 3 submissions chosen"),
        ([1, 2, 4], "it holds submissions this export did not choose"),
        ([1, 2, None], "it holds submissions this export did not choose"),
        ([1, 2, 2], "it holds a submission twice"),
    ],
)
def test_chosen_submissions_each_once_and_no_other(found: list[int | None], problem: str) -> None:
    check = RequestCheck.of(PLAN, 3, [1, 2, 3, 3])  # repeats in the request count once
    if problem is None:
        check.check_rows(counted(found))
        return
    with pytest.raises(ForeignFile, match=problem):
        check.check_rows(counted(found))


def test_the_message_explains_the_clash_and_what_to_do() -> None:
    message = same_second_message(2, "5b0f", 3, "its columns (id) are not the 2 requested")
    assert message.startswith("The export of form 2 got another export's file 3 times in a row")
    assert "job 5b0f" in message
    assert "after the form and the second its job finished" in message
    assert "Export again once they are done" in message


def test_a_file_is_counted_by_record_not_by_line() -> None:
    codec = Hashids()
    rows = [f'{codec.encode(n)},"two\nlines",x' for n in (7, 8, 9)]
    data = ("id,Note,Other\n" + "\n".join(rows) + "\n").encode()
    header, tally = tally_file(data, keep_ids=True)
    assert header == ["id", "Note", "Other"]
    assert tally.rows == 3
    assert tally.submission_ids().to_pylist() == [7, 8, 9]
    assert tally_file(data, keep_ids=False)[1].submission_ids().to_pylist() == []
    assert tally_file(b'""\n', keep_ids=True) == ([], Tally(keep_ids=True))

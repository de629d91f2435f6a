"""Whether a server job's file is the export it was asked for, or another export's.

OpnForm names a server job's file after the form and the second the job finished
(``exports/temp/{slug}-submissions-{Y-m-d-H-i-s}.csv``), so two jobs of one form finishing in
the same second share one file: the later overwrites the earlier, and both status answers point
at it. formexport's own exports of a form take turns (:mod:`formexport.local.form_turns`), but
another program, person or machine may export the form in the same second. Before a job's data
is handed over (a frame returned, a file moved into place), :class:`RequestCheck` compares it
with its request:

* the header holds exactly the requested columns (a form edited since the request is told apart
  by reading the form again, in :mod:`formexport.jobs.delivery`);
* an export of chosen submissions (``submission_ids``, ``since=``, ``status=``) holds only those,
  each once, as many as the job's ``total_submissions``;
* an export of the whole form holds at least ``total_submissions`` rows: the job counts the
  form's submissions when it starts and writes those there when it writes the file, so the
  submissions that arrived in between are in it too.

Answers and answered batches carry their own CSV and are not checked: no other export can have
written them.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import dataclass

from formexport.reading.column_plan import PlannedColumn, header_matches
from formexport.reading.tally import Tally


class ForeignFile(Exception):
    """The file delivered for a job is another export's; the message says how it differs.

    Internal: the delivery exports again, and users get :class:`~formexport.ExportFailedError`
    when that keeps happening.
    """


@dataclass(frozen=True)
class RequestCheck:
    """What a server job's file must hold.

    Attributes
    ----------
    plan : tuple of PlannedColumn
        The columns requested, as the server writes them (the form as read for the request).
    total : int or None
        The job's ``total_submissions``, when the server reported it.
    chosen : frozenset of int or None
        The submissions chosen, for an export of chosen submissions.
    """

    plan: tuple[PlannedColumn, ...]
    total: int | None
    chosen: frozenset[int] | None

    @classmethod
    def of(
        cls, plan: Sequence[PlannedColumn], total: int | None, chosen: Collection[int] | None
    ) -> RequestCheck:
        """The check for a request; ``chosen`` may repeat ids."""
        ids = None if chosen is None else frozenset(int(i) for i in chosen)
        return cls(tuple(plan), total, ids)

    @property
    def header(self) -> list[str]:
        """The header the request asks for."""
        return [column.header for column in self.plan]

    def header_matches(self, header: Sequence[str]) -> bool:
        """True for the requested columns (a file without rows has no header to compare)."""
        return not header or header_matches(self.plan, header)

    def other_columns(self, header: Sequence[str]) -> ForeignFile:
        """The error for a file whose header is not the requested one."""
        requested = self.header
        return ForeignFile(
            f"its columns ({_names(header)}) are not the {len(requested)} requested "
            f"({_names(requested)})"
        )

    def check_rows(self, tally: Tally) -> None:
        """Raise :class:`ForeignFile` unless the rows counted are the ones requested."""
        if self.chosen is not None:
            self._check_chosen(tally)
        elif self.total is not None and tally.rows < self.total:
            raise ForeignFile(
                f"it holds {tally.rows} rows where this export's job counted {self.total}"
            )

    def _check_chosen(self, tally: Tally) -> None:
        import pyarrow as pa
        import pyarrow.compute as pc

        assert self.chosen is not None
        ids = tally.submission_ids()
        chosen = pa.array(sorted(self.chosen), pa.int64())
        if ids.null_count or (len(ids) and not pc.all(pc.is_in(ids, value_set=chosen)).as_py()):
            raise ForeignFile("it holds submissions this export did not choose")
        if pc.count_distinct(ids).as_py() != len(ids):
            raise ForeignFile("it holds a submission twice")
        if self.total is not None and len(ids) != self.total:
            raise ForeignFile(f"it holds {len(ids)} of the {self.total} submissions chosen")


def _names(header: Sequence[str], shown: int = 6) -> str:
    """``id, created_at, status``: the first few names of a header, then how many more."""
    more = len(header) - shown
    return ", ".join(header[:shown]) + (f" and {more} more" if more > 0 else "")


def same_second_message(form_id: int, job_id: str | None, tries: int, reason: str) -> str:
    """Why an export that kept getting other exports' files failed, and what to do."""
    job = f"job {job_id}" if job_id else "the job"
    return (
        f"The export of form {form_id} got another export's file {tries} times in a row (the "
        f"file of {job}: {reason}), so no data was delivered. OpnForm names an export's file "
        "after the form and the second its job finished: exports of one form finishing in the "
        "same second share one file, the later replacing the earlier. Exports of one form take "
        "turns on this machine, so the other exports come from another program, person or "
        "machine exporting this form at the same moments. Export again once they are done, "
        "or agree with them on times to export."
    )

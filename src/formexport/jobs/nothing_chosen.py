"""An export whose ``since=``/``status=`` chose no submission: nothing is asked of the server."""

from __future__ import annotations

from formexport.jobs.answered import AnsweredExport
from formexport.opnform.models import ExactValues

#: What OpnForm's synchronous writer sends for an export without submissions (no header).
NO_SUBMISSIONS_CSV = b'\xef\xbb\xbf""\n'


class NothingChosen(AnsweredExport):
    """No submission matched: the export the server would send for none, made here.

    It reads as a frame of no rows with every column typed (the columns follow from the form
    and the request), and downloads as the server's own empty export.
    """

    mode = "nothing_chosen"
    no_job_text = "none (no submission matched since= / status=)"

    def __init__(self, form_id: int) -> None:
        super().__init__(form_id, NO_SUBMISSIONS_CSV)
        self.exact_values = ExactValues({})  # nothing to read from the JSON list either

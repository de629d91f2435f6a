"""An export job as a small HTML table, for notebooks (``ExportJob._repr_html_``)."""

from __future__ import annotations

from formexport import html_tables
from formexport.jobs.delivery import Delivery


def job_table(delivery: Delivery) -> str:
    """Form, job id, state, progress, rows and link lifetime of the export ``delivery`` brings."""
    form, job_id, status = delivery.form, delivery.job_id, delivery.status
    rows: list[tuple[str, str]] = [
        ("Form", f"{form.title or form.slug} (id {form.id}, {form.slug})"),
        ("Job id", html_tables.code(job_id) if job_id else delivery.no_job_text),
    ]
    if status is not None:
        rows += status.html_rows()
    else:
        rows.append(("State", "not checked yet: call refresh() or wait()"))
    total = delivery.total
    if total is not None and not any(label == "Rows" for label, _ in rows):
        rows.append(("Rows", str(total)))
    return html_tables.table(f"Export of form {form.id}", rows)

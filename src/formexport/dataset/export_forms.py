"""Many forms into one hive-partitioned Parquet dataset, on any fsspec URL.

Layout under the destination::

    form_id=12/export_date=2026-11-28/part-full-20261128T101500.parquet
    form_id=12/export_date=2026-11-29/part-1533-1540.parquet      (an incremental run)
    _formexport_manifest.json
    _formexport_codebook.json

Spark, DuckDB, Polars, Dask and pyarrow read it as one table partitioned by ``form_id`` and
``export_date``: every file of a form has the same schema, one column per field for the
dataset's life, however the form is edited (:mod:`formexport.dataset.stable_columns`,
:mod:`formexport.dataset.conform`).
"""

from __future__ import annotations

import logging
import tempfile
import threading
import time
from collections.abc import Iterable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from formexport import config
from formexport.client import Client
from formexport.dataset.codebook_file import Codebook, load_codebook
from formexport.dataset.columns import newest_id
from formexport.dataset.form_schemas import FormSchemas
from formexport.dataset.incremental import Edge, edge_of_export, new_submissions, store_edge
from formexport.dataset.manifest import (
    FAILED,
    OK,
    RUNNING,
    UNCHANGED,
    FormRecord,
    Manifest,
    load_manifest,
    save_manifest,
    utc_now,
)
from formexport.dataset.personal_data import PersonalData
from formexport.dataset.planning import (
    FULL,
    INCREMENTAL,
    SKIP,
    Plan,
    filesystem,
    plan_for,
    resolve_forms,
    stamp,
)
from formexport.dataset.retained import Retained, keep_gone_rows
from formexport.errors import (
    ExportJobNotFoundError,
    FormExportError,
    PartialExportError,
    StatusUnavailableError,
)
from formexport.jobs.export_job import ExportJob
from formexport.opnform.checks import without_fields
from formexport.opnform.endpoints import FormRef
from formexport.progress.reporters import (
    ProgressEvent,
    ProgressOption,
    ProgressReporter,
    make_reporter,
)
from formexport.uploads.destination import Destination

logger = logging.getLogger("formexport")


class _Run:
    """One pass over the forms: exports in parallel, the manifest saved after each form."""

    def __init__(
        self,
        client: Client,
        fs: Any,
        root: str,
        manifest: Manifest,
        *,
        timeout: float | None,
        reporter: ProgressReporter,
        mirror_deletions: bool = False,
        files: Destination | None = None,
        codebook: Codebook | None = None,
        personal: PersonalData | None = None,
    ) -> None:
        self.settings = client.settings
        self.personal = personal or PersonalData()
        self.mirror_deletions = mirror_deletions
        self.files = files
        self.fs, self.root, self.manifest = fs, root, manifest
        self.timeout = timeout
        self.reporter = reporter
        self.lock = threading.Lock()
        # The run is named by its start in the codebook's history of each field.
        started = datetime.now(timezone.utc).isoformat(timespec="milliseconds")
        self.schemas = FormSchemas(fs, root, codebook or Codebook(), run=started, lock=self.lock)
        self.export_date = datetime.now(timezone.utc).date().isoformat()
        self.done = 0
        self.total = 0

    def run(self, plans: Sequence[Plan], workers: int) -> None:
        self.total = len(plans)
        self._report("starting")
        with ThreadPoolExecutor(
            max_workers=max(1, workers), thread_name_prefix="formexport"
        ) as pool:
            for _ in pool.map(self._one, plans):
                pass

    def _report(self, message: str) -> None:
        self.reporter.update(ProgressEvent("forms", self.done, self.total, message))

    def _save(self, record: FormRecord) -> None:
        with self.lock:
            self.manifest.put(record)
            save_manifest(self.fs, self.root, self.manifest)

    def _one(self, plan: Plan) -> None:
        form = plan.form
        record = self._start_record(plan)
        began = time.monotonic()
        try:
            if plan.mode == SKIP:
                record = replace(record, status=UNCHANGED, rows=0)
            else:
                with Client.from_settings(self.settings) as client:
                    record = self._export(client, plan, record)
                record.status = OK
        except FormExportError as exc:
            logger.warning("Form %s (%s) failed: %s", form.id, form.title, exc)
            record.status, record.error = FAILED, str(exc)
        record.duration_seconds = round(time.monotonic() - began, 3)
        self._save(record)
        with self.lock:
            self.done += 1
            self._report(f"{form.title or form.id}: {record.status}")

    def _start_record(self, plan: Plan) -> FormRecord:
        previous = plan.previous
        base = FormRecord(form_id=plan.form.id) if previous is None else replace(previous)
        return replace(
            base,
            slug=plan.form.slug,
            title=plan.form.title,
            mode=plan.mode,
            status=RUNNING,
            error=None,
            started_at=utc_now(),
            submissions_count=plan.form.submissions_count,
            form_updated_at=stamp(plan.form.updated_at),
        )

    def _export(self, client: Client, plan: Plan, record: FormRecord) -> FormRecord:
        ids: list[int] | None = None
        edge: Edge | None = None
        if plan.mode == INCREMENTAL:
            ids, edge = new_submissions(client.api, self.fs, self.root, record)
            if not ids:
                record.rows = 0
                store_edge(record, edge)
                return record
        job = self._job(client, plan, record, ids)
        with job, tempfile.TemporaryDirectory(prefix="formexport-") as scratch:
            hidden = self.personal.pseudonymized_in(job.form)
            local = job.to_parquet(
                Path(scratch) / "part.parquet", files=self.files, pseudonymize=hidden
            )
            record = self._publish(plan, record, job, local, ids)
        if plan.mode == INCREMENTAL:
            store_edge(record, edge)
        return record

    def _job(
        self, client: Client, plan: Plan, record: FormRecord, ids: list[int] | None
    ) -> ExportJob:
        previous = plan.previous
        # Deleted fields too: their answers stay in the dataset, in their own columns.
        info = client.get_form(plan.form.id)
        columns = info.default_columns(deleted=True)
        excluded = self.personal.excluded_in(info)
        if excluded:
            columns = without_fields(columns, excluded, info)
        if previous is not None and previous.status == RUNNING and previous.job_id:
            try:
                job = ExportJob.attach(
                    plan.form.id, previous.job_id, client=client, reexport=True, columns=columns
                )
                job.wait(progress=None, timeout=self.timeout)
                logger.info("Form %s: picked up export job %s", plan.form.id, job.job_id)
                return job
            except (ExportJobNotFoundError, StatusUnavailableError):
                logger.info(
                    "Form %s: earlier job %s is gone; exporting again",
                    plan.form.id,
                    previous.job_id,
                )
        job = client.start_export(plan.form.id, columns, submission_ids=ids)
        record.job_id = job.job_id
        self._save(replace(record))
        job.wait(progress=None, timeout=self.timeout)
        return job

    def _publish(
        self,
        plan: Plan,
        record: FormRecord,
        job: ExportJob,
        local: Path,
        ids: list[int] | None,
    ) -> FormRecord:
        import pyarrow.parquet as pq

        exported = pq.read_table(local)
        record.rows = exported.num_rows
        record.job_id = job.job_id
        kept = record.partitions
        typed, book = self.schemas.settle(record, job.form, exported)
        retained = Retained()
        if plan.mode == FULL:
            retained = keep_gone_rows(
                self.fs,
                self.root,
                record,
                exported,
                mirror=self.mirror_deletions,
                stamp=_compact_now(),
            )
            kept = retained.partitions
            store_edge(record, edge_of_export(exported))
        self.schemas.keep(record, book, kept)
        if record.rows:
            name = f"part-{min(ids)}-{max(ids)}" if ids else f"part-full-{_compact_now()}"
            relative = f"form_id={plan.form.id}/export_date={self.export_date}/{name}.parquet"
            self.schemas.write(typed, book, local, exported=exported)
            self._upload(local, relative)
            kept = [*kept, relative]
        record.partitions = list(kept)
        newest = max(ids) if ids else newest_id(exported)
        if newest is not None:
            record.high_water_mark = max(newest, record.high_water_mark or 0)
        self._remove(retained.replaced)
        return record

    def _upload(self, local: Path, relative: str) -> None:
        target = f"{self.root}/{relative}"
        self.fs.makedirs(target.rsplit("/", 1)[0], exist_ok=True)
        self.fs.put_file(str(local), target)

    def _remove(self, relatives: Iterable[str]) -> None:
        for relative in relatives:
            path = f"{self.root}/{relative}"
            if self.fs.exists(path):
                self.fs.rm(path)


def _compact_now() -> str:
    return datetime.now(timezone.utc).strftime("%Y%m%dT%H%M%S%f")


def export_forms(
    forms_or_workspace: int | str | Sequence[FormRef],
    dest: str | Path,
    *,
    storage_options: Mapping[str, Any] | None = None,
    incremental: bool = False,
    full_refresh: bool = False,
    mirror_deletions: bool = False,
    files: bool = False,
    exclude: Sequence[str] | None = None,
    pseudonymize: Sequence[str] | None = None,
    token: str | None = None,
    base_url: str | None = None,
    profile: str | None = None,
    progress: ProgressOption = "auto",
    timeout: float | None = None,
    max_workers: int = 2,
) -> Manifest:
    """Export many forms into one hive-partitioned Parquet dataset.

    Parameters
    ----------
    forms_or_workspace : int, str or list
        A workspace (its id, or its exact name) to export every form of, or a list of form ids
        or slugs.
    dest : str or Path
        A local folder or any fsspec URL: ``s3://bucket/forms``, ``gs://…``, ``abfs://…``.
    storage_options : dict, optional
        Passed to fsspec, as in pandas (credentials, ``endpoint_url``, …).
    incremental : bool
        Export only the submissions the dataset does not hold yet, created since the newest one
        it holds (listed through the JSON API and exported by id), as a new partition. Edits to
        older submissions are not seen; run with ``full_refresh=True`` now and then.
    full_refresh : bool
        Export every form in full, replacing its partitions. Rows whose submissions the server
        no longer has (deleted by hand, or past the form's retention period) are kept, and
        counted in the manifest (``rows_gone_upstream``): the dataset may be their only copy.
    mirror_deletions : bool
        Drop those rows instead, so that each form's data matches the server's (counted in
        ``rows_dropped``). Applies to every full export of the run.
    files : bool
        Save the uploaded files of every file-upload and signature field under
        ``<dest>/_files/<form id>/<submission id>/<field id>/<file name>`` (dataset readers skip
        folders starting with ``_``); those columns then hold the files' paths relative to
        ``<dest>/_files``, so that the dataset can move. Each run saves only the files not saved
        yet (see :func:`formexport.load_export`).
    exclude, pseudonymize : list of str, optional
        Fields (names or ids) left out of every export, or whose answers become keyed
        pseudonyms (see :func:`formexport.load_export`); each applies to the forms that have
        such a field. A name that is a field of none of them is refused before any export. A
        column pseudonymized from some run on holds text from then on (see the codebook).
    token, base_url, profile, progress, timeout :
        As for :func:`formexport.load_export`; ``progress`` shows one line or bar for the run.
    max_workers : int
        Forms exported at the same time. OpnForm's limits (10 exports a minute per user) are
        shared, so a few workers are enough.

    Returns
    -------
    Manifest
        Each form's record: rows, job id, status, duration, schema hash, partitions.

    Raises
    ------
    PartialExportError
        Some forms failed; the others were written and recorded (``.failed`` lists them).

    Notes
    -----
    Re-running is cheap: a form whose completed-submission count and update time did not
    change is skipped, and a run that stopped midway resumes from the manifest (picking up a
    background job it had started, when the server lets tokens watch jobs).

    Forms keep collecting while they are exported: every submission that existed when a form's
    export began is written exactly once; those that arrive meanwhile are written by this run
    or by the next incremental one, never by both.

    Forms are edited while they collect: each field keeps one column for the dataset's life,
    named after the field when the dataset first met it, and deleted fields keep theirs (their
    answers are still exported). Renames, new options and type changes are recorded in the
    codebook beside the data (:func:`read_codebook`); every file of a form has the same schema,
    so a run that adds a column or changes its type writes the form's earlier files again.
    :func:`read_dataset` reads the dataset back with the fields' current names.

    Examples
    --------
    >>> import formexport as fx
    >>> manifest = fx.export_forms([1, 2], "exports")
    >>> {form: manifest.forms[form].rows for form in sorted(manifest.forms)}
    {'1': 250, '2': 2500}
    >>> import pandas as pd
    >>> len(pd.read_parquet("exports/form_id=2"))
    2500
    >>> again = fx.export_forms([1, 2], "exports", incremental=True)   # nothing new since
    >>> {form: again.forms[form].rows for form in sorted(again.forms)}
    {'1': 0, '2': 0}
    """
    fs, root = filesystem(dest, storage_options)
    uploads = None
    if files:
        target = f"{str(dest).rstrip('/')}/{config.UPLOADS_FOLDER}"
        uploads = Destination.of(target, dict(storage_options or {}), relative=True)
    reporter = make_reporter(progress)
    try:
        with Client(token, base_url, profile=profile) as client:
            forms = resolve_forms(client, forms_or_workspace)
            manifest = load_manifest(fs, root, client.base_url)
            codebook = load_codebook(fs, root)
            personal = PersonalData.checked(client, forms, exclude, pseudonymize)
            plans = [
                plan_for(form, manifest.record(form.id), incremental, full_refresh)
                for form in forms
            ]
            run = _Run(
                client,
                fs,
                root,
                manifest,
                timeout=timeout,
                reporter=reporter,
                mirror_deletions=mirror_deletions,
                files=uploads,
                codebook=codebook,
                personal=personal,
            )
            run.run(plans, max_workers)
    finally:
        reporter.close()
    wanted = {form.id for form in forms}
    failed = {r.form_id: r.error or "failed" for r in manifest.failed if r.form_id in wanted}
    if failed:
        raise PartialExportError(
            f"{len(failed)} of {len(forms)} forms failed ({', '.join(map(str, failed))}); the "
            f"others were written. Details in {root}/_formexport_manifest.json; run again to "
            "retry only what is missing.",
            failed=failed,
        )
    return manifest

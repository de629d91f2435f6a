"""What each ``formexport`` command does; :mod:`formexport.cli` parses, tells errors, exits.

Each command imports what it needs, so that ``formexport --help`` answers at once.
"""

from __future__ import annotations

import argparse
import json
import os
import shlex
import sys
import time
from dataclasses import asdict
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from formexport import config
from formexport.cli.tables import Column, Table
from formexport.errors import (
    ConfigurationError,
    InvalidArgumentError,
    NoTokenError,
    PartialExportError,
)
from formexport.opnform.checks import form_path

if TYPE_CHECKING:
    from formexport.jobs.output import Output, Written

EXIT_OK, EXIT_FAILED = 0, 1


def _require_token(args: argparse.Namespace) -> None:
    """Refuse at once, before any work, when no token is set or signed in for the command."""
    from formexport.credentials import lookup_settings

    lookup_settings(base_url=args.base_url, profile=args.profile)


def no_token_explained(error: NoTokenError) -> str:
    """A missing token's next step, as commands: sign in, or set the variable."""
    words = ["formexport", "login"]
    if error.profile != config.DEFAULT_PROFILE:
        words += ["--profile", error.profile]
    return (
        f"{error.reason}\nSign in with:\n  {shlex.join(words)}\nor set {config.TOKEN_ENV} to "
        f"{config.TOKEN_HELP}."
    )


def login(args: argparse.Namespace) -> int:
    """``formexport login``: a token asked for without echo (or read from a pipe), kept."""
    from formexport.signin import login as sign_in

    token = None
    if not sys.stdin.isatty():
        token = sys.stdin.readline()
        if not token.strip():
            raise ConfigurationError(
                "No token on standard input: pipe one in (formexport login < token-file), or "
                "run formexport login in a terminal to be asked for it."
            )
    account = sign_in(token, base_url=args.base_url, profile=args.profile)
    print(account)
    return EXIT_OK


def whoami(args: argparse.Namespace) -> int:
    """``formexport whoami``: the token's user, asked of the server, and where it is kept."""
    from formexport.signin import whoami as who

    print(who(profile=args.profile, base_url=args.base_url))
    return EXIT_OK


def logout(args: argparse.Namespace) -> int:
    """``formexport logout``: forget a profile's sign-in and its token."""
    from formexport.credentials import chosen_profile
    from formexport.signin import logout as sign_out

    name, _ = chosen_profile(args.profile)
    if sign_out(profile=name):
        print(f"Signed out of profile {name}: its token is forgotten.")
    else:
        print(f"Profile {name} was not signed in.", file=sys.stderr)
    if os.environ.get(config.TOKEN_ENV, "").strip():
        print(f"{config.TOKEN_ENV} is still set: unset it too.", file=sys.stderr)
    return EXIT_OK


def _output(args: argparse.Namespace) -> Output:
    """The file ``-o`` names, in the format its extension (or ``--format``) says."""
    from formexport.jobs.output import FILE_FORMATS, Output, file_format, suffixes
    from formexport.reading.options import ReadOptions

    if args.format is None and file_format(args.output) is None:
        raise InvalidArgumentError(
            f"Cannot tell which format to write to {args.output!r}: end the file name in "
            f"{suffixes()}, or pass --format {'|'.join(FILE_FORMATS)}."
        )
    chosen = file_format(args.output, args.format)
    _refuse_pseudonyms_in_csv(args, chosen.name if chosen else "")
    options = ReadOptions(
        naming=args.naming, values=args.values, pseudonymize=args.pseudonymize or ()
    )
    return Output.checked(args.output, options, args.files, chosen_format=args.format)


def export(args: argparse.Namespace) -> int:
    """``formexport export``: a new export, or the job given by ``--job``, to a file."""
    output = _output(args)
    if args.job is not None:
        given = [flag for flag, value in _job_conflicts(args) if value]
        if given:
            raise InvalidArgumentError(
                f"--job picks up an export as it was started; {', '.join(given)} cannot change "
                "it. Drop them, or start a new export without --job."
            )
    form_path(args.form)  # a file name is told to convert before a token is looked for
    _require_token(args)
    written = _export_job(args, output) if args.job else _export_new(args, output)
    rows, columns = written.shape()
    shown = (
        args.output if Path(args.output).expanduser().absolute() == written.path else written.path
    )
    print(f"Wrote {shown}: {rows} rows \N{MULTIPLICATION SIGN} {columns} columns")
    if args.files:
        print(f"Saved the uploaded files under {args.files}")
    return EXIT_OK


def _job_conflicts(args: argparse.Namespace) -> list[tuple[str, object]]:
    return [
        ("--columns", args.columns),
        ("--exclude", args.exclude),
        ("--cache", args.cache),
        ("--max-age", args.max_age),
        ("--no-reattach", args.no_reattach),
        ("--since", args.since),
        ("--status", args.status),
    ]


def _export_new(args: argparse.Namespace, output: Output) -> Written:
    from formexport.export_call import ExportRequest, run

    request = ExportRequest(
        form=args.form,
        columns=args.columns,
        exclude=args.exclude,
        progress=None if args.no_progress else "auto",
        timeout=args.timeout,
        cache=args.cache,
        max_age=args.max_age,
        reattach=not args.no_reattach,
        since=args.since,
        status=args.status,
    )
    request.check_keeps_no_answers(args.pseudonymize)
    return run(request, output.write, token=None, base_url=args.base_url, profile=args.profile)


def _refuse_pseudonyms_in_csv(args: argparse.Namespace, file_format: str) -> None:
    if args.pseudonymize and file_format == "csv":
        raise InvalidArgumentError(
            "--pseudonymize needs a typed file (.parquet, .xlsx, .dta, .sav): a .csv file is "
            "the export as the server wrote it, answers included. Write one of those, or leave "
            "those fields out with --exclude."
        )


def _export_job(args: argparse.Namespace, output: Output) -> Written:
    from formexport.client import Client

    progress = None if args.no_progress else "auto"
    with (
        Client(base_url=args.base_url, profile=args.profile) as client,
        client.attach(args.form, args.job) as job,
    ):
        job.wait(progress=progress, timeout=args.timeout)
        return output.write(job)


def convert(args: argparse.Namespace) -> int:
    """``formexport convert``: an export file at hand to Parquet or standard CSV."""
    from formexport.read_file import convert_export, output_format

    fmt = output_format(Path(args.output))
    if args.form is not None:
        _require_token(args)
    written = convert_export(
        args.file,
        args.output,
        args.form,
        naming=args.naming,
        base_url=args.base_url,
        profile=args.profile,
        storage_options=dict(args.storage_option or []),
    )
    rows, columns = _shape(written, fmt)
    print(f"Wrote {written}: {rows} rows \N{MULTIPLICATION SIGN} {columns} columns")
    return EXIT_OK


def _shape(path: Path, fmt: str) -> tuple[int, int]:
    """Rows and columns of the Parquet or CSV file written."""
    from formexport.reading.parquet_output import parquet_shape
    from formexport.reading.sinks import csv_shape

    return parquet_shape(path) if fmt == "parquet" else csv_shape(path)


def export_all(args: argparse.Namespace) -> int:
    """``formexport export-all``: many forms into a Parquet dataset."""
    from formexport.dataset.export_forms import export_forms

    _require_token(args)
    target = args.forms or args.workspace
    try:
        manifest = export_forms(
            target,
            args.output,
            storage_options=dict(args.storage_option or []),
            incremental=args.incremental,
            full_refresh=args.full_refresh,
            mirror_deletions=args.mirror_deletions,
            files=args.files,
            exclude=args.exclude,
            pseudonymize=args.pseudonymize,
            base_url=args.base_url,
            profile=args.profile,
            progress=None if args.no_progress else "auto",
            timeout=args.timeout,
            max_workers=args.workers,
        )
    except PartialExportError as exc:
        print(f"formexport: error: {exc}", file=sys.stderr)
        for form_id, reason in exc.failed.items():
            print(f"  form {form_id}: {reason}", file=sys.stderr)
        return EXIT_FAILED
    rows = sum(r.rows for r in manifest.forms.values())
    print(f"Wrote {len(manifest.forms)} forms ({rows} new rows) to {args.output}")
    kept = sum(r.rows_gone_upstream for r in manifest.forms.values())
    dropped = sum(r.rows_dropped for r in manifest.forms.values())
    if kept:
        print(
            f"Kept {kept} rows whose submissions the server no longer has "
            "(--mirror-deletions drops them)"
        )
    if dropped:
        print(f"Dropped {dropped} rows whose submissions the server no longer has")
    return EXIT_OK


def forms(args: argparse.Namespace) -> int:
    """``formexport forms``: the forms the token can read, as a table or JSON."""
    from formexport.client import Client
    from formexport.forms import form_rows

    _require_token(args)
    with Client(base_url=args.base_url, profile=args.profile) as client:
        rows = form_rows(client, args.workspace)
    if args.json:
        print(json.dumps(rows, default=_json_default, indent=2, ensure_ascii=False))
        return EXIT_OK
    if not rows:
        print("No forms: the token's workspaces hold none.", file=sys.stderr)
        return EXIT_OK
    print(_forms_table(rows))
    return EXIT_OK


def _forms_table(rows: list[dict[str, Any]]) -> str:
    """The form list at the terminal's width; one workspace is named above the table."""
    workspaces = {row["workspace"] or f"#{row['workspace_id']}" for row in rows}
    table = Table(
        [
            Column("ID"),
            Column("SLUG", wraps=True),  # the id beside it is as good to copy
            Column("TITLE", wraps=True),
            Column("WORKSPACE", wraps=True),
            Column("COMPLETED"),  # OpnForm's form list counts completed submissions only
            Column("UPDATED (UTC)"),
        ]
    )
    for row in rows:
        updated = row["updated_at"].strftime("%Y-%m-%d %H:%M") if row["updated_at"] else ""
        workspace = "" if len(workspaces) == 1 else row["workspace"] or f"#{row['workspace_id']}"
        count = "" if row["submissions_count"] is None else str(row["submissions_count"])
        table.add([str(row["id"]), row["slug"], row["title"], workspace, count, updated])
    heading = f"Workspace: {workspaces.pop()}\n" if len(workspaces) == 1 else ""
    return heading + table.render()


def describe(args: argparse.Namespace) -> int:
    """``formexport describe``: the codebook of a form, as a table or JSON."""
    from formexport.describe import describe_form

    _require_token(args)
    book = describe_form(
        args.form,
        columns=args.columns,
        naming=args.naming,
        base_url=args.base_url,
        profile=args.profile,
    )
    entries: list[dict[str, Any]] = book.to_dict(orient="records")  # type: ignore[assignment]
    if args.json:
        print(json.dumps(entries, ensure_ascii=False, indent=2))
        return EXIT_OK
    print(f"{book.attrs['title']} (form {book.attrs['form_id']}, {book.attrs['form_slug']})")
    print(_codebook_table(entries))
    return EXIT_OK


def _codebook_table(entries: list[dict[str, Any]]) -> str:
    """One line per column (its type, and the field it holds), details indented below it."""
    table = Table([Column("COLUMN", wraps=True), Column("TYPE"), Column("FIELD ID")])
    for entry in entries:
        kind, field_type = entry["type"], entry["field_type"]
        shown_type = f"{kind} ({field_type})" if field_type and field_type != kind else kind
        name = entry["field_name"]
        notes = [
            f"field: {name}" if name and name != entry["column"] else "",
            f"options: {', '.join(entry['options'])}" if entry["options"] else "",
            "required" if entry["required"] is True else "",
            f"help: {entry['help']}" if entry["help"] else "",
        ]
        table.add([entry["column"], shown_type, entry["field_id"] or ""], notes)
    return table.render()


def status(args: argparse.Namespace) -> int:
    """``formexport status``: one job's state, without its signed link unless asked."""
    from formexport.client import Client

    _require_token(args)
    with Client(base_url=args.base_url, profile=args.profile) as client:
        status = client.get_export_status(args.form, args.job_id)
    if args.json:
        fields = asdict(status)
        if not args.show_url and fields.pop("file_url", None):
            print(
                "formexport: the signed download link is left out (anyone holding it can "
                "download the export until it expires); --show-url prints it.",
                file=sys.stderr,
            )
        print(json.dumps(fields, default=_json_default, indent=2))
        return EXIT_OK
    print(status.status_text)
    if status.expires_at:
        print(f"link expires at {status.expires_at.isoformat()}")
    if args.show_url and status.file_url:
        print(status.file_url)
    if status.status != "failed":
        command = export_command(args.form, args.job_id, "submissions.parquet", None)
        print(f"to download it: {command}")
    return EXIT_OK


def _json_default(value: Any) -> str:
    if isinstance(value, datetime):
        return value.isoformat()
    raise TypeError(type(value).__name__)


def sandbox(args: argparse.Namespace) -> int:
    """``formexport sandbox``: serve the emulator until Ctrl-C."""
    from formexport.sandbox import Sandbox

    with Sandbox(port=args.port) as sandbox:
        sandbox.config.status_access = args.status_access
        sandbox.config.file_host = args.file_host
        sandbox.config.job_progression = args.progression
        sandbox.config.seconds_per_step = args.seconds_per_step
        print(f"OpnForm emulator serving at {sandbox.base_url}")
        print("Use it with:")
        print(f"  export {config.BASE_URL_ENV}={sandbox.base_url}")
        print(f"  export {config.TOKEN_ENV}={sandbox.token}")
        print(f"Control it under {sandbox.base_url}/_sandbox/ (see formexport sandbox --help).")
        print("Press Ctrl-C to stop.", flush=True)
        try:
            while True:
                time.sleep(3600)
        except KeyboardInterrupt:
            print("Stopped.")
    return EXIT_OK


def cache(args: argparse.Namespace) -> int:
    """``formexport cache``: list or clear cached exports and recorded jobs."""
    from formexport.local.export_cache import ExportCache, cache_dir, clear_cache
    from formexport.local.job_records import JobRecords

    if args.action == "clear":
        removed = clear_cache()
        print(f"Removed {removed} cached files and job records from {cache_dir()}")
        return EXIT_OK
    if args.action == "dir":
        print(cache_dir())
        return EXIT_OK
    entries = ExportCache().entries()
    jobs = JobRecords().all()
    print(f"{cache_dir()}: {len(entries)} cached exports, {len(jobs)} recorded jobs")
    for entry in entries:
        size, age = entry.size / 1e6, entry.age / 3600
        print(f"  export  form {entry.form_id}  {size:.1f} MB  {age:.1f} h old  {entry.server}")
    for job in jobs:
        started = job.started.strftime("%Y-%m-%d %H:%M UTC")
        print(f"  job     form {job.form_id}  {job.job_id}  started {started}  {job.server}")
    return EXIT_OK


def demo(args: argparse.Namespace) -> int:
    """``formexport demo``: the demo, its files kept in ``--output-dir``."""
    from formexport.demo import run_demo

    run_demo(
        sys.stdout,
        progress=None if args.no_progress else "auto",
        output_dir=Path(args.output_dir),
    )
    return EXIT_OK


def export_command(form: int | str, job_id: str, output: str, fmt: str | None = None) -> str:
    """The command that picks up a job: ``formexport export 12 --job … -o out.csv``."""
    words = ["formexport", "export", str(form), "--job", job_id, "-o", output]
    if fmt:
        words += ["--format", fmt]
    return shlex.join(words)

"""The ``formexport`` command. The only module that prints or configures logging.

Exit codes: 0 success; 1 export failed, expired or could not be downloaded; 2 usage or
configuration; 3 authentication or permission; 4 timeout; 130 interrupted.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import logging
import sys
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import asdict
from datetime import datetime
from pathlib import Path
from typing import Any

from formexport import config
from formexport._version import __version__
from formexport.errors import (
    AuthenticationError,
    ConfigurationError,
    ConnectionFailedError,
    ExportInterrupted,
    ExportTimeoutError,
    FormExportError,
    InvalidArgumentError,
    PartialExportError,
    PermissionDeniedError,
    ValidationError,
)

EXIT_OK, EXIT_FAILED, EXIT_USAGE, EXIT_AUTH, EXIT_TIMEOUT, EXIT_INTERRUPTED = 0, 1, 2, 3, 4, 130

logger = logging.getLogger("formexport")


def exit_code_for(error: BaseException) -> int:
    """The exit code documented for ``error``."""
    if isinstance(error, KeyboardInterrupt):
        return EXIT_INTERRUPTED
    if isinstance(error, (ConfigurationError, InvalidArgumentError, ValidationError)):
        return EXIT_USAGE
    if isinstance(error, ConnectionFailedError):  # no server at the base URL: configuration
        return EXIT_USAGE
    if isinstance(error, (AuthenticationError, PermissionDeniedError)):
        return EXIT_AUTH
    if isinstance(error, ExportTimeoutError):
        return EXIT_TIMEOUT
    return EXIT_FAILED


def _form(value: str) -> int | str:
    return int(value) if value.isdigit() else value


# Each command imports what it needs, so that `formexport --help` answers at once.


def _export(args: argparse.Namespace) -> int:
    from formexport import api

    output = Path(args.output)
    fmt = args.format or ("parquet" if output.suffix.lower() == ".parquet" else "csv")
    common = {
        "columns": args.columns,
        "base_url": args.base_url,
        "progress": None if args.no_progress else "auto",
        "timeout": args.timeout,
        "cache": args.cache,
        "max_age": args.max_age,
    }
    if fmt == "parquet":
        written = api.export_to_parquet(
            args.form, output, naming=args.naming, values=args.values, **common
        )
    else:
        written = api.download_export(args.form, output, **common)
    print(f"Wrote {written}")
    return EXIT_OK


def _export_all(args: argparse.Namespace) -> int:
    from formexport.dataset.export_forms import export_forms

    target = args.forms or args.workspace
    try:
        manifest = export_forms(
            target,
            args.output,
            storage_options=dict(args.storage_option or []),
            incremental=args.incremental,
            full_refresh=args.full_refresh,
            mirror_deletions=args.mirror_deletions,
            base_url=args.base_url,
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


def _key_value(text: str) -> tuple[str, str]:
    key, sep, value = text.partition("=")
    if not sep or not key:
        raise argparse.ArgumentTypeError(f"expected KEY=VALUE, got {text!r}")
    return key, value


def _status(args: argparse.Namespace) -> int:
    from formexport.client import Client

    with Client(base_url=args.base_url) as client:
        status = client.get_export_status(args.form, args.job_id)
    if args.json:
        print(json.dumps(asdict(status), default=_json_default, indent=2))
    else:
        print(status.status_text)
        if status.expires_at:
            print(f"link expires at {status.expires_at.isoformat()}")
    return EXIT_OK


def _json_default(value: Any) -> str:
    if isinstance(value, datetime):
        return value.isoformat()
    raise TypeError(type(value).__name__)


def _sandbox(args: argparse.Namespace) -> int:
    from formexport.sandbox import Sandbox

    with Sandbox(port=args.port) as sandbox:
        sandbox.config.status_access = args.status_access
        sandbox.config.file_host = args.file_host
        sandbox.config.job_progression = args.progression
        print(f"OpnForm emulator serving at {sandbox.base_url}")
        print("Use it with:")
        print(f"  export {config.BASE_URL_ENV}={sandbox.base_url}")
        print(f"  export {config.TOKEN_ENV}={sandbox.token}")
        print("Press Ctrl-C to stop.", flush=True)
        try:
            while True:
                time.sleep(3600)
        except KeyboardInterrupt:
            print("Stopped.")
    return EXIT_OK


def _cache(args: argparse.Namespace) -> int:
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


def _demo(args: argparse.Namespace) -> int:
    from formexport.demo import run_demo

    run_demo(sys.stdout, progress=None if args.no_progress else "auto")
    return EXIT_OK


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of the ``formexport`` command."""
    parser = argparse.ArgumentParser(
        prog="formexport",
        description="Export OpnForm submissions to CSV or Parquet.",
        epilog=f"Environment: {config.TOKEN_ENV} (required), {config.BASE_URL_ENV}, "
        f"{config.PROGRESS_ENV}.",
    )
    parser.add_argument("--version", action="version", version=f"formexport {__version__}")
    parser.add_argument("-v", "--verbose", action="store_true", help="log every request step")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    export = commands.add_parser("export", help="export a form to CSV or Parquet")
    export.add_argument("form", type=_form, help="form id or slug")
    export.add_argument("-o", "--output", required=True, help="file to write")
    export.add_argument("--format", choices=("csv", "parquet"), help="default: from -o's suffix")
    export.add_argument("--columns", nargs="+", metavar="ID", help="field ids (default: all)")
    export.add_argument(
        "--naming", choices=("name", "id"), default="name", help="Parquet columns named by"
    )
    export.add_argument(
        "--values",
        choices=("auto", "csv", "exact"),
        default="auto",
        help="Parquet values from the CSV or the JSON list (see docs/data-types.md)",
    )
    export.add_argument("--timeout", type=float, help="seconds to wait for the server")
    export.add_argument("--no-progress", action="store_true", help="no progress display")
    export.add_argument("--base-url", help=f"API root (default: ${config.BASE_URL_ENV})")
    export.add_argument(
        "--cache", action="store_true", help="keep the export on this machine and reuse it"
    )
    export.add_argument("--max-age", type=float, help="reuse a cached export younger than S s")
    export.set_defaults(handler=_export)

    many = commands.add_parser(
        "export-all", help="export every form of a workspace into a Parquet dataset"
    )
    many.add_argument("workspace", type=_form, help="workspace id or name")
    many.add_argument("-o", "--output", required=True, help="folder or fsspec URL (s3://...)")
    many.add_argument("--forms", type=_form, nargs="+", metavar="FORM", help="only these forms")
    many.add_argument("--incremental", action="store_true", help="only submissions added since")
    many.add_argument("--full-refresh", action="store_true", help="re-export every form in full")
    many.add_argument(
        "--mirror-deletions",
        action="store_true",
        help="on full exports, drop rows whose submissions the server deleted (default: keep)",
    )
    many.add_argument(
        "--storage-option",
        type=_key_value,
        action="append",
        metavar="KEY=VALUE",
        help="fsspec option, repeatable (e.g. endpoint_url=http://...)",
    )
    many.add_argument("--workers", type=int, default=2, help="forms exported at once")
    many.add_argument("--timeout", type=float, help="seconds to wait for each export")
    many.add_argument("--no-progress", action="store_true", help="no progress display")
    many.add_argument("--base-url", help=f"API root (default: ${config.BASE_URL_ENV})")
    many.set_defaults(handler=_export_all)

    status = commands.add_parser("status", help="show an export job's status")
    status.add_argument("form", type=_form, help="form id or slug")
    status.add_argument("job_id", help="the export job id")
    status.add_argument("--json", action="store_true", help="print every field as JSON")
    status.add_argument("--base-url", help=f"API root (default: ${config.BASE_URL_ENV})")
    status.set_defaults(handler=_status)

    sandbox = commands.add_parser("sandbox", help="serve the OpnForm emulator on loopback")
    sandbox.add_argument("--port", type=int, default=0, help="port (default: any free one)")
    sandbox.add_argument("--status-access", choices=("blocked", "open"), default="blocked")
    sandbox.add_argument("--file-host", choices=("local", "s3"), default="local")
    sandbox.add_argument(
        "--progression", choices=("immediate", "per_poll", "timed", "stuck"), default="timed"
    )
    sandbox.set_defaults(handler=_sandbox)

    cache = commands.add_parser(
        "cache",
        help="list or clear cached exports and recorded jobs",
        description="Cached exports hold personal data; clear them when no longer needed.",
    )
    cache.add_argument("action", choices=("list", "clear", "dir"), nargs="?", default="list")
    cache.set_defaults(handler=_cache)

    demo = commands.add_parser("demo", help="export the emulator's demo forms")
    demo.add_argument("--no-progress", action="store_true", help="no progress display")
    demo.set_defaults(handler=_demo)
    return parser


@contextlib.contextmanager
def _logging_to_stderr(verbose: bool) -> Iterator[None]:
    """formexport's log lines on stderr while a command runs, as they were afterwards.

    Undone on exit, so that ``main()`` called from Python (tests, notebooks) leaves the
    caller's logging as it found it.
    """
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(message)s", "%H:%M:%S"))
    package = logging.getLogger("formexport")
    saved = (package.level, package.propagate)
    package.addHandler(handler)
    package.setLevel(logging.DEBUG if verbose else logging.INFO)
    package.propagate = False
    try:
        yield
    finally:
        package.removeHandler(handler)
        package.setLevel(saved[0])
        package.propagate = saved[1]


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; return the exit code."""
    args = build_parser().parse_args(argv)
    handler: Callable[[argparse.Namespace], int] = args.handler
    with _logging_to_stderr(args.verbose):
        return _run(handler, args)


def _run(handler: Callable[[argparse.Namespace], int], args: argparse.Namespace) -> int:
    try:
        return handler(args)
    except ExportInterrupted as exc:
        print(f"formexport: interrupted: {exc}", file=sys.stderr)
        return EXIT_INTERRUPTED
    except KeyboardInterrupt:
        print("formexport: interrupted", file=sys.stderr)
        return EXIT_INTERRUPTED
    except FormExportError as exc:
        print(f"formexport: error: {exc}", file=sys.stderr)
        return exit_code_for(exc)


if __name__ == "__main__":
    sys.exit(main())

"""The ``formexport`` command's arguments: one small function per command."""

from __future__ import annotations

import argparse
import logging
import re
from datetime import date, datetime, timedelta

from formexport import config
from formexport._version import __version__
from formexport.cli import commands
from formexport.reading.options import NAMINGS, VALUE_SOURCES

EXIT_OK, EXIT_FAILED, EXIT_USAGE, EXIT_AUTH, EXIT_TIMEOUT, EXIT_INTERRUPTED = 0, 1, 2, 3, 4, 130

logger = logging.getLogger("formexport")

SANDBOX_DESCRIPTION = f"""\
Serve formexport's OpnForm emulator until Ctrl-C: the API on 127.0.0.1, an S3-like
file host on 127.0.0.2, seeded with demo forms 1-4 (see the README). It prints the
{config.BASE_URL_ENV} and {config.TOKEN_ENV} to export; other processes change its
settings, faults and clock through the control routes below.
"""

CONTROL_ROUTES = """\
control routes (plain JSON, no token), under BASE_URL/_sandbox/:
  GET    info                       URLs, token, version
  POST   reset                      seeded state, default settings
  GET    config                     the settings
  PATCH  config                     change settings, e.g. {"job_progression": "stuck"}
  POST   clock/advance              {"seconds": N}: expire links and job statuses
  GET    faults                     the queued faults
  POST   faults                     add a fault, e.g. {"route": "download", "cut_after": 1000}
  DELETE faults                     remove every fault
  POST   forms                      add a form: {"title", "fields", "n_submissions"}
  POST   forms/ID/submissions       add a submission: {"data": {...}}
  DELETE forms/ID/submissions       delete submissions: {"ids": [...]}
  POST   forms/ID/generated         add generated ones: {"count": N, "every": 0.1}
  POST   forms/ID/arrivals          keep adding them: {"every": 0.1, "count": null}
  GET    forms/ID/arrivals          {"running", "added"}
  DELETE forms/ID/arrivals          stop adding; the ids added
  PUT    forms/ID/uploads           a file's bytes: {"name": "cv.pdf", "content": "..."}
  DELETE forms/ID/uploads           the disk loses files: {"names": [...]} (their links 404)
  PATCH  forms/ID                   {"submission_retention_value", "submission_retention_unit"}
  PATCH  forms/ID/fields            rename a field: {"id", "name"}
  POST   forms/ID/rivals            another client's export in the next jobs' second:
                                    {"columns": [...], "submission_ids": null, "times": 1}
  PUT    forms/ID/fields            save the form's blocks, as its editor does: {"properties"}
  POST   retention/run              the hourly purge of expired submissions, now
  POST   tokens                     a new token: {"abilities": [...], "user_id": N}
  DELETE tokens                     revoke a token: {"token": "..."}
  GET    requests                   the requests received
  DELETE requests                   clear that log
"""


def _form(value: str) -> int | str:
    return int(value) if value.isdigit() else value


def _key_value(text: str) -> tuple[str, str]:
    key, sep, value = text.partition("=")
    if not sep or not key:
        raise argparse.ArgumentTypeError(f"expected KEY=VALUE, got {text!r}")
    return key, value


def _add_base_url(parser: argparse.ArgumentParser) -> None:
    """The server options of every command that talks to one: --base-url and --profile."""
    parser.add_argument(
        "--base-url", metavar="URL", help=f"API root (default: ${config.BASE_URL_ENV})"
    )
    _add_profile(parser)


def _add_profile(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--profile",
        metavar="NAME",
        help=f"signed-in profile to use (default: ${config.PROFILE_ENV}, then "
        f"{config.DEFAULT_PROFILE})",
    )


def _add_sign_in(commands_: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    login = commands_.add_parser(
        "login",
        help="sign in once: check a token and keep it for later commands",
        description="Ask for a personal access token (OpnForm → Settings → Access tokens, with "
        "forms-read) without echoing it, or read it from standard input when that is not a "
        "terminal; check it with the server, then keep it in the system keyring (or, where "
        "there is none, a file only you can read). Later commands use it when "
        f"{config.TOKEN_ENV} is not set.",
    )
    login.add_argument(
        "--base-url",
        metavar="URL",
        help=f"API root (default: ${config.BASE_URL_ENV}, the profile's, then "
        f"{config.DEFAULT_BASE_URL})",
    )
    _add_profile(login)
    login.set_defaults(handler=commands.login)
    whoami = commands_.add_parser(
        "whoami", help="show who the token in use belongs to, its server and where it is kept"
    )
    _add_base_url(whoami)
    whoami.set_defaults(handler=commands.whoami)
    logout = commands_.add_parser("logout", help="forget a profile's sign-in and its token")
    _add_profile(logout)
    logout.set_defaults(handler=commands.logout)


#: The files ``export -o`` writes (``--format``): the names of formexport.jobs.output's
#: FILE_FORMATS, kept here so that ``--help`` imports nothing of the export machinery.
FILE_FORMATS = ("parquet", "csv", "xlsx", "dta", "sav")


def _add_export(commands_: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    export = commands_.add_parser(
        "export",
        help="export a form to Parquet, CSV, Excel, Stata or SPSS",
        description="Export a form's submissions to the file FILE names: typed Parquet "
        "(.parquet), the CSV as the server wrote it (.csv), Excel with a codebook sheet "
        "(.xlsx), Stata (.dta) or SPSS (.sav, with formexport[spss]). A server job that timed "
        "out or was interrupted keeps running: pick it up with --job.",
    )
    export.add_argument("form", type=_form, help="form id or slug (see: formexport forms)")
    export.add_argument(
        "-o", "--output", required=True, metavar="FILE", help="file to write (see above)"
    )
    export.add_argument(
        "--format", choices=FILE_FORMATS, help="for a FILE whose name says none of these"
    )
    export.add_argument(
        "--columns",
        nargs="+",
        metavar="FIELD",
        help="field names or ids, created_at, status (default: all)",
    )
    export.add_argument(
        "--exclude", nargs="+", metavar="FIELD", help="fields never requested from the server"
    )
    export.add_argument(
        "--pseudonymize",
        nargs="+",
        metavar="FIELD",
        help="fields whose answers become keyed hashes (Parquet only)",
    )
    export.add_argument(
        "--job", metavar="JOB", help="pick up this server job instead of starting one"
    )
    export.add_argument("--naming", choices=NAMINGS, default="name", help="name columns by field")
    export.add_argument(
        "--values",
        choices=VALUE_SOURCES,
        default="auto",
        help="values from the CSV or the JSON list (see the docs)",
    )
    export.add_argument(
        "--files",
        metavar="DIR",
        help="save the uploaded files in this folder or fsspec URL (Parquet cells then hold "
        "their paths; a CSV keeps the links)",
    )
    export.add_argument("--timeout", type=float, metavar="S", help="seconds to wait at most")
    export.add_argument("--no-progress", action="store_true", help="no progress display")
    _add_base_url(export)
    export.add_argument(
        "--cache", action="store_true", help="keep the export on this machine and reuse it"
    )
    export.add_argument(
        "--max-age", type=float, metavar="S", help="reuse a cached export younger than S s"
    )
    export.add_argument(
        "--no-reattach",
        action="store_true",
        help="always a fresh export (no unfinished job picked up)",
    )
    _add_selection_options(export)
    export.set_defaults(handler=commands.export)


_DURATION = re.compile(r"^(\d+(?:\.\d+)?)\s*(w|d|h|min|m|s)$")
_UNITS = {"w": "weeks", "d": "days", "h": "hours", "min": "minutes", "m": "minutes", "s": "seconds"}


def _since(text: str) -> date | datetime | timedelta:
    """``--since``: ``7d``, ``12h``, ``30min`` (back from now), or an ISO date or date-time."""
    duration = _DURATION.match(text.strip())
    if duration:
        return timedelta(**{_UNITS[duration.group(2)]: float(duration.group(1))})
    try:
        if len(text.strip()) == 10:
            return date.fromisoformat(text.strip())
        return datetime.fromisoformat(text.strip().replace("Z", "+00:00"))
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"expected a duration (7d, 12h, 30min) or an ISO date or date-time, got {text!r}"
        ) from None


def _add_selection_options(command: argparse.ArgumentParser) -> None:
    command.add_argument(
        "--since",
        type=_since,
        metavar="WHEN",
        help="only those created since: 7d, 12h, 30min, 2026-08-01",
    )
    command.add_argument(
        "--status",
        choices=("completed", "partial", "all"),
        metavar="STATUS",
        help="completed, partial or all (the default) submissions",
    )


def _add_export_all(commands_: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    many = commands_.add_parser(
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
    many.add_argument(
        "--files",
        action="store_true",
        help="save the uploaded files under OUTPUT/_files; cells hold paths relative to it",
    )
    many.add_argument(
        "--exclude", nargs="+", metavar="FIELD", help="fields never requested from the server"
    )
    many.add_argument(
        "--pseudonymize",
        nargs="+",
        metavar="FIELD",
        help="fields whose answers become keyed hashes",
    )
    many.add_argument("--workers", type=int, default=2, help="forms exported at once")
    many.add_argument("--timeout", type=float, help="seconds to wait for each export")
    many.add_argument("--no-progress", action="store_true", help="no progress display")
    _add_base_url(many)
    many.set_defaults(handler=commands.export_all)


def _add_forms(commands_: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    forms = commands_.add_parser(
        "forms",
        help="list the forms the token can read: ids and slugs to export",
        description="List the forms of every workspace the token's user belongs to, most "
        "recently updated first. Workspace names need a token with workspaces-read.",
    )
    forms.add_argument("--workspace", type=_form, help="only this workspace (its id or name)")
    forms.add_argument("--json", action="store_true", help="print the list as JSON")
    _add_base_url(forms)
    forms.set_defaults(handler=commands.forms)


def _add_convert(commands_: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    convert = commands_.add_parser(
        "convert",
        help="convert a CSV export at hand to Parquet or standard CSV",
        description="Read an OpnForm CSV export (downloaded from OpnForm's web page, or by "
        "formexport export) and write it to Parquet or to standard CSV, which any CSV reader "
        "reads right: every cell's exact text, or with --form typed from the form's fields.",
    )
    convert.add_argument("file", help="the export: a path or an fsspec URL (s3://...)")
    convert.add_argument(
        "-o", "--output", required=True, metavar="FILE", help="file to write: .parquet or .csv"
    )
    convert.add_argument(
        "--form", type=_form, help="form id or slug the file came from: typed columns"
    )
    convert.add_argument(
        "--naming", choices=NAMINGS, default="name", help="with --form: name columns by"
    )
    convert.add_argument(
        "--storage-option",
        type=_key_value,
        action="append",
        metavar="KEY=VALUE",
        help="fsspec option for a URL, repeatable",
    )
    _add_base_url(convert)
    convert.set_defaults(handler=commands.convert)


def _add_describe(commands_: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    describe = commands_.add_parser(
        "describe",
        help="show the codebook of a form: each column, its field, type and options",
        description="List the columns an export of the form has, before exporting: each "
        "column's field id and name, OpnForm field type, how it is read, its options in the "
        "form's order, whether it is required and its help text.",
    )
    describe.add_argument("form", type=_form, help="form id or slug (see: formexport forms)")
    describe.add_argument("--json", action="store_true", help="print the codebook as JSON")
    describe.add_argument(
        "--columns", nargs="+", metavar="FIELD", help="field ids or names (default: every field)"
    )
    describe.add_argument("--naming", choices=NAMINGS, default="name", help="column names")
    _add_base_url(describe)
    describe.set_defaults(handler=commands.describe)


def _add_status(commands_: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    status = commands_.add_parser("status", help="show an export job's status")
    status.add_argument("form", type=_form, help="form id or slug")
    status.add_argument("job_id", help="the export job id")
    status.add_argument("--json", action="store_true", help="print every field as JSON")
    status.add_argument(
        "--show-url",
        action="store_true",
        help="also print the signed download link (anyone holding it can download the export "
        "until it expires)",
    )
    _add_base_url(status)
    status.set_defaults(handler=commands.status)


def _add_sandbox(commands_: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    sandbox = commands_.add_parser(
        "sandbox",
        help="serve the OpnForm emulator on loopback",
        description=SANDBOX_DESCRIPTION,
        epilog=CONTROL_ROUTES,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    sandbox.add_argument("--port", type=int, default=0, help="API port (default: any free one)")
    sandbox.add_argument(
        "--status-access",
        choices=("blocked", "open"),
        default="blocked",
        help="status access: may tokens read export-job status? blocked is OpnForm's "
        "default (a 404: large forms are exported in batches); open lets them poll background "
        "jobs (default: blocked)",
    )
    sandbox.add_argument(
        "--file-host",
        choices=("local", "s3"),
        default="local",
        help="where download links point: the API's /local/temp route, or the S3-like host "
        "(default: local)",
    )
    sandbox.add_argument(
        "--progression",
        choices=("immediate", "per_poll", "timed", "stuck"),
        default="timed",
        help="how background jobs move: done within the export request, one step per status "
        "request, one step every --seconds-per-step, or never (no queue worker) "
        "(default: timed)",
    )
    sandbox.add_argument(
        "--seconds-per-step",
        type=float,
        default=0.5,
        metavar="S",
        help="job speed for --progression timed: a job of N submissions takes about "
        "N/500 + 3 steps (default: 0.5)",
    )
    sandbox.set_defaults(handler=commands.sandbox)


def _add_local(commands_: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    cache = commands_.add_parser(
        "cache",
        help="list or clear cached exports and recorded jobs",
        description="Cached exports hold personal data; clear them when no longer needed.",
    )
    cache.add_argument("action", choices=("list", "clear", "dir"), nargs="?", default="list")
    cache.set_defaults(handler=commands.cache)

    demo = commands_.add_parser("demo", help="export the emulator's demo forms")
    demo.add_argument("--no-progress", action="store_true", help="no progress display")
    demo.add_argument(
        "--output-dir",
        default="formexport-demo",
        metavar="DIR",
        help="where the demo's CSV and Parquet files are kept (default: ./formexport-demo)",
    )
    demo.set_defaults(handler=commands.demo)


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of the ``formexport`` command."""
    parser = argparse.ArgumentParser(
        prog="formexport",
        description="Export OpnForm submissions to Parquet, CSV, Excel, Stata or SPSS files.",
        epilog=f"Environment: {config.TOKEN_ENV} (or sign in once: formexport login), "
        f"{config.BASE_URL_ENV}, {config.PROFILE_ENV}, {config.PROGRESS_ENV}.",
    )
    parser.add_argument("--version", action="version", version=f"formexport {__version__}")
    parser.add_argument("-v", "--verbose", action="store_true", help="log every request step")
    commands_ = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for add in (
        _add_sign_in,
        _add_export,
        _add_export_all,
        _add_convert,
        _add_forms,
        _add_describe,
        _add_status,
        _add_sandbox,
        _add_local,
    ):
        add(commands_)
    return parser

"""The ``formexport`` command: arguments parsed, commands run, errors told, exit codes.

This package is the only place that prints or configures logging. Exit codes: 0 success; 1
export failed, expired or could not be downloaded; 2 usage or configuration; 3 authentication or
permission; 4 timeout; 130 interrupted.

:mod:`~formexport.cli.parser` builds the arguments, :mod:`~formexport.cli.commands` does the
work of each command; here errors are told in the command's own terms: the errors carry the ids
(job, form), and the next step is rendered as a command rather than the Python call their
message names.
"""

from __future__ import annotations

import argparse
import contextlib
import logging
import sys
import warnings
from collections.abc import Callable, Iterator, Sequence
from typing import TextIO

from formexport.cli import commands
from formexport.cli.parser import build_parser
from formexport.errors import (
    AuthenticationError,
    ConfigurationError,
    ConnectionFailedError,
    ExportInterrupted,
    ExportTimeoutError,
    FormExportError,
    FormNotFoundError,
    InvalidArgumentError,
    NoTokenError,
    PermissionDeniedError,
    ValidationError,
)

__all__ = ["build_parser", "exit_code_for", "main"]

EXIT_OK, EXIT_FAILED, EXIT_USAGE, EXIT_AUTH, EXIT_TIMEOUT, EXIT_INTERRUPTED = 0, 1, 2, 3, 4, 130


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


@contextlib.contextmanager
def _logging_to_stderr(verbose: bool) -> Iterator[None]:
    """formexport's log lines on stderr while a command runs, as they were afterwards.

    The lines go through tqdm, which takes a text bar on the terminal off its line, writes the
    log line, and draws the bar again below it: a line never lands in the middle of a bar.
    Undone on exit, so that ``main()`` called from Python (tests, notebooks) leaves the
    caller's logging as it found it.
    """
    from tqdm.contrib.logging import logging_redirect_tqdm

    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(message)s", "%H:%M:%S"))
    package = logging.getLogger("formexport")
    saved = (package.level, package.propagate)
    package.addHandler(handler)
    package.setLevel(logging.DEBUG if verbose else logging.INFO)
    package.propagate = False
    try:
        with logging_redirect_tqdm(loggers=[package]):
            yield
    finally:
        package.removeHandler(handler)
        package.setLevel(saved[0])
        package.propagate = saved[1]


@contextlib.contextmanager
def _warnings_as_lines() -> Iterator[None]:
    """Python warnings (a ``ColumnPlanWarning``...) told as one plain line each on stderr,
    ``warning: …``, instead of Python's source path, line number and line of code.

    Undone on exit, as the logging is: the warnings filters stay the caller's.
    """
    with warnings.catch_warnings():
        warnings.showwarning = _show_warning
        yield


def _show_warning(
    message: Warning | str,
    category: type[Warning],
    filename: str,
    lineno: int,
    file: TextIO | None = None,
    line: str | None = None,
) -> None:
    """A warning as a command tells it: ``formexport: warning: …``, on one line."""
    print(f"formexport: warning: {' '.join(str(message).split())}", file=file or sys.stderr)


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; return the exit code."""
    args = build_parser().parse_args(argv)
    handler: Callable[[argparse.Namespace], int] = args.handler
    with _logging_to_stderr(args.verbose), _warnings_as_lines():
        return _run(handler, args)


def _run(handler: Callable[[argparse.Namespace], int], args: argparse.Namespace) -> int:
    try:
        return handler(args)
    except ExportInterrupted as exc:
        print(f"formexport: interrupted: {_explained(exc, args)}", file=sys.stderr)
        return EXIT_INTERRUPTED
    except KeyboardInterrupt:
        print("formexport: interrupted", file=sys.stderr)
        return EXIT_INTERRUPTED
    except FormExportError as exc:
        print(f"formexport: error: {_explained(exc, args)}", file=sys.stderr)
        return exit_code_for(exc)


def _explained(error: BaseException, args: argparse.Namespace) -> str:
    """The error's message, with its next step told as a command."""
    if isinstance(error, (ExportTimeoutError, ExportInterrupted)) and error.job_id:
        form = getattr(args, "form", None) or error.form_id
        output = getattr(args, "output", None) or "FILE.parquet"
        fmt = getattr(args, "format", None) if args.command == "export" else None
        again = commands.export_command(form or "FORM", error.job_id, str(output), fmt)
        check = f"formexport status {form or 'FORM'} {error.job_id}"
        lead = "It may still finish: p" if isinstance(error, ExportTimeoutError) else "P"
        return f"{error.reason}\n{lead}ick it up with:\n  {again}\nor check on it with:\n  {check}"
    if isinstance(error, FormNotFoundError):
        return f"{error.reason} List the forms this token can read with: formexport forms"
    if isinstance(error, NoTokenError):
        return commands.no_token_explained(error)
    return str(error)

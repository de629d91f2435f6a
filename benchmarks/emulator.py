"""The emulator in a process of its own, and the folders and forms the benchmark runs use."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import tempfile
from typing import Any

import requests
from fieldsets import Fields

from formexport import config

SEED = 7
# OpnForm counts requests in one-minute windows and the load sections start more exports than
# a minute allows: both sides keep the limits per short window, as the tests do, so that no
# timed request waits for a limiter.
SHORT_RATE_WINDOW = 2.0
# Tokens may poll, and jobs are done within the export request unless a section says otherwise.
SANDBOX_SETTINGS = {"status_access": "open", "job_progression": "immediate"}


class SandboxProcess:
    """The emulator in a process of its own (``formexport sandbox``), driven by its control API.

    The load sections use it so that serving the file does not share this process's GIL with
    the parse being measured, as with a real server.
    """

    def __init__(self) -> None:
        self.process = subprocess.Popen(
            [sys.executable, "-u", "-m", "formexport", "sandbox", "--port", "0",
             "--status-access", "open", "--progression", "immediate"],
            stdout=subprocess.PIPE, text=True,
        )  # fmt: skip
        assert self.process.stdout is not None
        for line in self.process.stdout:
            if match := re.search(r"(http://127\.0\.0\.1:\d+)", line):
                self.root = match.group(1)
                break
        self.info = self.control("GET", "info")

    def control(self, method: str, path: str, body: Any = None) -> Any:
        answer = requests.request(method, f"{self.root}/_sandbox/{path}", json=body, timeout=600)
        answer.raise_for_status()
        return answer.json() if answer.content else None

    def reset(self, **settings: Any) -> None:
        """The seeded state (no jobs, files or request log left), then ``settings``."""
        self.control("POST", "reset")
        # A reset also undoes the command line's settings.
        self.control("PATCH", "config", {**SANDBOX_SETTINGS, **settings})
        self.info = self.control("GET", "info")  # the token may be a new one

    def requests_to(self, method: str, path_end: str) -> int:
        """How many requests of the log were ``method`` to a path ending with ``path_end``."""
        log = self.control("GET", "requests")
        return sum(1 for r in log if r["method"] == method and r["path"].endswith(path_end))

    def close(self) -> None:
        self.process.terminate()
        self.process.wait(timeout=30)


def add_form(server: SandboxProcess, name: str, fields: Fields, rows: int) -> int:
    body = {"title": f"Load {name}", "fields": fields, "n_submissions": rows, "seed": SEED}
    return int(server.control("POST", "forms", body)["id"])


def default_columns(fields: Fields) -> dict[str, bool]:
    """The columns body of ``load_export``'s default: every field, then ``created_at``."""
    return {**{str(f["id"]): True for f in fields}, "created_at": True}


def scratch_dir() -> str:
    """A fresh folder of the benchmark's own."""
    return tempfile.mkdtemp(prefix="formexport-bench-")


def fresh_machine() -> None:
    """A private folder of its own from now on: no job records, cache or earlier jobs'
    timings (a server this machine has not seen)."""
    os.environ[config.CACHE_DIR_ENV] = scratch_dir()

"""formexport against the naive pipeline, on the built-in OpnForm emulator.

Run with ``make bench`` (or ``python benchmarks/bench.py --help``). Every figure is measured in
this run, A/B alternating, and printed with the ratio to its baseline; nothing is asserted.

Sections:
  load      load_export vs requests.get(file_url).content + pandas.read_csv, on loopback and with
            the file host throttled (default 50 MB/s); the emulator runs in a process of its
            own here, as a real server would
  parquet   peak RSS of export_to_parquet in a fresh process, for each --parquet-rows size
  lag       time from the server finishing a job to formexport starting the download, and status
            requests per minute, for jobs of about 10 s and 120 s
  fallback  rows per minute of the batched route (status hidden from tokens) against the
            server's ceiling of 10 exports x 1000 rows per rate-limit window (--window scales it)
  startup   `import formexport` and `formexport --help` wall time, against `python -c pass`
"""

from __future__ import annotations

import argparse
import io
import json
import os
import platform
import re
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pandas as pd
import requests

import formexport as fx
from formexport import config
from formexport.reading import blocks
from formexport.sandbox import Sandbox, make_field

SECTIONS = ("load", "parquet", "lag", "fallback", "startup")


def realistic_fields() -> list[dict[str, Any]]:
    """Fields whose cells carry what real answers do: multiline text, quotes, commas, emoji."""
    return [
        make_field("text", "Full name"),
        make_field("email", "Email"),
        make_field("phone_number", "Phone"),
        make_field("text", "Comments"),
        make_field("text", "Feedback"),
        make_field("number", "Amount"),
        make_field("rating", "Rating"),
        make_field("checkbox", "Subscribe"),
        make_field("select", "Plan", options=["Free", "Pro, yearly", 'The "big" one']),
        make_field("multi_select", "Topics", options=["Music", "Rock, Pop", "Tech", "Café"]),
        make_field("date", "Visit date"),
        make_field("text", "Zip code"),
    ]


def timed(action: Callable[[], object]) -> float:
    started = time.perf_counter()
    action()
    return time.perf_counter() - started


def alternate(runs: int, **actions: Callable[[], object]) -> dict[str, float]:
    """Median seconds of each action, run A, B, A, B ... so drifts hit both alike."""
    samples: dict[str, list[float]] = {name: [] for name in actions}
    for _ in range(runs):
        for name, action in actions.items():
            samples[name].append(timed(action))
    return {name: statistics.median(values) for name, values in samples.items()}


class SandboxProcess:
    """The emulator in a process of its own (``formexport sandbox``), driven by its control API.

    The load section uses it so that serving the file does not share this process's GIL with
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

    def close(self) -> None:
        self.process.terminate()
        self.process.wait(timeout=30)


def finished_job(server: SandboxProcess, rows: int) -> tuple[fx.ExportJob, str]:
    form = server.control(
        "POST",
        "forms",
        {"title": "Benchmark", "fields": realistic_fields(), "n_submissions": rows, "seed": 7},
    )
    client = fx.Client(token=server.info["token"], base_url=server.info["base_url"])
    job = client.start_export(form["id"])
    job.wait(progress=None)
    assert job.status is not None
    assert job.status.file_url
    return job, job.status.file_url


def naive(url: str) -> pd.DataFrame:
    return pd.read_csv(io.BytesIO(requests.get(url, timeout=600).content))


def ours(job: fx.ExportJob) -> pd.DataFrame:
    job.close()  # forget the local copy: download and parse again
    return job.to_dataframe()


def bench_load(rows: int, runs: int, throttle: float) -> dict[str, Any]:
    server = SandboxProcess()
    try:
        return measure_load(server, rows, runs, throttle)
    finally:
        server.close()


def measure_load(server: SandboxProcess, rows: int, runs: int, throttle: float) -> dict[str, Any]:
    job, url = finished_job(server, rows)
    size = len(requests.get(url, timeout=600).content)
    loopback = alternate(runs, naive=lambda: naive(url), formexport=lambda: ours(job))
    local = Path(sandbox_scratch()) / "export.csv"
    local.write_bytes(requests.get(url, timeout=600).content)
    job.to_dataframe()  # leaves the file on disk: the next reads only parse
    parse_only = alternate(
        runs,
        naive_parse=lambda: pd.read_csv(local),
        formexport_text_parse=lambda: blocks.to_dataframe(local),
        formexport_typed_parse=job.to_dataframe,
    )
    server.control("POST", "faults", {"route": "download", "bytes_per_second": throttle,
                                      "times": None})  # fmt: skip
    throttled = alternate(runs, naive=lambda: naive(url), formexport=lambda: ours(job))
    server.control("DELETE", "faults")
    transfer = size / throttle
    return {
        "rows": rows,
        "megabytes": round(size / 1e6, 1),
        "loopback_s": loopback,
        "loopback_speedup": loopback["naive"] / loopback["formexport"],
        "parse_only_s": parse_only,
        "throttled_MBps": throttle / 1e6,
        "throttled_s": throttled,
        "throttled_transfer_s": transfer,
        "throttled_vs_max_transfer_parse": throttled["formexport"]
        / max(transfer, parse_only["formexport_typed_parse"]),
    }


def sandbox_scratch() -> str:
    import tempfile

    return tempfile.mkdtemp(prefix="formexport-bench-")


def bench_parquet(sandbox: Sandbox, sizes: list[int]) -> list[dict[str, Any]]:
    results = []
    sandbox.config.status_access = "open"
    # The file is written by a background worker, as on a real server: the export request
    # answers at once instead of holding its connection while millions of rows are written.
    sandbox.config.job_progression = "timed"
    sandbox.config.seconds_per_step = 0.01
    for rows in sizes:
        form = sandbox.add_form(f"Parquet {rows}", realistic_fields(), rows, seed=11)
        out = Path(sandbox_scratch()) / "out.parquet"
        code = (
            "import resource, formexport as fx;"
            f"fx.export_to_parquet({form['id']}, {str(out)!r}, progress=None);"
            "print(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss)"
        )
        env = {**os.environ, "OPNFORM_API_TOKEN": sandbox.token,
               "OPNFORM_API_BASE_URL": sandbox.base_url}  # fmt: skip
        started = time.perf_counter()
        done = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True)
        if done.returncode:
            raise RuntimeError(f"export_to_parquet of {rows} rows failed:\n{done.stderr}")
        results.append(
            {
                "rows": rows,
                "peak_rss_MB": round(int(done.stdout.split()[-1]) / 1024, 1),
                "seconds_incl_server": round(time.perf_counter() - started, 1),
                "parquet_MB": round(out.stat().st_size / 1e6, 1),
            }
        )
    return results


def bench_lag(sandbox: Sandbox, durations: list[float]) -> list[dict[str, Any]]:
    results = []
    sandbox.config.status_access = "open"
    sandbox.config.job_progression = "timed"
    rows = 2500
    steps = rows // 500 + 4  # queued, processing, one per chunk, 95 %, completed
    for seconds in durations:
        # A form of its own: the same export again would re-attach to the finished job.
        form = sandbox.add_form(f"Lag {seconds}", realistic_fields(), rows, seed=3)
        sandbox.config.seconds_per_step = seconds / steps
        sandbox.clear_requests()
        client = fx.Client(token=sandbox.token, base_url=sandbox.base_url)
        started = time.time()
        job = client.start_export(form["id"])
        status = job.wait(progress=None)
        noticed = time.time()
        assert status.updated_at is not None
        finished = status.updated_at.timestamp()
        polls = [r for r in sandbox.requests if "/export/status/" in r.path]
        elapsed = noticed - started
        results.append(
            {
                "job_seconds": round(finished - started, 1),
                "lag_seconds": round(noticed - finished, 2),
                "lag_share_of_job": round((noticed - finished) / max(finished - started, 1e-9), 3),
                "status_requests": len(polls),
                "seconds_per_status_request": round(elapsed / max(len(polls), 1), 2),
                "rate_limited": sum(1 for r in polls if r.status == 429),
            }
        )
    return results


def bench_fallback(sandbox: Sandbox, rows: int, window: float) -> dict[str, Any]:
    sandbox.config.status_access = "blocked"
    sandbox.config.rate_window_seconds = window
    config.RATE_LIMIT_WINDOW = window  # the client keeps to the same windows
    form = sandbox.add_form("Fallback", realistic_fields(), rows, seed=5)
    started = time.perf_counter()
    df = fx.load_export(form["id"], token=sandbox.token, base_url=sandbox.base_url, progress=None)
    elapsed = time.perf_counter() - started
    ceiling_rows_per_s = 10 * config.SYNC_EXPORT_LIMIT / window
    return {
        "rows": len(df),
        "window_seconds": window,
        "seconds": round(elapsed, 1),
        "rows_per_window": round(len(df) / elapsed * window),
        "ceiling_rows_per_window": 10 * config.SYNC_EXPORT_LIMIT,
        "share_of_ceiling": round(len(df) / elapsed / ceiling_rows_per_s, 3),
        "rows_per_minute_at_real_limits": round(len(df) / elapsed * window),
    }


def wall(command: list[str], runs: int) -> float:
    times = []
    for _ in range(runs):
        started = time.perf_counter()
        subprocess.run(command, check=True, capture_output=True)
        times.append(time.perf_counter() - started)
    return statistics.median(times)


def bench_startup(runs: int) -> dict[str, float]:
    python = sys.executable
    cli = str(Path(python).with_name("formexport"))
    base = wall([python, "-c", "pass"], runs)
    return {
        "python_-c_pass_ms": round(base * 1000),
        "import_formexport_ms": round(
            (wall([python, "-c", "import formexport"], runs) - base) * 1000
        ),
        "formexport_--help_ms": round(wall([cli, "--help"], runs) * 1000),
    }


def machine() -> dict[str, Any]:
    return {
        "python": platform.python_version(),
        "platform": platform.platform(),
        "cpus": os.cpu_count(),
        "pandas": pd.__version__,
        "pyarrow": __import__("pyarrow").__version__,
        "formexport": fx.__version__,
    }


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--only", nargs="+", default=["load", "parquet", "lag", "fallback", "startup"]
    )
    parser.add_argument("--rows", type=int, default=1_000_000, help="rows for the load section")
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--throttle", type=float, default=50e6, help="bytes/s of the slow host")
    parser.add_argument("--parquet-rows", type=int, nargs="+", default=[1_000_000, 5_000_000])
    parser.add_argument("--lag-seconds", type=float, nargs="+", default=[10.0, 120.0])
    parser.add_argument("--fallback-rows", type=int, default=30_000)
    parser.add_argument(
        "--window", type=float, default=60.0, help="rate-limit window, seconds (OpnForm: 60)"
    )
    parser.add_argument("--json", type=Path, help="also write the results here")
    args = parser.parse_args(argv)
    # Job records and cached exports of the runs stay out of the user's cache.
    os.environ[config.CACHE_DIR_ENV] = sandbox_scratch()
    results: dict[str, Any] = {"machine": machine()}
    with Sandbox() as sandbox:
        sections: dict[str, Callable[[], Any]] = {
            "load": lambda: bench_load(args.rows, args.runs, args.throttle),
            "parquet": lambda: bench_parquet(sandbox, args.parquet_rows),
            "lag": lambda: bench_lag(sandbox, args.lag_seconds),
            "fallback": lambda: bench_fallback(sandbox, args.fallback_rows, args.window),
            "startup": lambda: bench_startup(max(args.runs, 5)),
        }
        for name in args.only:
            sandbox.reset()
            print(f"== {name}", file=sys.stderr, flush=True)
            results[name] = sections[name]()
            print(json.dumps({name: results[name]}, indent=2, default=str), flush=True)
    if args.json:
        args.json.write_text(json.dumps(results, indent=2, default=str))


if __name__ == "__main__":
    main()

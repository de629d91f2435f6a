"""formexport against the naive pipeline and Arrow's own read, on the built-in OpnForm emulator.

Run with ``make bench`` (or ``python benchmarks/bench.py --help``). Every figure is measured in
this run, A/B alternating in one process, and printed with its target and whether it is met;
``--json`` keeps every sample. Nothing is asserted. A quick run:

    python benchmarks/bench.py --sections load typed --rows 100000 --runs 3

Sections:
  load      a finished export: load_export's download and typed read (``ExportJob.close()``
            forgets the local copy before each run) vs requests.get(file_url).content +
            pandas.read_csv, on loopback (target: formexport at least as fast) and with the file
            host throttled (default 50 MB/s; target: every run within 1.1 x the longer of the
            measured transfer and formexport's read of the file on disk); then end to end,
            each run starting its own export: load_export(reattach=False) vs a client that
            posts the export, polls every 2 s, downloads and calls pandas.read_csv (target:
            at least as fast). The emulator runs in a process of its own, as a real server would
  typed     the typed read of a downloaded export vs Arrow's text read of the same file
            (target: at most 1.3 x), with pyarrow.csv.read_csv (every column as text, default
            block size) and pandas.read_csv as further baselines (benchmarks/typed_read.py)
  parquet   peak RSS of export_to_parquet in a fresh process, for each --parquet-rows size
  lag       time from the server finishing a job to formexport starting the download, and status
            requests per minute, for jobs of about 10 s and 120 s
  fallback  rows per minute of the batched route (status hidden from tokens) against the
            server's ceiling of 10 exports x 1000 rows per rate-limit window (--window scales it)
  startup   `import formexport` and `formexport --help` wall time, against `python -c pass`

load and typed run for each --field-sets set (benchmarks/fieldsets.py) and --rows size.
"""

from __future__ import annotations

import argparse
import io
import json
import os
import re
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pandas as pd
import requests

import formexport as fx
from formexport import config
from formexport.opnform.ratelimit import forget_paces
from formexport.reading import fputcsv
from formexport.sandbox import Sandbox

sys.path.insert(0, str(Path(__file__).parent))
import typed_read
from fieldsets import FIELD_SETS, Fields, realistic_fields
from typed_read import Samples, alternate, rounded

SECTIONS = ("load", "typed", "parquet", "lag", "fallback", "startup")
DEFAULT_FIELD_SETS = ("realistic", "plain", "every-row")
# OpnForm counts requests in one-minute windows and the load section starts more exports than
# a minute allows: both sides keep the limits per short window, as the tests do, so that no
# timed request waits for a limiter.
LOAD_RATE_WINDOW = 2.0
# The end-to-end jobs step this fast while the emulator's worker thread writes the file.
E2E_SECONDS_PER_STEP = 0.01
NAIVE_POLL_SECONDS = 2.0
SEED = 7
# The load section's emulator: tokens may poll, and jobs are done within the export request.
SANDBOX_SETTINGS = {"status_access": "open", "job_progression": "immediate"}


@dataclass(frozen=True)
class Target:
    """A ratio's bound: at most (or at least) ``limit``, on the medians or in every run."""

    limit: float
    at_most: bool
    every_run: bool = False

    def worst(self, ratios: list[float]) -> float:
        """The run furthest from the bound's side."""
        return max(ratios) if self.at_most else min(ratios)

    def met(self, figure: float) -> bool:
        """Whether ``figure`` keeps to the bound."""
        return figure <= self.limit if self.at_most else figure >= self.limit

    def describe(self) -> str:
        """``"median >= 1x"``, ``"every run <= 1.1x"``..."""
        which = "every run" if self.every_run else "median"
        return f"{which} {'<=' if self.at_most else '>='} {self.limit:g}x"


AS_FAST_AS_NAIVE = Target(1.0, at_most=False)
OVERLAPPED = Target(1.1, at_most=True, every_run=True)
TYPED_NEAR_TEXT = Target(1.3, at_most=True)


def speedup(baseline_s: float, ours_s: float) -> float:
    """How many times faster formexport is than the baseline."""
    return baseline_s / ours_s


def slowdown(baseline_s: float, ours_s: float) -> float:
    """How many times the baseline's time formexport takes."""
    return ours_s / baseline_s


def judge(
    target: Target,
    baseline: list[float],
    ours: list[float],
    ratio: Callable[[float, float], float],
) -> dict[str, Any]:
    """The ratio of ``ours`` to ``baseline`` in each run (same index, same run), of the
    medians, and whether the target is met."""
    per_run = [ratio(b, o) for b, o in zip(baseline, ours, strict=True)]
    median = ratio(statistics.median(baseline), statistics.median(ours))
    figure = target.worst(per_run) if target.every_run else median
    return {
        "baseline_median_s": round(statistics.median(baseline), 3),
        "formexport_median_s": round(statistics.median(ours), 3),
        "ratio_per_run": [round(r, 3) for r in per_run],
        "median_ratio": round(median, 3),
        "worst_ratio": round(target.worst(per_run), 3),
        "target": target.describe(),
        "met": target.met(figure),
    }


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


def finished_job(server: SandboxProcess, form_id: int) -> tuple[fx.ExportJob, str]:
    client = fx.Client(token=server.info["token"], base_url=server.info["base_url"])
    job = client.start_export(form_id)
    job.wait(progress=None)
    assert job.status is not None
    assert job.status.file_url
    return job, job.status.file_url


def naive(url: str) -> pd.DataFrame:
    return pd.read_csv(io.BytesIO(requests.get(url, timeout=600).content))


def ours(job: fx.ExportJob) -> pd.DataFrame:
    job.close()  # forget the local copy: download and parse again
    return job.to_dataframe()


def transfer(url: str) -> None:
    """Download the file into nothing: the transfer alone."""
    with requests.get(url, stream=True, timeout=600) as answer:
        answer.raise_for_status()
        for _ in answer.iter_content(1 << 20):
            pass


def naive_end_to_end(base_url: str, token: str, form_id: int, columns: dict[str, bool]) -> Any:
    """What a script without formexport does: start the export, ask every 2 s whether it is
    done, download the file and hand it to pandas."""
    export = f"{base_url}/open/forms/{form_id}/submissions/export"
    with requests.Session() as session:
        session.headers["Authorization"] = f"Bearer {token}"
        started = session.post(export, json={"columns": columns}, timeout=600)
        started.raise_for_status()
        status_url = f"{export}/status/{started.json()['job_id']}"
        while (status := session.get(status_url, timeout=600).json())["status"] != "completed":
            if status["status"] == "failed":
                raise RuntimeError(f"the export failed: {status.get('error_message')}")
            time.sleep(NAIVE_POLL_SECONDS)
    return pd.read_csv(io.BytesIO(requests.get(status["file_url"], timeout=600).content))


def default_columns(fields: Fields) -> dict[str, bool]:
    """The columns body of ``load_export``'s default: every field, then ``created_at``."""
    return {**{str(f["id"]): True for f in fields}, "created_at": True}


def bench_load(
    sets: list[str], sizes: list[int], runs: int, throttle: float, e2e_max_rows: int
) -> list[Any]:
    server = SandboxProcess()
    window, config.RATE_LIMIT_WINDOW = config.RATE_LIMIT_WINDOW, LOAD_RATE_WINDOW
    try:
        entries = []
        for name in sets:
            for rows in sizes:
                print(f"   load: {name}, {rows:,} rows", file=sys.stderr, flush=True)
                server.reset(rate_window_seconds=LOAD_RATE_WINDOW)
                forget_paces()  # the server's windows were reset
                end_to_end = rows <= e2e_max_rows
                entries.append(measure_load(server, name, rows, runs, throttle, end_to_end))
        return entries
    finally:
        config.RATE_LIMIT_WINDOW = window
        forget_paces()
        server.close()


def measure_load(
    server: SandboxProcess, name: str, rows: int, runs: int, throttle: float, end_to_end: bool
) -> dict[str, Any]:
    fields = FIELD_SETS[name]()
    form_id = add_form(server, name, fields, rows)
    job, url = finished_job(server, form_id)
    content = requests.get(url, timeout=600).content
    entry: dict[str, Any] = {
        "field_set": name,
        "rows": rows,
        "megabytes": round(len(content) / 1e6, 1),
        "holds_backslash_quote": fputcsv.has_escaped_quotes(content),
    }
    del content
    try:
        entry["loopback"] = loopback_runs(server, job, url, runs)
        entry["throttled"] = throttled_runs(server, job, url, runs, throttle)
    finally:
        job.close()
    if end_to_end:
        entry["end_to_end"] = end_to_end_runs(server, form_id, default_columns(fields), runs)
    return entry


def downloaded_afresh(server: SandboxProcess, url: str, samples: Samples) -> int:
    """The file's downloads since the log was cleared; raises unless every naive, transfer
    and formexport run downloaded it (``parse`` runs read the copy already here)."""
    count = server.requests_to("GET", urlsplit(url).path)
    runs = sum(len(v) for k, v in samples.items() if k != "parse")
    if count < runs:
        raise RuntimeError(f"{runs} runs should have downloaded the file, {count} did")
    return count


def loopback_runs(server: SandboxProcess, job: fx.ExportJob, url: str, runs: int) -> dict[str, Any]:
    server.control("DELETE", "requests")
    samples = alternate(
        runs,
        {
            "naive": lambda: naive(url),
            "formexport": lambda: ours(job),
            "parse": job.to_dataframe,  # the file is here now: this only reads it
        },
    )
    return {
        "samples_s": rounded(samples),
        "downloads": downloaded_afresh(server, url, samples),
        **judge(AS_FAST_AS_NAIVE, samples["naive"], samples["formexport"], speedup),
    }


def throttled_runs(
    server: SandboxProcess, job: fx.ExportJob, url: str, runs: int, throttle: float
) -> dict[str, Any]:
    server.control("DELETE", "requests")
    server.control("POST", "faults", {"route": "download", "bytes_per_second": throttle,
                                      "times": None})  # fmt: skip
    try:
        samples = alternate(
            runs,
            {
                "transfer": lambda: transfer(url),
                "naive": lambda: naive(url),
                "formexport": lambda: ours(job),
                "parse": job.to_dataframe,
            },
        )
    finally:
        server.control("DELETE", "faults")
    floor = [max(t, p) for t, p in zip(samples["transfer"], samples["parse"], strict=True)]
    return {
        "MBps": throttle / 1e6,
        "samples_s": rounded(samples),
        "downloads": downloaded_afresh(server, url, samples),
        "max_transfer_parse_s": [round(f, 3) for f in floor],
        **judge(OVERLAPPED, floor, samples["formexport"], slowdown),
    }


def end_to_end_runs(
    server: SandboxProcess, form_id: int, columns: dict[str, bool], runs: int
) -> dict[str, Any]:
    token, base_url = server.info["token"], server.info["base_url"]
    server.control("DELETE", "requests")
    server.control("PATCH", "config", {"job_progression": "timed",
                                       "seconds_per_step": E2E_SECONDS_PER_STEP})  # fmt: skip
    try:
        samples = alternate(
            runs,
            {
                "naive": lambda: naive_end_to_end(base_url, token, form_id, columns),
                "formexport": lambda: fx.load_export(
                    form_id, token=token, base_url=base_url, reattach=False, progress=None
                ),
            },
        )
    finally:
        server.control("PATCH", "config", {"job_progression": "immediate"})
    started = server.requests_to("POST", "/submissions/export")
    if started != 2 * runs:
        raise RuntimeError(f"each of {2 * runs} runs should have started an export: {started}")
    return {
        "exports_started": started,
        "samples_s": rounded(samples),
        **judge(AS_FAST_AS_NAIVE, samples["naive"], samples["formexport"], speedup),
    }


def bench_typed(sandbox: Sandbox, sets: list[str], sizes: list[int], runs: int) -> list[Any]:
    entries = []
    for name in sets:
        for rows in sizes:
            print(f"   typed: {name}, {rows:,} rows", file=sys.stderr, flush=True)
            sandbox.reset()
            forget_paces()  # the server's windows were reset
            with tempfile.TemporaryDirectory() as tmp:
                entry = typed_read.measure(sandbox, name, rows, runs, Path(tmp))
            samples = entry["samples_s"]
            entry["typed_vs_text"] = judge(
                TYPED_NEAR_TEXT, samples["text"], samples["typed"], slowdown
            )
            entries.append(entry)
    return entries


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
        # VmHWM, not ru_maxrss: Linux counts a spawning parent's peak in the child's
        # ru_maxrss, and this process holds the earlier sections' frames.
        code = (
            "import re, formexport as fx;"
            f"fx.export_to_parquet({form['id']}, {str(out)!r}, progress=None);"
            "print(re.search(r'VmHWM:\\s+(\\d+)', open('/proc/self/status').read())[1])"
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


def print_table(title: str, header: list[str], rows: list[list[str]]) -> None:
    """Columns padded to their widest cell."""
    widths = [max(len(row[i]) for row in [header, *rows]) for i in range(len(header))]
    lines = [
        "  ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=True))
        for row in [header, *rows]
    ]
    print("\n".join(["", title, *(line.rstrip() for line in lines)]), flush=True)


def verdict(met: bool) -> str:
    return "met" if met else "MISSED"


LOAD_HEADER = ["fields", "rows", "MB", "figure", "baseline s", "formexport s", "median",
               "worst run", "target", "verdict"]  # fmt: skip


def load_rows(entry: dict[str, Any]) -> list[list[str]]:
    """A row per figure of an export: loopback, throttled and (small exports) end to end."""
    parts = [
        ("loopback, naive/formexport", entry["loopback"]),
        (
            f"{entry['throttled']['MBps']:g} MB/s, formexport/max(transfer, parse)",
            entry["throttled"],
        ),
    ]
    if "end_to_end" in entry:
        parts.append(("end to end, naive/formexport", entry["end_to_end"]))
    return [
        [entry["field_set"], f"{entry['rows']:,}", f"{entry['megabytes']:g}", label,
         f"{part['baseline_median_s']:.3f}", f"{part['formexport_median_s']:.3f}",
         f"{part['median_ratio']:.2f}x", f"{part['worst_ratio']:.2f}x", part["target"],
         verdict(part["met"])]
        for label, part in parts
    ]  # fmt: skip


def print_load(entries: list[dict[str, Any]], runs: int) -> None:
    print_table(
        f"load: formexport vs the naive pipeline; runs: {runs}, A/B alternating, seconds are "
        "medians\n  (throttled rows: baseline = max(transfer, parse) of each run; worst run = "
        "the run furthest from the target)",
        LOAD_HEADER,
        [row for entry in entries for row in load_rows(entry)],
    )


TYPED_HEADER = ["fields", "rows", "MB", '\\"', "text s", "arrow s", "pandas s", "typed s",
                "typed/text", "typed/arrow", "target (typed/text)", "verdict"]  # fmt: skip


def typed_row(entry: dict[str, Any]) -> list[str]:
    seconds, judged = entry["seconds"], entry["typed_vs_text"]
    return [
        entry["field_set"], f"{entry['rows']:,}", f"{entry['megabytes']:g}",
        "yes" if entry["holds_backslash_quote"] else "no",
        *(f"{seconds[k]:.3f}" for k in ("text", "arrow", "pandas", "typed")),
        f"{judged['median_ratio']:.2f}x", f"{entry['typed_over_arrow']:.2f}x",
        judged["target"], verdict(judged["met"]),
    ]  # fmt: skip


def print_typed(entries: list[dict[str, Any]], runs: int) -> None:
    print_table(
        f"typed: typed read vs Arrow's text read of the same file; runs: {runs}, alternating, "
        "seconds are medians\n  (arrow: pyarrow.csv.read_csv, every column as text, default "
        'block size; \\": the file holds a backslash-quote)',
        TYPED_HEADER,
        [typed_row(entry) for entry in entries],
    )


def print_json(name: str, result: Any) -> None:
    print(json.dumps({name: result}, indent=2, default=str), flush=True)


def parse_arguments(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--sections", "--only", dest="sections", nargs="+", choices=SECTIONS,
        default=list(SECTIONS), metavar="SECTION",
        help=f"sections to run, in this order ({', '.join(SECTIONS)}; default: all)",
    )  # fmt: skip
    parser.add_argument(
        "--rows", type=int, nargs="+", default=[100_000, 1_000_000],
        help="rows of the load and typed exports (several: each size in turn)",
    )  # fmt: skip
    parser.add_argument(
        "--field-sets", nargs="+", choices=sorted(FIELD_SETS), default=list(DEFAULT_FIELD_SETS),
        metavar="SET", help=f"field sets of the load and typed exports ({', '.join(FIELD_SETS)}; "
        f"default: {' '.join(DEFAULT_FIELD_SETS)}; see benchmarks/fieldsets.py)",
    )  # fmt: skip
    parser.add_argument("--runs", type=int, default=3, help="A/B runs of each figure")
    parser.add_argument(
        "--e2e-max-rows", type=int, default=100_000,
        help="largest export of the end-to-end pair (its time is mostly the server's job)",
    )  # fmt: skip
    parser.add_argument("--throttle", type=float, default=50e6, help="bytes/s of the slow host")
    parser.add_argument("--parquet-rows", type=int, nargs="+", default=[1_000_000, 5_000_000])
    parser.add_argument("--lag-seconds", type=float, nargs="+", default=[10.0, 120.0])
    parser.add_argument("--fallback-rows", type=int, default=30_000)
    parser.add_argument(
        "--window", type=float, default=60.0, help="rate-limit window, seconds (OpnForm: 60)"
    )
    parser.add_argument("--json", type=Path, help="also write the results here")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> None:
    args = parse_arguments(argv)
    # Job records and cached exports of the runs stay out of the user's cache.
    os.environ[config.CACHE_DIR_ENV] = sandbox_scratch()
    results: dict[str, Any] = {"machine": typed_read.machine(), "runs": args.runs}
    printers: dict[str, Callable[[Any], None]] = {
        "load": lambda r: print_load(r, args.runs),
        "typed": lambda r: print_typed(r, args.runs),
    }
    with Sandbox() as sandbox:
        sections: dict[str, Callable[[], Any]] = {
            "load": lambda: bench_load(
                args.field_sets, args.rows, args.runs, args.throttle, args.e2e_max_rows
            ),
            "typed": lambda: bench_typed(sandbox, args.field_sets, args.rows, args.runs),
            "parquet": lambda: bench_parquet(sandbox, args.parquet_rows),
            "lag": lambda: bench_lag(sandbox, args.lag_seconds),
            "fallback": lambda: bench_fallback(sandbox, args.fallback_rows, args.window),
            "startup": lambda: bench_startup(max(args.runs, 5)),
        }
        for name in args.sections:
            sandbox.reset()
            print(f"== {name}", file=sys.stderr, flush=True)
            results[name] = sections[name]()
            printer = printers.get(name)
            if printer is None:
                print_json(name, results[name])
            else:
                printer(results[name])
    if args.json:
        args.json.write_text(json.dumps(results, indent=2, default=str))


if __name__ == "__main__":
    main()

"""formexport against the naive pipeline and Arrow's own read, on the built-in OpnForm emulator.

Run with ``make bench`` (or ``python benchmarks/bench.py --help``). Every figure is measured in
this run, A/B alternating in one process, and printed with its target and whether it is met;
``--json`` keeps every sample, and the load averages before and after each section (the machine
may be shared). Nothing is asserted. Sections run alone with ``--only``:

    python benchmarks/bench.py --only load typed --rows 100000 --runs 3
    python benchmarks/bench.py --only polling
    python benchmarks/bench.py --only end-to-end --runs 7

Sections:
  load        a finished export: load_export's download and typed read (``ExportJob.close()``
              forgets the local copy before each run) vs requests.get(file_url).content +
              pandas.read_csv, on loopback (target: formexport at least as fast) and with the
              file host throttled (default 50 MB/s; target: every run within 1.1 x the longer
              of the measured transfer and formexport's read of the file on disk). The emulator
              runs in a process of its own, as a real server would
  typed       the typed read of a downloaded export vs Arrow's text read of the same file
              (target: at most 1.3 x), with pyarrow.csv.read_csv (every column as text,
              default block size) and pandas.read_csv as further baselines
              (benchmarks/typed_read.py)
  parquet     peak RSS of export_to_parquet in a fresh process, for each --parquet-rows size
  polling     jobs of --job-seconds on the emulator: the lag from a job's completion to the
              status answer that shows it, and its status requests against the budget (one per
              2 s of its life, plus one), for the first job on a server and --later-jobs more
              (benchmarks/polling.py)
  end-to-end  each run starting its own export (--e2e-rows, a job of --e2e-job-seconds):
              load_export(reattach=False) vs a script that posts the export, polls every 2 s,
              downloads and calls pandas.read_csv (target: at least 1.3 x as fast)
  fallback    rows per minute of the batched route (status hidden from tokens) against the
              server's ceiling of 10 exports x 1000 rows per rate-limit window (--window scales
              it)
  startup     `import formexport` and `formexport --help` wall time, against `python -c pass`

load and typed run for each --field-sets set (benchmarks/fieldsets.py) and --rows size.
"""

from __future__ import annotations

import argparse
import io
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
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
import polling
import typed_read
from emulator import SHORT_RATE_WINDOW, SandboxProcess, add_form, scratch_dir
from fieldsets import FIELD_SETS, realistic_fields
from judging import Target, judge, print_table, slowdown, speedup, verdict
from typed_read import Samples, alternate, rounded

SECTIONS = ("load", "typed", "parquet", "polling", "end-to-end", "fallback", "startup")
DEFAULT_FIELD_SETS = ("realistic", "plain", "every-row")

AS_FAST_AS_NAIVE = Target(1.0, at_most=False)
OVERLAPPED = Target(1.1, at_most=True, every_run=True)
TYPED_NEAR_TEXT = Target(1.3, at_most=True)


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


def bench_load(sets: list[str], sizes: list[int], runs: int, throttle: float) -> list[Any]:
    server = SandboxProcess()
    window, config.RATE_LIMIT_WINDOW = config.RATE_LIMIT_WINDOW, SHORT_RATE_WINDOW
    try:
        entries = []
        for name in sets:
            for rows in sizes:
                print(f"   load: {name}, {rows:,} rows", file=sys.stderr, flush=True)
                server.reset(rate_window_seconds=SHORT_RATE_WINDOW)
                forget_paces()  # the server's windows were reset
                entries.append(measure_load(server, name, rows, runs, throttle))
        return entries
    finally:
        config.RATE_LIMIT_WINDOW = window
        forget_paces()
        server.close()


def measure_load(
    server: SandboxProcess, name: str, rows: int, runs: int, throttle: float
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


def bench_parquet(sandbox: Sandbox, sizes: list[int]) -> list[dict[str, Any]]:
    results = []
    sandbox.config.status_access = "open"
    # The file is written by a background worker, as on a real server: the export request
    # answers at once instead of holding its connection while millions of rows are written.
    sandbox.config.job_progression = "timed"
    sandbox.config.seconds_per_step = 0.01
    for rows in sizes:
        form = sandbox.add_form(f"Parquet {rows}", realistic_fields(), rows, seed=11)
        out = Path(scratch_dir()) / "out.parquet"
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
    parser.add_argument("--throttle", type=float, default=50e6, help="bytes/s of the slow host")
    parser.add_argument("--parquet-rows", type=int, nargs="+", default=[1_000_000, 5_000_000])
    parser.add_argument(
        "--job-seconds", type=float, nargs="+", default=[0.3, 3.0, 30.0, 120.0],
        help="durations of the polling section's jobs",
    )  # fmt: skip
    parser.add_argument(
        "--later-jobs", type=int, default=3,
        help="jobs after the first on each server of the polling section",
    )  # fmt: skip
    parser.add_argument("--polling-rows", type=int, default=20_000)
    parser.add_argument("--e2e-rows", type=int, default=200_000)
    parser.add_argument("--e2e-job-seconds", type=float, default=0.3)
    parser.add_argument(
        "--e2e-field-sets", nargs="+", choices=sorted(FIELD_SETS), default=["realistic"],
        metavar="SET", help="field sets of the end-to-end exports (default: realistic)",
    )  # fmt: skip
    parser.add_argument("--fallback-rows", type=int, default=30_000)
    parser.add_argument(
        "--window", type=float, default=60.0, help="rate-limit window, seconds (OpnForm: 60)"
    )
    parser.add_argument("--json", type=Path, help="also write the results here")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> None:
    args = parse_arguments(argv)
    # Job records, timings and cached exports of the runs stay out of the user's cache.
    os.environ[config.CACHE_DIR_ENV] = scratch_dir()
    results: dict[str, Any] = {"machine": typed_read.machine(), "runs": args.runs}
    loads: dict[str, dict[str, list[float]]] = results.setdefault("load_average", {})
    printers: dict[str, Callable[[Any], None]] = {
        "load": lambda r: print_load(r, args.runs),
        "typed": lambda r: print_typed(r, args.runs),
        "polling": polling.print_polling,
        "end-to-end": lambda r: polling.print_end_to_end(r, args.runs),
    }
    with Sandbox() as sandbox:
        sections: dict[str, Callable[[], Any]] = {
            "load": lambda: bench_load(args.field_sets, args.rows, args.runs, args.throttle),
            "typed": lambda: bench_typed(sandbox, args.field_sets, args.rows, args.runs),
            "parquet": lambda: bench_parquet(sandbox, args.parquet_rows),
            "polling": lambda: polling.bench_polling(
                sandbox, args.job_seconds, args.later_jobs, args.polling_rows
            ),
            "end-to-end": lambda: polling.bench_end_to_end(
                args.e2e_field_sets, args.e2e_rows, args.e2e_job_seconds, args.runs
            ),
            "fallback": lambda: bench_fallback(sandbox, args.fallback_rows, args.window),
            "startup": lambda: bench_startup(max(args.runs, 5)),
        }
        for name in args.sections:
            sandbox.reset()
            before = list(os.getloadavg())
            print(f"== {name} (load average {before[0]:.2f})", file=sys.stderr, flush=True)
            results[name] = sections[name]()
            after = list(os.getloadavg())
            loads[name] = {"before": before, "after": after}
            print(f"   load average after {name}: {after[0]:.2f}", file=sys.stderr, flush=True)
            printer = printers.get(name)
            if printer is None:
                print_json(name, results[name])
            else:
                printer(results[name])
    if args.json:
        args.json.write_text(json.dumps(results, indent=2, default=str))


if __name__ == "__main__":
    main()

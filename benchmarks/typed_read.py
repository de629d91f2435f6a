"""Typed reading against the plain text read and ``pandas.read_csv``, on emulator exports.

An export is made in the built-in OpnForm emulator (background writer) and downloaded once;
then, alternating A/B/C and quoting medians, this times:

  text      ``blocks.read_table`` (Arrow, every column as text, no typing): the floor
  typed     the typed DataFrame ``ExportJob.to_dataframe()`` builds from the same file
  pandas    ``pandas.read_csv`` of the file (object columns, no typing)

with the ratios typed/text and typed/pandas, and where one typed read spends its time: the
``fputcsv`` rewrite (records holding ``\\"``), Arrow's text read, each column's converter, and
the conversion to pandas. Nothing is asserted.

    .venv/bin/python benchmarks/typed_read.py --rows 100000 --runs 7

Field sets (``--fields``):

  realistic  the fields of ``benchmarks/bench.py``; its comment fields hold ``\\"`` in about
             one row in eight (``C:\\temp\\"quoted"``, ``ends with \\``), so the rewrite runs
  every      realistic plus one field of every other typed kind (files, matrix, dates with
             time and ranges, scales, toggles)
  plain      every kind, but free text without ``\\"`` (as most real exports): no rewrite
"""

from __future__ import annotations

import argparse
import json
import platform
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pandas as pd
import pyarrow as pa

import formexport as fx
from formexport.reading import blocks, fputcsv, sinks
from formexport.sandbox import Sandbox, make_field

sys.path.insert(0, str(Path(__file__).parent))
from bench import realistic_fields


def other_kinds() -> list[dict[str, Any]]:
    """One field of each typed kind the realistic set lacks."""
    return [
        make_field("date", "Appointment", with_time=True),
        make_field("date", "Stay", date_range=True),
        make_field("scale", "Scale"),
        make_field("slider", "Slider"),
        make_field("toggle_switch", "Opt in"),
        make_field("files", "Uploads"),
        make_field("signature", "Signature"),
        make_field("matrix", "Sessions", rows=["Morning", "Afternoon"], columns=["Yes", "No"]),
    ]


def plain_fields() -> list[dict[str, Any]]:
    """Every kind; free text from the emulator's phrases (named so), never holding ``\\"``."""
    renamed = {"Comments": "Remarks", "Feedback": "Topic line"}
    fields = [
        make_field("text", renamed[f["name"]]) if f["name"] in renamed else f
        for f in realistic_fields()
    ]
    return [*fields, *other_kinds()]


FIELD_SETS: dict[str, Callable[[], list[dict[str, Any]]]] = {
    "realistic": realistic_fields,
    "every": lambda: [*realistic_fields(), *other_kinds()],
    "plain": plain_fields,
}


def export_file(sandbox: Sandbox, fields: list[dict[str, Any]], rows: int, folder: Path) -> Any:
    """A finished background export, downloaded to ``folder``; returns (job, path)."""
    sandbox.config.status_access = "open"
    sandbox.config.job_progression = "immediate"
    form = sandbox.add_form("Typed read", fields, rows, seed=7)
    client = fx.Client(token=sandbox.token, base_url=sandbox.base_url)
    job = client.start_export(form["id"])
    job.wait(progress=None)
    path = job.download(folder / "export.csv")
    return job, path


def typed_read(job: Any, path: Path, scratch: Path) -> pd.DataFrame:
    """What ``ExportJob.to_dataframe()`` does once the file is here."""
    source, writer = sinks.readable(path)
    reader = sinks.make_reader(source, form=job.form, columns=job.columns, writer=writer)
    table = sinks.read_arrow(source, reader)
    return sinks.to_pandas(table, sinks.DEFAULT_DTYPE_BACKEND, reader.attrs())


def alternate(runs: int, actions: dict[str, Callable[[], object]]) -> dict[str, float]:
    """Median seconds of each action, run A, B, C, A, B, C ... so drifts hit all alike."""
    samples: dict[str, list[float]] = {name: [] for name in actions}
    for _ in range(runs):
        for name, action in actions.items():
            started = time.perf_counter()
            action()
            samples[name].append(time.perf_counter() - started)
    return {name: statistics.median(values) for name, values in samples.items()}


def breakdown(job: Any, path: Path, scratch: Path) -> dict[str, float]:
    """Seconds of each stage of one typed read (columns by header and type)."""
    spent: dict[str, float] = {}

    def clock(name: str, started: float) -> float:
        now = time.perf_counter()
        spent[name] = spent.get(name, 0.0) + now - started
        return now

    started = time.perf_counter()
    source, writer = sinks.readable(path)
    rewritten = source != path  # a StandardCopy reads through the rewrite
    started = clock("fputcsv rewrite" if rewritten else "writer check", started)
    reader = sinks.make_reader(source, form=job.form, columns=job.columns, writer=writer)
    count, block = len(reader.columns), sinks.TABLE_BLOCK_SIZE
    batches = list(blocks.iter_batches(source, count, block))
    started = clock("Arrow text read", started)
    typed = []
    for batch in batches:
        arrays = []
        for position, column in enumerate(reader.columns):
            arrays.extend(column.reader.convert(batch.column(position)))
            label = getattr(column.reader, "label", "id")
            started = clock(f"{column.planned.header} ({label})", started)
        typed.append(pa.RecordBatch.from_arrays(arrays, schema=reader.schema()))
    table = pa.Table.from_batches(typed)
    started = clock("batches to table", started)
    sinks.to_pandas(table, sinks.DEFAULT_DTYPE_BACKEND, reader.attrs())
    clock("to pandas", started)
    return spent


def machine() -> dict[str, Any]:
    import os

    return {
        "python": platform.python_version(),
        "cpus": os.cpu_count(),
        "pandas": pd.__version__,
        "pyarrow": pa.__version__,
    }


def measure(sandbox: Sandbox, name: str, rows: int, runs: int, folder: Path) -> dict[str, Any]:
    job, path = export_file(sandbox, FIELD_SETS[name](), rows, folder)
    typed_read(job, path, folder)  # first use builds lookup tables and imports
    medians = alternate(
        runs,
        {
            "text": lambda: blocks.read_table(path),
            "typed": lambda: typed_read(job, path, folder),
            "pandas": lambda: pd.read_csv(path),
        },
    )
    return {
        "rows": rows,
        "megabytes": round(path.stat().st_size / 1e6, 1),
        "holds_backslash_quote": fputcsv.has_escaped_quotes(path),
        "seconds": {k: round(v, 3) for k, v in medians.items()},
        "typed_over_text": round(medians["typed"] / medians["text"], 2),
        "typed_over_pandas": round(medians["typed"] / medians["pandas"], 2),
        "typed_breakdown_s": {k: round(v, 3) for k, v in breakdown(job, path, folder).items()},
    }


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--runs", type=int, default=7)
    parser.add_argument(
        "--fields", choices=sorted(FIELD_SETS), nargs="+", default=["realistic", "plain"]
    )
    parser.add_argument("--json", type=Path, help="also write the results here")
    args = parser.parse_args(argv)
    results: dict[str, Any] = {"machine": machine()}
    with Sandbox() as sandbox, tempfile.TemporaryDirectory() as tmp:
        for name in args.fields:
            folder = Path(tmp) / name
            folder.mkdir()
            sandbox.reset()
            results[name] = measure(sandbox, name, args.rows, args.runs, folder)
            print(json.dumps({name: results[name]}, indent=2), flush=True)
    if args.json:
        args.json.write_text(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()

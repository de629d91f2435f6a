"""Typed reading against Arrow's and pandas' untyped reads, on emulator exports.

An export is made in the built-in OpnForm emulator (background writer) and downloaded once;
then, alternating A/B/C/D and quoting medians, this times:

  text      ``blocks.read_table`` (Arrow, every column as text, no typing): the floor
  arrow     ``pyarrow.csv.read_csv`` with every column as text and Arrow's default block size
  typed     the typed DataFrame ``ExportJob.to_dataframe()`` builds from the same file
  pandas    ``pandas.read_csv`` of the file (object columns, no typing)

with the ratios typed/text, typed/arrow and typed/pandas, and where one typed read spends its
time: opening the file (the search for ``\\"``), Arrow's text read (with the ``fputcsv``
rewrite of records holding ``\\"``), each column's converter, and the conversion to pandas.
Nothing is asserted; ``benchmarks/bench.py --sections typed`` judges the figures against
their targets.

    .venv/bin/python benchmarks/typed_read.py --rows 100000 --runs 7

Field sets (``--fields``) are those of ``benchmarks/fieldsets.py``.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import sys
import tempfile
import time
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import pandas as pd
import pyarrow as pa
import pyarrow.csv as pacsv

import formexport as fx
from formexport.reading import arrow_to_pandas, blocks, fputcsv, sinks
from formexport.reading.options import DEFAULT_DTYPE_BACKEND
from formexport.reading.source import open_export
from formexport.sandbox import Sandbox

sys.path.insert(0, str(Path(__file__).parent))
from fieldsets import FIELD_SETS, Fields

Samples = dict[str, list[float]]


def export_file(
    sandbox: Sandbox, fields: Fields, rows: int, folder: Path
) -> tuple[fx.ExportJob, Path]:
    """A finished background export, downloaded to ``folder``; returns (job, path)."""
    sandbox.config.status_access = "open"
    sandbox.config.job_progression = "immediate"
    form = sandbox.add_form("Typed read", fields, rows, seed=7)
    client = fx.Client(token=sandbox.token, base_url=sandbox.base_url)
    job = client.start_export(form["id"])
    job.wait(progress=None)
    path = job.download(folder / "export.csv")
    return job, path


def typed_read(job: fx.ExportJob, path: Path) -> pd.DataFrame:
    """What ``ExportJob.to_dataframe()`` does once the file is here."""
    opened = open_export(path)
    reader = sinks.make_reader(
        opened.head, form=job.form, columns=job.columns, writer=opened.writer
    )
    return sinks.read_frame(opened.body, reader, DEFAULT_DTYPE_BACKEND)


def arrow_strings(path: Path) -> pa.Table:
    """Arrow's own read of the file, every column as text, its default block size.

    Values may hold line breaks (multiline answers); without ``newlines_in_values`` Arrow
    would split their records.
    """
    types = dict.fromkeys(blocks.read_header(path), pa.string())
    return pacsv.read_csv(
        path,
        parse_options=pacsv.ParseOptions(newlines_in_values=True),
        convert_options=pacsv.ConvertOptions(column_types=types),
    )


def alternate(runs: int, actions: Mapping[str, Callable[[], object]]) -> Samples:
    """Seconds of each action in each run, run A, B, C, A, B, C ... so drifts hit all alike.

    The lists are in run order: item ``i`` of every list comes from the same run. What an
    action returns is dropped once the clock has stopped: freeing a million Python lists is no
    part of reading them, and a user keeps the frame.
    """
    samples: Samples = {name: [] for name in actions}
    for _ in range(runs):
        for name, action in actions.items():
            started = time.perf_counter()
            result = action()
            samples[name].append(time.perf_counter() - started)
            del result
    return samples


def medians(samples: Samples) -> dict[str, float]:
    """The median of each action's seconds."""
    return {name: statistics.median(values) for name, values in samples.items()}


def rounded(samples: Samples) -> dict[str, list[float]]:
    """Samples to the microsecond, for the JSON (figures computed from them stay exact)."""
    return {name: [round(v, 6) for v in values] for name, values in samples.items()}


def breakdown(job: fx.ExportJob, path: Path) -> dict[str, float]:
    """Seconds of each stage of one typed read (columns by header and type)."""
    spent: dict[str, float] = {}

    def clock(name: str, started: float) -> float:
        now = time.perf_counter()
        spent[name] = spent.get(name, 0.0) + now - started
        return now

    started = time.perf_counter()
    opened = open_export(path)
    started = clock('open (search for \\")', started)
    reader = sinks.make_reader(
        opened.head, form=job.form, columns=job.columns, writer=opened.writer
    )
    count, block = len(reader.columns), sinks.TABLE_BLOCK_SIZE
    batches = list(blocks.iter_batches(opened.body, count, block))
    started = clock("Arrow text read (rewrite included)", started)
    typed = []
    for batch in batches:
        arrays = []
        for position, column in enumerate(reader.columns):
            arrays.extend(column.reader.convert(batch.column(position)))
            label = getattr(column.reader, "label", "id")
            started = clock(f"{column.planned.header} ({label})", started)
        typed.append(pa.RecordBatch.from_arrays(arrays, schema=reader.schema()))
    table = pa.Table.from_batches(typed).unify_dictionaries()
    started = clock("batches to table", started)
    arrow_to_pandas.to_pandas(table, DEFAULT_DTYPE_BACKEND, reader.attrs())
    clock("to pandas", started)
    return spent


def machine() -> dict[str, Any]:
    """The machine and the versions a run's figures belong to."""
    return {
        "python": platform.python_version(),
        "platform": platform.platform(),
        "cpus": os.cpu_count(),
        "pandas": pd.__version__,
        "pyarrow": pa.__version__,
        "formexport": fx.__version__,
    }


def measure(sandbox: Sandbox, name: str, rows: int, runs: int, folder: Path) -> dict[str, Any]:
    """Every read of one export of field set ``name``, alternating; samples and medians."""
    job, path = export_file(sandbox, FIELD_SETS[name](), rows, folder)
    typed_read(job, path)  # first use builds lookup tables and imports
    samples = alternate(
        runs,
        {
            "text": lambda: blocks.read_table(path),
            "arrow": lambda: arrow_strings(path),
            "typed": lambda: typed_read(job, path),
            "pandas": lambda: pd.read_csv(path),
        },
    )
    middle = medians(samples)
    return {
        "field_set": name,
        "rows": rows,
        "megabytes": round(path.stat().st_size / 1e6, 1),
        "holds_backslash_quote": fputcsv.has_escaped_quotes(path),
        "samples_s": rounded(samples),
        "seconds": {k: round(v, 3) for k, v in middle.items()},
        "typed_over_text": round(middle["typed"] / middle["text"], 3),
        "typed_over_arrow": round(middle["typed"] / middle["arrow"], 3),
        "typed_over_pandas": round(middle["typed"] / middle["pandas"], 3),
        "typed_breakdown_s": {k: round(v, 3) for k, v in breakdown(job, path).items()},
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

"""Peak memory of ``export_to_parquet`` on large exports (not a test: it takes minutes).

The OpnForm emulator runs in its own process (``formexport sandbox``), so its memory is not
counted; each export runs in a fresh Python process whose peak resident set size
(``ru_maxrss``) is reported, next to the same process's size after importing pandas and pyarrow.
A flat peak across sizes is the point: the CSV is typed and written block by block.

    .venv/bin/python benchmarks/parquet_memory.py 1000000 5000000

``make bench`` measures the same with the fields of ``benchmarks/bench.py``; the figures are in
``BENCHMARKS.md``. This script uses other fields (a matrix, a date with time) and reports the
base size after the imports too.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
import urllib.request
from pathlib import Path
from tempfile import TemporaryDirectory

FIELDS = [
    {"type": "text", "name": "Full name"},
    {"type": "email", "name": "Email"},
    {"type": "phone_number", "name": "Phone"},
    {"type": "number", "name": "Amount"},
    {"type": "rating", "name": "Rating"},
    {"type": "checkbox", "name": "Subscribe"},
    {"type": "multi_select", "name": "Topics", "options": ["Music", "Rock, Pop", "Tech"]},
    {"type": "date", "name": "Visit", "with_time": True},
    {"type": "matrix", "name": "Sessions", "rows": ["Morning", "Afternoon"]},
    {"type": "text", "name": "Comments"},
]

CHILD = """
import json, resource, sys, time
import pandas, pyarrow, pyarrow.parquet as pq
import formexport as fx
base = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
start = time.monotonic()
path = fx.export_to_parquet(int(sys.argv[1]), sys.argv[2], progress=None)
elapsed = time.monotonic() - start
rows = pq.ParquetFile(path).metadata.num_rows
peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
print(json.dumps({"rows": rows, "seconds": round(elapsed, 1), "base_mb": base // 1024,
                  "peak_mb": peak // 1024, "parquet_mb": round(path.stat().st_size / 2**20, 1)}))
"""


def _send(base_url: str, path: str, payload: object, method: str = "POST") -> object:
    request = urllib.request.Request(
        base_url + path,
        data=json.dumps(payload).encode(),
        headers={"Content-Type": "application/json"},
        method=method,
    )
    with urllib.request.urlopen(request, timeout=60) as answer:  # the emulator, on loopback
        return json.load(answer)


def main(sizes: list[int]) -> None:
    command = [sys.executable, "-m", "formexport", "sandbox", "--status-access", "open"]
    command += ["--progression", "timed"]
    with subprocess.Popen(command, stdout=subprocess.PIPE, text=True) as server:
        try:
            assert server.stdout is not None
            lines = [server.stdout.readline() for _ in range(4)]
            base_url = lines[2].split("=", 1)[1].strip()
            token = lines[3].split("=", 1)[1].strip()
            # Job steps take no time, and the file is written in the background, as on a server
            # with a queue worker (a POST that wrote 5 million rows would time out).
            _send(base_url, "/_sandbox/config", {"seconds_per_step": 0.0001}, "PATCH")
            env = {**os.environ, "OPNFORM_API_BASE_URL": base_url, "OPNFORM_API_TOKEN": token}
            with TemporaryDirectory() as folder:
                for size in sizes:
                    form = _send(base_url, "/_sandbox/forms", {
                        "title": f"Benchmark {size}", "fields": FIELDS, "n_submissions": size,
                    })  # fmt: skip
                    assert isinstance(form, dict)
                    out = Path(folder) / f"{size}.parquet"
                    started = time.monotonic()
                    result = subprocess.run(
                        [sys.executable, "-c", CHILD, str(form["id"]), str(out)],
                        env=env, capture_output=True, text=True, check=False,
                    )  # fmt: skip
                    if result.returncode:
                        raise SystemExit(result.stderr)
                    figures = json.loads(result.stdout.strip().splitlines()[-1])
                    figures["total_seconds"] = round(time.monotonic() - started, 1)
                    print(json.dumps(figures), flush=True)
                    out.unlink()
        finally:
            server.send_signal(signal.SIGINT)
            server.wait(timeout=30)


if __name__ == "__main__":
    main([int(a) for a in sys.argv[1:]] or [100_000, 1_000_000])

"""What each kind of kernel shows while exporting, checked in real kernels.

nbclient drives a kernel the way papermill and nbconvert do (no front-end); a
jupyter_client session with ``allow_stdin=True`` stands in for JupyterLab or VS Code.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import nbformat
import pytest
from jupyter_client.blocking.client import BlockingKernelClient
from jupyter_client.manager import KernelManager, start_new_kernel
from nbclient import NotebookClient
from nbformat.v4 import new_code_cell, new_notebook

from formexport.progress.widget import WIDGET_MIME
from formexport.sandbox import Sandbox

EXPORT = "import formexport as fx\ndf = fx.load_export(2{options})\nprint(len(df), 'rows')"
NO_IPYWIDGETS = "import sys\nsys.modules['ipywidgets'] = None  # as if it were not installed"
READ_LINE = r"Read CSV \(job [0-9a-f-]{36}\): 2500/2500 rows"
DONE_LINE = r"Done · 2 500 rows × 15 columns · \d+\.\d s · job [0-9a-f]{8}"
LOG_TO_STDOUT = (
    "import logging, sys\n"
    "logging.basicConfig(stream=sys.stdout, level=logging.INFO, format='%(message)s')"
)


def _run_headless(*sources: str) -> nbformat.NotebookNode:
    book = new_notebook(cells=[new_code_cell(source) for source in sources])
    NotebookClient(book, timeout=90, kernel_name="python3", store_widget_state=True).execute()
    return book


def _text(outputs: list[Any]) -> str:
    return "".join(o.get("text", "") for o in outputs if o["output_type"] == "stream")


def test_widget_mode_shows_one_widget_that_ends_at_100(kernel_env: Sandbox) -> None:
    book = _run_headless(EXPORT.format(options=", progress='widget'"))
    outputs = book.cells[0].outputs
    views = [o for o in outputs if o["output_type"] == "display_data" and WIDGET_MIME in o.data]
    assert len(views) == 1  # one widget for the export, download and reading
    # Not HBox(children=...): a line for viewers that cannot render widgets, saying what came.
    assert re.fullmatch(DONE_LINE, views[0].data["text/plain"])
    assert "2500 rows" in _text(outputs)
    state = book.metadata.widgets["application/vnd.jupyter.widget-state+json"]["state"]
    bars = [m["state"] for m in state.values() if m["model_name"] == "FloatProgressModel"]
    assert len(bars) == 1
    assert bars[0]["value"] == 1.0
    assert bars[0]["bar_style"] == "success"
    texts = [m["state"]["value"] for m in state.values() if m["model_name"] == "HTMLModel"]
    assert any("Done" in text for text in texts)
    assert any("2 500 rows × 15 columns" in text for text in texts)
    assert kernel_env.token not in str(book)


def test_papermill_style_kernels_get_log_lines(kernel_env: Sandbox) -> None:
    book = _run_headless(LOG_TO_STDOUT, EXPORT.format(options=""))
    outputs = book.cells[1].outputs
    assert not any(WIDGET_MIME in o.get("data", {}) for o in outputs)
    lines = _text(outputs).splitlines()
    assert any(line.startswith("Server export (job ") for line in lines)
    assert any(line.startswith("Download (job ") for line in lines)
    assert any(re.fullmatch(READ_LINE, line) for line in lines)
    assert re.fullmatch(DONE_LINE, lines[-2])  # then the DataFrame's "2500 rows"
    assert "\r" not in _text(outputs)
    assert len(lines) < 30  # throttled: state changes and tenths, not every chunk


def _stderr(outputs: list[Any]) -> str:
    return "".join(
        o["text"] for o in outputs if o["output_type"] == "stream" and o.name == "stderr"
    )


def test_without_logging_configured_the_lines_reach_the_notebook(kernel_env: Sandbox) -> None:
    # nbconvert --execute, nbclient, papermill: nobody configured logging in the kernel.
    book = _run_headless(EXPORT.format(options=""))
    outputs = book.cells[0].outputs
    lines = _stderr(outputs).splitlines()
    assert re.fullmatch(r"formexport: Server export \(job [0-9a-f-]{36}\): 0% - queued", lines[0])
    assert any(line.startswith("formexport: Download (job ") for line in lines)
    assert re.fullmatch("formexport: " + READ_LINE, lines[-2])
    assert re.fullmatch("formexport: " + DONE_LINE, lines[-1])
    assert "\r" not in _stderr(outputs)
    assert "2500 rows" in _text(outputs)


@pytest.fixture
def interactive() -> Iterator[BlockingKernelClient]:
    manager: KernelManager
    manager, client = start_new_kernel(kernel_name="python3")
    try:
        yield client
    finally:
        client.stop_channels()
        manager.shutdown_kernel(now=True)


def _run_interactive(client: BlockingKernelClient, *sources: str) -> list[dict[str, Any]]:
    """Run cells as JupyterLab sends them (``allow_stdin=True``); return the iopub messages."""
    messages: list[dict[str, Any]] = []
    for source in sources:
        reply = client.execute_interactive(
            source, allow_stdin=True, timeout=90, output_hook=messages.append
        )
        assert reply["content"]["status"] == "ok", reply["content"]
    return messages


def test_a_front_end_gets_the_widget_by_default(
    kernel_env: Sandbox, interactive: BlockingKernelClient
) -> None:
    messages = _run_interactive(interactive, EXPORT.format(options=""))
    shown = [m for m in messages if m["msg_type"] == "display_data"]
    assert len(shown) == 1
    assert WIDGET_MIME in shown[0]["content"]["data"]
    updates = [m for m in messages if m["msg_type"] == "update_display_data"]
    assert re.fullmatch(DONE_LINE, updates[-1]["content"]["data"]["text/plain"])


def test_without_ipywidgets_a_front_end_gets_a_text_bar(
    kernel_env: Sandbox, interactive: BlockingKernelClient
) -> None:
    messages = _run_interactive(interactive, NO_IPYWIDGETS, EXPORT.format(options=""))
    assert not any(
        WIDGET_MIME in m["content"].get("data", {})
        for m in messages
        if m["msg_type"] in ("display_data", "update_display_data")
    )
    stderr = "".join(
        m["content"]["text"]
        for m in messages
        if m["msg_type"] == "stream" and m["content"]["name"] == "stderr"
    )
    assert "Server export: 100%" in stderr
    assert "Download: 100%" in stderr
    assert "Read CSV: 100%" in stderr
    assert "HBox" not in stderr


BACKGROUND = (
    "import time\nimport formexport as fx\n\nfinished = []\n"
    "fut = fx.start_export(2, progress='widget')\n"
    "fut.add_done_callback(lambda f: finished.append(time.monotonic()))"
)
NEXT_CELL = "second_cell_done = time.monotonic()\nprint('export done:', fut.done())"
COLLECT = (
    "df = fut.result()\n"
    "print(len(df), 'rows; after the second cell:', finished[0] > second_cell_done)"
)


def test_a_cell_runs_and_finishes_while_the_export_started_before_goes_on(
    kernel_env: Sandbox,
) -> None:
    kernel_env.config.job_progression = "timed"  # a few seconds on the server
    kernel_env.config.seconds_per_step = 0.3
    book = _run_headless(BACKGROUND, NEXT_CELL, COLLECT)
    start, following, collect = (cell.outputs for cell in book.cells)
    assert _text(following) == "export done: False\n"
    assert _text(collect) == "2500 rows; after the second cell: True\n"
    views = [o for o in start if o["output_type"] == "display_data" and WIDGET_MIME in o.data]
    assert len(views) == 1  # the bar stays under the cell that started the export
    # Its text twin was kept current from the export's thread while later cells ran.
    assert re.fullmatch(DONE_LINE, views[0].data["text/plain"])
    assert not any(WIDGET_MIME in o.get("data", {}) for o in [*following, *collect])
    state = book.metadata.widgets["application/vnd.jupyter.widget-state+json"]["state"]
    bars = [m["state"] for m in state.values() if m["model_name"] == "FloatProgressModel"]
    assert [(bar["value"], bar["bar_style"]) for bar in bars] == [(1.0, "success")]

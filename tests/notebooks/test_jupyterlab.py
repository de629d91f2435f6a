"""Seen in a real browser: JupyterLab on loopback, headless Debian Chromium driven by Playwright.

An analyst's notebook runs ``load_export`` with the default progress; the bar must render as a
widget (not ``HBox(children=...)`` text) and end at 100 %. Another starts an export in the
background: its bar keeps moving after its cell has finished and while the next cell runs.
Screenshots are kept in ``build/test-artifacts/`` (or ``$FORMEXPORT_ARTIFACTS``).
"""

from __future__ import annotations

import os
import re
import secrets
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import nbformat
import pytest
import requests
from nbformat.v4 import new_code_cell, new_notebook
from playwright.sync_api import Page, expect, sync_playwright

from formexport.sandbox import Sandbox
from tests.system_tools import require_tool

CHROMIUM_FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
REPO = Path(__file__).parents[2]
ARTIFACTS = Path(os.environ.get("FORMEXPORT_ARTIFACTS", REPO / "build" / "test-artifacts"))
STARTUP_SECONDS = 90
CELL = "import formexport as fx\n\ndf = fx.load_export(2)\ndf.shape"
BACKGROUND_CELLS = [
    "import formexport as fx\n\nfut = fx.start_export(2)",
    "print('the second cell ran')",
    "df = fut.result()\ndf.shape",
]


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def _wait_until_serving(url: str, server: subprocess.Popen[bytes], log: Path) -> None:
    deadline = time.monotonic() + STARTUP_SECONDS
    while time.monotonic() < deadline:
        if server.poll() is not None:
            pytest.fail(f"JupyterLab exited early:\n{log.read_text()[-3000:]}")
        try:
            if requests.get(url, timeout=2).status_code == 200:
                return
        except requests.ConnectionError:
            pass
        time.sleep(0.5)
    pytest.fail(f"JupyterLab did not start:\n{log.read_text()[-3000:]}")


@contextmanager
def _lab(cells: list[str], tmp_path: Path) -> Iterator[str]:
    """A JupyterLab server on 127.0.0.1 whose root holds one notebook; yields its URL."""
    root = tmp_path / "lab"
    root.mkdir()
    notebook = new_notebook(cells=[new_code_cell(cell) for cell in cells])
    notebook.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3"}
    nbformat.write(notebook, root / "export.ipynb")
    port, token = _free_port(), secrets.token_hex(16)
    env = {k: v for k, v in os.environ.items() if not k.startswith("FORMEXPORT_PROGRESS")}
    for name in ("JUPYTER_CONFIG_DIR", "JUPYTER_RUNTIME_DIR", "JUPYTERLAB_SETTINGS_DIR"):
        env[name] = str(tmp_path / name.lower())
    env["JUPYTERLAB_WORKSPACES_DIR"] = str(tmp_path / "workspaces")
    log = tmp_path / "jupyterlab.log"
    with log.open("wb") as out:
        server = subprocess.Popen(
            [sys.executable, "-m", "jupyterlab", "--no-browser", "--ip=127.0.0.1",
             f"--port={port}", "--ServerApp.port_retries=0", f"--ServerApp.root_dir={root}",
             f"--IdentityProvider.token={token}", "--LabApp.news_url=",
             "--ServerApp.terminals_enabled=False", "--LabApp.extension_manager=readonly",
             *(["--allow-root"] if os.geteuid() == 0 else [])],  # CI runs as root
            env=env, stdout=out, stderr=subprocess.STDOUT,
        )  # fmt: skip
    try:
        _wait_until_serving(f"http://127.0.0.1:{port}/api/status?token={token}", server, log)
        yield f"http://127.0.0.1:{port}/lab/tree/export.ipynb?token={token}"
    finally:
        server.terminate()
        try:
            server.wait(timeout=20)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait()


@pytest.fixture
def lab_url(kernel_env: Sandbox, tmp_path: Path) -> Iterator[str]:
    """JupyterLab with a notebook whose one cell calls ``load_export``."""
    kernel_env.config.job_progression = "timed"  # the bar moves through the server phase
    kernel_env.config.seconds_per_step = 0.3
    with _lab([CELL], tmp_path) as url:
        yield url


@pytest.fixture
def failing_lab_url(kernel_env: Sandbox, tmp_path: Path) -> Iterator[str]:
    """JupyterLab with a notebook whose one cell calls ``load_export``; the job fails."""
    kernel_env.config.fail_jobs = "Disk quota exceeded"
    with _lab([CELL], tmp_path) as url:
        yield url


@pytest.fixture
def background_lab_url(kernel_env: Sandbox, tmp_path: Path) -> Iterator[str]:
    """JupyterLab with a notebook that starts an export, runs another cell, then collects."""
    kernel_env.config.job_progression = "timed"  # about ten seconds on the server
    kernel_env.config.seconds_per_step = 1.2
    with _lab(BACKGROUND_CELLS, tmp_path) as url:
        yield url


def _run_first_cell(page: Page) -> None:
    """Run the notebook's cell as a person would (Ctrl+Enter), once the kernel is connected.

    The kernel can show "Idle" a moment before its session accepts requests; a key press in
    that moment is lost, so it is repeated until the cell's prompt shows it was taken.
    """
    page.get_by_text("Python 3 (ipykernel) | Idle").wait_for(timeout=STARTUP_SECONDS * 1000)
    _run_cell(page, 0)


def _run_cell(page: Page, index: int) -> None:
    """Run the notebook's cell ``index`` (Ctrl+Enter), repeated until its prompt takes it."""
    prompt = page.locator(".jp-Cell .jp-InputPrompt").nth(index)
    for _ in range(5):
        page.locator(".jp-Cell .jp-InputArea-editor").nth(index).click()
        page.keyboard.press("Control+Enter")
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            if prompt.inner_text().strip() not in ("[ ]:", ""):
                return
            page.wait_for_timeout(200)
    pytest.fail("JupyterLab never ran the cell")


@pytest.fixture
def chromium() -> str:
    """Debian's Chromium (Playwright never downloads a browser here)."""
    return require_tool("chromium", "chromium")


def test_the_default_progress_is_a_widget_bar_that_ends_at_100(chromium: str, lab_url: str) -> None:
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=chromium, args=CHROMIUM_FLAGS, headless=True
        )
        try:
            page = browser.new_page(viewport={"width": 1100, "height": 600})
            page.goto(lab_url, timeout=STARTUP_SECONDS * 1000)
            _run_first_cell(page)

            progress = page.locator(".formexport-progress")
            expect(progress).to_be_visible(timeout=60_000)
            expect(progress).to_contain_text("Done", timeout=90_000)
            expect(progress).to_contain_text("2 500 rows × 15 columns")
            bar = progress.locator(".progress-bar")
            assert bar.evaluate("element => element.style.width") == "100%"
            assert "progress-bar-success" in (bar.get_attribute("class") or "")
            expect(page.locator(".jp-OutputArea-output").last).to_contain_text("(2500, 15)")
            outputs = page.locator(".jp-Notebook .jp-OutputArea").first.inner_text()
            assert "HBox(children" not in outputs
            assert "Loading widget" not in outputs

            ARTIFACTS.mkdir(parents=True, exist_ok=True)
            page.locator(".jp-Notebook .jp-Cell").first.screenshot(
                path=str(ARTIFACTS / "jupyterlab-progress.png")
            )
        finally:
            browser.close()


# The bar as the browser drew it: its colour, and its width against its track's.
RENDERED_BAR = """element => {
    const track = element.parentElement.getBoundingClientRect().width;
    const width = element.getBoundingClientRect().width;
    return [getComputedStyle(element).backgroundColor, width / track];
}"""


def _red(colour: str) -> bool:
    red, green, blue = (int(part) for part in re.findall(r"\d+", colour)[:3])
    return red > 150 and red > green + 60 and red > blue + 60


def test_a_failed_export_fills_its_bar_red(chromium: str, failing_lab_url: str) -> None:
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=chromium, args=CHROMIUM_FLAGS, headless=True
        )
        try:
            page = browser.new_page(viewport={"width": 1100, "height": 600})
            page.goto(failing_lab_url, timeout=STARTUP_SECONDS * 1000)
            _run_first_cell(page)

            progress = page.locator(".formexport-progress")
            expect(progress).to_contain_text("Failed", timeout=90_000)
            expect(progress).to_contain_text("Disk quota exceeded")
            colour, filled = progress.locator(".progress-bar").evaluate(RENDERED_BAR)
            assert _red(colour), colour
            assert filled > 0.99, filled  # the whole track, not a sliver
            expect(page.locator(".jp-OutputArea-output").last).to_contain_text("ExportFailedError")
            ARTIFACTS.mkdir(parents=True, exist_ok=True)
            page.locator(".jp-Notebook .jp-Cell").first.screenshot(
                path=str(ARTIFACTS / "jupyterlab-failed-export.png")
            )
        finally:
            browser.close()


def _bar(page: Page) -> tuple[str, str]:
    """The background export's bar: its width and the text beside it."""
    progress = page.locator(".formexport-progress").first
    width = progress.locator(".progress-bar").evaluate("element => element.style.width")
    return str(width), progress.inner_text()


def _finished(page: Page, index: int) -> bool:
    prompt = page.locator(".jp-Cell .jp-InputPrompt").nth(index).inner_text().strip()
    return prompt not in ("[ ]:", "[*]:", "")


def test_a_background_export_s_bar_moves_on_while_other_cells_run(
    chromium: str, background_lab_url: str
) -> None:
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=chromium, args=CHROMIUM_FLAGS, headless=True
        )
        try:
            page = browser.new_page(viewport={"width": 1100, "height": 700})
            page.goto(background_lab_url, timeout=STARTUP_SECONDS * 1000)
            _run_first_cell(page)
            progress = page.locator(".formexport-progress")
            expect(progress).to_be_visible(timeout=60_000)
            page.wait_for_function(
                "() => !document.querySelector('.jp-Cell .jp-InputPrompt').innerText.includes('*')",
                timeout=60_000,
            )
            assert _finished(page, 0)  # the starting cell is done ...
            seen = _bar(page)
            assert seen[0] != "100%", seen
            # ... and the bar moves on by itself.
            deadline = time.monotonic() + 30
            while _bar(page) == seen and time.monotonic() < deadline:
                page.wait_for_timeout(200)
            moved = _bar(page)
            assert moved != seen, "the bar stood still after its cell had finished"

            _run_cell(page, 1)
            second = page.locator(".jp-Cell").nth(1).locator(".jp-OutputArea-output")
            expect(second).to_contain_text("the second cell ran", timeout=30_000)
            meanwhile = _bar(page)
            assert "Done" not in meanwhile[1], meanwhile  # the export was still running

            expect(progress).to_contain_text("Done", timeout=90_000)
            expect(progress).to_contain_text("2 500 rows × 15 columns")
            bar = progress.locator(".progress-bar")
            assert bar.evaluate("element => element.style.width") == "100%"
            assert "progress-bar-success" in (bar.get_attribute("class") or "")
            _run_cell(page, 2)
            third = page.locator(".jp-Cell").nth(2).locator(".jp-OutputArea-output")
            expect(third).to_contain_text("(2500, 15)", timeout=60_000)
            assert "HBox(children" not in page.locator(".jp-Notebook").inner_text()

            ARTIFACTS.mkdir(parents=True, exist_ok=True)
            page.locator(".jp-Notebook").screenshot(
                path=str(ARTIFACTS / "jupyterlab-background-export.png")
            )
        finally:
            browser.close()

"""``fx.login()`` in a real kernel: the token is asked through the front-end's password box,
and the notebook saved afterwards holds no trace of it."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import nbformat
import pytest
from jupyter_client.blocking.client import BlockingKernelClient
from jupyter_client.manager import KernelManager, start_new_kernel
from nbclient import NotebookClient
from nbformat.v4 import new_code_cell, new_notebook, output_from_msg

from formexport import config
from formexport.sandbox import Sandbox

LOGIN = (
    "import formexport as fx\n"
    "account = fx.login(base_url={url!r}, profile='lab')\n"
    "print(account)\n"
    "account"
)


@pytest.fixture
def front_end(
    kernel_env: Sandbox, monkeypatch: pytest.MonkeyPatch
) -> Iterator[BlockingKernelClient]:
    """A kernel as JupyterLab drives it, with no token in its environment: it must sign in."""
    monkeypatch.delenv(config.TOKEN_ENV)
    manager: KernelManager
    manager, client = start_new_kernel(kernel_name="python3")
    try:
        yield client
    finally:
        client.stop_channels()
        manager.shutdown_kernel(now=True)


def _cell(client: BlockingKernelClient, source: str, typed: str | None) -> tuple[Any, list[Any]]:
    """Run ``source``, typing ``typed`` into each input box it opens; the cell and its asks."""
    asked: list[dict[str, Any]] = []
    cell = new_code_cell(source)

    def keep(message: dict[str, Any]) -> None:
        if message["msg_type"] in ("stream", "display_data", "execute_result", "error"):
            cell.outputs.append(output_from_msg(message))

    def answer(message: dict[str, Any]) -> None:
        asked.append(message["content"])
        client.input(typed or "")

    reply = client.execute_interactive(
        source, allow_stdin=True, timeout=90, output_hook=keep, stdin_hook=answer
    )
    cell.execution_count = reply["content"].get("execution_count")
    return cell, asked


def test_login_asks_for_the_token_in_a_password_box_and_saves_nothing(
    kernel_env: Sandbox, front_end: BlockingKernelClient, tmp_path: Path
) -> None:
    url = kernel_env.base_url
    login, asked = _cell(front_end, LOGIN.format(url=url), kernel_env.token)
    assert asked == [{"prompt": f"OpnForm API token for {url} (profile lab): ", "password": True}]
    export, _ = _cell(front_end, "fx.load_export(1, profile='lab', progress=None).shape", None)
    who, _ = _cell(front_end, "print(fx.whoami(profile='lab'))", None)
    book = new_notebook(cells=[login, export, who])
    path = tmp_path / "signed-in.ipynb"
    nbformat.write(book, path)
    saved = path.read_text()
    assert "Signed in as Demo User <demo@example.com>" in saved
    assert "(250, 13)" in saved
    assert "profile: lab" in saved
    assert kernel_env.token.split("|", 1)[1] not in saved


QUICK_START = Path(__file__).resolve().parents[2] / "notebooks" / "01-quick-start.ipynb"
# A Sanctum token: "<id>|" and 40 alphanumerics with their CRC32 in hex.
SANCTUM_TOKEN = re.compile(r"\d+\|[A-Za-z0-9]{40}[0-9a-f]{8}")


def test_the_quick_start_signs_in_and_its_saved_copy_holds_no_token(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    book = nbformat.read(QUICK_START, as_version=4)
    assert "fx.login(token=sandbox.token" in str(book)  # the notebook signs in...
    NotebookClient(
        book, timeout=120, kernel_name="python3", resources={"metadata": {"path": str(tmp_path)}}
    ).execute()
    saved = tmp_path / "run.ipynb"
    nbformat.write(book, saved)
    text = saved.read_text()
    assert "Signed in as Demo User <demo@example.com>" in text  # ...and did, in this run
    assert "(250, 13)" in text
    assert SANCTUM_TOKEN.search(text) is None
    assert "OPNFORM_API_TOKEN" not in "".join(cell.source for cell in book.cells)

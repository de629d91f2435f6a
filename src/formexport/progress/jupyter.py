"""Where the code runs: a Jupyter kernel, and whether a person is looking at it.

A kernel run by papermill, nbclient, ``nbconvert --execute`` or nbval is a real Jupyter kernel
with no front-end: its outputs are only written into a file. Every one of those tools executes
cells with ``allow_stdin=False`` (nbclient sets ``kc.allow_stdin = False``; nbval passes it per
cell), while JupyterLab, Notebook 7, VS Code and Colab send ``allow_stdin=True`` so that
``input()`` works. The flag travels in the header of the cell's own execute request, so it
answers the question for the cell that is running now, not for the kernel's first client.
"""

from __future__ import annotations

import sys
from typing import Any


def _shell() -> Any:
    module = sys.modules.get("IPython")
    if module is None or "ipykernel" not in sys.modules:
        return None
    get_ipython = getattr(module, "get_ipython", None)
    return get_ipython() if callable(get_ipython) else None


def in_jupyter_kernel() -> bool:
    """True inside an IPython kernel that talks the Jupyter protocol."""
    return type(_shell()).__name__ == "ZMQInteractiveShell"


def _current_request(shell: Any) -> dict[str, Any]:
    kernel = getattr(shell, "kernel", None)
    get_parent = getattr(kernel, "get_parent", None)
    if not callable(get_parent):
        return {}
    try:
        parent = get_parent("shell")
    except (TypeError, LookupError):  # ipykernel < 6 has no channel argument
        parent = getattr(shell, "parent_header", {})
    return parent if isinstance(parent, dict) else {}


def frontend_attached() -> bool:
    """True when the running cell was sent by an interactive front-end (it allows stdin).

    False in a kernel driven by papermill, nbclient, nbconvert or nbval, and outside Jupyter.
    """
    shell = _shell()
    if type(shell).__name__ != "ZMQInteractiveShell":
        return False
    request = _current_request(shell)
    content = request.get("content")
    if not isinstance(content, dict):
        # No request to read (a background thread); an interactive session is the common case.
        return True
    return bool(content.get("allow_stdin", False))


def widgets_available() -> bool:
    """True when ipywidgets imports."""
    try:
        import ipywidgets  # noqa: F401
    except ImportError:
        return False
    return True

"""The package surface: exported names, the pinned Sandbox API, and the island rule."""

from __future__ import annotations

import ast
from inspect import ismodule
from pathlib import Path

import pytest

import formexport.sandbox as package
from formexport.sandbox import Fault, Sandbox, SandboxConfig

SANDBOX_DIR = Path(package.__file__).parent


def test_all_is_sorted_and_complete() -> None:
    public = {n for n, v in vars(package).items() if not n.startswith("_") and not ismodule(v)}
    assert package.__all__ == sorted(package.__all__)
    assert set(package.__all__) == public


def test_sandbox_imports_nothing_from_the_rest_of_formexport() -> None:
    offenders = []
    for path in SANDBOX_DIR.glob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            names = []
            if isinstance(node, ast.ImportFrom) and node.module:
                names = [node.module]
            elif isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            for name in names:
                if name.startswith("formexport") and not name.startswith("formexport.sandbox"):
                    offenders.append(f"{path.name}: {name}")
                if name.split(".")[0] in ("requests", "werkzeug", "flask", "pandas"):
                    offenders.append(f"{path.name}: {name}")
    assert offenders == []


def test_pinned_attributes(sb: Sandbox) -> None:
    assert sb.base_url.startswith("http://127.0.0.1:")
    assert sb.api_url == sb.base_url + "/api"
    assert sb.token.split("|")[0].isdigit()
    assert len(sb.token.split("|")[1]) == 48
    assert isinstance(sb.config, SandboxConfig)
    assert sb.requests == []
    assert sb.make_field("text", "Name")["type"] == "text"
    assert repr(sb).startswith("<Sandbox http://127.0.0.1:")


def test_file_host_binds_127_0_0_2(sb: Sandbox) -> None:
    assert sb.file_host_url.startswith("http://127.0.0.2:")


def test_token_survives_reset(sb: Sandbox) -> None:
    token = sb.token
    sb.reset()
    assert sb.token == token


def test_config_rejects_typos(sb: Sandbox) -> None:
    with pytest.raises(ValueError, match="job_progression"):
        sb.config.job_progression = "per-poll"
    with pytest.raises(AttributeError):
        sb.config.update({"no_such_knob": 1})
    with pytest.raises(ValueError, match="version"):
        sb.config.version = "banana"
    with pytest.raises(TypeError):
        sb.config.range_requests = "yes"  # type: ignore[assignment]


def test_fault_validation() -> None:
    with pytest.raises(ValueError, match="route"):
        Fault("nowhere", http_status=500)
    with pytest.raises(ValueError, match="effect"):
        Fault("status")
    with pytest.raises(ValueError, match="times"):
        Fault("status", http_status=500, times=0)


def test_close_is_idempotent_and_removes_files() -> None:
    sandbox = Sandbox(seed=False)
    files = Path(sandbox._tmp.name)
    assert files.exists()
    sandbox.close()
    sandbox.close()
    assert not files.exists()
    assert "closed" in repr(sandbox)


def test_fixed_port_is_honoured() -> None:
    with Sandbox(seed=False) as first:
        port = int(first.base_url.rsplit(":", 1)[1])
    with Sandbox(port, seed=False) as second:
        assert second.base_url == f"http://127.0.0.1:{port}"

"""The Makefile's install plan (``make -n``): the demo installs the library alone, the tests all."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).parents[2]


# Variables a developer's shell or an outer make may set, which would change the plan.
_MAKE_VARIABLES = ("VENV", "PYTHON", "DEMO_DIR", "MAKEFLAGS", "MFLAGS", "MAKELEVEL")


def plan(folder: Path, target: str) -> list[str]:
    env = {k: v for k, v in os.environ.items() if k not in _MAKE_VARIABLES}
    run = subprocess.run(
        ["make", "-n", target], cwd=folder, capture_output=True, text=True, env=env, check=True
    )
    return run.stdout.splitlines()


@pytest.fixture
def checkout(tmp_path: Path) -> Path:
    if shutil.which("make") is None:
        pytest.skip("make is not installed")
    for name in ("Makefile", "pyproject.toml"):
        shutil.copy(ROOT / name, tmp_path / name)
    return tmp_path


def test_a_fresh_demo_installs_the_library_alone(checkout: Path) -> None:
    steps = plan(checkout, "demo")
    installs = [step for step in steps if " install " in step]
    assert installs == [".venv/bin/python -m pip --disable-pip-version-check --quiet install -e ."]
    assert steps[-1] == ".venv/bin/formexport demo --output-dir formexport-demo"


def test_a_fresh_test_run_installs_the_development_tools(checkout: Path) -> None:
    installs = [step for step in plan(checkout, "test") if " pip " in step and "install" in step]
    assert [step.split("install ")[1] for step in installs] == [
        "--upgrade pip",
        "-e '.[dev,notebook]'",
    ]


def test_one_virtualenv_serves_both(checkout: Path) -> None:
    venv = checkout / ".venv"
    (venv / "bin").mkdir(parents=True)
    (venv / "bin" / "python").touch()
    (venv / ".installed-lib").touch()
    assert not any(" install " in step for step in plan(checkout, "demo"))
    assert any("[dev,notebook]" in step for step in plan(checkout, "lint"))
    (venv / ".installed-dev").touch()
    assert not any(" install " in step for step in plan(checkout, "lint"))
    # A changed pyproject.toml reinstalls what each target needs, and only that.
    stamp = os.stat(venv / ".installed-dev").st_mtime
    os.utime(checkout / "pyproject.toml", (stamp + 10, stamp + 10))
    reinstall = next(step for step in plan(checkout, "demo") if " install " in step)
    assert reinstall.endswith("install -e .")

"""docs/configuration.md lists every environment variable formexport reads, and no other."""

from __future__ import annotations

import re
from pathlib import Path

from formexport import config

ROOT = Path(__file__).resolve().parents[2]


def test_every_variable_is_documented_once() -> None:
    read = {value for name, value in vars(config).items() if name.endswith("_ENV")}
    table = (ROOT / "docs" / "configuration.md").read_text(encoding="utf-8")
    documented = re.findall(r"^\| `([A-Z_]+)` \|", table, re.M)
    assert len(documented) == len(set(documented))
    assert read <= set(documented), read - set(documented)
    assert set(documented) - read == {"FORMEXPORT_DEMO"}  # read by notebook 3, not the library

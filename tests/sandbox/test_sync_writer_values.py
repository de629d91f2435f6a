"""What the synchronous writer loses, end to end: the emulator loses it as OpnForm does, and
``values="auto"`` still gives the exact values (read from the JSON submissions list).

The background writer (``fputcsv``) keeps text as it is, and the fputcsv reader reads it back.
"""

from __future__ import annotations

from typing import Any

import pandas as pd

import formexport as fx
from formexport.sandbox import Sandbox, make_field

NOTE = make_field("text", "Note", id="f-note")
CODE = make_field("text", "Code", id="f-code")
LONG = "é" * 40_000
# Newest first in the export: the last added is the first row.
ANSWERS = [
    {"f-note": "first\r\nsecond\rthird", "f-code": "9223372036854775808"},
    {"f-note": LONG, "f-code": "7\n"},
    {"f-note": "odd \ufffe and \uffff", "f-code": "-9223372036854775809"},
]
# As the answer's writer prints them (PhpSpreadsheet 1.30 run for real on PHP 8.2).
SYNC_CSV = [
    {"Note": "first\nsecond\nthird", "Code": "9.2233720368548E+18"},
    {"Note": "é" * 32_767, "Code": "7"},
    {"Note": "odd \ufffd and \ufffd", "Code": "-9.2233720368548E+18"},
]


def load(sandbox: Sandbox, form: int, **options: Any) -> pd.DataFrame:
    return fx.load_export(
        form, token=sandbox.token, base_url=sandbox.base_url, progress=None, **options
    )


def texts(frame: pd.DataFrame) -> list[dict[str, str]]:
    return list(reversed(frame[["Note", "Code"]].astype(object).to_dict("records")))


def a_form(sandbox: Sandbox) -> int:
    form = sandbox.add_form("Losses", [NOTE, CODE])
    for index, data in enumerate(ANSWERS):
        sandbox.add_submission(form["id"], data, created_at=1_780_000_000 + index)
    return int(form["id"])


def test_the_synchronous_writer_loses_what_opnform_loses(sandbox: Sandbox) -> None:
    frame = load(sandbox, a_form(sandbox), values="csv")
    assert frame.attrs["writer"] == "answer"
    assert texts(frame) == SYNC_CSV


def test_auto_values_are_exact_where_the_synchronous_writer_loses_them(sandbox: Sandbox) -> None:
    frame = load(sandbox, a_form(sandbox))
    assert (frame.attrs["writer"], frame.attrs["values"]) == ("answer", "exact")
    assert texts(frame) == [{"Note": a["f-note"], "Code": a["f-code"]} for a in ANSWERS]


def test_the_background_writer_keeps_the_text(sandbox: Sandbox) -> None:
    sandbox.config.sync_threshold = 0  # every export takes the queued path
    sandbox.config.status_access = "open"
    frame = load(sandbox, a_form(sandbox), values="csv")
    assert frame.attrs["writer"] == "job"
    assert texts(frame) == [{"Note": a["f-note"], "Code": a["f-code"]} for a in ANSWERS]

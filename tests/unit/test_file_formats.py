"""File formats without a server: names Stata and SPSS accept, a file's format from its name,
Excel's text escapes, and frames that carry no codebook."""

from __future__ import annotations

from pathlib import Path

import openpyxl
import pandas as pd
import pytest

from formexport.errors import InvalidArgumentError
from formexport.formats import columns, excel, stata
from formexport.jobs.output import file_format
from formexport.reading.variable_names import MAX_LENGTH, variable_names


@pytest.mark.parametrize(
    ("given", "names"),
    [
        (["Amount (USD)", "Dates (start)", "Name.1"], ["Amount_USD", "Dates_start", "Name_1"]),
        (["Name", "name", "NAME"], ["Name", "name_2", "NAME_3"]),  # SPSS ignores case
        (["_all", "in", "AND", "str12", "strL"], ["all_", "in_", "AND_", "str12_", "strL_"]),
        (["Ça va ?", "2024 score", "???"], ["Ca_va", "v2024_score", "v3"]),
        (["v1", "😀"], ["v1", "v2"]),
    ],
)
def test_variable_names_are_valid_and_distinct(given: list[str], names: list[str]) -> None:
    assert variable_names(given) == names


def test_long_variable_names_are_cut_and_stay_distinct() -> None:
    long = "How satisfied were you with the registration desk"
    first, second = variable_names([long, long + "?"])
    assert len(first) <= MAX_LENGTH
    assert len(second) == MAX_LENGTH
    assert first.lower() != second.lower()
    assert second.endswith("_2")


@pytest.mark.parametrize(
    ("path", "chosen", "name"),
    [
        ("out.XLSX", None, "xlsx"),
        ("out.dta", None, "dta"),
        ("out.txt", None, None),
        ("out.txt", "csv", "csv"),
        ("out.sav", "sav", "sav"),
    ],
)
def test_a_files_format_comes_from_its_name(path: str, chosen: str | None, name: str) -> None:
    fmt = file_format(path, chosen)
    assert (fmt.name if fmt else None) == name


@pytest.mark.parametrize(("path", "chosen"), [("out.xlsx", "csv"), ("a.parquet", "dta")])
def test_a_format_the_name_contradicts_is_refused(path: str, chosen: str) -> None:
    with pytest.raises(InvalidArgumentError, match=f"end the file name in .{chosen}"):
        file_format(path, chosen)


def test_an_unknown_format_is_refused() -> None:
    with pytest.raises(InvalidArgumentError, match="parquet, csv, xlsx, dta, sav"):
        file_format("out.txt", "json")


def test_excel_text_escapes_what_a_sheet_cannot_hold() -> None:
    assert excel.excel_text("tab\tstays") == "tab\tstays"
    assert excel.excel_text("a\rb\r\nc") == "a\nb\nc"
    assert excel.excel_text("\x00\x1f\ufffe") == "_x0000__x001F__xFFFE_"
    assert excel.excel_text("_x263A_ and _X263a_ stay") == "_x005F_x263A_ and _X263a_ stay"


def test_text_longer_than_a_cell_is_cut_with_its_escapes_counted() -> None:
    text, cut = excel._fitted("\x01" * excel.MAX_TEXT)
    assert cut
    assert len(text) <= excel.MAX_TEXT
    assert text == "_x0001_" * (excel.MAX_TEXT // 7)


def test_a_frame_without_a_codebook_is_written_from_its_dtypes(tmp_path: Path) -> None:
    frame = pd.DataFrame(
        {
            "Picked": pd.Categorical(["b", None, "a"], categories=["b", "a"]),
            "Items": [["x", "y"], [], None],
            "Grid": [{"Row": "A", "Other": None}, None, {"Row": None}],
            "When": pd.to_datetime(["2026-01-01 10:00", None, None]).tz_localize("Europe/Paris"),
            "Note": pd.array(["=SUM(A1)", None, "0042"], dtype="string"),
        }
    )
    kinds = [columns.kind_of(frame, name) for name in frame.columns]
    assert kinds == ["category", "list", "matrix", "datetime", "text"]
    excel.write_xlsx(frame, tmp_path / "f.xlsx")
    rows = list(openpyxl.load_workbook(tmp_path / "f.xlsx")["Submissions"].values)
    assert rows[0] == ("Picked", "Items", "Grid", "When (UTC)", "Note")
    assert rows[1][:3] == ("b", "x; y", "Row: A")
    assert rows[1][3].hour == 9  # 10:00 in Paris is 09:00 UTC
    assert rows[2] == (None,) * 5
    stata.write_dta(frame, tmp_path / "f.dta")
    back = pd.read_stata(tmp_path / "f.dta")
    assert back["Picked"].tolist()[::2] == ["b", "a"]
    assert back["Note"].tolist() == ["=SUM(A1)", "", "0042"]

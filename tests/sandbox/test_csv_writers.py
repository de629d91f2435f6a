"""Both CSV writers byte for byte: examples reconstructed from OpnForm's code, and each quirk."""

from __future__ import annotations

from typing import Any

import pytest
from hashids import Hashids

from formexport.sandbox import Sandbox, make_field
from formexport.sandbox.platform.php import php_float
from formexport.sandbox.writers.cells import header_text, render_value
from formexport.sandbox.writers.csv_writers import (
    MAX_TEXT_LENGTH,
    async_line,
    fputcsv_field,
    sync_csv,
    sync_text,
)
from tests.sandbox.helpers import Api

BOM = "\ufeff"
SYNC_EXAMPLE = (
    BOM + '"id","Name","Email","Interests","Newsletter","created_at","status"\n'
    '"k5","Jane Smith","jane@example.com","Music,""Rock, Pop""","TRUE",'
    '"2026-08-21 14:02","Completed"\n'
    '"jR","John","","","","2026-08-20 09:30","In Progress"\n'
)
ASYNC_EXAMPLE = (
    "id,Name,Email,Interests,Newsletter,created_at,status\n"
    'k5,"Jane Smith",jane@example.com,"Music,""Rock, Pop""",1,"2026-08-21 14:02",Completed\n'
    'jR,John,,,,"2026-08-20 09:30","In Progress"\n'
)


@pytest.fixture
def example(bare: Sandbox) -> dict[str, Any]:
    """The reference example: two submissions (ids 1 and 2), partial submissions on."""
    fields = [
        make_field("text", "Name"),
        make_field("email", "Email"),
        make_field("multi_select", "Interests", options=["Music", "Rock, Pop"]),
        make_field("checkbox", "Newsletter"),
    ]
    form = bare.add_form("Newsletter signup", fields, 0, partial=True)
    name, email, interests, newsletter = (f["id"] for f in fields)
    bare.add_submission(form["id"], {name: "John"}, partial=True, created_at="2026-08-20T09:30:59Z")
    bare.add_submission(
        form["id"],
        {name: "Jane Smith", email: "jane@example.com", interests: ["Music", "Rock, Pop"]}
        | {newsletter: True},
        created_at="2026-08-21 14:02:11",
    )
    columns = dict.fromkeys([name, email, interests, newsletter, "created_at"], True)
    return {"form": form, "columns": columns}


def test_sync_example_byte_for_byte(bare_api: Api, example: dict[str, Any]) -> None:
    response = bare_api.export(example["form"]["id"], example["columns"])
    assert response.status_code == 200
    assert response.content == SYNC_EXAMPLE.encode()
    assert response.headers["Content-Type"] == "text/csv; charset=UTF-8"
    slug = example["form"]["slug"]
    assert (
        response.headers["Content-Disposition"]
        == f"attachment; filename={slug}-submission-data.csv"
    )


@pytest.mark.parametrize(("version", "bom"), [("2.3.0", BOM), ("2.4.0", BOM), ("2.2.1", "")])
def test_async_example_byte_for_byte(
    bare_api: Api, bare: Sandbox, example: dict[str, Any], version: str, bom: str
) -> None:
    bare.config.version = version
    bare.config.sync_threshold = 1  # two rows are enough to take the queued path
    status = bare_api.finished_job(example["form"]["id"], example["columns"])
    download = bare_api.session.get(status["file_url"])
    assert download.status_code == 200
    assert download.content == (bom + ASYNC_EXAMPLE).encode()


def test_column_order_follows_the_request_and_created_at_goes_last(
    bare_api: Api, example: dict[str, Any]
) -> None:
    ids = list(example["columns"])
    columns = {"created_at": True, ids[3]: True, ids[0]: True}
    body = bare_api.export(example["form"]["id"], columns).content.decode()
    assert body.splitlines()[0] == BOM + '"id","Newsletter","Name","created_at","status"'


def test_only_json_true_selects_a_column(bare_api: Api, example: dict[str, Any]) -> None:
    name, email = list(example["columns"])[:2]
    body = bare_api.export(example["form"]["id"], {name: True, email: 1}).content.decode()
    assert body.splitlines()[0] == BOM + '"id","Name","status"'


def test_duplicate_headers_and_deleted_fields(api: Api) -> None:
    form = api.form(2)
    work, home = form["properties"][2]["id"], form["properties"][3]["id"]
    removed = form["removed_properties"][0]["id"]
    columns = {work: True, home: True, removed: True, "status": True}
    body = api.export(2, columns, ids=[260, 261]).content.decode()
    assert body.splitlines()[0] == BOM + '"id","Email","Email","Dietary needs","status"'


def test_column_keys_match_formatted_keys_by_substring(bare_api: Api, bare: Sandbox) -> None:
    order, name = make_field("text", "Order status"), make_field("text", "Name")
    form = bare.add_form("Orders", [order, name], 0)
    bare.add_submission(form["id"], {order["id"]: "shipped", name["id"]: "Ann"})
    # "status" is contained in the key "Order status (<id>)"; the field's own id then
    # matches the same key again, which adds no second column.
    columns = {"status": True, order["id"]: True, name["id"]: True}
    body = bare_api.export(form["id"], columns).content.decode()
    assert body == BOM + '"id","Order status","Name"\n"jR","shipped","Ann"\n'


def test_attribution_column_is_the_bare_parameter_name(api: Api, sb: Sandbox) -> None:
    form = api.form(2)
    name = form["properties"][1]["id"]
    columns = {"meta.attribution.utm_source": True, name: True, "created_at": True}
    lines = api.export(2, columns, ids=list(range(251, 301))).content.decode().splitlines()
    assert lines[0] == BOM + '"id","utm_source","Full name","created_at","status"'
    sources = {line.split(",")[1] for line in lines[1:]}
    assert '""' in sources
    assert sources - {'""'} <= {'"newsletter"', '"google"', '"facebook"', '"linkedin"'}


def test_rows_are_newest_first(bare_api: Api, bare: Sandbox, example: dict[str, Any]) -> None:
    form_id = example["form"]["id"]
    bare.add_submission(form_id, {}, created_at="2026-08-19 08:00:00")  # id 3, oldest
    bare.add_submission(form_id, {}, created_at="2026-08-22 08:00:00")  # id 4, newest
    rows = bare_api.export(form_id, {"created_at": True}).content.decode().splitlines()[1:]
    encode = Hashids().encode
    assert [row.split(",")[0] for row in rows] == [f'"{encode(n)}"' for n in (4, 2, 1, 3)]


# --- unit checks of the writers' value rules ------------------------------------------


@pytest.mark.parametrize(
    ("value", "text"),
    [
        (True, "TRUE"),
        (False, ""),
        (0, ""),
        (0.0, ""),
        ("", ""),
        (None, ""),
        ("0", "0"),
        ("+33612345678", "33612345678"),
        ("0612345678", "0612345678"),
        ("1.50", "1.5"),
        ("1e3", "1000"),
        ("3e2", "300"),
        ("01234", "01234"),
        ("0.5", "0.5"),
        ("-0", "0"),
        ("99999999999999999999", "99999999999999999999"),
        ("9223372036854775807", "9223372036854775807"),
        ("1.23456789012345678", "1.2345678901235"),
        ("=1+2", "=1+2"),
        ("12 apples", "12 apples"),
        (1.5, "1.5"),
        (250.0, "250"),
        (0.1 + 0.2, "0.3"),
        (1e25, "1.0E+25"),
        # Section 8, run on PhpSpreadsheet 1.30.2: CR and CRLF become LF in text cells...
        ("a\r\nb\rc", "a\nb\nc"),
        ("=a\r\nb", "=a\r\nb"),  # ...not in formulas
        # U+FFFE and U+FFFF become U+FFFD.
        ("x\ufffey\uffff", "x\ufffdy\ufffd"),
        # Integer strings are compared with PHP_INT_MAX as floats: up to 2**63 + 1024 they
        # become numbers (floats, printed with precision 14); larger ones stay text.
        ("9223372036854775808", "9.2233720368548E+18"),
        ("9223372036854776832", "9.2233720368548E+18"),
        ("9223372036854776833", "9223372036854776833"),
        ("-9223372036854775808", "-9223372036854775808"),
        ("-9223372036854775809", "-9.2233720368548E+18"),
        ("-99999999999999999999", "-1.0E+20"),
        # Trailing whitespace is numeric; PCRE's "$" matches before a final line feed.
        ("7\n", "7"),
        ("7\r\n", "7\n"),
        ("07\n", "07\n"),
        # JSON integers beyond 64 bits are floats after json_decode.
        (2**64, "1.844674407371E+19"),
        (-(2**64), "-1.844674407371E+19"),
    ],
)
def test_sync_cell_text(value: Any, text: str) -> None:
    assert sync_text(value) == text


def test_sync_text_cells_are_cut_at_32767_characters_then_line_ends_become_lf() -> None:
    assert sync_text("é" * 40_000) == "é" * MAX_TEXT_LENGTH
    # The cut comes first: 16 383 CRLF and a lone CR are left, 16 384 line feeds in the end.
    assert sync_text("\r\n" * 20_000) == "\n" * 16_384
    assert sync_text("=" + "x" * 40_000) == "=" + "x" * 40_000  # a formula is not a text cell


@pytest.mark.parametrize(
    ("value", "field"),
    [
        ("plain", "plain"),
        ("Jane Smith", '"Jane Smith"'),
        ("a,b", '"a,b"'),
        ('say "hi"', '"say ""hi"""'),
        ("tab\there", '"tab\there"'),
        ("line\nbreak", '"line\nbreak"'),
        ("back\\slash", '"back\\slash"'),
        ('C:\\temp\\"quoted"', '"C:\\temp\\"quoted"""'),
        ('\\\\"x', '"\\\\"x"'),
        (True, "1"),
        (False, ""),
        (0, "0"),
        (0.0, "0"),
        (None, ""),
        ("", ""),
        (12.5, "12.5"),
        (2**64, "1.844674407371E+19"),
        ("a\r\nb", '"a\r\nb"'),
    ],
)
def test_fputcsv_field(value: Any, field: str) -> None:
    assert fputcsv_field(value) == field


def test_sync_with_no_rows_is_one_empty_cell() -> None:
    assert sync_csv([], []) == b'\xef\xbb\xbf""\n'


def test_async_line_cache_does_not_change_output() -> None:
    cache: dict[str, str] = {}
    row = ["a b", 'x"y', 0, True, None, "a b"]
    assert async_line(row, cache) == async_line(row) == '"a b","x""y",0,1,,"a b"\n'


@pytest.mark.parametrize(
    ("key", "header"),
    [
        ("Amount (USD) (8c1e6d0a)", "Amount"),
        ("Email (work) (d2a7)", "Email"),
        ("Dietary needs (deleted) (abc)", "Dietary needs"),
        ("Price(EUR) (abc)", "Price(EUR)"),
        ("Multi\nline (x) (abc)", "Multi\nline"),
        ("id", "id"),
    ],
)
def test_header_text_is_a_greedy_removal(key: str, header: str) -> None:
    assert header_text(key) == header


def test_cell_rendering_per_type() -> None:
    def link(name: str) -> str:
        return f"https://x/{name}"

    assert render_value("multi_select", ["Music", "Rock, Pop", 'Say "hi"'], link) == (
        'Music,"Rock, Pop","Say ""hi"""'
    )
    matrix = {"Row 1": "Col A", "Row 2": None, "Row 3": "Col B"}
    assert render_value("matrix", matrix, link) == "Row 1: Col A | Row 3: Col B"
    assert render_value("date", ["2026-08-01", "2026-08-03"], link) == "2026-08-01,2026-08-03"
    assert render_value("files", ["a.pdf", "", "b.png"], link) == "https://x/a.pdf, https://x/b.png"
    assert render_value("signature", "sign.png", link) == "https://x/sign.png"
    assert render_value("text", None, link) == ""
    assert render_value("text", [["nested"], True, None, 2.0], link) == "Array,1,,2"
    assert render_value("checkbox", False, link) is False
    assert render_value("number", 0, link) == 0


def test_php_float_precision() -> None:
    assert [php_float(v) for v in (1.0, -0.0, 1e-5, 123456789012345.0, 1.5e30)] == [
        "1",
        "-0",
        "1.0E-5",
        "1.2345678901234E+14",
        "1.5E+30",
    ]


def test_json_integers_beyond_64_bits_are_stored_as_php_floats(
    bare_api: Api, bare: Sandbox
) -> None:
    """PHP's json_decode makes them floats: both writers print them with precision 14, and the
    submissions list gives the float back."""
    amount = make_field("number", "Amount")
    form = bare.add_form("Big numbers", [amount], 0)
    bare.add_submission(form["id"], {amount["id"]: 2**64})
    columns = {amount["id"]: True}
    sync = bare_api.export(form["id"], columns).content.decode()
    assert sync == BOM + '"id","Amount"\n"jR","1.844674407371E+19"\n'
    bare.config.sync_threshold = 0
    status = bare_api.finished_job(form["id"], columns)
    background = bare_api.session.get(status["file_url"]).content.decode()
    assert background == BOM + "id,Amount\njR,1.844674407371E+19\n"
    listed = bare_api.get(f"/open/forms/{form['id']}/submissions").json()["data"][0]
    assert listed["data"][amount["id"]] == float(2**64)

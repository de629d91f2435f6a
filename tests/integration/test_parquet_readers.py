"""What other readers of an export's Parquet file see of a select field's option order: pandas
gets it from the categories, polars and DuckDB from the codebook in the key-value metadata."""

from __future__ import annotations

import json
from pathlib import Path

import duckdb
import pandas as pd
import polars as pl
import pyarrow.parquet as pq
import pytest

import formexport as fx
from formexport.sandbox import Sandbox

TICKETS = ["Standard", "VIP", "Student"]  # the form's order, not the alphabet's
CODEBOOK_SQL = """
SELECT unnest(from_json(decode(value), '[{"column": "VARCHAR", "options": ["VARCHAR"]}]'),
              recursive := true)
FROM parquet_kv_metadata(?) WHERE decode(key) = 'formexport.codebook'
"""


@pytest.fixture
def events(sandbox: Sandbox, tmp_path: Path) -> Path:
    return fx.export_to_parquet(
        2, tmp_path / "events.parquet", token=sandbox.token, base_url=sandbox.base_url,
        progress=None,
    )  # fmt: skip


def test_the_codebook_is_in_the_key_value_metadata(sandbox: Sandbox, events: Path) -> None:
    stored = json.loads(pq.read_schema(events).metadata[b"formexport.codebook"])
    book = fx.describe_form(2, token=sandbox.token, base_url=sandbox.base_url)
    assert stored == book.to_dict(orient="records")
    assert json.loads(pl.read_parquet_metadata(events)["formexport.codebook"]) == stored


def test_pandas_sees_unordered_categories_in_the_forms_order(events: Path) -> None:
    ticket = pd.read_parquet(events)["Ticket type"]
    assert ticket.cat.categories.tolist() == TICKETS
    assert ticket.cat.ordered is False  # as load_export gives it: no < between options
    assert ticket.sort_values().dropna().unique().tolist() == TICKETS


def test_polars_sees_a_categorical_the_codebook_orders(events: Path) -> None:
    for frame in (pl.read_parquet(events), pl.scan_parquet(events).collect()):
        assert frame.schema["Ticket type"] == pl.Categorical
        assert frame["Ticket type"].sort().drop_nulls().unique(maintain_order=True).to_list() == (
            sorted(TICKETS)
        )  # polars sorts a Categorical by its text
    book = json.loads(pl.read_parquet_metadata(events)["formexport.codebook"])
    options = next(row["options"] for row in book if row["column"] == "Ticket type")
    ordered = pl.read_parquet(events).with_columns(pl.col("Ticket type").cast(pl.Enum(options)))
    assert ordered["Ticket type"].sort().drop_nulls().unique(maintain_order=True).to_list() == (
        TICKETS
    )


def test_duckdb_sees_text_and_the_codebook_orders_it(events: Path) -> None:
    connection = duckdb.connect()
    kinds = {row[0]: row[1] for row in connection.execute(f"DESCRIBE FROM '{events}'").fetchall()}
    assert kinds["Ticket type"] == "VARCHAR"
    book = {row[0]: row[1] for row in connection.execute(CODEBOOK_SQL, [str(events)]).fetchall()}
    assert book["Ticket type"] == TICKETS
    connection.execute(
        "CREATE TYPE ticket AS ENUM (SELECT unnest(options) FROM (" + CODEBOOK_SQL + ") "
        "WHERE \"column\" = 'Ticket type')",
        [str(events)],
    )
    order = connection.execute(
        f"""SELECT DISTINCT "Ticket type"::ticket AS t FROM '{events}' WHERE t IS NOT NULL
        ORDER BY t"""
    ).fetchall()
    assert [row[0] for row in order] == TICKETS


def test_an_export_without_submissions_keeps_its_options_in_the_codebook(
    sandbox: Sandbox, tmp_path: Path
) -> None:
    path = fx.export_to_parquet(
        2, tmp_path / "none.parquet", token=sandbox.token, base_url=sandbox.base_url,
        progress=None, status="partial", since=pd.Timestamp("2030-01-01", tz="UTC"),
    )  # fmt: skip
    assert pq.read_metadata(path).num_rows == 0
    book = json.loads(pq.read_schema(path).metadata[b"formexport.codebook"])
    assert next(row for row in book if row["column"] == "Ticket type")["options"] == TICKETS

"""A dataset built by scheduled runs while its form is edited: one column per field throughout.

Between the runs the form's owner renames a field, adds one, removes three (text, rating,
multi-select), adds and reorders a select's options, removes one, and changes a field's type
(text → number). Every Parquet file of the form keeps one schema, DuckDB, polars and
pyarrow.dataset read one column per field without merging schemas, and ``read_dataset`` gives
what a fresh ``load_export`` of the form gives for the same submissions.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import duckdb
import pandas as pd
import polars as pl
import pyarrow as pa
import pyarrow.dataset as ds
import pyarrow.parquet as pq
import pytest

import formexport as fx
from formexport.dataset.manifest import load_manifest, save_manifest
from formexport.dataset.planning import filesystem
from formexport.sandbox import Sandbox, make_field

CODEBOOK = "_formexport_codebook.json"
START = datetime(2026, 9, 1, 9, tzinfo=timezone.utc)
# The files' columns: each field's name when the dataset first met it, for the dataset's life.
DATASET_COLUMNS = [
    "id", "submission_id", "Full name", "Ticket", "Age", "Score", "Arrival", "Comments",
    "Satisfaction", "Topics", "created_at",
]  # fmt: skip
# read_dataset's columns: the current names, current fields in the form's order, then the
# deleted ones (as a load_export of every field, deleted ones too, orders them).
CURRENT_COLUMNS = [
    "id", "submission_id", "Name", "Ticket", "Age", "Score", "Arrival", "Comments",
    "Satisfaction", "Topics", "created_at",
]  # fmt: skip
DELETED_TYPED = ["Satisfaction", "Topics"]  # load_export reads deleted fields as text


@dataclass
class Edited:
    """The scenario's dataset: where it is, the form, and each run's start."""

    sandbox: Sandbox
    dest: Path
    form_id: int
    runs: list[str]

    def run(self, **kwargs: Any) -> fx.FormRecord:
        manifest = fx.export_forms(
            [self.form_id], self.dest, token=self.sandbox.token,
            base_url=self.sandbox.base_url, progress=None, **kwargs,
        )  # fmt: skip
        record = manifest.record(self.form_id)
        assert record is not None
        assert record.status == "ok", record.error
        stored = json.loads((self.dest / CODEBOOK).read_text())["forms"][str(self.form_id)]
        self.runs.append(stored["updated_run"])
        return record

    def files(self) -> list[Path]:
        """The form's files, oldest first, as the manifest lists them."""
        manifest = json.loads((self.dest / "_formexport_manifest.json").read_text())
        listed = [self.dest / p for p in manifest["forms"][str(self.form_id)]["partitions"]]
        assert sorted(listed) == sorted((self.dest / f"form_id={self.form_id}").glob("*/*"))
        return listed

    def glob(self) -> str:
        return f"{self.dest}/form_id={self.form_id}/*/*.parquet"

    def book(self) -> pd.DataFrame:
        return fx.read_codebook(self.dest, self.form_id).set_index("column")

    def fresh_export(self) -> pd.DataFrame:
        """Every field of the form, deleted ones too, exported now."""
        client = fx.Client(token=self.sandbox.token, base_url=self.sandbox.base_url)
        with client:
            columns = list(client.get_form(self.form_id).default_columns(deleted=True))
        return fx.load_export(
            self.form_id, columns=columns, token=self.sandbox.token,
            base_url=self.sandbox.base_url, progress=None,
        )  # fmt: skip


class Answers:
    """Submissions of the scenario's form, one minute apart, by field name."""

    def __init__(self, sandbox: Sandbox, form_id: int) -> None:
        self.sandbox, self.form_id, self.count = sandbox, form_id, 0

    def add(self, **by_name: Any) -> int:
        ids = {f["name"]: f["id"] for f in self.sandbox.form_fields(self.form_id)}
        self.count += 1
        data = {ids[name]: value for name, value in by_name.items()}
        moment = START + timedelta(minutes=self.count)
        return self.sandbox.add_submission(self.form_id, data, created_at=moment)


def _edit(sandbox: Sandbox, form_id: int, change: Any) -> None:
    fields = {f["name"]: f for f in sandbox.form_fields(form_id)}
    sandbox.update_fields(form_id, change(fields))


def _options(*names: str) -> dict[str, Any]:
    return {"options": [{"id": name, "name": name} for name in names]}


@pytest.fixture
def edited(sandbox: Sandbox, tmp_path: Path) -> Edited:
    fields = [
        make_field("text", "Full name"),
        make_field("select", "Ticket", options=["Standard", "VIP"]),
        make_field("text", "Score"),
        make_field("date", "Arrival"),
        make_field("text", "Comments"),
        make_field("rating", "Satisfaction"),
        make_field("multi_select", "Topics", options=["Music", "Rock, Pop"]),
    ]
    form_id = sandbox.add_form("Registrations", fields)["id"]
    answers = Answers(sandbox, form_id)
    scenario = Edited(sandbox, tmp_path / "archive", form_id, [])
    answers.add(**{"Full name": "Ann", "Ticket": "VIP", "Score": "high", "Comments": "Great",
                   "Satisfaction": 4, "Topics": ["Music", "Rock, Pop"],
                   "Arrival": "2026-09-02T00:00:00+02:00"})  # fmt: skip
    answers.add(**{"Full name": "Bob", "Ticket": "Standard", "Score": "low", "Satisfaction": 2})
    scenario.run()
    # Rename, an added field, a select's new option (and its options reordered).
    _edit(sandbox, form_id, lambda f: [
        {**f["Full name"], "name": "Name"},
        {**f["Ticket"], "select": _options("VIP", "Standard", "Student")},
        make_field("number", "Age"), f["Score"], f["Arrival"], f["Comments"],
        f["Satisfaction"], f["Topics"],
    ])  # fmt: skip
    answers.add(Name="Cid", Ticket="Student", Age=31, Score="mid")
    scenario.run(incremental=True)
    # Three fields removed, and an option.
    _edit(sandbox, form_id, lambda f: [
        f["Name"], {**f["Ticket"], "select": _options("VIP", "Student")}, f["Age"], f["Score"],
        f["Arrival"],
    ])  # fmt: skip
    answers.add(Name="Dee", Ticket="VIP", Age=40.5)
    scenario.run(incremental=True)
    # A type change: the text field Score becomes a number field.
    _edit(sandbox, form_id, lambda f: [
        f["Name"], f["Ticket"], f["Age"], {**f["Score"], "type": "number"}, f["Arrival"],
    ])  # fmt: skip
    answers.add(Name="Eve", Score=42, Age=22, Arrival="2026-09-05T00:00:00-05:00")
    scenario.run(incremental=True)
    return scenario


def test_every_file_of_the_form_has_one_column_per_field(edited: Edited) -> None:
    files = edited.files()
    assert len(files) == 4
    schemas = {str([(f.name, str(f.type)) for f in pq.read_schema(path)]) for path in files}
    assert len(schemas) == 1
    assert pq.read_schema(files[0]).names == DATASET_COLUMNS
    assert pq.read_schema(files[0]).field("Score").type == pa.string()
    assert pq.read_schema(files[0]).field("Satisfaction").type == pa.int64()
    for path in files:  # the codebook each file carries names the file's own columns
        stored = json.loads(pq.read_schema(path).metadata[b"formexport.codebook"])
        assert [row["column"] for row in stored] == DATASET_COLUMNS


def test_the_codebook_tells_each_fields_story(edited: Edited) -> None:
    book = edited.book()
    first, second, _, fourth = edited.runs
    assert book.index.tolist() == CURRENT_COLUMNS
    assert book.loc["Name", "dataset_column"] == "Full name"
    assert book.loc["Name", "earlier_names"] == [{"name": "Full name", "run": second}]
    assert book.loc["Age", "first_run"] == second
    assert book.loc["Name", "first_run"] == first
    assert book.loc["Ticket", "options"] == ["VIP", "Student", "Standard"]
    assert book.loc["Ticket", "earlier_options"] == ["Standard"]
    assert book["deleted"].to_dict() == {c: c in ("Comments", "Satisfaction", "Topics")
                                         for c in CURRENT_COLUMNS}  # fmt: skip
    assert (book.loc["Satisfaction", "type"], book.loc["Topics", "type"]) == ("integer", "list")
    score = book.loc["Score"]
    assert (score["field_type"], score["type"]) == ("number", "text")
    assert score["earlier_types"] == [{"field_type": "text", "run": fourth}]
    stored = json.loads((edited.dest / CODEBOOK).read_text())["forms"][str(edited.form_id)]
    assert [c["column"] for c in stored["columns"]] == CURRENT_COLUMNS


def test_duckdb_reads_one_column_per_field_without_union_by_name(edited: Edited) -> None:
    query = f"FROM read_parquet('{edited.glob()}', hive_partitioning = true)"
    columns = [row[0] for row in duckdb.sql(f"DESCRIBE {query}").fetchall()]
    assert columns == [*DATASET_COLUMNS, "export_date", "form_id"]  # hive keys from the path
    rows = duckdb.sql(
        f'SELECT "Full name", Age, Score, Satisfaction {query} ORDER BY submission_id'
    ).fetchall()
    assert rows == [
        ("Ann", None, "high", 4), ("Bob", None, "low", 2), ("Cid", 31.0, "mid", None),
        ("Dee", 40.5, None, None), ("Eve", 22.0, "42", None),
    ]  # fmt: skip


def test_polars_reads_one_column_per_field(edited: Edited) -> None:
    frame = pl.scan_parquet(edited.glob(), hive_partitioning=True).collect().sort("submission_id")
    assert frame.columns == [*DATASET_COLUMNS, "form_id", "export_date"]
    assert frame["Full name"].to_list() == ["Ann", "Bob", "Cid", "Dee", "Eve"]
    assert frame["Age"].to_list() == [None, None, 31.0, 40.5, 22.0]
    assert frame["Topics"].to_list()[0] == ["Music", "Rock, Pop"]


def test_pyarrow_dataset_reads_one_column_per_field(edited: Edited) -> None:
    folder = edited.dest / f"form_id={edited.form_id}"
    table = ds.dataset(folder, format="parquet", partitioning="hive").to_table()
    table = table.sort_by("submission_id")
    assert table.column_names == [*DATASET_COLUMNS, "export_date"]
    assert table.column("Age").to_pylist() == [None, None, 31.0, 40.5, 22.0]
    assert table.column("Score").to_pylist() == ["high", "low", "mid", None, "42"]


def test_read_dataset_equals_a_fresh_load_export(edited: Edited) -> None:
    archived = fx.read_dataset(edited.dest, edited.form_id)
    with pytest.warns(fx.TypeFallbackWarning, match="Score"):
        fresh = edited.fresh_export()  # the number field Score holds text answers
    assert list(archived.columns) == CURRENT_COLUMNS
    assert archived["submission_id"].is_monotonic_decreasing  # newest first, as exported
    _assert_same_rows(archived, fresh)


def _assert_same_rows(archived: pd.DataFrame, fresh: pd.DataFrame) -> None:
    """The frames on the submissions both hold; the deleted fields typed in the archive."""
    shared = sorted(set(archived["submission_id"]) & set(fresh["submission_id"]))
    assert shared
    archived, fresh = (_rows(frame, shared) for frame in (archived, fresh))
    pd.testing.assert_frame_equal(archived.drop(columns=DELETED_TYPED),
                                  fresh.drop(columns=DELETED_TYPED))  # fmt: skip
    satisfaction = pd.to_numeric(fresh["Satisfaction"]).astype("Int64")
    pd.testing.assert_series_equal(archived["Satisfaction"], satisfaction)
    assert archived["Topics"].tolist() == [None, None, None, None, ["Music", "Rock, Pop"]][
        -len(shared):
    ]  # fmt: skip
    assert fresh["Topics"].tolist()[-1] == 'Music,"Rock, Pop"'  # the CSV's own text


def _rows(frame: pd.DataFrame, ids: list[int]) -> pd.DataFrame:
    chosen = frame[frame["submission_id"].isin(ids)]
    return chosen.sort_values("submission_id", ascending=False).reset_index(drop=True)


def test_read_dataset_gives_categories_lists_and_dates(edited: Edited) -> None:
    archived = fx.read_dataset(edited.dest, edited.form_id).set_index("Name")
    assert archived["Ticket"].cat.categories.tolist() == ["VIP", "Student", "Standard"]
    assert archived.loc["Bob", "Ticket"] == "Standard"
    assert archived.loc["Ann", "Arrival"] == pd.Timestamp("2026-09-02")
    assert archived.loc["Eve", "Arrival"] == pd.Timestamp("2026-09-05")
    assert archived.loc["Ann", "Topics"] == ["Music", "Rock, Pop"]
    assert archived.attrs["columns"]["Name"]["dataset_column"] == "Full name"


def test_a_full_refresh_after_the_edits_keeps_the_columns(edited: Edited) -> None:
    with pytest.warns(fx.TypeFallbackWarning, match="Score"):
        record = edited.run(full_refresh=True)
    assert record.rows == 5
    files = edited.files()
    assert len(files) == 1
    assert pq.read_schema(files[0]).names == DATASET_COLUMNS
    archived = fx.read_dataset(edited.dest, edited.form_id)
    with pytest.warns(fx.TypeFallbackWarning, match="Score"):
        fresh = edited.fresh_export()
    _assert_same_rows(archived, fresh)
    # The deleted fields' answers came back from the server, typed by their definition.
    by_name = archived.set_index("Name")
    assert by_name.loc["Ann", "Topics"] == ["Music", "Rock, Pop"]
    assert by_name.loc["Bob", "Satisfaction"] == 2


def test_files_without_the_schema_are_read_whole_and_written_again(edited: Edited) -> None:
    fs, root = filesystem(edited.dest, None)
    first = edited.files()[0]
    table = pq.read_table(first)
    pq.write_table(table.drop_columns(["Age", "Topics"]), first)  # a run stopped midway
    manifest = load_manifest(fs, root, "")
    manifest.forms[str(edited.form_id)].schema_hash = "stale"
    save_manifest(fs, root, manifest)
    archived = fx.read_dataset(edited.dest, edited.form_id).set_index("Name")
    assert pd.isna(archived.loc["Ann", "Topics"])  # what the stopped run had lost, missing
    assert archived.loc["Cid", "Age"] == 31
    edited.sandbox.add_submission(edited.form_id, {})  # the next run that exports the form
    edited.run(incremental=True)
    assert {str(pq.read_schema(path).names) for path in edited.files()} == {str(DATASET_COLUMNS)}


def test_a_dataset_written_before_codebooks_is_made_whole(sandbox: Sandbox, tmp_path: Path) -> None:
    """Each run's export as it came (the field's name of the day), and no codebook."""
    form = sandbox.add_form("Old", [make_field("text", "Full name"), make_field("rating", "Mood")])
    form_id, (name, mood) = form["id"], [f["id"] for f in form["properties"]]
    dest = tmp_path / "old"
    kw = {"token": sandbox.token, "base_url": sandbox.base_url, "progress": None}
    sandbox.add_submission(form_id, {name: "Ann", mood: 4}, created_at=START)
    fx.export_forms([form_id], dest, **kw)
    _edit(sandbox, form_id, lambda f: [{**f["Full name"], "name": "Name"}, f["Mood"]])
    late = sandbox.add_submission(form_id, {name: "Bob", mood: 5}, created_at=START)
    (dest / CODEBOOK).unlink()
    fs, root = filesystem(dest, None)
    manifest = load_manifest(fs, root, "")
    record = manifest.forms[str(form_id)]
    record.partitions.append(_old_style_part(sandbox, dest, form_id, [late]))
    record.high_water_mark, record.schema_hash = late, "sha-of-the-old-layout"
    record.recent_ids = [*record.recent_ids, late]
    save_manifest(fs, root, manifest)
    assert pq.read_schema(dest / record.partitions[-1]).names[2] == "Name"  # the split column
    sandbox.add_submission(form_id, {name: "Cid", mood: 3})
    fx.export_forms([form_id], dest, incremental=True, **kw)
    files = sorted((dest / f"form_id={form_id}").glob("*/*.parquet"))
    assert {str(pq.read_schema(path).names) for path in files} == {
        str(["id", "submission_id", "Full name", "Mood", "created_at"])
    }
    archived = fx.read_dataset(dest, form_id)
    assert sorted(archived["Name"]) == ["Ann", "Bob", "Cid"]
    book = fx.read_codebook(dest, form_id).set_index("column")
    assert book.loc["Name", "earlier_names"][0]["name"] == "Full name"


def _old_style_part(sandbox: Sandbox, dest: Path, form_id: int, ids: list[int]) -> str:
    relative = f"form_id={form_id}/export_date=2026-11-29/part-{ids[0]}-{ids[-1]}.parquet"
    (dest / relative).parent.mkdir(parents=True)
    with fx.Client(token=sandbox.token, base_url=sandbox.base_url) as client:
        job = client.start_export(form_id, submission_ids=ids)
        with job:
            job.wait(progress=None)
            job.to_parquet(dest / relative)
    return relative


def test_read_dataset_stacks_forms_and_reads_one_alone(sandbox: Sandbox, tmp_path: Path) -> None:
    kw = {"token": sandbox.token, "base_url": sandbox.base_url, "progress": None}
    fx.export_forms("Demo workspace", tmp_path, **kw)
    every = fx.read_dataset(tmp_path)
    assert every.groupby("form_id").size().to_dict() == {1: 250, 2: 2500}
    assert list(every.columns[:3]) == ["form_id", "id", "submission_id"]
    assert every.attrs["form_ids"] == [1, 2, 3]
    one = fx.read_dataset(tmp_path, [2])
    assert one["form_id"].unique().tolist() == [2]
    alone = fx.read_dataset(tmp_path, "event-registration-da71we")
    assert "form_id" not in alone
    assert "Dietary needs" in alone  # a deleted field's answers are kept, in their column
    assert fx.read_dataset(tmp_path, 3).dtypes.astype(str).tolist() == [
        "string", "Int64", "string", "Float64", "datetime64[us, UTC]",
    ]  # fmt: skip  # no submissions: every column, typed
    links = ["Documents", "Signature"]  # signed anew by each export
    fresh = fx.load_export(2, **kw).drop(columns=links)
    pd.testing.assert_frame_equal(alone[fresh.columns], fresh)
    book = fx.read_codebook(tmp_path)
    assert book.groupby("form_id").size().to_dict() == {1: 13, 2: 16, 3: 5}


def test_read_dataset_says_what_is_missing(sandbox: Sandbox, tmp_path: Path) -> None:
    with pytest.raises(fx.DatasetError, match="no formexport dataset"):
        fx.read_dataset(tmp_path)
    fx.export_forms([1], tmp_path, token=sandbox.token, base_url=sandbox.base_url, progress=None)
    with pytest.raises(fx.InvalidArgumentError, match="holds no form 7; it holds forms 1"):
        fx.read_dataset(tmp_path, 7)
    with pytest.raises(fx.InvalidArgumentError, match="'nope'"):
        fx.read_codebook(tmp_path, ["nope"])
    for lost in tmp_path.glob("form_id=1/*/*.parquet"):
        lost.unlink()
    with pytest.raises(fx.DatasetError, match="listed in the manifest but missing"):
        fx.read_dataset(tmp_path, 1)


def test_a_number_field_made_text_turns_its_earlier_files_to_text(
    sandbox: Sandbox, tmp_path: Path
) -> None:
    form_id = sandbox.add_form("Shipping", [make_field("number", "Zip code")])["id"]
    zip_code = sandbox.form_fields(form_id)[0]["id"]
    sandbox.add_submission(form_id, {zip_code: 75011}, created_at=START)
    scenario = Edited(sandbox, tmp_path / "archive", form_id, [])
    scenario.run()
    _edit(sandbox, form_id, lambda f: [{**f["Zip code"], "type": "text"}])
    sandbox.add_submission(form_id, {zip_code: "02134"})
    scenario.run(incremental=True)
    query = f"SELECT \"Zip code\" FROM read_parquet('{scenario.glob()}') ORDER BY submission_id"
    assert duckdb.sql(query).fetchall() == [("75011",), ("02134",)]
    assert [pq.read_schema(p).field("Zip code").type for p in scenario.files()] == [pa.string()] * 2
    archived = fx.read_dataset(scenario.dest, form_id)
    assert archived["Zip code"].tolist() == ["02134", "75011"]
    assert fx.read_codebook(scenario.dest, form_id)["earlier_types"].tolist()[2] == [
        {"field_type": "number", "run": scenario.runs[1]}
    ]


def test_a_job_picked_up_by_id_reads_the_columns_it_was_started_with(sandbox: Sandbox) -> None:
    """A dataset run that was stopped picks up its server job, deleted fields' columns and all."""
    sandbox.config.status_access = "open"
    with fx.Client(token=sandbox.token, base_url=sandbox.base_url) as client:
        columns = client.get_form(2).default_columns(deleted=True)
        started = client.start_export(2, columns)
        assert started.is_server_job
        job = fx.ExportJob.attach(2, str(started.job_id), client=client, columns=columns)
        with job:
            job.wait(progress=None)
            frame = job.to_dataframe()  # no ColumnPlanWarning: the plan matches the header
    assert frame["Dietary needs"].notna().any()
    assert frame.attrs["columns"]["Dietary needs"]["deleted"] is True


def test_a_run_whose_rows_leave_a_field_empty_writes_no_earlier_file(
    sandbox: Sandbox, tmp_path: Path
) -> None:
    """A date-time column keeps its answers' UTC offset when new rows bring no value for it."""
    form = sandbox.add_form("Visits", [make_field("date", "Visit", with_time=True)])
    visit = form["properties"][0]["id"]
    sandbox.add_submission(form["id"], {visit: "2026-09-01T10:00:00+02:00"}, created_at=START)
    scenario = Edited(sandbox, tmp_path / "archive", form["id"], [])
    scenario.run()
    (first,) = scenario.files()
    written = first.stat().st_mtime_ns
    sandbox.add_submission(form["id"], {})
    scenario.run(incremental=True)
    assert first.stat().st_mtime_ns == written
    zones = {pq.read_schema(path).field("Visit").type.tz for path in scenario.files()}
    assert zones == {"+02:00"}

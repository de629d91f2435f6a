"""Personal data kept out: fields never requested (exclude=), answers turned into pseudonyms."""

from __future__ import annotations

import re
import stat
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pyarrow.parquet as pq
import pytest

import formexport as fx
from formexport import config
from formexport.local.pseudonym_key import KEY_FILE
from formexport.reading.pseudonyms import pseudonym
from formexport.sandbox import Sandbox
from tests.integration.helpers import exports

KEY = "a team's shared key, long enough"
PSEUDONYM = re.compile(r"^[0-9a-f]{16}$")


def field_id(sandbox: Sandbox, form: int, name: str) -> str:
    with fx.Client(token=sandbox.token, base_url=sandbox.base_url) as client:
        return next(f.id for f in client.get_form(form).fields if f.name == name)


def load(sandbox: Sandbox, form: int = 1, **options: object) -> pd.DataFrame:
    return fx.load_export(
        form, token=sandbox.token, base_url=sandbox.base_url, progress=None, **options
    )


# --- exclude= -----------------------------------------------------------------------------


@pytest.mark.parametrize(("form", "access"), [(1, "blocked"), (2, "open"), (2, "blocked")])
def test_excluded_fields_are_never_requested(sandbox: Sandbox, form: int, access: str) -> None:
    sandbox.config.status_access = access  # answered at once, a server job, batches
    left_out = ["Email (work)", "Email (home)"] if form == 2 else ["Email", "Phone"]
    sandbox.clear_requests()
    frame = load(sandbox, form, exclude=[left_out[0], field_id(sandbox, form, left_out[1])])
    assert not set(left_out) & set(frame.columns)
    assert "created_at" in frame.columns
    asked = [request.json()["columns"] for request in exports(sandbox)]
    assert asked
    for columns in asked:
        assert not {field_id(sandbox, form, name) for name in left_out} & set(columns)
    assert frame.attrs["excluded"] == left_out


def test_an_exclude_that_names_no_field_is_refused_before_any_export(sandbox: Sandbox) -> None:
    sandbox.clear_requests()
    with pytest.raises(fx.InvalidArgumentError, match="Did you mean 'Email' instead of 'Emial'"):
        load(sandbox, exclude=["Emial"])
    assert exports(sandbox) == []
    with pytest.raises(fx.InvalidArgumentError, match="no column"):
        load(sandbox, columns=["Email"], exclude=["Email"])


def test_the_command_line_excludes_fields(sandbox: Sandbox, tmp_path: Path) -> None:
    out = tmp_path / "feedback.parquet"
    env = {"OPNFORM_API_TOKEN": sandbox.token, "OPNFORM_API_BASE_URL": sandbox.base_url}
    run = _cli(env, "export", "1", "-o", str(out), "--exclude", "Email", "Phone")
    assert run.returncode == 0, run.stderr
    assert not {"Email", "Phone"} & set(pq.read_schema(out).names)


# --- pseudonymize= ------------------------------------------------------------------------


def test_pseudonyms_replace_the_answers_and_join_across_runs(
    sandbox: Sandbox, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(config.PSEUDONYM_KEY_ENV, KEY)
    plain = load(sandbox)
    first = load(sandbox, pseudonymize=["Email", "Phone"])
    again = load(sandbox, pseudonymize=["Email", "Phone"])
    assert first["Email"].tolist() == again["Email"].tolist()  # stable: exports join on them
    by_id = plain.set_index("submission_id")
    for row in first.itertuples():
        raw = by_id.loc[row.submission_id, "Email"]
        assert row.Email == (None if pd.isna(raw) else pseudonym(raw, KEY.encode()))
    shown = first["Email"].dropna()
    assert len(shown) > 200
    assert shown.map(lambda v: bool(PSEUDONYM.match(v))).all()
    assert not set(plain["Email"].dropna()) & set(shown)
    assert first["Name"].tolist() == plain["Name"].tolist()  # other fields untouched
    hidden = first.attrs["pseudonymized"]
    assert hidden["columns"] == ["Email", "Phone"]
    assert first.attrs["columns"]["Email"]["pseudonymized"] is True
    monkeypatch.setenv(config.PSEUDONYM_KEY_ENV, KEY + " but another")
    other = load(sandbox, pseudonymize=["Email"])
    assert other.attrs["pseudonymized"]["key_id"] != hidden["key_id"]
    assert not set(other["Email"].dropna()) & set(shown)  # another key, other pseudonyms


@pytest.mark.parametrize("access", ["open", "blocked"])
def test_no_answer_reaches_the_parquet_file(
    sandbox: Sandbox, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, access: str
) -> None:
    sandbox.config.status_access = access  # a server job's file, or answered batches
    monkeypatch.setenv(config.PSEUDONYM_KEY_ENV, KEY)
    plain = load(sandbox, 2)
    path = fx.export_to_parquet(
        2,
        tmp_path / "events.parquet",
        token=sandbox.token,
        base_url=sandbox.base_url,
        progress=None,
        pseudonymize=["Email (work)", "Email (home)"],  # the demo's people give one address twice
    )
    written = path.read_bytes()
    answers = set(plain["Email (work)"].dropna()) | set(plain["Email (home)"].dropna())
    assert len(answers) > 100
    assert not any(answer.encode() in written for answer in answers)
    frame = pd.read_parquet(path)
    assert frame["Email (work)"].dropna().map(lambda v: bool(PSEUDONYM.match(v))).all()


def test_a_key_is_created_once_and_kept_private(sandbox: Sandbox) -> None:
    first = load(sandbox, pseudonymize=["Email"])
    key_file = Path(config_dir()) / KEY_FILE
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
    again = load(sandbox, pseudonymize=["Email"])
    assert first["Email"].tolist() == again["Email"].tolist()
    assert first.attrs["pseudonymized"]["key_id"] == again.attrs["pseudonymized"]["key_id"]
    assert key_file.read_text() not in repr(first.attrs)


def config_dir() -> str:
    import os

    return os.environ[config.CONFIG_DIR_ENV]


def test_a_short_key_or_keeping_the_csv_is_refused(
    sandbox: Sandbox, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv(config.PSEUDONYM_KEY_ENV, "short")
    with pytest.raises(fx.ConfigurationError, match="shorter than 16"):
        load(sandbox, pseudonymize=["Email"])
    with pytest.raises(fx.InvalidArgumentError, match="cache"):
        load(sandbox, pseudonymize=["Email"], cache=True)
    with pytest.raises(fx.InvalidArgumentError, match="pseudonymize"):
        fx.start_export(1, to=tmp_path / "raw.csv", pseudonymize=["Email"])
    with pytest.raises(fx.InvalidArgumentError, match="Did you mean 'Email'"):
        load(sandbox, pseudonymize=["Emial"])
    env = {"OPNFORM_API_TOKEN": sandbox.token, "OPNFORM_API_BASE_URL": sandbox.base_url}
    run = _cli(env, "export", "1", "-o", str(tmp_path / "f.csv"), "--pseudonymize", "Email")
    assert run.returncode == 2
    assert "needs a typed file" in run.stderr


def _cli(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    import os

    full = {**os.environ, **env, "FORMEXPORT_PROGRESS": "none"}
    return subprocess.run(
        [sys.executable, "-m", "formexport", *args],
        env=full,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


@pytest.mark.parametrize("suffix", [".xlsx", ".dta", ".sav"])
def test_no_answer_reaches_a_file_for_colleagues(
    sandbox: Sandbox, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, suffix: str
) -> None:
    import pyreadstat

    monkeypatch.setenv(config.PSEUDONYM_KEY_ENV, KEY)
    plain = load(sandbox, 1)
    path = fx.export_to_file(
        1,
        tmp_path / f"feedback{suffix}",
        token=sandbox.token,
        base_url=sandbox.base_url,
        progress=None,
        exclude=["Phone"],
        pseudonymize=["Email"],
    )
    if suffix == ".xlsx":
        back = pd.read_excel(path, sheet_name="Submissions", dtype=str)
    elif suffix == ".dta":
        back = pd.read_stata(path)
    else:
        back = pyreadstat.read_sav(path)[0]
    assert "Phone" not in back.columns
    cells = {str(value) for column in back.columns for value in back[column]}
    answers = set(plain["Email"].dropna()) | set(plain["Phone"].dropna())
    assert len(answers) > 100
    assert not cells & answers
    assert back["Email"].dropna().map(lambda v: bool(PSEUDONYM.match(v))).all()


# --- datasets -----------------------------------------------------------------------------


def test_a_dataset_keeps_personal_data_out_of_every_form(
    sandbox: Sandbox, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(config.PSEUDONYM_KEY_ENV, KEY)
    plain = {form: load(sandbox, form) for form in (1, 2)}
    sandbox.clear_requests()
    fx.export_forms(
        [1, 2],
        tmp_path / "dataset",
        token=sandbox.token,
        base_url=sandbox.base_url,
        progress=None,
        exclude=["Email (work)", "Phone"],  # one field of each form
        pseudonymize=["Email", "Email (home)"],
    )
    asked = [set(request.json()["columns"]) for request in exports(sandbox)]
    left_out = {field_id(sandbox, 1, "Phone"), field_id(sandbox, 2, "Email (work)")}
    assert asked
    assert all(not columns & left_out for columns in asked)
    written = b"".join(p.read_bytes() for p in (tmp_path / "dataset").rglob("*.parquet"))
    answers = set(plain[1]["Email"].dropna()) | set(plain[2]["Email (home)"].dropna())
    answers |= set(plain[2]["Email (work)"].dropna()) | set(plain[1]["Phone"].dropna())
    assert len(answers) > 300
    assert not any(answer.encode() in written for answer in answers)
    one = pd.read_parquet(tmp_path / "dataset" / "form_id=1")
    assert "Phone" not in one.columns
    assert one["Email"].dropna().map(lambda v: bool(PSEUDONYM.match(v))).all()


def test_a_dataset_refuses_a_name_no_form_has_before_exporting(
    sandbox: Sandbox, tmp_path: Path
) -> None:
    sandbox.clear_requests()
    with pytest.raises(fx.InvalidArgumentError, match="field of none of the forms"):
        fx.export_forms(
            [1, 2],
            tmp_path / "dataset",
            token=sandbox.token,
            base_url=sandbox.base_url,
            progress=None,
            pseudonymize=["Emial"],
        )
    assert exports(sandbox) == []

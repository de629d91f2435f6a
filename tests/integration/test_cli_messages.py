"""What the formexport command tells a user, in its own terms: each case run as a real process."""

from __future__ import annotations

import json
import os
import re
import shlex
import signal
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd
import pytest
import requests

from formexport import Client
from formexport.sandbox import Fault, Sandbox
from formexport.sandbox.backend.seed import DEMO_USER_ID
from formexport.sandbox.http import control

UUID = r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}"


def _env(sandbox: Sandbox | None, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("OPNFORM_", "FORMEXPORT_"))}
    env["FORMEXPORT_CACHE_DIR"] = os.environ["FORMEXPORT_CACHE_DIR"]
    env["FORMEXPORT_CONFIG_DIR"] = os.environ["FORMEXPORT_CONFIG_DIR"]
    if sandbox is not None:
        env.update(OPNFORM_API_TOKEN=sandbox.token, OPNFORM_API_BASE_URL=sandbox.base_url)
    return {**env, **extra}


def cli(
    sandbox: Sandbox | None, *args: str, cwd: Path | None = None, **env: str
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "formexport", *args],
        capture_output=True,
        text=True,
        env=_env(sandbox, **env),
        cwd=cwd,
        timeout=120,
        check=False,
    )


def _stuck_job(sandbox: Sandbox) -> None:
    sandbox.config.status_access = "open"
    sandbox.config.job_progression = "stuck"


def test_a_timeout_tells_the_command_that_picks_the_job_up(
    sandbox: Sandbox, tmp_path: Path
) -> None:
    _stuck_job(sandbox)
    run = cli(sandbox, "export", "2", "-o", "events.parquet", "--timeout", "1", cwd=tmp_path)
    assert run.returncode == 4, run.stderr
    job = re.search(rf"formexport export 2 --job ({UUID}) -o events.parquet\n", run.stderr)
    assert job, run.stderr
    assert f"formexport status 2 {job.group(1)}" in run.stderr
    assert "ExportJob.attach" not in run.stderr  # Python stays in Python
    # One second in the queue is normal: the server's queue worker is not blamed.
    assert "queue worker" not in run.stderr
    assert not (tmp_path / "events.parquet").exists()
    # The command it printed works, once the server gets to the job.
    sandbox.config.job_progression = "immediate"
    again = cli(sandbox, *shlex.split(job.group(0))[1:], "--no-progress", cwd=tmp_path)
    assert again.returncode == 0, again.stderr
    assert again.stdout == "Wrote events.parquet: 2500 rows \N{MULTIPLICATION SIGN} 15 columns\n"
    assert sum(r.path.endswith("/submissions/export") for r in sandbox.requests) == 1


def test_ctrl_c_tells_the_command_that_picks_the_job_up(sandbox: Sandbox, tmp_path: Path) -> None:
    _stuck_job(sandbox)
    command = [sys.executable, "-m", "formexport", "export", "2", "-o", "e.csv"]
    with subprocess.Popen(
        command, stderr=subprocess.PIPE, text=True, env=_env(sandbox), cwd=tmp_path
    ) as process:
        assert process.stderr is not None
        first = process.stderr.readline()  # the job is shown as soon as it is accepted
        job_id = re.search(UUID, first)
        assert job_id, first
        time.sleep(0.5)  # waiting for the job, as a user would be before pressing Ctrl-C
        process.send_signal(signal.SIGINT)
        rest = process.stderr.read()
        assert process.wait(timeout=20) == 130
    assert f"formexport export 2 --job {job_id.group(0)} -o e.csv\n" in rest
    assert f"formexport status 2 {job_id.group(0)}" in rest
    assert "keeps running on the server" in rest
    assert "ExportJob.attach" not in rest


def test_the_job_command_downloads_a_finished_job_as_csv(sandbox: Sandbox, tmp_path: Path) -> None:
    sandbox.config.status_access = "open"
    with Client(sandbox.token, sandbox.base_url) as client:
        job_id = str(client.start_export(2).job_id)
    run = cli(sandbox, "export", "2", "--job", job_id, "-o", "e.csv", cwd=tmp_path)
    assert run.returncode == 0, run.stderr
    frame = pd.read_csv(tmp_path / "e.csv", dtype=str, encoding="utf-8-sig")
    assert frame.shape == (2500, 13)  # the CSV as served: no submission_id column
    assert run.stdout == "Wrote e.csv: 2500 rows \N{MULTIPLICATION SIGN} 13 columns\n"


def test_the_job_command_refuses_options_it_cannot_honour(sandbox: Sandbox) -> None:
    run = cli(sandbox, "export", "2", "--job", "x", "-o", "e.csv", "--columns", "Email")
    assert run.returncode == 2
    assert "--columns cannot change it" in run.stderr
    assert sandbox.requests == []


def test_success_says_what_was_written(sandbox: Sandbox, tmp_path: Path) -> None:
    run = cli(sandbox, "export", "1", "-o", str(tmp_path / "f.csv"), "--no-progress")
    assert run.returncode == 0, run.stderr
    frame = pd.read_csv(tmp_path / "f.csv", dtype=str, encoding="utf-8-sig")
    rows, columns = frame.shape
    shape = f"{rows} rows \N{MULTIPLICATION SIGN} {columns} columns"
    assert run.stdout == f"Wrote {tmp_path / 'f.csv'}: {shape}\n"
    assert (rows, columns) == (250, 12)


def answer_with_a_word_for_a_rating(sandbox: Sandbox) -> None:
    """Serve form 1's export with ``lots`` where its first row's rating (a number) is."""
    client = Client(token=sandbox.token, base_url=sandbox.base_url)
    columns = client.get_form(1).default_columns()
    answer = client.api.session.post(
        f"{sandbox.base_url}/open/forms/1/submissions/export", json={"columns": columns}
    )
    first_rating = b'"0654317672","1",'
    assert answer.content.count(first_rating) == 1
    body = answer.content.replace(first_rating, b'"0654317672","lots",')
    headers = {"Content-Type": answer.headers["Content-Type"]}
    sandbox.faults.add(Fault("export", http_status=200, body=body, headers=headers))


def test_a_warning_is_one_plain_line(sandbox: Sandbox, tmp_path: Path) -> None:
    answer_with_a_word_for_a_rating(sandbox)
    args = ["export", "1", "-o", "feedback.parquet", "--values", "csv", "--no-progress"]
    run = cli(sandbox, *args, cwd=tmp_path)
    assert run.returncode == 0, run.stderr
    assert run.stderr == (
        "formexport: warning: Column 'Rating' (rating field "
        f"{field_id(sandbox, 1, 'Rating')}) holds 'lots', which is not a number; the "
        "whole column is kept as text.\n"
    )
    assert pd.read_parquet(tmp_path / "feedback.parquet")["Rating"].iloc[0] == "lots"


def field_id(sandbox: Sandbox, form: int, name: str) -> str:
    fields = Client(token=sandbox.token, base_url=sandbox.base_url).get_form(form).fields
    return next(field.id for field in fields if field.name == name)


def test_a_resume_answered_with_another_range_fails_the_command(
    sandbox: Sandbox, tmp_path: Path
) -> None:
    # Asked for the rest from byte 500, the file host answers from byte 600: never saved.
    sandbox.config.status_access = "open"
    sandbox.faults.add(Fault("download", cut_after=500))
    sandbox.faults.add(Fault("download", range_shift=100))
    run = cli(sandbox, "export", "2", "-o", "events.csv", "--no-progress", cwd=tmp_path)
    assert run.returncode == 1, run.stderr
    assert "formexport: error: The file host answered a resume with a mismatched" in run.stderr
    assert run.stdout == ""
    assert list(tmp_path.iterdir()) == []


def test_an_unknown_output_suffix_is_refused_before_anything_is_sent(
    sandbox: Sandbox, tmp_path: Path
) -> None:
    run = cli(sandbox, "export", "1", "-o", str(tmp_path / "x.txt"))
    assert run.returncode == 2
    assert ".parquet, .csv, .xlsx, .dta or .sav" in run.stderr
    assert "--format" in run.stderr
    assert list(tmp_path.iterdir()) == []
    assert sandbox.requests == []
    chosen = cli(sandbox, "export", "1", "-o", str(tmp_path / "x.txt"), "--format", "csv")
    assert chosen.returncode == 0, chosen.stderr
    assert (tmp_path / "x.txt").read_bytes().startswith(b'\xef\xbb\xbf"id"')


def test_an_unknown_form_suggests_listing_the_forms(sandbox: Sandbox, tmp_path: Path) -> None:
    run = cli(sandbox, "export", "999", "-o", str(tmp_path / "x.csv"))
    assert run.returncode == 1
    assert "There is no form 999" in run.stderr
    assert run.stderr.rstrip().endswith("formexport forms")
    assert "list_forms" not in run.stderr


@pytest.mark.parametrize(
    "command", [["export", "1", "-o", "x.csv"], ["forms"], ["status", "2", "j"]]
)
def test_no_token_tells_how_to_sign_in(sandbox: Sandbox, command: list[str]) -> None:
    run = cli(None, *command, OPNFORM_API_BASE_URL=sandbox.base_url)
    assert run.returncode == 2
    assert "OPNFORM_API_TOKEN is not set, and profile 'default' is not signed in" in run.stderr
    assert "Sign in with:\n  formexport login\nor set OPNFORM_API_TOKEN to" in run.stderr
    assert "token=" not in run.stderr  # the Python ways are not the command's
    assert "fx.login" not in run.stderr
    assert sandbox.requests == []


def test_no_token_for_a_profile_names_the_profile(sandbox: Sandbox) -> None:
    run = cli(None, "forms", "--profile", "lab", OPNFORM_API_BASE_URL=sandbox.base_url)
    assert run.returncode == 2
    assert "profile 'lab' is not signed in" in run.stderr
    assert "  formexport login --profile lab\n" in run.stderr
    named = cli(None, "forms", OPNFORM_PROFILE="lab", OPNFORM_API_BASE_URL=sandbox.base_url)
    assert "profile 'lab' (from OPNFORM_PROFILE) is not signed in" in named.stderr


def test_status_json_leaves_the_signed_link_out_unless_asked(sandbox: Sandbox) -> None:
    sandbox.config.status_access = "open"
    with Client(sandbox.token, sandbox.base_url) as client:
        job = client.start_export(2)
        job.wait(progress=None)
    run = cli(sandbox, "status", "2", str(job.job_id), "--json")
    assert run.returncode == 0, run.stderr
    body = json.loads(run.stdout)
    assert body["status"] == "completed"
    assert "file_url" not in body
    assert "signature=" not in run.stdout
    assert "--show-url" in run.stderr
    shown = cli(sandbox, "status", "2", str(job.job_id), "--json", "--show-url")
    assert "signature=" in json.loads(shown.stdout)["file_url"]
    text = cli(sandbox, "status", "2", str(job.job_id))
    assert text.stdout.startswith("completed 100%")
    assert "signature=" not in text.stdout
    assert f"formexport export 2 --job {job.job_id} -o submissions.parquet" in text.stdout


def test_forms_lists_ids_and_slugs(sandbox: Sandbox) -> None:
    run = cli(sandbox, "forms", COLUMNS="80")
    assert run.returncode == 0, run.stderr
    lines = run.stdout.splitlines()
    assert lines[0] == "Workspace: Demo workspace"  # one workspace: named once, above
    assert lines[1].split() == ["ID", "SLUG", "TITLE", "COMPLETED", "UPDATED", "(UTC)"]
    assert [line.split()[0] for line in lines[2:]] == ["3", "2", "1"]
    assert "event-registration-da71we  Event registration  2217" in run.stdout
    assert max(len(line) for line in lines) <= 80
    as_json = json.loads(cli(sandbox, "forms", "--json", "--workspace", "Demo workspace").stdout)
    assert [form["id"] for form in as_json] == [3, 2, 1]
    assert as_json[2]["submissions_count"] == 250
    assert as_json[2]["updated_at"].endswith("+00:00")
    refused = cli(sandbox, "forms", "--workspace", "2")
    assert refused.returncode == 3


def test_forms_of_several_workspaces_wrap_to_the_terminal(sandbox: Sandbox) -> None:
    # The demo user joins the seeded "Other team" workspace, which gets a form with a long title.
    sandbox._backend.accounts.workspaces[2].members[DEMO_USER_ID] = "member"
    title = "A long title that will not fit in its column at all"
    sandbox.add_form(title, [], workspace_id=2)
    run = cli(sandbox, "forms", COLUMNS="80")
    assert run.returncode == 0, run.stderr
    lines = run.stdout.splitlines()
    assert lines[0].split()[:4] == ["ID", "SLUG", "TITLE", "WORKSPACE"]
    assert max(len(line) for line in lines) <= 80
    assert "Demo workspace" in run.stdout
    assert all(word in run.stdout.split() for word in title.split())  # wrapped, not cut


def test_cli_tables_fit_80_columns(sandbox: Sandbox) -> None:
    for command in (["describe", "1"], ["describe", "2"], ["export", "--help"]):
        run = cli(sandbox, *command, COLUMNS="80")
        assert run.returncode == 0, run.stderr
        assert max(len(line) for line in run.stdout.splitlines()) <= 80, command
    described = cli(sandbox, "describe", "2", COLUMNS="80").stdout
    with Client(token=sandbox.token, base_url=sandbox.base_url) as client:
        ticket = next(f for f in client.get_form(2).fields if f.name == "Ticket type")
    assert re.search(rf"^Ticket type\s+category \(select\)\s+{ticket.id}$", described, re.M)
    assert "\n  options: Standard, VIP, Student\n" in described
    help_text = cli(None, "export", "--help", COLUMNS="80").stdout
    assert "name columns by field" in help_text


def test_sandbox_help_describes_every_option_and_the_control_routes() -> None:
    run = cli(None, "sandbox", "--help", COLUMNS="100")
    assert run.returncode == 0
    options = re.findall(r"\[(--[a-z-]+)", run.stdout)
    assert {"--port", "--status-access", "--progression", "--seconds-per-step"} <= set(options)
    for option in options:
        described = re.search(rf"^  {option}[^\n]*\n?\s+\S", run.stdout, re.M)
        assert described, option
    assert "job speed" in run.stdout
    assert "status access" in run.stdout
    documented = re.findall(
        r"^(GET|POST|PATCH|DELETE)\s+/_sandbox/(\S+)", control.__doc__ or "", re.M
    )
    assert len(documented) >= 14
    for method, path in documented:
        path = path.replace("{id}", "ID")
        assert re.search(rf"^  {method}\s+{re.escape(path)}\s", run.stdout, re.M), (method, path)


def test_columns_help_says_ids_or_names() -> None:
    run = cli(None, "export", "--help", COLUMNS="200")
    assert re.search(r"^  --columns FIELD \[FIELD \.\.\.\]\s+field names or ids", run.stdout, re.M)


def test_the_sandbox_moves_jobs_at_the_speed_asked(tmp_path: Path) -> None:
    command = [sys.executable, "-m", "formexport", "sandbox", "--status-access", "open"]
    command += ["--seconds-per-step", "0.05"]
    with subprocess.Popen(command, stdout=subprocess.PIPE, text=True, env=_env(None)) as server:
        try:
            assert server.stdout is not None
            lines = [server.stdout.readline() for _ in range(4)]
            env = dict(line.split()[1].split("=", 1) for line in lines[2:4])
            run = cli(None, "export", "2", "-o", str(tmp_path / "e.csv"), **env)
            assert run.returncode == 0, run.stderr
            # Eight steps of 0.05 s: the job is done by the first status request, at 0.5 s.
            base_url = env["OPNFORM_API_BASE_URL"]
            seen = requests.get(f"{base_url}/_sandbox/requests", timeout=10).json()
            polls = [r["status"] for r in seen if "/export/status/" in r["path"]]
            assert polls == [404, 200]  # the probe for a made-up job, then one poll: done
        finally:
            server.send_signal(signal.SIGINT)
            assert server.wait(timeout=20) == 0


def test_a_format_the_file_name_contradicts_is_refused(sandbox: Sandbox, tmp_path: Path) -> None:
    run = cli(sandbox, "export", "1", "-o", str(tmp_path / "out.xlsx"), "--format", "csv")
    assert run.returncode == 2
    assert "says xlsx (an Excel workbook) but the format asked for is csv" in run.stderr
    assert "end the file name in .csv" in run.stderr
    assert list(tmp_path.iterdir()) == []
    assert sandbox.requests == []
    same = cli(sandbox, "export", "1", "-o", str(tmp_path / "out.xlsx"), "--format", "xlsx")
    assert same.returncode == 0, same.stderr


@pytest.mark.parametrize("suffix", [".xlsx", ".dta", ".sav"])
def test_files_for_colleagues_by_their_extension(
    sandbox: Sandbox, tmp_path: Path, suffix: str
) -> None:
    run = cli(sandbox, "export", "1", "-o", f"feedback{suffix}", "--no-progress", cwd=tmp_path)
    assert run.returncode == 0, run.stderr
    assert run.stdout == f"Wrote feedback{suffix}: 250 rows \N{MULTIPLICATION SIGN} 13 columns\n"
    assert (tmp_path / f"feedback{suffix}").stat().st_size > 0


def test_the_job_command_writes_a_stata_file(sandbox: Sandbox, tmp_path: Path) -> None:
    sandbox.config.status_access = "open"
    with Client(sandbox.token, sandbox.base_url) as client:
        job_id = str(client.start_export(2).job_id)
    run = cli(
        sandbox, "export", "2", "--job", job_id, "-o", "e.dta", "--naming", "id", cwd=tmp_path
    )
    assert run.returncode == 0, run.stderr
    assert run.stdout == "Wrote e.dta: 2500 rows \N{MULTIPLICATION SIGN} 15 columns\n"
    assert len(pd.read_stata(tmp_path / "e.dta")) == 2500


def test_typed_options_are_refused_for_the_csv_as_served(sandbox: Sandbox, tmp_path: Path) -> None:
    run = cli(sandbox, "export", "1", "-o", str(tmp_path / "f.csv"), "--naming", "id")
    assert run.returncode == 2
    assert "a .csv file is the export as the server wrote it" in run.stderr
    assert sandbox.requests == []


def test_export_help_fits_80_columns() -> None:
    run = cli(None, "export", "--help", COLUMNS="80")
    assert run.returncode == 0, run.stderr
    assert "--format {parquet,csv,xlsx,dta,sav}" in run.stdout
    assert max(len(line) for line in run.stdout.splitlines()) <= 80

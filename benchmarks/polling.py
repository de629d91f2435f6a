"""How soon a finished server job is noticed, and what that gives end to end.

polling     jobs of chosen durations on the emulator (status route open, in this process):
            the lag from the job's completion (its ``updated_at``) to the status answer that
            shows it, and the job's status requests against the budget of one per 2 s of its
            life plus one; the first job on a server (no earlier timings on this machine) and
            the later ones. Each duration is a server this machine has not seen.
end-to-end  ``load_export(reattach=False)`` against a script that posts the export, asks every
            2 s (the docs' pace), downloads with ``requests.get`` and calls ``pandas.read_csv``,
            alternating in one process, on jobs of a chosen duration served by the emulator in a
            process of its own; and, in the same rotation, ``load_export`` asking as the
            previous schedule did (first 2 s after the job was accepted, then every 2-5 s, no
            forecast), to show what the schedule alone changes.
"""

from __future__ import annotations

import io
import os
import statistics
import sys
import time
from typing import Any

import pandas as pd
import requests
from emulator import SHORT_RATE_WINDOW, SandboxProcess, add_form, default_columns, fresh_machine
from fieldsets import FIELD_SETS, Fields, realistic_fields
from judging import Target, judge, print_table, speedup, verdict
from typed_read import alternate, rounded

import formexport as fx
from formexport import config
from formexport.opnform.ratelimit import forget_paces
from formexport.sandbox import Sandbox

NAIVE_POLL_SECONDS = 2.0
# The polling section's targets: the first job on a server, the later ones.
FIRST_LAG_SHARE, FIRST_LAG_SECONDS = 0.10, 2.0
LATER_MEDIAN_LAG, LATER_WORST_LAG = 0.5, 1.0
WAIT_CLOSED = Target(1.3, at_most=False)


def bench_polling(
    sandbox: Sandbox, durations: list[float], later: int, rows: int
) -> list[dict[str, Any]]:
    sandbox.config.status_access = "open"
    sandbox.config.job_progression = "timed"
    form = sandbox.add_form("Polling", realistic_fields(), rows, seed=3)
    sandbox.config.job_seconds = 0.01
    fresh_machine()
    with fx.Client(token=sandbox.token, base_url=sandbox.base_url) as client:
        # Writes the file every timed job copies: the jobs then take the time chosen.
        client.start_export(form["id"], reattach=False).wait(progress=None)
    results = []
    for seconds in durations:
        print(f"   polling: jobs of {seconds:g} s", file=sys.stderr, flush=True)
        sandbox.config.job_seconds = seconds
        fresh_machine()
        with fx.Client(token=sandbox.token, base_url=sandbox.base_url) as client:
            jobs = [polled_job(sandbox, client, form["id"]) for _ in range(1 + later)]
        results.append(judge_polling(seconds, rows, jobs))
    sandbox.config.job_seconds = None
    return results


def polled_job(sandbox: Sandbox, client: fx.Client, form_id: int) -> dict[str, Any]:
    """One export's job waited for: its length, lag and status requests."""
    sandbox.clear_requests()
    job = client.start_export(form_id, reattach=False)
    status = job.wait(progress=None)
    answered = time.time()  # the emulator's clock is this one (it was reset)
    assert status.created_at is not None
    assert status.updated_at is not None
    created, finished = status.created_at.timestamp(), status.updated_at.timestamp()
    asked = [r for r in sandbox.requests if "/export/status/" in r.path]
    polls = [r for r in asked if str(job.job_id) in r.path]
    return {
        "job_s": round(finished - created, 3),
        "lag_s": round(answered - finished, 3),
        "status_requests": len(polls),
        "budget": round(1 + (answered - created) / config.POLL_BUDGET_SECONDS, 2),
        "route_checks": len(asked) - len(polls),
        "rate_limited": sum(1 for r in asked if r.status == 429),
    }


def judge_polling(seconds: float, rows: int, jobs: list[dict[str, Any]]) -> dict[str, Any]:
    first, later = jobs[0], jobs[1:]
    lags = [j["lag_s"] for j in later]
    first_bound = max(FIRST_LAG_SHARE * first["job_s"], FIRST_LAG_SECONDS)
    within_budget = all(j["status_requests"] <= j["budget"] for j in jobs)
    return {
        "job_seconds": seconds,
        "rows": rows,
        "first": first,
        "later": later,
        "later_median_lag_s": round(statistics.median(lags), 3) if lags else None,
        "later_worst_lag_s": max(lags) if lags else None,
        "first_met": first["lag_s"] <= first_bound,
        "later_met": bool(lags)
        and statistics.median(lags) <= LATER_MEDIAN_LAG
        and max(lags) <= LATER_WORST_LAG,
        "budget_met": within_budget,
        "rate_limited": sum(j["rate_limited"] for j in jobs),
    }


POLLING_HEADER = [
    "job", "jobs", "first: lag", "requests", "budget", "later: median lag", "worst lag",
    "requests", "budget", "429", "lag targets", "budget target",
]  # fmt: skip


def polling_row(entry: dict[str, Any]) -> list[str]:
    first, later = entry["first"], entry["later"]
    requests_later = "/".join(str(j["status_requests"]) for j in later) or "-"
    budgets_later = "/".join(f"{j['budget']:.1f}" for j in later) or "-"
    median, worst = entry["later_median_lag_s"], entry["later_worst_lag_s"]
    return [
        f"{entry['job_seconds']:g} s", str(1 + len(later)), f"{first['lag_s']:.2f} s",
        f"{first['status_requests']} (+{first['route_checks']} route check)",
        f"{first['budget']:.1f}", "-" if median is None else f"{median:.2f} s",
        "-" if worst is None else f"{worst:.2f} s", requests_later, budgets_later,
        str(entry["rate_limited"]),
        f"first {verdict(entry['first_met'])}, later {verdict(entry['later_met'])}",
        verdict(entry["budget_met"]),
    ]  # fmt: skip


def print_polling(entries: list[dict[str, Any]]) -> None:
    print_table(
        "polling: lag from a job's completion to the status answer that shows it, and its status "
        "requests\n  (targets: first job lag <= max(10 % of the job, 2 s); later jobs median "
        "<= 0.5 s, worst <= 1 s; requests <= 1 + life / 2 s)",
        POLLING_HEADER,
        [polling_row(entry) for entry in entries],
    )


def naive_end_to_end(base_url: str, token: str, form_id: int, columns: dict[str, bool]) -> Any:
    """What a script without formexport does: start the export, ask every 2 s whether it is
    done, download the file and hand it to pandas."""
    export = f"{base_url}/open/forms/{form_id}/submissions/export"
    with requests.Session() as session:
        session.headers["Authorization"] = f"Bearer {token}"
        started = session.post(export, json={"columns": columns}, timeout=600)
        started.raise_for_status()
        status_url = f"{export}/status/{started.json()['job_id']}"
        while (status := session.get(status_url, timeout=600).json())["status"] != "completed":
            if status["status"] == "failed":
                raise RuntimeError(f"the export failed: {status.get('error_message')}")
            time.sleep(NAIVE_POLL_SECONDS)
    return pd.read_csv(io.BytesIO(requests.get(status["file_url"], timeout=600).content))


def bench_end_to_end(
    sets: list[str], rows: int, job_seconds: float, runs: int
) -> list[dict[str, Any]]:
    server = SandboxProcess()
    window, config.RATE_LIMIT_WINDOW = config.RATE_LIMIT_WINDOW, SHORT_RATE_WINDOW
    try:
        entries = []
        for name in sets:
            print(f"   end-to-end: {name}, {rows:,} rows", file=sys.stderr, flush=True)
            server.reset(rate_window_seconds=SHORT_RATE_WINDOW, job_progression="timed")
            forget_paces()  # the server's windows were reset
            entries.append(
                end_to_end_runs(server, name, FIELD_SETS[name](), rows, job_seconds, runs)
            )
        return entries
    finally:
        config.RATE_LIMIT_WINDOW = window
        forget_paces()
        server.close()


def end_to_end_runs(
    server: SandboxProcess, name: str, fields: Fields, rows: int, job_seconds: float, runs: int
) -> dict[str, Any]:
    form_id = add_form(server, name, fields, rows)
    token, base_url = server.info["token"], server.info["base_url"]
    columns = default_columns(fields)
    server.control("PATCH", "config", {"job_seconds": 0.01})
    naive_end_to_end(base_url, token, form_id, columns)  # writes the file the timed jobs copy
    server.control("PATCH", "config", {"job_seconds": job_seconds})
    fresh_machine()  # the first formexport run knows no earlier job on this server
    server.control("DELETE", "requests")
    samples = alternate(
        runs,
        {
            "naive": lambda: naive_end_to_end(base_url, token, form_id, columns),
            "formexport": lambda: fx.load_export(
                form_id, token=token, base_url=base_url, reattach=False, progress=None
            ),
            "previous schedule": lambda: as_previously_scheduled(form_id, token, base_url),
        },
    )
    started = server.requests_to("POST", "/submissions/export")
    if started != len(samples) * runs:
        raise RuntimeError(f"each of {len(samples) * runs} runs should have started an export")
    previous = samples["previous schedule"]
    return {
        "field_set": name,
        "rows": rows,
        "job_seconds": job_seconds,
        "exports_started": started,
        "samples_s": rounded(samples),
        **judge(WAIT_CLOSED, samples["naive"], samples["formexport"], speedup),
        "previous_schedule_median_s": round(statistics.median(previous), 3),
        "naive_over_previous": judge(WAIT_CLOSED, samples["naive"], previous, speedup),
        "previous_over_formexport": judge(WAIT_CLOSED, previous, samples["formexport"], speedup),
    }


def as_previously_scheduled(form_id: int, token: str, base_url: str) -> Any:
    """``load_export`` asking as before the schedule: first when the docs' 2 s have passed since
    the job was accepted, then every 2-5 s, with no earlier jobs' timings to go on."""
    first_ask, folder = config.POLL_FIRST_ASK, os.environ[config.CACHE_DIR_ENV]
    config.POLL_FIRST_ASK = config.POLL_MIN_INTERVAL
    fresh_machine()
    try:
        return fx.load_export(
            form_id, token=token, base_url=base_url, reattach=False, progress=None
        )
    finally:
        config.POLL_FIRST_ASK = first_ask
        os.environ[config.CACHE_DIR_ENV] = folder  # the formexport runs' timings stay theirs


END_TO_END_HEADER = [
    "fields", "rows", "job", "naive s", "formexport s", "naive/formexport", "runs", "target",
    "verdict", "previous schedule s", "naive/previous", "previous/formexport",
]  # fmt: skip


def end_to_end_row(entry: dict[str, Any]) -> list[str]:
    return [
        entry["field_set"], f"{entry['rows']:,}", f"{entry['job_seconds']:g} s",
        f"{entry['baseline_median_s']:.3f}", f"{entry['formexport_median_s']:.3f}",
        f"{entry['median_ratio']:.2f}x", " ".join(f"{r:.2f}" for r in entry["ratio_per_run"]),
        entry["target"], verdict(entry["met"]), f"{entry['previous_schedule_median_s']:.3f}",
        f"{entry['naive_over_previous']['median_ratio']:.2f}x",
        f"{entry['previous_over_formexport']['median_ratio']:.2f}x",
    ]  # fmt: skip


def print_end_to_end(entries: list[dict[str, Any]], runs: int) -> None:
    print_table(
        "end-to-end: naive (poll every 2 s, requests.get, pandas.read_csv), formexport "
        "(load_export) and formexport asking as its previous schedule did (first at 2 s, then "
        f"every 2-5 s);\n  runs: {runs}, alternating, seconds are medians",
        END_TO_END_HEADER,
        [end_to_end_row(entry) for entry in entries],
    )

"""Turns per server and form: between threads and processes, shared by one thread, given back
when their process dies, their wait ended by a deadline or by whatever the sleep raises."""

from __future__ import annotations

import gc
import logging
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from formexport.errors import ExportTimeoutError
from formexport.local import form_turns
from formexport.local.form_turns import WAITING, FormTurn
from formexport.waits import Wait, WaitReason, shown_to

SERVER = "https://forms.example.com/api"
HOLD = """
import sys, time
from pathlib import Path
from formexport.local.form_turns import FormTurn
turn = FormTurn(sys.argv[1], 2, Path(sys.argv[2]))
turn.take()
print("held", flush=True)
time.sleep(60)
"""


class Stopped(Exception):
    pass


def taken(root: Path, form: int = 2, server: str = SERVER) -> FormTurn:
    turn = FormTurn(server, form, root)
    turn.take()
    return turn


def in_thread(work: object) -> list[object]:
    """Run ``work`` in another thread; its result or error."""
    out: list[object] = []

    def run() -> None:
        try:
            out.append(work())  # type: ignore[operator]
        except Exception as exc:
            out.append(exc)

    thread = threading.Thread(target=run)
    thread.start()
    thread.join(30)
    return out


def test_one_turn_per_server_and_numeric_form_id(tmp_path: Path) -> None:
    spellings = [FormTurn(s, 2, tmp_path) for s in (SERVER, "HTTPS://Forms.example.com:443/api/")]
    assert spellings[0].path == spellings[1].path
    assert FormTurn(SERVER, 3, tmp_path).path != spellings[0].path
    assert FormTurn("https://other.example.com/api", 2, tmp_path).path != spellings[0].path


def test_another_thread_waits_says_so_once_and_goes_when_released(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    held = taken(tmp_path)
    told: list[Wait] = []
    slept: list[float] = []

    def sleep(seconds: float) -> None:
        slept.append(seconds)
        if len(slept) == 3:
            held.release()

    def take_shown() -> None:
        with shown_to(lambda wait, now: told.append(wait)):
            waiting.take(sleep=sleep)

    with caplog.at_level(logging.INFO, "formexport"):
        waiting = FormTurn(SERVER, 2, tmp_path)
        assert in_thread(take_shown) == [None]
    assert {(wait.reason, wait.detail) for wait in told} == {(WaitReason.TURN, WAITING)}
    assert told[0].until is None  # shown as a wait with no known end, until the turn comes
    assert len(slept) == 3
    assert waiting.held
    assert "Waiting for the turn at form 2" in caplog.text
    waiting.release()
    assert not [path for path in form_turns._held if path.is_relative_to(tmp_path)]


def test_other_forms_do_not_wait(tmp_path: Path) -> None:
    held = taken(tmp_path, 2)
    other = FormTurn(SERVER, 3, tmp_path)
    assert in_thread(lambda: other.take(sleep=pytest.fail)) == [None]
    other.release()
    held.release()


def test_the_same_thread_shares_its_turn_until_both_release(tmp_path: Path) -> None:
    first, second = taken(tmp_path), taken(tmp_path)  # no wait for itself
    first.release()
    assert in_thread(lambda: FormTurn(SERVER, 2, tmp_path).take(deadline=0.0)) != [None]
    second.release()
    second.release()  # once only
    assert in_thread(lambda: taken(tmp_path).release()) == [None]


def test_a_deadline_ends_the_wait(tmp_path: Path) -> None:
    held = taken(tmp_path)
    clock = iter(range(100)).__next__
    waiting = FormTurn(SERVER, 2, tmp_path)
    [error] = in_thread(lambda: waiting.take(deadline=5, clock=clock, sleep=lambda s: None))
    assert isinstance(error, ExportTimeoutError)
    assert "another export of form 2 on this machine" in str(error)
    assert "allow a longer timeout" in str(error)
    assert not waiting.held
    held.release()


def test_what_the_sleep_raises_ends_the_wait(tmp_path: Path) -> None:
    held = taken(tmp_path)

    def cancelled(seconds: float) -> None:
        raise Stopped

    waiting = FormTurn(SERVER, 2, tmp_path)
    [error] = in_thread(lambda: waiting.take(sleep=cancelled))
    assert isinstance(error, Stopped)
    assert not waiting.held
    held.release()


def test_a_turn_dropped_unreleased_is_given_back(tmp_path: Path) -> None:
    turn = taken(tmp_path)
    del turn
    gc.collect()
    assert not [path for path in form_turns._held if path.is_relative_to(tmp_path)]


def test_another_process_waits_until_the_holder_dies(tmp_path: Path) -> None:
    holder = subprocess.Popen(
        [sys.executable, "-c", HOLD, SERVER, str(tmp_path)], stdout=subprocess.PIPE
    )
    try:
        assert holder.stdout is not None
        assert holder.stdout.readline() == b"held\n"
        waiting = FormTurn(SERVER, 2, tmp_path)
        with pytest.raises(ExportTimeoutError):
            waiting.take(deadline=time.monotonic() + 0.3)
        os.kill(holder.pid, signal.SIGKILL)  # no clean-up runs: the system gives the lock back
        holder.wait(30)
        waiting.take(deadline=time.monotonic() + 30)
        assert waiting.held
        waiting.release()
    finally:
        holder.kill()
        holder.communicate()


def test_an_unusable_folder_means_no_turn_and_a_warning(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("not a folder")
    turn = FormTurn(SERVER, 2, blocker)
    turn.take(sleep=pytest.fail)
    assert not turn.held
    assert "without taking turns" in caplog.text

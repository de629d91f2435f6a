"""``since=`` and ``status=`` read into a selection; ``--since`` on the command line."""

from __future__ import annotations

import argparse
from datetime import date, datetime, timedelta, timezone

import pytest

from formexport.cli.parser import _since
from formexport.errors import InvalidArgumentError
from formexport.opnform.selection import Selection

NOW = datetime(2026, 12, 2, 9, 30, tzinfo=timezone.utc)


def selection(since: object = None, status: str | None = None) -> Selection | None:
    return Selection.from_options(since, status, lambda: NOW)  # type: ignore[arg-type]


def test_nothing_chosen_is_no_selection() -> None:
    assert selection() is None
    assert selection(status="all") is None


@pytest.mark.parametrize(
    ("since", "moment"),
    [
        (timedelta(days=7), datetime(2026, 11, 25, 9, 30, tzinfo=timezone.utc)),
        (date(2026, 8, 1), datetime(2026, 8, 1, tzinfo=timezone.utc)),
        (datetime(2026, 8, 1, 12, 0), datetime(2026, 8, 1, 12, 0, tzinfo=timezone.utc)),
        (
            datetime(2026, 8, 1, 14, 0, tzinfo=timezone(timedelta(hours=2))),
            datetime(2026, 8, 1, 12, 0, tzinfo=timezone.utc),
        ),
    ],
    ids=["timedelta", "date", "naive-datetime", "aware-datetime"],
)
def test_since_becomes_a_moment_in_utc(since: object, moment: datetime) -> None:
    chosen = selection(since)
    assert chosen is not None
    assert chosen.since == moment
    assert chosen.keeps(moment)
    assert not chosen.keeps(moment - timedelta(microseconds=1))


def test_status_alone() -> None:
    chosen = selection(status="partial")
    assert chosen == Selection(None, "partial")
    assert chosen.keeps(datetime(2000, 1, 1, tzinfo=timezone.utc))
    assert chosen.describe() == "partial"


@pytest.mark.parametrize(
    ("since", "status"),
    [("2026-08-01", None), (7, None), (timedelta(hours=-1), None), (None, "Completed")],
)
def test_bad_values_are_refused(since: object, status: str | None) -> None:
    with pytest.raises(InvalidArgumentError):
        selection(since, status)


@pytest.mark.parametrize(
    ("text", "value"),
    [
        ("7d", timedelta(days=7)),
        ("12h", timedelta(hours=12)),
        ("30min", timedelta(minutes=30)),
        ("90s", timedelta(seconds=90)),
        ("2w", timedelta(weeks=2)),
        ("1.5h", timedelta(hours=1.5)),
        ("2026-08-01", date(2026, 8, 1)),
        ("2026-08-01T12:00Z", datetime(2026, 8, 1, 12, tzinfo=timezone.utc)),
        ("2026-08-01 12:00", datetime(2026, 8, 1, 12)),
    ],
)
def test_cli_since(text: str, value: object) -> None:
    assert _since(text) == value


def test_cli_since_refuses_anything_else() -> None:
    with pytest.raises(argparse.ArgumentTypeError, match="duration"):
        _since("last week")

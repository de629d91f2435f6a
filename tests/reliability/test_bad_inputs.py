"""Every bad input a user can give gets a typed error that says what to do, before anything is
written (and, where the input alone shows the mistake, before anything is sent)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

import formexport as fx
from formexport.sandbox import Fault, Sandbox
from tests.reliability.helpers import exports, leftovers

# (input, keyword arguments of download_export, error, words of its message, nothing sent)
CASES: list[tuple[str, dict[str, Any], type[fx.FormExportError], str, bool]] = [
    ("form id with spaces", {"form": "contact us"}, fx.InvalidArgumentError, "slug", True),
    ("form id with a path", {"form": "../1"}, fx.InvalidArgumentError, "slug", True),
    ("form id 0", {"form": 0}, fx.InvalidArgumentError, "positive", True),
    ("negative form id", {"form": -3}, fx.InvalidArgumentError, "positive", True),
    ("float form id", {"form": 2.5}, fx.InvalidArgumentError, "numeric id or a slug", True),
    ("boolean form id", {"form": True}, fx.InvalidArgumentError, "numeric id or a slug", True),
    ("unknown form id", {"form": 999}, fx.FormNotFoundError, "no form 999.*list_forms", False),
    ("unknown slug", {"form": "no-such-form"}, fx.FormNotFoundError, "no form 'no-such", False),
    ("form of another workspace", {"form": 4}, fx.PermissionDeniedError, "workspace", False),
    (
        "unknown columns",
        {"columns": ["nope", "ghost"]},
        fx.InvalidArgumentError,
        "nope, ghost",
        False,
    ),
    (
        "ip_address column",
        {"columns": ["ip_address"]},
        fx.InvalidArgumentError,
        "ip_address",
        False,
    ),
    ("empty columns", {"columns": []}, fx.InvalidArgumentError, "columns=None", True),
    ("columns all false", {"columns": {"Email": False}}, fx.InvalidArgumentError, "nothing", True),
    ("columns as a string", {"columns": "Email"}, fx.InvalidArgumentError, "list", True),
    ("missing token", {"token": None}, fx.NoTokenError, "formexport login", True),
    ("blank token", {"token": "  "}, fx.ConfigurationError, "token= is empty", True),
    ("token with a line break", {"token": "7|ab\ncd"}, fx.ConfigurationError, "line break", True),
    ("token with a space", {"token": "7|ab cd"}, fx.ConfigurationError, "a space", True),
    ("wrong token", {"token": "1|wrong"}, fx.AuthenticationError, "Access tokens", False),
    ("base URL not http(s)", {"base_url": "ftp://x"}, fx.ConfigurationError, "https://", True),
    ("base URL without host", {"base_url": "https://"}, fx.ConfigurationError, "https://", True),
    (
        "plain http to a remote host",
        {"base_url": "http://forms.example.org"},
        fx.ConfigurationError,
        "allow_insecure_http",
        True,
    ),
    ("negative timeout", {"timeout": -1}, fx.InvalidArgumentError, "timeout", True),
    ("NaN timeout", {"timeout": float("nan")}, fx.InvalidArgumentError, "timeout", True),
]


@pytest.mark.parametrize(
    ("kwargs", "error", "words", "nothing_sent"),
    [case[1:] for case in CASES],
    ids=[case[0] for case in CASES],
)
def test_bad_input(
    sandbox: Sandbox,
    tmp_path: Path,
    kwargs: dict[str, Any],
    error: type[fx.FormExportError],
    words: str,
    nothing_sent: bool,
) -> None:
    options: dict[str, Any] = {
        "form": 1,
        "token": sandbox.token,
        "base_url": sandbox.base_url,
        "progress": None,
    }
    options.update(kwargs)
    with pytest.raises(error, match=words) as info:
        fx.download_export(path=tmp_path / "out.csv", **options)
    assert type(info.value) is error
    assert leftovers(tmp_path) == []
    assert not exports(sandbox) or not nothing_sent
    if nothing_sent:
        assert sandbox.requests == []


def test_base_url_of_the_front_end_answers_html(sandbox: Sandbox, tmp_path: Path) -> None:
    # The web app's address instead of its API: a page where JSON was expected.
    sandbox.faults.add(Fault("any", html=True, times=None))
    with pytest.raises(fx.UnexpectedResponseError, match="base URL"):
        fx.download_export(
            1,
            tmp_path / "out.csv",
            token=sandbox.token,
            base_url=sandbox.base_url,
            progress=None,
        )
    assert leftovers(tmp_path) == []


def test_base_url_missing_its_api_prefix(sandbox: Sandbox, tmp_path: Path) -> None:
    with pytest.raises(fx.NotFoundError, match="OPNFORM_API_BASE_URL") as info:
        fx.download_export(
            1,
            tmp_path / "out.csv",
            token=sandbox.token,
            base_url=f"{sandbox.base_url}/app",
            progress=None,
        )
    # A missing route is not a missing form: the base URL is what to check.
    assert not isinstance(info.value, fx.FormNotFoundError)
    assert leftovers(tmp_path) == []


def test_unknown_columns_are_listed_in_the_error(sandbox: Sandbox) -> None:
    # OpnForm would answer 422: they are refused once the form's fields are known, unsent.
    with pytest.raises(fx.InvalidArgumentError, match="columns nope, ghost of form 1") as info:
        fx.load_export(
            1,
            columns=["nope", "ghost"],
            token=sandbox.token,
            base_url=sandbox.base_url,
            progress=None,
        )
    assert "'created_at', 'status'" in str(info.value)
    assert not exports(sandbox)

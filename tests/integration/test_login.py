"""Signing in once, against the emulator: profiles, the lookup order, where tokens are kept."""

from __future__ import annotations

import json
import logging
import os
import stat
from pathlib import Path

import keyring
import pytest
from keyring.backends import fail, null

import formexport as fx
from formexport import config
from formexport.credentials import ProfileStore
from formexport.sandbox import Sandbox
from tests.keyrings import BrokenKeyring, ForgetfulKeyring, MemoryKeyring


def config_folder() -> Path:
    return Path(os.environ[config.CONFIG_DIR_ENV])


def memory_keyring() -> MemoryKeyring:
    backend = keyring.get_keyring()
    assert isinstance(backend, MemoryKeyring)
    return backend


def test_a_signed_in_profile_serves_every_verb(sandbox: Sandbox) -> None:
    account = fx.login(token=sandbox.token, base_url=sandbox.base_url, profile="work")
    assert (account.name, account.email) == ("Demo User", "demo@example.com")
    assert account.profile == "work"
    assert account.base_url == sandbox.base_url
    assert fx.load_export(1, profile="work", progress=None).shape == (250, 13)
    assert fx.list_forms(profile="work")["id"].tolist() == [3, 2, 1]
    assert fx.describe_form(1, profile="work").attrs["form_id"] == 1
    assert fx.start_export(1, profile="work", progress=None).result().shape == (250, 13)
    with fx.Client(profile="work") as client:
        assert client.profile == "work"
        assert client.base_url == sandbox.base_url
        assert repr(client) == f"Client(base_url={sandbox.base_url!r}, profile='work')"
    manifest = fx.export_forms([1], config_folder().parent / "dataset", profile="work")
    assert manifest.forms["1"].rows == 250


def test_the_default_profile_needs_no_argument(sandbox: Sandbox) -> None:
    fx.login(token=sandbox.token, base_url=sandbox.base_url)
    assert fx.load_export(1, progress=None).shape == (250, 13)
    assert fx.whoami().profile == "default"


def test_several_profiles_on_several_servers_and_accounts(sandbox: Sandbox) -> None:
    other_user = sandbox.add_token(["forms-read", "workspaces-read"], user_id=2)
    fx.login(token=sandbox.token, base_url=sandbox.base_url, profile="cloud")
    fx.login(token=other_user, base_url=sandbox.api_url, profile="selfhosted")
    cloud, selfhosted = fx.whoami(profile="cloud"), fx.whoami(profile="selfhosted")
    assert (cloud.email, cloud.base_url) == ("demo@example.com", sandbox.base_url)
    assert selfhosted.base_url == sandbox.api_url
    assert selfhosted.email != cloud.email
    # Each profile sees its own user's workspaces.
    assert set(fx.list_forms(profile="cloud")["workspace_id"]) == {1}
    assert set(fx.list_forms(profile="selfhosted")["workspace_id"]) == {2}
    assert ProfileStore().names() == ["cloud", "selfhosted"]
    # Both tokens are in the keyring, under the service and "<profile>@<server>".
    assert memory_keyring().passwords == {
        ("formexport", f"cloud@{sandbox.base_url}"): sandbox.token,
        ("formexport", f"selfhosted@{sandbox.api_url}"): other_user,
    }


def test_signing_in_again_replaces_the_token_and_the_server(sandbox: Sandbox) -> None:
    fx.login(token=sandbox.token, base_url=sandbox.base_url, profile="work")
    second = sandbox.add_token(user_id=7)
    fx.login(token=second, base_url=sandbox.api_url, profile="work")
    assert fx.whoami(profile="work").email == "user7@example.com"
    # The first sign-in's entry is gone, not left behind in the keyring.
    assert memory_keyring().passwords == {("formexport", f"work@{sandbox.api_url}"): second}
    # Without base_url, signing in again keeps the profile's server.
    assert fx.login(token=sandbox.token, profile="work").base_url == sandbox.api_url


def test_a_wrong_token_is_refused_before_anything_is_stored(sandbox: Sandbox) -> None:
    wrong = "7|" + "w" * 40
    with pytest.raises(fx.AuthenticationError) as refused:
        fx.login(token=wrong, base_url=sandbox.base_url, profile="work")
    message = str(refused.value)
    assert "refused the token given to sign in" in message
    assert "Nothing was stored" in message
    assert "w" * 40 not in message
    assert refused.value.status_code == 401
    assert memory_keyring().passwords == {}
    assert not config_folder().exists() or not list(config_folder().iterdir())
    assert [r.path for r in sandbox.requests] == ["/external/zapier/validate"]


def test_a_revoked_token_names_its_profile_and_how_to_sign_in_again(sandbox: Sandbox) -> None:
    token = sandbox.add_token()
    fx.login(token=token, base_url=sandbox.base_url, profile="lab")
    sandbox.revoke_token(token)
    with pytest.raises(fx.AuthenticationError) as refused:
        fx.load_export(1, profile="lab", progress=None)
    message = str(refused.value)
    assert "refused the token of profile 'lab'" in message
    assert "formexport login --profile lab" in message
    assert "fx.login(profile='lab')" in message
    with pytest.raises(fx.AuthenticationError, match="profile 'lab'"):
        fx.whoami(profile="lab")


@pytest.mark.parametrize(
    "backend",
    [fail.Keyring(), null.Keyring(), BrokenKeyring(), ForgetfulKeyring()],
    ids=["no keyring", "null keyring", "locked keyring", "a keyring that keeps nothing"],
)
def test_without_a_keyring_the_token_is_kept_in_a_private_file(
    sandbox: Sandbox, backend: keyring.backend.KeyringBackend
) -> None:
    keyring.set_keyring(backend)
    account = fx.login(token=sandbox.token, base_url=sandbox.base_url, profile="ci")
    tokens = config_folder() / "tokens.json"
    assert account.kept_in == (
        f"the file {tokens}, readable by you only (no system keyring on this machine)"
    )
    assert fx.whoami(profile="ci").kept_in == account.kept_in
    assert json.loads(tokens.read_text())["tokens"] == {"ci": sandbox.token}
    assert stat.S_IMODE(tokens.stat().st_mode) == 0o600
    assert stat.S_IMODE(config_folder().stat().st_mode) == 0o700
    profiles = config_folder() / "profiles.json"
    assert stat.S_IMODE(profiles.stat().st_mode) == 0o600
    assert fx.load_export(1, profile="ci", progress=None).shape == (250, 13)
    assert fx.logout(profile="ci") is True
    assert not tokens.exists()


def test_with_a_keyring_no_file_holds_the_token(sandbox: Sandbox) -> None:
    account = fx.login(token=sandbox.token, base_url=sandbox.base_url, profile="work")
    assert account.kept_in == "the system keyring (keyrings MemoryKeyring)"
    assert not (config_folder() / "tokens.json").exists()
    secret = sandbox.token.split("|", 1)[1]
    for path in config_folder().rglob("*"):
        assert secret not in path.read_text()
    record = json.loads((config_folder() / "profiles.json").read_text())["profiles"]["work"]
    assert record["kept_in"] == "keyring"
    assert (record["user_name"], record["email"]) == ("Demo User", "demo@example.com")


def test_a_keyring_that_lost_the_token_says_to_sign_in_again(sandbox: Sandbox) -> None:
    fx.login(token=sandbox.token, base_url=sandbox.base_url, profile="work")
    memory_keyring().passwords.clear()
    with pytest.raises(fx.ConfigurationError, match="no longer holds its token") as lost:
        fx.load_export(1, profile="work", progress=None)
    assert "formexport login --profile work" in str(lost.value)


def test_logout_forgets_the_profile_and_its_token(sandbox: Sandbox) -> None:
    fx.login(token=sandbox.token, base_url=sandbox.base_url, profile="work")
    fx.login(token=sandbox.token, base_url=sandbox.base_url, profile="home")
    assert fx.logout(profile="work") is True
    assert fx.logout(profile="work") is False
    assert ProfileStore().names() == ["home"]
    assert list(memory_keyring().passwords) == [("formexport", f"home@{sandbox.base_url}")]
    with pytest.raises(fx.NoTokenError) as gone:
        fx.load_export(1, profile="work", progress=None)
    assert "profile 'work' is not signed in (signed-in profiles: home)" in str(gone.value)
    assert gone.value.profile == "work"


def test_the_lookup_order(sandbox: Sandbox, monkeypatch: pytest.MonkeyPatch) -> None:
    """token= → OPNFORM_API_TOKEN → profile= / OPNFORM_PROFILE / default: each user differs."""
    tokens = {user: sandbox.add_token(user_id=user) for user in (11, 12, 13, 14, 15)}
    fx.login(token=tokens[13], base_url=sandbox.base_url, profile="named")
    fx.login(token=tokens[14], base_url=sandbox.base_url, profile="from-env")
    fx.login(token=tokens[15], base_url=sandbox.base_url)  # the default profile

    def user() -> str:
        return fx.whoami(profile=None).email

    assert user() == "user15@example.com"
    monkeypatch.setenv(config.PROFILE_ENV, "from-env")
    assert user() == "user14@example.com"
    assert fx.whoami(profile="named").email == "user13@example.com"  # profile= beats the variable
    monkeypatch.setenv(config.TOKEN_ENV, tokens[12])
    monkeypatch.setenv(config.BASE_URL_ENV, sandbox.base_url)
    assert user() == "user12@example.com"
    assert fx.whoami(profile="named").email == "user12@example.com"  # as the order says
    assert fx.whoami(token=tokens[11]).email == "user11@example.com"
    with fx.Client(tokens[11]) as client:
        assert client.settings.source == config.TokenSource("argument")


def test_the_variable_overriding_a_named_profile_is_logged(
    sandbox: Sandbox, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    fx.login(token=sandbox.add_token(user_id=9), base_url=sandbox.base_url, profile="named")
    monkeypatch.setenv(config.TOKEN_ENV, sandbox.token)
    monkeypatch.setenv(config.BASE_URL_ENV, sandbox.base_url)
    with caplog.at_level(logging.WARNING, logger="formexport"):
        assert fx.whoami(profile="named").email == "demo@example.com"
    assert "OPNFORM_API_TOKEN is set: using it, not profile 'named'" in caplog.text


def test_a_profile_token_goes_to_its_own_server_only(
    sandbox: Sandbox, monkeypatch: pytest.MonkeyPatch
) -> None:
    fx.login(token=sandbox.token, base_url=sandbox.base_url, profile="work")
    other = "https://forms.example.com/api"
    with pytest.raises(fx.ConfigurationError, match="goes to its own server only") as refused:
        fx.load_export(1, profile="work", base_url=other, progress=None)
    assert f"signed in to {sandbox.base_url}, but base_url is {other}" in str(refused.value)
    monkeypatch.setenv(config.BASE_URL_ENV, other)
    with pytest.raises(fx.ConfigurationError, match=f"but {config.BASE_URL_ENV} is {other}"):
        fx.Client(profile="work")
    # The same server spelled another way is the same server.
    monkeypatch.setenv(config.BASE_URL_ENV, sandbox.base_url.upper().replace("HTTP", "http") + "/")
    assert fx.whoami(profile="work").email == "demo@example.com"
    assert [r.path for r in sandbox.requests].count("/open/forms/1") == 0


def test_each_missing_or_refused_token_says_where_it_came_from(
    sandbox: Sandbox, monkeypatch: pytest.MonkeyPatch
) -> None:
    wrong = "9|" + "z" * 40
    with pytest.raises(fx.NoTokenError) as missing:
        fx.load_export(1, base_url=sandbox.base_url, progress=None)
    text = str(missing.value)
    assert "OPNFORM_API_TOKEN is not set, and profile 'default' is not signed in" in text
    assert "`formexport login` (or fx.login() in Python)" in text
    with pytest.raises(fx.AuthenticationError, match="refused the token passed as token="):
        fx.load_export(1, token=wrong, base_url=sandbox.base_url, progress=None)
    monkeypatch.setenv(config.TOKEN_ENV, wrong)
    with pytest.raises(fx.AuthenticationError) as from_env:
        fx.list_forms(base_url=sandbox.base_url)
    assert "refused the token from OPNFORM_API_TOKEN" in str(from_env.value)
    assert "unset it to use a signed-in profile" in str(from_env.value)


def test_without_a_terminal_login_asks_for_no_token_and_stores_nothing(sandbox: Sandbox) -> None:
    # pytest's stdin is no terminal: getpass would read the token with echo on.
    with pytest.raises(fx.ConfigurationError, match="Cannot ask for the token here"):
        fx.login(base_url=sandbox.base_url, profile="work")
    assert sandbox.requests == []
    assert ProfileStore().names() == []


HOSTILE = {
    "a slash": "team/work",
    "a backslash": "team\\work",
    "dot dot": "..",
    "a path up": "../../etc/passwd",
    "NUL": "work\x00",
    "a newline": "work\nx",
    "very long": "p" * 10_000,
    "a right-to-left override": "work\u202etxt",
    "a zero-width joiner": "wo\u200drk",
    "a space": "my work",
    "a pasted token": "7|" + "t" * 40,
    "empty": "",
    "a leading dash": "--base-url",
}


@pytest.mark.parametrize("name", list(HOSTILE.values()), ids=list(HOSTILE))
def test_hostile_profile_names_are_refused_before_anything_is_touched(
    sandbox: Sandbox, name: str, tmp_path: Path
) -> None:
    before = sorted(tmp_path.parent.rglob("*"))
    calls = [
        lambda: fx.login(token=sandbox.token, base_url=sandbox.base_url, profile=name),
        lambda: fx.whoami(profile=name),
        lambda: fx.logout(profile=name),
        lambda: fx.load_export(1, profile=name, progress=None),
        lambda: fx.Client(profile=name),
    ]
    for call in calls:
        with pytest.raises(fx.InvalidArgumentError, match="A profile name is a short word") as bad:
            call()
        if len(name) > 3:
            assert name not in str(bad.value)  # never repeated: it may be a pasted token
    assert sandbox.requests == []
    assert memory_keyring().passwords == {}
    assert not config_folder().exists() or not list(config_folder().iterdir())
    assert sorted(tmp_path.parent.rglob("*")) == before


def test_unicode_profile_names_are_one_profile_however_typed(sandbox: Sandbox) -> None:
    composed, decomposed = "équipe-β", "e\u0301quipe-β"
    fx.login(token=sandbox.token, base_url=sandbox.base_url, profile=decomposed)
    assert fx.whoami(profile=composed).profile == composed
    assert ProfileStore().names() == [composed]
    longest = "p" * config.PROFILE_NAME_MAX
    assert fx.login(token=sandbox.token, base_url=sandbox.base_url, profile=longest).profile
    with pytest.raises(fx.InvalidArgumentError, match="has 65 characters"):
        fx.whoami(profile=longest + "p")

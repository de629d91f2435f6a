"""Sign in once: :func:`login`, :func:`whoami` and :func:`logout`.

``login`` checks a token with the server (``GET /external/zapier/validate`` answers its user's
name and e-mail, and refuses a wrong token with 401) before keeping it, as
:mod:`formexport.credentials` describes. Asked for in a terminal, the token is read without
echo; in Jupyter, through the front-end's password box (``getpass``, which the kernel forwards
as a password request): the value never becomes an output or a widget's state, so it is never
saved with the notebook.
"""

from __future__ import annotations

import getpass
import warnings
from dataclasses import dataclass

from formexport import config
from formexport.credentials import ProfileStore, chosen_profile, lookup_settings
from formexport.errors import ConfigurationError
from formexport.opnform.endpoints import OpnFormAPI
from formexport.redaction import Secret


@dataclass(frozen=True)
class Account:
    """Who a token belongs to, on which server, and where it comes from (never the token).

    Attributes
    ----------
    name, email : str
        The token's user, as the server tells.
    base_url : str
        The server.
    profile : str or None
        The signed-in profile the token is kept for; None for a token from ``token=`` or
        ``OPNFORM_API_TOKEN``.
    kept_in : str
        Where the token is kept: the system keyring, a file only you can read, or
        ``OPNFORM_API_TOKEN``.
    """

    name: str
    email: str
    base_url: str
    profile: str | None
    kept_in: str

    def __str__(self) -> str:
        who = f"{self.name} <{self.email}>" if self.name else self.email
        lines = [f"Signed in as {who}", f"  server:  {self.base_url}"]
        if self.profile is not None:
            lines.append(f"  profile: {self.profile}")
        lines.append(f"  token:   {self.kept_in}")
        return "\n".join(lines)


def login(
    token: str | None = None,
    *,
    base_url: str | None = None,
    profile: str | None = None,
    allow_insecure_http: bool | None = None,
) -> Account:
    """Check a token with the server and keep it, so that later calls need none.

    Parameters
    ----------
    token : str, optional
        A personal access token (OpnForm → Settings → Access tokens, with ``forms-read``).
        When not given it is asked for: a password box in Jupyter, a hidden prompt in a
        terminal. Pass it from a secret store in scripts and CI.
    base_url : str, optional
        The server; default ``OPNFORM_API_BASE_URL``, the profile's server when signing in to
        it again, then ``https://api.opnform.com``.
    profile : str, optional
        A name for this sign-in, to keep several servers or accounts apart; default
        ``OPNFORM_PROFILE``, then ``"default"``. Signing in again replaces its token.
    allow_insecure_http : bool, optional
        As for :class:`~formexport.Client`; remembered for the profile.

    Returns
    -------
    Account
        The token's user, the server and where the token is kept.

    Raises
    ------
    AuthenticationError
        The server refused the token; nothing was stored.
    ConfigurationError
        No token given and none can be asked for (no terminal, a front-end without input).

    Examples
    --------
    >>> import formexport as fx
    >>> account = fx.login(token=sandbox.token, base_url=sandbox.base_url, profile="demo")
    >>> account.name, account.email
    ('Demo User', 'demo@example.com')
    >>> fx.load_export(1, profile="demo").shape
    (250, 13)
    """
    name, _ = chosen_profile(profile)
    store = ProfileStore()
    previous = store.get(name)
    given = base_url if base_url is not None else (previous.base_url if previous else None)
    insecure = config.insecure_http_allowed(allow_insecure_http)
    url = config.resolve_base_url(given, allow_insecure_http=insecure)
    source = config.TokenSource("login", name)
    text = config.checked_token(token if token is not None else _ask_token(url, name), source)
    if not text:
        raise ConfigurationError(f"No token given: paste {config.TOKEN_HELP}.")
    secret = Secret(text)
    user = _token_owner(config.Settings(url, secret, source))
    kept = store.sign_in(name, url, secret, user, insecure_http=insecure)
    return Account(user[0], user[1], url, name, kept.where(store.folder))


def whoami(
    *, profile: str | None = None, token: str | None = None, base_url: str | None = None
) -> Account:
    """Who the token in use belongs to, asked of the server now.

    The token is found as every verb finds it: ``token=``, ``OPNFORM_API_TOKEN``, then the
    profile named by ``profile=``, ``OPNFORM_PROFILE`` or ``default``.

    Raises
    ------
    AuthenticationError
        The server refuses the token (the message names where it came from).
    ConfigurationError
        No token anywhere; the message says how to sign in.

    Examples
    --------
    >>> import formexport as fx
    >>> _ = fx.login(token=sandbox.token, base_url=sandbox.base_url, profile="demo")
    >>> me = fx.whoami(profile="demo")
    >>> me.email, me.profile, me.base_url == sandbox.base_url
    ('demo@example.com', 'demo', True)
    """
    settings = lookup_settings(token, base_url, profile=profile)
    name, email = _token_owner(settings)
    source = settings.source
    if source.kind == "profile":
        store = ProfileStore()
        found = store.get(source.profile)
        kept_in = found.where(store.folder) if found else "a signed-in profile"
        return Account(name, email, settings.base_url, source.profile, kept_in)
    if source.kind == "environment":
        return Account(name, email, settings.base_url, None, f"the {config.TOKEN_ENV} variable")
    kept_in = "the token= argument (not kept)"
    return Account(name, email, settings.base_url, None, kept_in)


def logout(*, profile: str | None = None) -> bool:
    """Forget a profile's sign-in and its token; whether it was signed in.

    ``OPNFORM_API_TOKEN``, when set, is not touched: unset it yourself.

    Examples
    --------
    >>> import formexport as fx
    >>> _ = fx.login(token=sandbox.token, base_url=sandbox.base_url, profile="demo")
    >>> fx.logout(profile="demo"), fx.logout(profile="demo")
    (True, False)
    """
    name, _ = chosen_profile(profile)
    return ProfileStore().sign_out(name) is not None


def _token_owner(settings: config.Settings) -> tuple[str, str]:
    api = OpnFormAPI(settings)
    try:
        return api.token_owner()
    finally:
        api.close()


def _ask_token(base_url: str, profile: str) -> str:
    """The token, typed without echo: a hidden terminal prompt or Jupyter's password box."""
    prompt = f"OpnForm API token for {base_url} (profile {profile}): "
    try:
        with warnings.catch_warnings():
            # Without a terminal, getpass would read the token with echo on: refuse instead.
            warnings.simplefilter("error", getpass.GetPassWarning)
            return getpass.getpass(prompt)
    except (getpass.GetPassWarning, NotImplementedError, EOFError, OSError) as exc:
        raise ConfigurationError(
            "Cannot ask for the token here (no terminal, or a front-end that takes no input): "
            "pass it as login(token=...) from a secret store, or run `formexport login` in a "
            "terminal."
        ) from exc

"""The lookup order of the token: ``token=``, ``OPNFORM_API_TOKEN``, then a signed-in profile.

A profile's token goes to its own server only: a base URL given along with it (``base_url=``,
``--base-url`` or ``OPNFORM_API_BASE_URL``) must be the profile's, or the call is refused
before anything is sent.
"""

from __future__ import annotations

import logging
import os

from formexport import config
from formexport.credentials.names import chosen_profile
from formexport.credentials.profiles import Profile, ProfileStore
from formexport.errors import ConfigurationError
from formexport.local.folder import canonical_server

logger = logging.getLogger("formexport")


def lookup_settings(
    token: str | None = None,
    base_url: str | None = None,
    *,
    profile: str | None = None,
    allow_insecure_http: bool | None = None,
) -> config.Settings:
    """The server and token to use, from the first place that has a token.

    1. ``token`` (with ``base_url``, ``OPNFORM_API_BASE_URL`` or the default server);
    2. ``OPNFORM_API_TOKEN`` (with the same server);
    3. the signed-in profile named by ``profile``, ``OPNFORM_PROFILE`` or ``default``, with
       its server.

    Raises
    ------
    NoTokenError
        No token anywhere; the message says how to sign in.
    ConfigurationError
        A base URL that is not the profile's, or one that cannot work.
    InvalidArgumentError
        A profile name that cannot be one.
    """
    if token is not None or os.environ.get(config.TOKEN_ENV, "").strip():
        if token is None and profile is not None:
            logger.warning(
                "%s is set: using it, not profile %r (unset it to use the profile)",
                config.TOKEN_ENV,
                profile,
            )
        return config.resolve_settings(token, base_url, allow_insecure_http=allow_insecure_http)
    name, named_by = chosen_profile(profile)
    store = ProfileStore()
    found = store.get(name)
    if found is None:
        raise config.no_token_error(name, _not_signed_in(name, named_by, store))
    checked = _profile_base_url(found, base_url, allow_insecure_http)
    token_kept = store.token_of(found)
    return config.Settings(checked, token_kept, config.TokenSource("profile", name))


def _not_signed_in(name: str, named_by: str, store: ProfileStore) -> str:
    named = "" if named_by in ("profile=", "default") else f" (from {named_by})"
    others = store.names()
    listed = f" (signed-in profiles: {', '.join(others)})" if others else ""
    return f"profile {name!r}{named} is not signed in{listed}"


def _profile_base_url(
    profile: Profile, base_url: str | None, allow_insecure_http: bool | None
) -> str:
    allowed = profile.insecure_http or config.insecure_http_allowed(allow_insecure_http)
    checked = config.normalize_base_url(profile.base_url, allow_insecure_http=allowed)
    given, named = base_url, "base_url"
    if given is None:
        given, named = os.environ.get(config.BASE_URL_ENV, "").strip() or None, config.BASE_URL_ENV
    if given is not None and canonical_server(given) != canonical_server(checked):
        raise ConfigurationError(
            f"Profile {profile.name!r} is signed in to {checked}, but {named} is {given}: its "
            f"token goes to its own server only. Drop {named}, or sign in to that server under "
            f"a profile of its own: `formexport login --profile NAME --base-url {given}` (or "
            "fx.login(base_url=..., profile=...))."
        )
    return checked

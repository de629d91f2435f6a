"""Signed-in profiles: which token to use, where it is kept, and the lookup order.

A profile names one sign-in: a server's base URL and a token checked when it was given
(:func:`formexport.login`). Its token is kept in the system keyring where one is available,
otherwise in a file only the user can read; the profile's other facts (server, the user's name
and e-mail seen at sign-in, where the token is kept) are in ``profiles.json`` of the user config
folder (``FORMEXPORT_CONFIG_DIR``). Every verb, :class:`~formexport.Client` and the command
line look for a token in one order: the ``token=`` argument, ``OPNFORM_API_TOKEN``, then the
profile named by ``profile=``, ``OPNFORM_PROFILE`` or ``default``
(:func:`~formexport.credentials.lookup.lookup_settings`).
"""

from formexport.credentials.lookup import lookup_settings
from formexport.credentials.names import chosen_profile, profile_name
from formexport.credentials.profiles import Profile, ProfileStore

__all__ = ["Profile", "ProfileStore", "chosen_profile", "lookup_settings", "profile_name"]

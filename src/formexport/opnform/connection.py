"""One OpnForm server and token, over one HTTP session: what a :class:`~formexport.Client` is,
and all that an export job needs of it (:meth:`formexport.ExportJob.attach` takes one)."""

from __future__ import annotations

import requests

from formexport import config
from formexport.opnform.endpoints import OpnFormAPI
from formexport.opnform.retry import RetryPolicy


class Connection:
    """Settings looked up once (server, token and where it came from) and the endpoints over
    one session.

    Parameters
    ----------
    settings : Settings
        The server and the token.
    session : requests.Session, optional
        Network settings to borrow (proxies, certificates, headers).
    retry : RetryPolicy, optional
        When to ask the server again and how to wait.
    """

    def __init__(
        self,
        settings: config.Settings,
        *,
        session: requests.Session | None = None,
        retry: RetryPolicy | None = None,
    ) -> None:
        self.settings = settings
        self.api = OpnFormAPI(settings, session=session, retry=retry)

    @property
    def base_url(self) -> str:
        """The API root requests go to."""
        return self.settings.base_url

    def close(self) -> None:
        """Release the HTTP connections."""
        self.api.close()

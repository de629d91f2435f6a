""":class:`~formexport.ExportJob`'s names from before ``delivery_mode`` and server jobs: they
still work, with a :class:`DeprecationWarning` that names the new one."""

from __future__ import annotations

import warnings

# ExportJob.strategy's words before delivery_mode named the server's two routes one way.
_OLD_MODE_NAMES = {"answered": "sync", "server_job": "async", "nothing_chosen": "sync"}


class OldNames:
    """The deprecated names of an export job (a base of :class:`~formexport.ExportJob`)."""

    @property
    def delivery_mode(self) -> str:
        """How the export is delivered (see :class:`~formexport.ExportJob`)."""
        raise NotImplementedError

    @property
    def is_server_job(self) -> bool:
        """True for a job on the server (see :class:`~formexport.ExportJob`)."""
        raise NotImplementedError

    @property
    def strategy(self) -> str:
        """Deprecated: :attr:`delivery_mode`, in the old words (``"sync"``, ``"async"``...)."""
        _deprecated("ExportJob.strategy", "ExportJob.delivery_mode")
        return _OLD_MODE_NAMES.get(self.delivery_mode, self.delivery_mode)

    @property
    def is_async(self) -> bool:
        """Deprecated: :attr:`is_server_job`."""
        _deprecated("ExportJob.is_async", "ExportJob.is_server_job")
        return self.is_server_job


def _deprecated(old: str, new: str) -> None:
    warnings.warn(f"{old} is deprecated; use {new}.", DeprecationWarning, stacklevel=3)

"""The emulator's knobs: one mutable dataclass, checked on every assignment.

Changes apply to the next request, so a test can flip ``sb.config.status_access`` between
two calls. A typo such as ``job_progression = "per-poll"`` raises at once instead of
silently falling back to a default.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import asdict, dataclass, fields
from typing import Any

from formexport.sandbox.platform.profiles import Profile, parse_version, profile_for

STATUS_ACCESS = ("blocked", "open")
JOB_PROGRESSIONS = ("immediate", "per_poll", "timed", "stuck")
FILE_HOSTS = ("local", "s3")
TIE_ORDERS = ("id", "random")

_CHOICES: dict[str, tuple[str, ...]] = {
    "status_access": STATUS_ACCESS,
    "job_progression": JOB_PROGRESSIONS,
    "file_host": FILE_HOSTS,
    "tie_order": TIE_ORDERS,
}
_BOOLS = ("docs_status_route", "range_requests", "rate_limits")
_INTS = ("link_lifetime_hours", "sync_threshold")
_POSITIVE_FLOATS = ("seconds_per_step", "rate_window_seconds", "status_ttl_seconds")
_OPTIONAL_POSITIVE_FLOATS = ("job_seconds",)


@dataclass
class SandboxConfig:
    """Settings of a running :class:`~formexport.sandbox.Sandbox`.

    Attributes
    ----------
    version : str
        Server version profile, e.g. ``"2.4.0"`` or ``"1.13.0"``.
    status_access : {"blocked", "open"}
        ``"blocked"`` is the real server: the export status route is missing from the
        token whitelist, so tokens get ``404 {"message": ""}``. ``"open"`` lets tokens poll.
    docs_status_route : bool
        Also serve the documented (non-existent) path ``…/export/{job}/status``.
    job_progression : {"immediate", "per_poll", "timed", "stuck"}
        How async jobs move: during the POST, one step per status poll, one step every
        ``seconds_per_step`` of sandbox time, or never (no queue worker).
    seconds_per_step : float
        Step length of the ``"timed"`` progression.
    job_seconds : float or None
        With the ``"timed"`` progression, a chosen duration for every job instead: its steps
        are spread evenly from the export request to its ``completed`` write, whatever its
        size. Its file is written from the start, by a copy when an identical export was
        written before (unchanged rows, same columns), so that a large job can take as little
        time as chosen; a file that takes longer ends the job when it is written.
    fail_jobs : str or None
        When set, jobs fail with this message right after they start processing.
    file_host : {"local", "s3"}
        Where ``file_url`` points: the API's ``/local/temp`` route or an S3-like host.
    link_lifetime_hours : int
        Workspace link lifetime (24, 72, 168, 336 or 720; other values mean 24).
    range_requests : bool
        Whether file hosts honour ``Range`` (206) or ignore it (200, whole file).
    rate_limits : bool
        Whether the Laravel throttles apply.
    rate_window_seconds : float
        Length of a rate-limit window (60 on a real server).
    sync_threshold : int
        Exports with more rows than this run as background jobs.
    status_ttl_seconds : float
        How long a job status entry lives after its last write.
    tie_order : {"id", "random"}
        The order of submissions created in the same second in the submissions list, which
        OpnForm sorts by ``created_at`` alone: highest id first, or ``"random"``, a fresh order
        for every request, as MySQL and PostgreSQL may return rows with equal sort keys under
        ``LIMIT``/``OFFSET`` (so one page may repeat a submission and miss another).

    Examples
    --------
    >>> config = SandboxConfig(version="2.2.1")
    >>> config.job_progression = "per_poll"
    >>> config.job_progression = "sometimes"
    Traceback (most recent call last):
    ...
    ValueError: job_progression must be one of immediate, per_poll, timed, stuck
    """

    version: str = "2.4.0"
    status_access: str = "blocked"
    docs_status_route: bool = False
    job_progression: str = "immediate"
    seconds_per_step: float = 0.5
    job_seconds: float | None = None
    fail_jobs: str | None = None
    file_host: str = "local"
    link_lifetime_hours: int = 24
    range_requests: bool = True
    rate_limits: bool = True
    rate_window_seconds: float = 60.0
    sync_threshold: int = 1000
    status_ttl_seconds: float = 7200.0
    tie_order: str = "id"

    def __setattr__(self, name: str, value: Any) -> None:
        object.__setattr__(self, name, _checked(name, value))

    @property
    def profile(self) -> Profile:
        """The feature switches of :attr:`version`."""
        return profile_for(self.version)

    def to_dict(self) -> dict[str, Any]:
        """The settings as a JSON-ready dict."""
        return asdict(self)

    def update(self, changes: Mapping[str, Any]) -> None:
        """Apply several settings at once; nothing changes if any of them is invalid."""
        checked = {name: _checked(name, value) for name, value in changes.items()}
        for name, value in checked.items():
            object.__setattr__(self, name, value)

    def copy(self) -> SandboxConfig:
        """An independent copy."""
        return SandboxConfig(**self.to_dict())


_NAMES = frozenset(f.name for f in fields(SandboxConfig))


def _checked(name: str, value: Any) -> Any:
    if name not in _NAMES:
        raise AttributeError(f"SandboxConfig has no setting {name!r}")
    if name == "version":
        if not isinstance(value, str):
            raise TypeError("version must be a string such as '2.4.0'")
        parse_version(value)
    elif name in _CHOICES:
        if value not in _CHOICES[name]:
            raise ValueError(f"{name} must be one of {', '.join(_CHOICES[name])}")
    elif name in _BOOLS:
        if not isinstance(value, bool):
            raise TypeError(f"{name} must be True or False")
    elif name in _INTS:
        if isinstance(value, bool) or not isinstance(value, int):
            raise TypeError(f"{name} must be an integer")
    elif name in _POSITIVE_FLOATS or (name in _OPTIONAL_POSITIVE_FLOATS and value is not None):
        value = _positive(name, value)
    elif name == "fail_jobs" and value is not None and not isinstance(value, str):
        raise TypeError("fail_jobs must be None or an error message")
    return value


def _positive(name: str, value: Any) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise TypeError(f"{name} must be a number")
    if not math.isfinite(value) or value <= 0:
        raise ValueError(f"{name} must be > 0")
    return float(value)

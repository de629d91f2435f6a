"""Server version profiles: which OpnForm release introduced each behaviour a client sees.

The switches follow the OpnForm release (tag) that introduced each change; a
:class:`Profile` is computed once per version string and is immutable.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache

Version = tuple[int, int, int]

#: The oldest release with the public API (Sanctum personal access tokens).
MIN_VERSION: Version = (1, 8, 0)

#: Releases where something a client can observe changed.
KNOWN_VERSIONS = (
    "1.8.0",
    "1.9.3",
    "1.12.0",
    "1.13.0",
    "1.13.2",
    "2.0.0",
    "2.1.0",
    "2.2.1",
    "2.3.0",
    "2.4.0",
)

_VERSION = re.compile(r"^v?(\d+)\.(\d+)(?:\.(\d+))?$")


def parse_version(text: str) -> Version:
    """``"2.4.0"`` (or ``"v2.4"``) as a comparable tuple; ``ValueError`` otherwise."""
    match = _VERSION.match(text.strip())
    if match is None:
        raise ValueError(f"not a version: {text!r} (expected e.g. '2.4.0')")
    major, minor, patch = match.groups()
    version = (int(major), int(minor), int(patch or 0))
    if version < MIN_VERSION:
        raise ValueError(f"OpnForm {text} predates the public API (first in 1.8.0)")
    return version


@dataclass(frozen=True)
class Profile:
    """Feature switches of one server version (True means the newer behaviour)."""

    version: Version
    async_export: bool  # 1.9.3: > threshold rows go to a queued job
    submission_ids: bool  # 1.13.0: export accepts submissionIds
    light_form_list: bool  # 1.13.0: workspace form list without properties
    columns_required: bool  # 1.13.2: columns required and non-empty
    file_links_b64: bool  # 1.13.2: in-CSV file links carry base64url names
    split_limiters: bool  # 2.0.0: export 10/min, status 180/min
    status_column_key: bool  # 2.0.0: "status" is a valid column key
    file_links_expire: bool  # 2.0.0: in-CSV file links are temporary
    single_submission_route: bool  # 2.0.0: GET /open/forms/{f}/submissions/{id}
    public_submission_id: bool  # 2.1.0: submission_id is a UUID
    lifetime_setting: bool  # 2.2.1: link lifetime setting, expiry from job start
    async_bom: bool  # 2.3.0: async CSV starts with a BOM
    forms_per_page: bool  # 2.3.0: workspace form list accepts per_page
    attribution: bool  # 2.4.0: meta.attribution.* columns


@lru_cache(maxsize=64)
def profile_for(text: str) -> Profile:
    """The :class:`Profile` of a version string such as ``"2.3.0"``."""
    v = parse_version(text)
    return Profile(
        version=v,
        async_export=v >= (1, 9, 3),
        submission_ids=v >= (1, 13, 0),
        light_form_list=v >= (1, 13, 0),
        columns_required=v >= (1, 13, 2),
        file_links_b64=v >= (1, 13, 2),
        split_limiters=v >= (2, 0, 0),
        status_column_key=v >= (2, 0, 0),
        file_links_expire=v >= (2, 0, 0),
        single_submission_route=v >= (2, 0, 0),
        public_submission_id=v >= (2, 1, 0),
        lifetime_setting=v >= (2, 2, 1),
        async_bom=v >= (2, 3, 0),
        forms_per_page=v >= (2, 3, 0),
        attribution=v >= (2, 4, 0),
    )

"""Small helpers shared by the integration tests."""

from __future__ import annotations

import requests
from hashids import Hashids

from formexport.sandbox import RecordedRequest, Sandbox


def submission_ids(sandbox: Sandbox, form: int) -> list[int]:
    """Every submission id of a form, read straight from the emulator's JSON API."""
    ids: list[int] = []
    page = 1
    while True:
        body = requests.get(
            f"{sandbox.base_url}/open/forms/{form}/submissions",
            params={"page": page, "per_page": 100},
            headers={"Authorization": f"Bearer {sandbox.token}"},
            timeout=10,
        ).json()
        ids += [item["id"] for item in body["data"]]
        if page >= body["meta"]["last_page"]:
            return ids
        page += 1


def assert_same_submissions(encoded: list[str], ids: list[int]) -> None:
    """The CSV's ``id`` column holds each submission of ``ids`` exactly once.

    The synchronous writer turns hashids that look like numbers (``2e1``) into numbers
    (``20``), as OpnForm's does; those cannot be decoded and are only counted.
    """
    codec = Hashids()
    decoded = [found[0] for value in encoded if (found := codec.decode(value))]
    assert len(encoded) == len(ids)
    assert len(set(encoded)) == len(encoded)
    assert set(decoded) <= set(ids)
    assert len(decoded) >= len(ids) * 0.99


def served(sandbox: Sandbox, method: str, fragment: str) -> list[RecordedRequest]:
    """Requests whose path contains ``fragment``."""
    return [r for r in sandbox.requests if r.method == method and fragment in r.path]


def exports(sandbox: Sandbox) -> list[RecordedRequest]:
    """The export requests the emulator received."""
    return served(sandbox, "POST", "/submissions/export")

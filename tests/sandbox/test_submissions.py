"""``GET /open/forms/{f}/submissions``: paging quirks and the item shape."""

from __future__ import annotations

import re
from typing import Any

import pytest

from formexport.sandbox import Sandbox
from tests.sandbox.helpers import Api


def _page(api: Api, form_id: int, query: str = "") -> dict[str, Any]:
    response = api.get(f"/open/forms/{form_id}/submissions{query}")
    assert response.status_code == 200, response.text
    return dict(response.json())


def test_default_page_and_links_without_query(api: Api, sb: Sandbox) -> None:
    body = _page(api, 1, "?per_page=100&status=all")
    assert len(body["data"]) == 100
    assert body["meta"]["total"] == 250
    assert body["meta"]["last_page"] == 3
    assert body["links"]["next"] == f"{sb.base_url}/open/forms/1/submissions?page=2"
    assert body["meta"]["path"] == f"{sb.base_url}/open/forms/1/submissions"
    ids = [item["id"] for item in body["data"]]
    assert ids == list(range(250, 150, -1))  # newest first


@pytest.mark.parametrize(
    ("per_page", "size", "meta_per_page"), [("500", 100, 100), ("0", 15, 15), ("7", 7, 7)]
)
def test_per_page_rules(api: Api, per_page: str, size: int, meta_per_page: int) -> None:
    body = _page(api, 1, f"?per_page={per_page}")
    assert (len(body["data"]), body["meta"]["per_page"]) == (size, meta_per_page)


def test_negative_per_page_returns_everything(api: Api) -> None:
    body = _page(api, 1, "?per_page=-5&page=3")
    assert len(body["data"]) == 250
    assert (body["meta"]["per_page"], body["meta"]["last_page"]) == (-5, 1)


def test_status_filter(api: Api) -> None:
    partial = _page(api, 2, "?status=partial")
    completed = _page(api, 2, "?status=completed")
    assert partial["meta"]["total"] + completed["meta"]["total"] == 2500
    assert partial["meta"]["total"] > 0
    assert {i["data"]["status"] for i in partial["data"]} == {"partial"}
    assert {i["data"]["status"] for i in completed["data"]} == {"completed"}
    assert api.form(2)["submissions_count"] == completed["meta"]["total"]


def test_item_shape(api: Api) -> None:
    item = _page(api, 2, "?per_page=1")["data"][0]
    assert list(item)[:5] == ["data", "completion_time", "form_id", "id", "submission_id"]
    data = item["data"]
    assert list(data)[-4:] == ["status", "created_at", "id", "submission_id"]
    assert re.fullmatch(r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d", data["created_at"])
    assert item["form_id"] == 2


def test_file_fields_become_signed_links_for_ten_minutes(api: Api, sb: Sandbox) -> None:
    form = api.form(2)
    documents = next(f["id"] for f in form["properties"] if f["name"] == "Documents")
    items = _page(api, 2)["data"]
    files = next(i["data"][documents] for i in items if i["data"].get(documents))
    assert set(files[0]) == {"file_url", "file_name"}
    assert files[0]["file_url"].startswith(f"{sb.base_url}/open/forms/2/submissions/file/")
    assert api.session.get(files[0]["file_url"]).status_code == 200
    sb.clock.advance(601)
    assert api.session.get(files[0]["file_url"]).status_code == 403


def test_page_window_links(api: Api) -> None:
    def labels(page: int) -> list[str]:
        links = _page(api, 2, f"?page={page}")["meta"]["links"]
        return [link["label"] for link in links]

    assert labels(3) == [
        "&laquo; Previous",
        *[str(n) for n in range(1, 11)],
        "...",
        "24",
        "25",
        "Next &raquo;",
    ]
    assert labels(12) == [
        "&laquo; Previous",
        "1",
        "2",
        "...",
        *[str(n) for n in range(9, 16)],
        "...",
        "24",
        "25",
        "Next &raquo;",
    ]
    assert labels(24) == [
        "&laquo; Previous",
        "1",
        "2",
        "...",
        *[str(n) for n in range(16, 26)],
        "Next &raquo;",
    ]


def test_empty_form_page(api: Api) -> None:
    body = _page(api, 3)
    assert body["data"] == []
    assert (body["meta"]["from"], body["meta"]["to"], body["meta"]["last_page"]) == (None, None, 1)


def test_added_submissions_sort_by_created_at(api: Api, sb: Sandbox) -> None:
    newest = sb.add_submission(1, {}, created_at="2030-01-01T00:00:00Z")
    oldest = sb.add_submission(1, {}, created_at="2020-01-01T00:00:00Z")
    ids = [i["id"] for i in _page(api, 1, "?per_page=-1")["data"]]
    assert ids[0] == newest
    assert ids[-1] == oldest


def test_search_matches_any_stored_value(api: Api, sb: Sandbox) -> None:
    name = api.form(1)["properties"][0]["id"]
    sb.add_submission(1, {name: "Quetzalcoatl Rivera"})
    body = _page(api, 1, "?search=quetzal&per_page=5")
    assert [item["data"][name] for item in body["data"]] == ["Quetzalcoatl Rivera"]
    assert body["links"]["first"].endswith("/open/forms/1/submissions?page=1")

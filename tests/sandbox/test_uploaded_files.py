"""The file route: uploaded files behind signed links, as ``submissionFile`` serves them.

Bytes a test can check (``Sandbox.uploaded_file``), ``Range``, files the disk lost (404), names
no client should trust, and the S3 redirect.
"""

from __future__ import annotations

import base64
import re
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
import requests

from formexport.sandbox import Sandbox
from formexport.sandbox.data.uploads import MAX_SIZE, MIN_SIZE, upload_bytes
from tests.sandbox.helpers import Api

HOSTILE_NAMES = [
    "..",
    ".",
    "CON",
    "nul.txt",
    "a\x01b\x7f.pdf",
    "tab\tand\nnewline.pdf",
    "x" * 300 + ".pdf",
    "é" * 150 + ".png",
    "C:evil.exe",
    'quo"te*?<>|.txt',
    " spaced. ",
]


def _form_with_files(sb: Sandbox, names: list[Any]) -> tuple[int, str]:
    """A form whose one submission holds ``names`` in a file field; its id and the field's."""
    form = sb.add_form("Uploads", [{"type": "files", "name": "Documents"}])
    field_id = form["properties"][0]["id"]
    sb.add_submission(form["id"], {field_id: names})
    return form["id"], field_id


def _links(api: Api, form_id: int, field_id: str) -> list[str]:
    body = api.export(form_id, {field_id: True}).content.decode("utf-8-sig")
    return re.findall(r"http://[^\",]+", body)


def _name(link: str) -> str:
    segment = urlsplit(link).path.rsplit("/", 1)[1]
    return base64.urlsafe_b64decode(segment + "=" * (-len(segment) % 4)).decode()


def test_each_name_has_its_own_bytes_the_same_every_time() -> None:
    pdf, png = upload_bytes(7, "cv_1.pdf"), upload_bytes(7, "sign_1.png")
    assert MIN_SIZE <= len(pdf) <= MAX_SIZE
    assert pdf == upload_bytes(7, "cv_1.pdf")
    assert pdf != upload_bytes(8, "cv_1.pdf") != upload_bytes(7, "cv_2.pdf")
    assert png.startswith(b"\x89PNG\r\n")


def test_a_link_serves_the_files_bytes_with_ranges(api: Api, sb: Sandbox) -> None:
    form_id, field_id = _form_with_files(sb, ["cv_1.pdf", "photo_2.jpg"])
    links = _links(api, form_id, field_id)
    assert [_name(link) for link in links] == ["cv_1.pdf", "photo_2.jpg"]
    whole = api.session.get(links[0])
    assert (
        whole.content == sb.uploaded_file(form_id, "cv_1.pdf") == upload_bytes(form_id, "cv_1.pdf")
    )
    assert whole.headers["Accept-Ranges"] == "bytes"
    assert whole.headers["X-Content-Type-Options"] == "nosniff"
    tail = api.session.get(links[0], headers={"Range": "bytes=100-"})
    assert tail.status_code == 206
    assert tail.content == whole.content[100:]
    beyond = api.session.get(links[0], headers={"Range": f"bytes={len(whole.content)}-"})
    assert beyond.status_code == 416
    assert beyond.headers["Content-Range"] == f"bytes */{len(whole.content)}"


def test_stored_bytes_are_served(api: Api, sb: Sandbox) -> None:
    form_id, field_id = _form_with_files(sb, ["big.bin"])
    sb.store_uploaded_file(form_id, "big.bin", b"0123456789" * 50_000)
    response = api.session.get(_links(api, form_id, field_id)[0])
    assert response.content == b"0123456789" * 50_000


def test_a_lost_file_is_404_file_not_found(api: Api, sb: Sandbox) -> None:
    form_id, field_id = _form_with_files(sb, ["cv_1.pdf", "cv_2.pdf"])
    links = _links(api, form_id, field_id)
    sb.lose_uploaded_file(form_id, "cv_1.pdf")
    gone = api.session.get(links[0])
    assert gone.status_code == 404
    assert gone.json() == {"type": "error", "message": "File not found."}
    assert sb.uploaded_file(form_id, "cv_1.pdf") is None
    assert api.session.get(links[1]).status_code == 200


def test_the_control_api_stores_and_loses_files(api: Api, sb: Sandbox) -> None:
    form_id, field_id = _form_with_files(sb, ["a.txt", "b.txt"])
    control = f"{sb.base_url}/_sandbox/forms/{form_id}/uploads"
    assert requests.put(control, json={"name": "a.txt", "content": "hello"}, timeout=10).ok
    assert requests.delete(control, json={"names": ["b.txt"]}, timeout=10).json() == {
        "lost": ["b.txt"]
    }
    first, second = _links(api, form_id, field_id)
    assert api.session.get(first).content == b"hello"
    assert api.session.get(second).status_code == 404


def test_links_expire_and_the_json_list_signs_for_ten_minutes(api: Api, sb: Sandbox) -> None:
    form_id, field_id = _form_with_files(sb, ["cv_1.pdf"])
    exported = _links(api, form_id, field_id)[0]
    listed = api.get(f"/open/forms/{form_id}/submissions").json()["data"][0]["data"][field_id]
    assert listed[0]["file_name"] == "cv_1.pdf"
    fresh = listed[0]["file_url"]
    sb.clock.advance(11 * 60)
    assert api.session.get(fresh).status_code == 403
    assert api.session.get(exported).status_code == 200
    sb.clock.advance(24 * 3600)
    refused = api.session.get(exported)
    assert refused.status_code == 403
    assert refused.json() == {"message": "Invalid signature."}


@pytest.mark.parametrize("name", HOSTILE_NAMES)
def test_names_no_client_should_trust_are_served(api: Api, sb: Sandbox, name: str) -> None:
    form_id, field_id = _form_with_files(sb, [name])
    link = _links(api, form_id, field_id)[0]
    assert _name(link) == name
    response = api.session.get(link)
    assert response.status_code == 200
    assert response.content == sb.uploaded_file(form_id, name)
    assert "\n" not in response.headers["Content-Disposition"]


def test_a_name_with_a_separator_fails_on_the_server(api: Api, sb: Sandbox) -> None:
    form_id, field_id = _form_with_files(sb, ["../../etc/passwd", "..\\boot.ini"])
    for link in _links(api, form_id, field_id):
        response = api.session.get(link)
        assert response.status_code == 500  # FileUploadPathService throws
        assert response.json() == {"message": "Server Error"}


def test_a_name_outside_ascii_has_a_utf8_disposition(api: Api, sb: Sandbox) -> None:
    form_id, field_id = _form_with_files(sb, ["Café 😀.pdf"])
    response = api.session.get(_links(api, form_id, field_id)[0])
    assert response.headers["Content-Disposition"] == (
        "attachment; filename=\"Cafe .pdf\"; filename*=utf-8''Caf%C3%A9%20%F0%9F%98%80.pdf"
    )


def test_s3_storage_redirects_for_any_name(api: Api, sb: Sandbox) -> None:
    sb.config.file_host = "s3"
    form_id, field_id = _form_with_files(sb, ["..", "cv_1.pdf"])
    for link, name in zip(_links(api, form_id, field_id), ["..", "cv_1.pdf"], strict=True):
        redirect = api.session.get(link, allow_redirects=False)
        assert redirect.status_code == 302
        assert parse_qs(urlsplit(redirect.headers["Location"]).query)["X-Amz-Expires"] == ["60"]
        assert api.session.get(link).content == sb.uploaded_file(form_id, name)

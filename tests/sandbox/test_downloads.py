"""Signed downloads: the local ``/local/temp`` route, the S3-like host and in-CSV file links."""

from __future__ import annotations

import base64
import re
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest

from formexport.sandbox import Sandbox
from tests.sandbox.helpers import Api

S3_TWO_AUTH = (
    "Only one auth mechanism allowed; only the X-Amz-Algorithm query parameter, Signature "
    "query string parameter or the Authorization header should be specified"
)


def _tamper(url: str, name: str) -> str:
    return re.sub(rf"({name}=)([0-9a-f])", lambda m: m[1] + ("0" if m[2] != "0" else "1"), url)


def _export_url(api: Api) -> str:
    return str(api.finished_job(2, api.all_columns(2, "created_at"))["file_url"])


# --- local disk ---------------------------------------------------------------------


def test_local_download(api: Api, sb: Sandbox) -> None:
    url = _export_url(api)
    response = api.session.get(url)
    assert response.status_code == 200
    assert response.content.startswith(b"\xef\xbb\xbfid,")
    assert response.content.count(b"\n") > 2500
    assert response.headers["Content-Type"] == "text/csv; charset=UTF-8"
    name = urlsplit(url).path.rsplit("/", 1)[1]
    assert response.headers["Content-Disposition"] == f'attachment; filename="{name}"'
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert response.headers["X-RateLimit-Limit"] == "100"
    assert urlsplit(url).netloc == urlsplit(sb.base_url).netloc


@pytest.mark.parametrize("change", ["signature", "expires", "drop"])
def test_bad_local_signature_is_401(api: Api, change: str) -> None:
    url = _export_url(api)
    if change == "drop":
        url = url.split("?")[0]
    elif change == "expires":
        url = re.sub(r"expires=(\d+)", lambda m: f"expires={int(m[1]) + 1}", url)
    else:
        url = _tamper(url, "signature")
    response = api.session.get(url)
    assert (response.status_code, response.text) == (401, '{\n    "message": ""\n}')


def test_local_link_expires(api: Api, sb: Sandbox) -> None:
    url = _export_url(api)
    sb.clock.advance(24 * 3600 - 5)
    assert api.session.get(url).status_code == 200
    sb.clock.advance(10)
    assert api.session.get(url).status_code == 401


def test_local_link_via_api_prefix(api: Api, sb: Sandbox) -> None:
    url = _export_url(api).replace(sb.base_url, sb.api_url)
    assert api.session.get(url).status_code == 200


def test_range_requests(api: Api, sb: Sandbox) -> None:
    url = _export_url(api)
    whole = api.session.get(url).content
    tail = api.session.get(url, headers={"Range": "bytes=1000-"})
    assert tail.status_code == 206
    assert tail.headers["Content-Range"] == f"bytes 1000-{len(whole) - 1}/{len(whole)}"
    assert tail.content == whole[1000:]
    middle = api.session.get(url, headers={"Range": "bytes=10-19"})
    assert (middle.status_code, middle.content) == (206, whole[10:20])
    beyond = api.session.get(url, headers={"Range": f"bytes={len(whole)}-"})
    assert beyond.status_code == 416
    assert beyond.headers["Content-Range"] == f"bytes */{len(whole)}"
    sb.config.range_requests = False
    ignored = api.session.get(url, headers={"Range": "bytes=1000-"})
    assert (ignored.status_code, ignored.content) == (200, whole)
    assert "Content-Range" not in ignored.headers


# --- S3-like host -------------------------------------------------------------------


@pytest.fixture
def s3_url(api: Api, sb: Sandbox) -> str:
    sb.config.file_host = "s3"
    return _export_url(api)


def test_s3_presigned_url_shape(s3_url: str, sb: Sandbox) -> None:
    assert s3_url.startswith(f"{sb.file_host_url}/opnform-exports/exports/temp/")
    query = parse_qs(urlsplit(s3_url).query)
    assert query["X-Amz-Algorithm"] == ["AWS4-HMAC-SHA256"]
    assert query["X-Amz-SignedHeaders"] == ["host"]
    assert query["X-Amz-Expires"] == ["86400"]
    assert re.fullmatch(r"\d{8}T\d{6}Z", query["X-Amz-Date"][0])
    assert re.fullmatch(r"[0-9a-f]{64}", query["X-Amz-Signature"][0])
    assert query["X-Amz-Credential"][0].endswith("/us-east-1/s3/aws4_request")


def test_s3_download(api: Api, s3_url: str, sb: Sandbox) -> None:
    response = api.session.get(s3_url)
    assert response.status_code == 200
    assert response.content.startswith(b"\xef\xbb\xbfid,")
    assert response.headers["Content-Type"] == "text/csv"
    assert "Content-Disposition" not in response.headers
    assert response.headers["Server"] == "AmazonS3"
    file_host = urlsplit(sb.file_host_url).netloc
    logged = [r for r in sb.requests if r.host == file_host]
    assert [(r.method, r.status) for r in logged] == [("GET", 200)]
    assert "Authorization" not in logged[0].headers


def test_s3_rejects_an_authorization_header(api: Api, s3_url: str, sb: Sandbox) -> None:
    response = api.get(s3_url)  # the helper adds the OpnForm bearer token
    assert response.status_code == 400
    assert response.headers["Content-Type"] == "application/xml"
    assert "<Code>InvalidArgument</Code>" in response.text
    assert f"<Message>{S3_TWO_AUTH}</Message>" in response.text
    assert "<ArgumentName>Authorization</ArgumentName>" in response.text
    assert sb.requests[-1].headers["authorization"].startswith("Bearer ")


def test_s3_expired_and_tampered(api: Api, s3_url: str, sb: Sandbox) -> None:
    tampered = api.session.get(_tamper(s3_url, "X-Amz-Signature"))
    assert tampered.status_code == 403
    assert "<Code>SignatureDoesNotMatch</Code>" in tampered.text
    unsigned = api.session.get(s3_url.split("?")[0])
    assert (unsigned.status_code, "<Code>AccessDenied</Code>" in unsigned.text) == (403, True)
    sb.clock.advance(86401)
    expired = api.session.get(s3_url)
    assert expired.status_code == 403
    assert "<Code>AccessDenied</Code><Message>Request has expired</Message>" in expired.text
    assert "<X-Amz-Expires>86400</X-Amz-Expires>" in expired.text


def test_s3_ranges(api: Api, s3_url: str, sb: Sandbox) -> None:
    whole = api.session.get(s3_url).content
    part = api.session.get(s3_url, headers={"Range": "bytes=5-"})
    assert part.status_code == 206
    assert part.headers["Content-Range"] == f"bytes 5-{len(whole) - 1}/{len(whole)}"
    assert part.content == whole[5:]
    sb.config.range_requests = False
    assert api.session.get(s3_url, headers={"Range": "bytes=5-"}).status_code == 200


def test_s3_cannot_sign_beyond_a_week(api: Api, sb: Sandbox) -> None:
    sb.config.file_host = "s3"
    sb.config.link_lifetime_hours = 336
    sb.config.status_access = "open"
    job_id = api.start_job(2, {"created_at": True})
    body = api.status(2, job_id).json()
    assert body["status"] == "failed"
    assert body["error_message"] == (
        "The expiration date of a signature version 4 presigned URL must be less than one week"
    )


def test_s3_host_starts_when_configured_at_construction() -> None:
    from formexport.sandbox import SandboxConfig

    with Sandbox(seed=False, config=SandboxConfig(file_host="s3")) as sandbox:
        assert sandbox.info()["file_host_url"].startswith("http://127.0.0.2:")


# --- in-CSV file links --------------------------------------------------------------


def _links(api: Api, ids: list[int] | None = None) -> list[str]:
    form = api.form(2)
    documents = next(f["id"] for f in form["properties"] if f["name"] == "Documents")
    body = api.export(2, {documents: True}, ids=ids or list(range(251, 271))).content.decode()
    return re.findall(r"http://[^\",]+", body)


def test_file_links_are_signed_and_anonymous(api: Api, sb: Sandbox) -> None:
    links = _links(api)
    assert links
    query = parse_qs(urlsplit(links[0]).query)
    assert set(query) == {"expires", "signature"}
    response = api.session.get(links[0])
    assert response.status_code == 200
    assert response.headers["Content-Type"] == "application/octet-stream"
    name = base64.urlsafe_b64decode(urlsplit(links[0]).path.rsplit("/", 1)[1] + "==").decode()
    assert response.headers["Content-Disposition"] == f"attachment; filename={name}"
    assert response.content == sb.uploaded_file(2, name)
    bad = api.session.get(_tamper(links[0], "signature"))
    assert bad.status_code == 403
    assert bad.json() == {"message": "Invalid signature."}


def test_file_links_expire_with_the_workspace_lifetime(api: Api, sb: Sandbox) -> None:
    sb.config.link_lifetime_hours = 72
    link = _links(api)[0]
    sb.clock.advance(71 * 3600)
    assert api.session.get(link).status_code == 200
    sb.clock.advance(2 * 3600)
    assert api.session.get(link).status_code == 403


@pytest.mark.parametrize(
    ("version", "has_expires", "b64"),
    [
        ("2.4.0", True, True),
        ("2.0.0", True, True),
        ("1.13.2", False, True),
        ("1.13.0", False, False),
    ],
)
def test_file_link_format_by_version(
    api: Api, sb: Sandbox, version: str, has_expires: bool, b64: bool
) -> None:
    sb.config.version = version
    ids: Any = list(range(251, 271)) if version >= "1.13.0" else None
    link = _links(api, ids)[0]
    query = parse_qs(urlsplit(link).query)
    assert ("expires" in query) is has_expires
    segment = urlsplit(link).path.rsplit("/", 1)[1]
    assert ("." not in segment) is b64  # a raw stored name keeps its extension
    assert api.session.get(link).status_code == 200


def test_file_links_redirect_to_s3_storage(api: Api, sb: Sandbox) -> None:
    sb.config.file_host = "s3"
    link = _links(api)[0]
    redirect = api.session.get(link, allow_redirects=False)
    assert redirect.status_code == 302
    location = redirect.headers["Location"]
    assert location.startswith(f"{sb.file_host_url}/opnform-exports/forms/2/submissions/")
    assert parse_qs(urlsplit(location).query)["X-Amz-Expires"] == ["60"]
    followed = api.get(link)  # requests drops the bearer token when the host changes
    assert followed.status_code == 200
    assert followed.content
    sb.clock.advance(61)
    assert api.session.get(location).status_code == 403

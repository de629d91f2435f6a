"""Each injected fault, as a client sees it on the wire."""

from __future__ import annotations

import http.client
import socket
import struct
import time
from collections.abc import Iterator
from contextlib import contextmanager
from urllib.parse import urlsplit

import pytest
import requests

from formexport.sandbox import Fault, Sandbox
from tests.sandbox.helpers import Api


@contextmanager
def _raw_get(url: str) -> Iterator[http.client.HTTPResponse]:
    """A GET through http.client, which exposes short reads (requests hides them)."""
    parts = urlsplit(url)
    connection = http.client.HTTPConnection(parts.hostname or "", parts.port, timeout=10)
    try:
        connection.request("GET", f"{parts.path}?{parts.query}")
        yield connection.getresponse()
    finally:
        connection.close()


def _file_url(api: Api) -> str:
    return str(api.finished_job(2, api.all_columns(2))["file_url"])


def test_status_answer_replaced_a_number_of_times(api: Api, sb: Sandbox) -> None:
    job_id = api.start_job(2, {"created_at": True})
    sb.config.status_access = "open"
    sb.faults.add(
        Fault(
            "status",
            http_status=503,
            body='{"message":"down"}',
            headers={"Retry-After": "1"},
            times=2,
        )
    )
    first, second, third = (api.status(2, job_id) for _ in range(3))
    assert (first.status_code, first.json(), first.headers["Retry-After"]) == (
        503,
        {"message": "down"},
        "1",
    )
    assert second.status_code == 503
    assert third.status_code == 200
    assert [r.status for r in sb.requests][-3:] == [503, 503, 200]
    assert len(sb.faults) == 0


def test_replacement_defaults_to_a_json_reason(api: Api, sb: Sandbox) -> None:
    sb.faults.add(Fault("form", http_status=502))
    response = api.get("/open/forms/1")
    assert response.status_code == 502
    assert response.json() == {"message": "Bad Gateway"}
    assert response.headers["Content-Type"] == "application/json"


def test_cut_after_sends_full_length_then_closes(api: Api, sb: Sandbox) -> None:
    url = _file_url(api)
    total = len(api.session.get(url).content)
    sb.faults.add(Fault("download", cut_after=1000))
    with _raw_get(url) as response:
        assert response.getheader("Content-Length") == str(total)
        with pytest.raises(http.client.IncompleteRead) as caught:
            response.read()
    assert len(caught.value.partial) == 1000
    assert api.session.get(url).status_code == 200  # used up after one request


def test_cut_after_through_requests(api: Api, sb: Sandbox) -> None:
    url = _file_url(api)
    sb.faults.add(Fault("download", cut_after=10))
    with pytest.raises(requests.exceptions.ChunkedEncodingError):
        api.session.get(url)


def test_bytes_per_second_throttles(api: Api, sb: Sandbox) -> None:
    url = _file_url(api)
    sb.faults.add(Fault("download", bytes_per_second=4_000_000))
    started = time.monotonic()
    body = api.session.get(url).content
    elapsed = time.monotonic() - started
    assert elapsed >= len(body) / 4_000_000 * 0.8
    assert body.startswith(b"\xef\xbb\xbfid,")


def test_delay_causes_read_timeouts(api: Api, sb: Sandbox) -> None:
    sb.faults.add(Fault("form", delay=0.4))
    with pytest.raises(requests.exceptions.ReadTimeout):
        api.get("/open/forms/1", timeout=0.1)
    deadline = time.monotonic() + 5
    while not sb.requests and time.monotonic() < deadline:
        time.sleep(0.02)  # let the delayed answer finish before the next test resets
    assert sb.requests[0].status == 200


def test_reset_closes_without_response(api: Api, sb: Sandbox) -> None:
    sb.faults.add(Fault("any", reset=True))
    with pytest.raises(requests.exceptions.ConnectionError):
        api.get("/open/forms/1")
    assert sb.requests[-1].status is None
    assert api.get("/open/forms/1").status_code == 200


def test_html_and_invalid_json(api: Api, sb: Sandbox) -> None:
    sb.faults.add(Fault("form", html=True))
    sb.faults.add(Fault("form", invalid_json=True))
    page = api.get("/open/forms/1")
    assert page.status_code == 200
    assert page.headers["Content-Type"] == "text/html; charset=UTF-8"
    assert page.text.startswith("<!doctype html>")
    broken = api.get("/open/forms/1")
    assert broken.headers["Content-Type"] == "application/json"
    with pytest.raises(ValueError):  # noqa: PT011 - requests' JSONDecodeError
        broken.json()


@pytest.mark.parametrize("delta", [10, -10])
def test_length_mismatch(api: Api, sb: Sandbox, delta: int) -> None:
    url = _file_url(api)
    whole = api.session.get(url).content
    sb.faults.add(Fault("download", length_mismatch=delta))
    with _raw_get(url) as response:
        assert response.getheader("Content-Length") == str(len(whole) + delta)
        if delta > 0:
            with pytest.raises(http.client.IncompleteRead):
                response.read()
        else:
            assert response.read() == whole[:delta]


def test_first_matching_fault_applies_and_any_matches_all(api: Api, sb: Sandbox) -> None:
    sb.faults.add(Fault("export", http_status=500))
    sb.faults.add(Fault("any", http_status=503))
    assert api.get("/open/forms/1").status_code == 503
    assert api.export(1, {"created_at": True}).status_code == 500
    assert api.export(1, {"created_at": True}).status_code == 200


def test_forever_until_cleared(api: Api, sb: Sandbox) -> None:
    sb.faults.add(Fault("submissions", http_status=500, times=None))
    assert [api.get("/open/forms/1/submissions").status_code for _ in range(3)] == [500] * 3
    sb.faults.clear()
    assert api.get("/open/forms/1/submissions").status_code == 200


def test_faults_reach_the_s3_host(api: Api, sb: Sandbox) -> None:
    sb.config.file_host = "s3"
    url = _file_url(api)
    sb.faults.add(
        Fault("download", http_status=500, body="<Error><Code>InternalError</Code></Error>")
    )
    response = api.session.get(url)
    assert response.status_code == 500
    assert response.headers["Content-Type"] == "text/html; charset=UTF-8"
    assert api.session.get(url).status_code == 200


def test_unknown_routes_only_match_any(api: Api, sb: Sandbox) -> None:
    sb.faults.add(Fault("form", http_status=500))
    assert api.get("/nowhere").status_code == 404
    assert api.get("/open/forms/1").status_code == 500


def test_requests_record_their_arrival_time(api: Api, sb: Sandbox) -> None:
    before = time.monotonic()
    api.get("/open/forms/1")
    between = time.monotonic()
    api.get("/open/forms/2")
    after = time.monotonic()
    first, second = sb.requests
    assert before <= first.at <= between <= second.at <= after
    assert first.to_dict()["at"] == first.at


def test_reset_requests_record_their_arrival_time(api: Api, sb: Sandbox) -> None:
    sb.faults.add(Fault("form", reset=True))
    before = time.monotonic()
    with pytest.raises(requests.exceptions.ConnectionError):
        api.get("/open/forms/1")
    assert sb.requests[0].status is None
    assert sb.requests[0].at >= before


def test_stall_holds_the_body_after_some_bytes(api: Api, sb: Sandbox) -> None:
    url = _file_url(api)
    whole = api.session.get(url).content
    sb.faults.add(Fault("download", stall=0.5, stall_after=1000))
    parts = urlsplit(url)
    connection = http.client.HTTPConnection(parts.hostname or "", parts.port, timeout=0.2)
    try:
        connection.request("GET", f"{parts.path}?{parts.query}")
        response = connection.getresponse()
        assert response.read(1000) == whole[:1000]
        with pytest.raises(TimeoutError):
            response.read(1)
    finally:
        connection.close()


def test_stalled_body_arrives_whole_for_a_patient_client(api: Api, sb: Sandbox) -> None:
    url = _file_url(api)
    whole = api.session.get(url).content
    sb.faults.add(Fault("download", stall=0.2, stall_after=70_000))
    assert api.session.get(url, timeout=5).content == whole


def test_stall_right_after_the_headers_by_default(api: Api, sb: Sandbox) -> None:
    sb.faults.add(Fault("form", stall=0.5))
    response = api.session.get(
        f"{sb.base_url}/open/forms/1", headers=api.headers(), stream=True, timeout=0.2
    )
    assert response.status_code == 200
    with pytest.raises(requests.exceptions.ConnectionError):
        response.content  # noqa: B018 - reading the body is the point


def test_advance_clock_expires_the_link_after_its_own_answer(api: Api, sb: Sandbox) -> None:
    url = _file_url(api)
    sb.faults.add(Fault("download", advance_clock=25 * 3600, cut_after=100))
    with pytest.raises(requests.exceptions.ChunkedEncodingError):
        api.session.get(url)
    assert sb.clock.offset == 25 * 3600
    assert api.session.get(url).status_code == 401  # the link died while it was in use


@pytest.mark.parametrize("file_host", ["local", "s3"])
def test_range_shift_serves_a_later_range_than_asked(api: Api, sb: Sandbox, file_host: str) -> None:
    sb.config.file_host = file_host
    url = _file_url(api)
    whole = api.session.get(url).content
    sb.faults.add(Fault("download", range_shift=100))
    shifted = api.session.get(url, headers={"Range": "bytes=500-"})
    assert shifted.status_code == 206
    assert shifted.headers["Content-Range"] == f"bytes 600-{len(whole) - 1}/{len(whole)}"
    assert shifted.content == whole[600:]
    honest = api.session.get(url, headers={"Range": "bytes=500-"})
    assert honest.headers["Content-Range"] == f"bytes 500-{len(whole) - 1}/{len(whole)}"


def test_range_shift_leaves_a_whole_answer_alone(api: Api, sb: Sandbox) -> None:
    url = _file_url(api)
    whole = api.session.get(url).content
    sb.faults.add(Fault("download", range_shift=100))
    assert api.session.get(url).content == whole  # a 200 has no range to shift
    assert len(sb.faults) == 0


@pytest.mark.parametrize(
    "values",
    [{"stall": 0}, {"stall": 1, "stall_after": -1}, {"advance_clock": -5}, {"range_shift": 0}],
)
def test_new_knobs_are_checked(values: dict[str, float]) -> None:
    with pytest.raises(ValueError):  # noqa: PT011 - each message is specific
        Fault("download", **values)  # type: ignore[arg-type]


def test_new_knobs_travel_through_the_control_api(api: Api, sb: Sandbox) -> None:
    response = api.session.post(
        f"{sb.base_url}/_sandbox/faults",
        json={"route": "download", "stall": 0.1, "stall_after": 10, "advance_clock": 60},
        timeout=5,
    )
    assert response.status_code == 201
    (fault,) = sb.faults.pending()
    assert (fault.stall, fault.stall_after, fault.advance_clock) == (0.1, 10, 60)


def test_a_client_hanging_up_between_requests_is_not_reported(
    sb: Sandbox, capfd: pytest.CaptureFixture[str]
) -> None:
    parts = urlsplit(sb.base_url)
    with socket.create_connection((parts.hostname or "", parts.port or 80), timeout=5) as sock:
        request = (
            f"GET /open/forms/1 HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {sb.token}\r\n\r\n"
        )
        sock.sendall(request.encode())
        assert sock.recv(12) == b"HTTP/1.1 200"
        time.sleep(0.1)  # the whole answer is out: the server waits for the next request
        # Close with a reset (unread bytes, or SO_LINGER 0), as clients that stop reading do.
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    time.sleep(0.3)  # let the server's thread meet the reset
    assert "Traceback" not in capfd.readouterr().err

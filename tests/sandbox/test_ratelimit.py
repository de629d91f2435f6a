"""Laravel throttles: limits per route and user, headers, what counts and what does not."""

from __future__ import annotations

from formexport.sandbox import Sandbox
from tests.sandbox.helpers import Api

COLUMNS = {"created_at": True}


def test_ten_exports_per_one_second_window(api: Api, sb: Sandbox) -> None:
    sb.config.rate_window_seconds = 1.0
    remaining = [api.export(1, COLUMNS).headers["X-RateLimit-Remaining"] for _ in range(10)]
    assert remaining == [str(n) for n in range(9, -1, -1)]
    refused = api.export(1, COLUMNS)
    assert refused.status_code == 429
    assert refused.text == '{\n    "message": "Too Many Attempts."\n}'
    assert refused.headers["X-RateLimit-Limit"] == "10"
    assert refused.headers["X-RateLimit-Remaining"] == "0"
    assert refused.headers["Retry-After"] == "1"
    reset = int(refused.headers["X-RateLimit-Reset"])
    assert abs(reset - (sb.clock.now() + 1)) <= 1
    sb.clock.advance(1.0)
    assert api.export(1, COLUMNS).status_code == 200


def test_retry_after_counts_down_in_whole_seconds(api: Api, sb: Sandbox) -> None:
    for _ in range(10):
        api.export(1, COLUMNS)
    sb.clock.advance(30.5)
    retry_after = int(api.export(1, COLUMNS).headers["Retry-After"])
    assert retry_after in (29, 30)


def test_unauthenticated_and_hidden_requests_do_not_count(api: Api, sb: Sandbox) -> None:
    for _ in range(15):
        assert api.export(1, COLUMNS, token=None).status_code == 401
        assert api.status(1, "job").status_code == 404
    assert api.export(1, COLUMNS).headers["X-RateLimit-Remaining"] == "9"


def test_forbidden_and_invalid_requests_count(api: Api) -> None:
    invalid = api.export(1, {"nope": True})
    assert (invalid.status_code, invalid.headers["X-RateLimit-Remaining"]) == (422, "9")
    forbidden = api.export(4, COLUMNS)
    assert (forbidden.status_code, forbidden.headers["X-RateLimit-Remaining"]) == (403, "8")
    missing = api.export(999, COLUMNS)
    assert (missing.status_code, missing.headers["X-RateLimit-Remaining"]) == (404, "7")


def test_buckets_are_per_user_and_per_limiter(api: Api, sb: Sandbox) -> None:
    for _ in range(10):
        api.export(1, COLUMNS)
    assert api.export(1, COLUMNS).status_code == 429
    other = sb.add_token(["forms-read"], user_id=2)
    assert api.export(4, COLUMNS, token=other).status_code == 200
    same_user = sb.add_token(["forms-read"])
    assert api.export(1, COLUMNS, token=same_user).status_code == 429  # keyed by user
    form = api.get("/open/forms/1")
    assert (form.headers["X-RateLimit-Limit"], form.headers["X-RateLimit-Remaining"]) == (
        "100",
        "99",
    )
    sb.config.status_access = "open"
    status = api.status(1, "job")
    assert status.headers["X-RateLimit-Limit"] == "180"


def test_other_routes_allow_100(api: Api, sb: Sandbox) -> None:
    codes = [api.get("/open/forms/1").status_code for _ in range(101)]
    assert codes[:100] == [200] * 100
    assert codes[100] == 429


def test_before_2_0_one_shared_bucket_of_100(api: Api, sb: Sandbox) -> None:
    sb.config.version = "1.13.2"
    first = api.export(1, COLUMNS)
    assert (first.headers["X-RateLimit-Limit"], first.headers["X-RateLimit-Remaining"]) == (
        "100",
        "99",
    )
    assert api.get("/open/forms/1").headers["X-RateLimit-Remaining"] == "98"


def test_token_check_route_has_its_own_60(api: Api) -> None:
    assert api.get("/external/zapier/validate").headers["X-RateLimit-Limit"] == "60"


def test_unauthenticated_downloads_are_keyed_by_ip(api: Api, sb: Sandbox) -> None:
    url = api.finished_job(2, COLUMNS)["file_url"]
    sb.config.rate_limits = True
    assert api.session.get(url).headers["X-RateLimit-Remaining"] == "99"
    assert api.session.get(url).headers["X-RateLimit-Remaining"] == "98"


def test_limits_can_be_switched_off(api: Api, sb: Sandbox) -> None:
    sb.config.rate_limits = False
    responses = [api.export(1, COLUMNS) for _ in range(12)]
    assert {r.status_code for r in responses} == {200}
    assert "X-RateLimit-Limit" not in responses[0].headers

from datetime import datetime, timezone

import pytest

from formexport.errors import InvalidArgumentError, UnexpectedResponseError
from formexport.opnform.models import ExportStatus, FormInfo, JobState, parse_timestamp

NULLS = {
    "processed_submissions": None,
    "total_submissions": None,
    "file_url": None,
    "error_message": None,
    "expires_at": None,
}
STAMPS = {"created_at": "2026-08-22T10:15:30.123456Z", "updated_at": "2026-08-22T10:15:31.002000Z"}
JOB = "5b0f3c9e-7d2a-4c61-a8f4-1e9d2b7c6a30"


def status(**fields: object) -> ExportStatus:
    return ExportStatus.from_json({"job_id": JOB, **NULLS, **STAMPS, **fields})


def test_queued_status_as_the_server_writes_it() -> None:
    parsed = status(status="queued", progress=0)
    assert parsed.status == JobState.QUEUED
    assert parsed.created_at == datetime(2026, 8, 22, 10, 15, 30, 123456, tzinfo=timezone.utc)
    assert parsed.form_id is None
    assert parsed.user_id is None
    assert not parsed.is_finished


def test_generating_file_quirk_is_shown_as_status_not_error() -> None:
    parsed = status(status="processing", progress=95, error_message="Generating export file...")
    assert parsed.status_text == "processing 95% (Generating export file)"
    assert not parsed.is_finished


def test_completed_status_has_aware_expiry_and_hides_signature_in_repr() -> None:
    url = "http://h/local/temp/exports/temp/a.csv?expires=1787480131&signature=9fdeadbeef"
    parsed = status(
        status="completed",
        progress=100,
        processed_submissions=1001,
        total_submissions=1001,
        file_url=url,
        expires_at="2026-08-23T10:15:31.004000Z",
    )
    assert parsed.is_finished
    assert parsed.file_url == url
    assert parsed.expires_at is not None
    assert parsed.expires_at.tzinfo is not None
    assert "9fdeadbeef" not in repr(parsed)
    assert "signature=REDACTED" in repr(parsed)
    assert parsed.status_text == "completed 100% (1001/1001 submissions)"


def test_docs_shaped_status_with_form_and_user_ids() -> None:
    parsed = ExportStatus.from_json(
        {"status": "Processing", "progress": 44.7, "form_id": "77", "user_id": 3, "job_id": JOB}
    )
    assert (parsed.status, parsed.progress, parsed.form_id, parsed.user_id) == (
        "processing",
        44,
        77,
        3,
    )


@pytest.mark.parametrize("body", [{}, {"status": 3}, {"status": "done", "progress": "lots"}])
def test_malformed_status_raises_typed_error(body: dict[str, object]) -> None:
    with pytest.raises(UnexpectedResponseError):
        ExportStatus.from_json(body)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2026-08-22T10:15:30.123456Z", datetime(2026, 8, 22, 10, 15, 30, 123456, timezone.utc)),
        ("2026-08-01T10:00:00+02:00", datetime(2026, 8, 1, 8, 0, tzinfo=timezone.utc)),
        ("2026-08-21 14:02:11", datetime(2026, 8, 21, 14, 2, 11, tzinfo=timezone.utc)),
        (None, None),
    ],
)
def test_parse_timestamp(text: str | None, expected: datetime | None) -> None:
    assert parse_timestamp(text) == expected


def test_form_info_keeps_input_fields_in_order() -> None:
    form = FormInfo.from_json(
        {
            "id": 77,
            "slug": "contact-us-k3x9qa",
            "title": "Contact us",
            "enable_partial_submissions": True,
            "properties": [
                {"id": "a", "name": "Name", "type": "text"},
                {"id": "b", "name": "Intro", "type": "nf-text"},
                {"id": "c", "name": "Email", "type": "email", "hidden": True},
            ],
            "removed_properties": [{"id": "d", "name": "Old", "type": "text"}],
        }
    )
    assert [f.id for f in form.fields] == ["a", "c"]
    assert form.fields[1].hidden
    assert [f.id for f in form.removed_fields] == ["d"]
    assert form.default_columns() == {"a": True, "c": True, "created_at": True}
    assert form.partial_submissions


def test_columns_are_what_the_export_validator_accepts() -> None:
    form = FormInfo.from_json(
        {
            "id": 77,
            "properties": [{"id": "a", "name": "Name", "type": "text"}],
            "removed_properties": [{"id": "d", "name": "Old", "type": "text"}],
        }
    )
    keys = form.column_keys()
    assert {"a", "d", "created_at", "status", "meta.attribution.utm_source"} <= keys
    assert len(keys) == 4 + 16  # two fields, two system columns, 16 attribution parameters
    assert set(form.default_columns()) <= keys
    form.check_columns(["a", "d", "status", "meta.attribution.msclkid"])
    with pytest.raises(InvalidArgumentError, match="ip_address, id of form 77"):
        form.check_columns(["a", "ip_address", "id"])


def test_a_refused_column_names_the_forms_fields_and_the_closest_one() -> None:
    form = FormInfo.from_json(
        {
            "id": 5,
            "properties": [
                {"id": "e", "name": "Email", "type": "email"},
                {"id": "n", "name": "Full name", "type": "text"},
            ],
        }
    )
    with pytest.raises(InvalidArgumentError) as refused:
        form.check_columns(["Emial", "e"])
    message = str(refused.value)
    assert "Did you mean 'Email' instead of 'Emial'?" in message
    assert "The form's fields: Email, Full name" in message
    with pytest.raises(InvalidArgumentError) as far:
        form.check_columns(["zzzz"])
    assert "Did you mean" not in str(far.value)

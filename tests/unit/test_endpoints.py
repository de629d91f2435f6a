import pytest

from formexport.errors import InvalidArgumentError
from formexport.opnform.endpoints import form_path, normalize_columns
from formexport.opnform.models import FormField, FormInfo

FORM = FormInfo(
    id=7,
    slug="s",
    title="t",
    fields=(FormField("uuid-1", "Name", "text"), FormField("uuid-2", "Email", "email")),
)


@pytest.mark.parametrize(
    ("form", "expected"), [(12, "12"), ("12", "12"), ("contact-us-k3x9qa", "contact-us-k3x9qa")]
)
def test_form_path_accepts_ids_and_slugs(form: int | str, expected: str) -> None:
    assert form_path(form) == expected


@pytest.mark.parametrize("form", [0, -3, True, 1.5, None, "../etc", "a b", "", "x/y"])
def test_form_path_refuses_anything_else(form: object) -> None:
    with pytest.raises(InvalidArgumentError):
        form_path(form)  # type: ignore[arg-type]


def test_columns_from_list_dict_and_names() -> None:
    assert normalize_columns(["uuid-1", "created_at"]) == {"uuid-1": True, "created_at": True}
    assert normalize_columns({"uuid-1": True, "uuid-2": 1}) == {"uuid-1": True, "uuid-2": False}  # type: ignore[dict-item]
    assert normalize_columns(["Email", "Name"], FORM) == {"uuid-2": True, "uuid-1": True}


@pytest.mark.parametrize("key", ["nope", "ip_address", "meta.attribution.nope", "id"])
def test_columns_the_server_refuses_are_refused_naming_the_allowed_kinds(key: str) -> None:
    with pytest.raises(InvalidArgumentError, match=f"refuse the columns {key} of form 7") as info:
        normalize_columns({"created_at": True, key: False}, FORM)
    assert "field id" in str(info.value)
    assert "meta.attribution.<parameter>" in str(info.value)


@pytest.mark.parametrize("columns", [[], {}, {"a": False}, "uuid-1"])
def test_empty_or_malformed_columns_are_refused(columns: object) -> None:
    with pytest.raises(InvalidArgumentError):
        normalize_columns(columns)  # type: ignore[arg-type]

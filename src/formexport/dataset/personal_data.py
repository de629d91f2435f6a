"""``exclude=`` and ``pseudonymize=`` across the forms of a dataset.

The forms of a workspace have different fields: each name (or id) applies to the forms that
have such a field. A name that matches a field of none of them is refused before anything is
exported, as for one form: these options keep personal data out, and a typo would let it in.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from formexport.client import Client
from formexport.errors import InvalidArgumentError
from formexport.opnform.checks import field_ids
from formexport.opnform.models import FormInfo, FormSummary


@dataclass(frozen=True)
class PersonalData:
    """The fields to leave out and to pseudonymize, as given (names or ids)."""

    exclude: tuple[str, ...] = ()
    pseudonymize: tuple[str, ...] = ()

    @classmethod
    def checked(
        cls,
        client: Client,
        forms: Sequence[FormSummary],
        exclude: Sequence[str] | None,
        pseudonymize: Sequence[str] | None,
    ) -> PersonalData:
        """The options, each name matched to a field of at least one of ``forms``."""
        chosen = cls(_keys(exclude, "exclude"), _keys(pseudonymize, "pseudonymize"))
        if chosen.exclude or chosen.pseudonymize:
            infos = [client.get_form(form.id) for form in forms]
            _check_found(chosen.exclude, infos, "exclude")
            _check_found(chosen.pseudonymize, infos, "pseudonymize")
        return chosen

    def excluded_in(self, form: FormInfo) -> tuple[str, ...]:
        """The ``exclude`` names that are fields of ``form``."""
        return _of(self.exclude, form)

    def pseudonymized_in(self, form: FormInfo) -> tuple[str, ...]:
        """The ``pseudonymize`` names that are fields of ``form``."""
        return _of(self.pseudonymize, form)


def _keys(keys: Sequence[str] | None, option: str) -> tuple[str, ...]:
    if keys is None:
        return ()
    if isinstance(keys, str):
        raise InvalidArgumentError(f"{option} is a list of field names or ids, not a str.")
    return tuple(str(key) for key in keys)


def _of(keys: Sequence[str], form: FormInfo) -> tuple[str, ...]:
    return tuple(key for key in keys if _names_a_field(key, form))


def _names_a_field(key: str, form: FormInfo) -> bool:
    try:
        field_ids([key], form, option="")
    except InvalidArgumentError:
        return False
    return True


def _check_found(keys: Sequence[str], infos: Sequence[FormInfo], option: str) -> None:
    unknown = [key for key in keys if not any(_names_a_field(key, info) for info in infos)]
    if unknown:
        forms = ", ".join(str(info.id) for info in infos)
        raise InvalidArgumentError(
            f"{option} names {', '.join(map(repr, unknown))}, which is a field of none of the "
            f"forms exported (forms {forms}); nothing was exported. formexport describe FORM "
            "lists each form's fields."
        )

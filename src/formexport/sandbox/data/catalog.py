"""Forms and their submissions: ids, slugs, ordering ("newest first") and lookups.

Submission ids are global, like a database auto-increment: each form's generated rows
take one contiguous block and :meth:`Catalog.add_submission` takes the next id. Submissions
can be deleted (by id, or by age as OpnForm's retention job does).

OpnForm orders its lists by ``created_at`` alone, which has second precision: submissions of
the same second come in whatever order the database picks, and MySQL and PostgreSQL may pick
another one for each ``LIMIT``/``OFFSET`` query. :meth:`SubmissionSet.window` reproduces that
when asked; otherwise ties come highest id first.
"""

from __future__ import annotations

import bisect
import copy
import hashlib
import heapq
import random
import re
import unicodedata
from array import array
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any

from formexport.sandbox.data.fields import Submission, check_fields
from formexport.sandbox.data.generator import Answers, GeneratedBatch
from formexport.sandbox.platform.php import php_json_value

#: ``created_at`` of the first generated row, so CSVs are reproducible.
BASE_TIME = int(datetime(2026, 8, 1, tzinfo=timezone.utc).timestamp())

STATUS_FILTERS = ("all", "completed", "partial")
_SLUG_ALPHABET = "abcdefghijklmnopqrstuvwxyz0123456789"


class SubmissionSet:
    """The submissions of one form: a generated batch plus explicitly added rows."""

    def __init__(self, batch: GeneratedBatch | None = None) -> None:
        self._batch = batch
        self._extras: dict[int, Submission] = {}
        self._order: dict[str, Sequence[int]] = {}
        # Generated rows that were deleted (added rows are simply removed from _extras).
        self._deleted: set[int] = set()

    def __len__(self) -> int:
        generated = self._batch.count - len(self._deleted) if self._batch else 0
        return generated + len(self._extras)

    def __contains__(self, submission_id: object) -> bool:
        if not isinstance(submission_id, int):
            return False
        return self._generated(submission_id) is not None or submission_id in self._extras

    def _generated(self, submission_id: int) -> int | None:
        """The batch index of a generated row that was not deleted."""
        if self._batch is None or submission_id in self._deleted:
            return None
        return self._batch.index_of(submission_id)

    def add(self, submission: Submission) -> None:
        """Store an explicit submission."""
        self._extras[submission.id] = submission
        self._order.clear()

    def delete(self, submission_ids: Iterable[int]) -> list[int]:
        """Delete submissions; return the ids that existed."""
        gone = []
        for submission_id in submission_ids:
            if self._generated(submission_id) is not None:
                self._deleted.add(submission_id)
            elif self._extras.pop(submission_id, None) is None:
                continue
            gone.append(submission_id)
        if gone:
            self._order.clear()
        return gone

    def created_until(self, moment: float) -> list[int]:
        """Ids of the submissions created at or before ``moment`` (Unix seconds)."""
        found = [i for i, s in self._extras.items() if s.created_at <= moment]
        batch = self._batch
        if batch is not None:
            # Generated rows are created in id order: the old ones are a prefix.
            end = bisect.bisect_right(range(batch.count), moment, key=batch.created_at)
            found += range(batch.first_id, batch.first_id + end)
        return [i for i in found if i in self]

    def get(self, submission_id: int) -> Submission | None:
        """The submission with this database id, or None."""
        index = self._generated(submission_id)
        if index is not None:
            assert self._batch is not None
            return self._batch.row(index)
        return self._extras.get(submission_id)

    def created_at(self, submission_id: int) -> int:
        """``created_at`` of an existing submission (Unix seconds)."""
        return self._key(submission_id)[0]

    def completed_count(self) -> int:
        """How many submissions are not partial."""
        partial = 0
        if self._batch is not None:
            flags, first = self._batch.flags(), self._batch.first_id
            partial = sum(flags) - sum(flags[i - first] for i in self._deleted)
        partial += sum(s.partial for s in self._extras.values())
        return len(self) - partial

    def ordered_ids(self, status: str = "all") -> Sequence[int]:
        """Ids by ``created_at`` descending (ties: higher id first), optionally filtered."""
        cached = self._order.get(status)
        if cached is None:
            cached = self._compute_order(status)
            self._order[status] = cached
        return cached

    def sort_ids(self, ids: list[int]) -> list[int]:
        """Distinct ids of this form, newest first."""
        return sorted(set(ids), key=self._key, reverse=True)

    def _key(self, submission_id: int) -> tuple[int, int]:
        if self._batch is not None:
            index = self._batch.index_of(submission_id)
            if index is not None:
                return (self._batch.created_at(index), submission_id)
        return (self._extras[submission_id].created_at, submission_id)

    def window(
        self, ids: Sequence[int], start: int, stop: int, shuffle: random.Random | None = None
    ) -> list[int]:
        """``ids[start:stop]`` as one ``LIMIT``/``OFFSET`` query returns it.

        With ``shuffle``, submissions created in the same second come in a random order of
        this query's own: each group of ties around and inside the window is shuffled as a
        whole before the window is cut, as a database orders rows whose sort keys are equal.
        """
        stop = min(stop, len(ids))
        if shuffle is None or start >= stop:
            return list(ids[start:stop])
        low, high = start, stop
        while low > 0 and self.created_at(ids[low - 1]) == self.created_at(ids[start]):
            low -= 1
        while high < len(ids) and self.created_at(ids[high]) == self.created_at(ids[stop - 1]):
            high += 1
        shuffled: list[int] = []
        group: list[int] = []
        for submission_id in ids[low:high]:
            if group and self.created_at(group[0]) != self.created_at(submission_id):
                shuffle.shuffle(group)
                shuffled += group
                group = []
            group.append(submission_id)
        shuffle.shuffle(group)
        shuffled += group
        return shuffled[start - low : stop - low]

    def _compute_order(self, status: str) -> Sequence[int]:
        batch = self._batch
        if not self._extras and not self._deleted and status == "all":
            return range(batch.last_id, batch.first_id - 1, -1) if batch else range(0)
        want_partial = status == "partial"
        ordered = array("q")
        for _, submission_id, partial in heapq.merge(
            self._batch_keys(), self._extra_keys(), reverse=True
        ):
            if status == "all" or partial == want_partial:
                ordered.append(submission_id)
        return ordered

    def _batch_keys(self) -> Iterator[tuple[int, int, bool]]:
        batch = self._batch
        if batch is None:
            return
        flags = batch.flags()
        for index in range(batch.count - 1, -1, -1):
            if batch.first_id + index not in self._deleted:
                yield (batch.created_at(index), batch.first_id + index, bool(flags[index]))

    def _extra_keys(self) -> list[tuple[int, int, bool]]:
        keys = [(s.created_at, s.id, s.partial) for s in self._extras.values()]
        return sorted(keys, reverse=True)


@dataclass
class Form:
    """A form as the emulator stores it (the JSON shapes live in ``resources``)."""

    id: int
    workspace_id: int
    title: str
    slug: str
    properties: list[dict[str, Any]]
    removed_properties: list[dict[str, Any]]
    partial: bool
    created_at: float
    updated_at: float
    submissions: SubmissionSet = field(default_factory=SubmissionSet)
    #: ``(submission_retention_value, submission_retention_unit)``, or None to keep everything.
    retention: tuple[int, str] | None = None

    def field_types(self) -> dict[str, str]:
        """Field id → type, for current and removed fields."""
        blocks = [*self.properties, *self.removed_properties]
        return {str(b["id"]): str(b.get("type", "text")) for b in blocks}


class Catalog:
    """All forms, by id and slug."""

    def __init__(self) -> None:
        self.forms: dict[int, Form] = {}
        self._slugs: dict[str, int] = {}
        self._next_submission_id = 1
        self._answers: dict[int, Answers] = {}

    def add_form(
        self,
        *,
        title: str,
        fields: list[dict[str, Any]],
        n_submissions: int,
        workspace_id: int,
        partial: bool,
        seed: int,
        removed_fields: list[dict[str, Any]],
        now: float,
    ) -> Form:
        """Create a form and generate its submissions (lazily)."""
        if n_submissions < 0:
            raise ValueError("n_submissions must be >= 0")
        check_fields([*fields, *removed_fields])
        form_id = max(self.forms, default=0) + 1
        batch = None
        if n_submissions:
            batch = GeneratedBatch(
                form_id=form_id,
                first_id=self._next_submission_id,
                count=n_submissions,
                fields=[*fields, *removed_fields],
                seed=seed,
                partial_rate=0.1 if partial else 0.0,
                base_time=BASE_TIME,
            )
            self._next_submission_id += n_submissions
        form = Form(
            id=form_id,
            workspace_id=workspace_id,
            title=title,
            slug=_slug(title, form_id),
            properties=[dict(b) for b in fields],
            removed_properties=[dict(b) for b in removed_fields],
            partial=partial,
            created_at=now,
            updated_at=now,
            submissions=SubmissionSet(batch),
        )
        self.forms[form_id] = form
        self._slugs[form.slug] = form_id
        return form

    def update_fields(self, form: Form, properties: list[dict[str, Any]], *, now: float) -> None:
        """OpnForm's form update: the editor sends every block the form keeps, and a field it
        dropped joins ``removed_properties`` whole (name, type, options), so its answers can
        still be exported by id; a field sent again leaves that list."""
        kept = {str(block["id"]) for block in properties}
        dropped = [b for b in form.properties if str(b["id"]) not in kept]
        removed = [b for b in form.removed_properties if str(b["id"]) not in kept]
        check_fields([*properties, *removed, *dropped])
        form.properties = copy.deepcopy(properties)
        form.removed_properties = [*removed, *dropped]
        form.updated_at = now
        # Respondents answer the form as it is now.
        self._answers.pop(form.id, None)

    def add_submission(
        self,
        form: Form,
        data: dict[str, Any],
        *,
        partial: bool,
        created_at: float,
        meta: dict[str, Any] | None,
    ) -> Submission:
        """Store one submission with the next database id."""
        submission = Submission(
            id=self._next_submission_id,
            form_id=form.id,
            data=php_json_value(dict(data)),
            partial=partial,
            created_at=int(created_at),
            meta=php_json_value(meta),
            completion_time=None if partial else 60,
        )
        self._next_submission_id += 1
        form.submissions.add(submission)
        return submission

    def add_generated(self, form: Form, created_at: float) -> Submission:
        """Store one submission with generated answers (as a respondent would send them)."""
        answers = self._answers.get(form.id)
        if answers is None:
            fields = [*form.properties, *form.removed_properties]
            answers = Answers(fields, seed=form.id, partial_rate=0.1 if form.partial else 0.0)
            self._answers[form.id] = answers
        data, partial, meta = answers()
        return self.add_submission(form, data, partial=partial, created_at=created_at, meta=meta)

    def find(self, ref: str) -> Form | None:
        """Route-model binding: numeric values are ids, anything else a slug."""
        if ref.isascii() and ref.isdigit():
            return self.forms.get(int(ref))
        form_id = self._slugs.get(ref)
        return self.forms.get(form_id) if form_id is not None else None

    def owner_of(self, submission_id: int) -> Form | None:
        """The form holding a submission id."""
        return next((f for f in self.forms.values() if submission_id in f.submissions), None)


def _slug(title: str, form_id: int) -> str:
    """Laravel ``Str::slug(title)`` plus six lowercase characters, like OpnForm."""
    ascii_title = unicodedata.normalize("NFKD", title).encode("ascii", "ignore").decode()
    base = re.sub(r"[^a-z0-9]+", "-", ascii_title.lower()).strip("-") or "form"
    digest = hashlib.sha1(f"{form_id}:{title}".encode(), usedforsecurity=False).digest()
    suffix = "".join(_SLUG_ALPHABET[b % len(_SLUG_ALPHABET)] for b in digest[:6])
    return f"{base}-{suffix}"

"""Typing an export's text columns from the form's fields, one CSV block at a time.

:class:`TypedReader` holds one converter per CSV column (chosen from the column plan, see
:mod:`formexport.reading.column_plan`) and turns each block of text cells into a typed Arrow
record batch.
When a converter meets a value it cannot read, the column moves to a wider type or to text
(with a :class:`TypeFallbackWarning`) and :class:`Restart` asks the caller to read the file again
from the start, so every block of one result shares one schema. Exact values from the JSON
submissions list replace the CSV's field values row by row when given.
"""

from __future__ import annotations

import json
import warnings
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any

from formexport.opnform.models import ExactValues
from formexport.reading import column_plan, dates, field_types
from formexport.reading.blocks import Writer, unique_names
from formexport.reading.column_plan import PlannedColumn
from formexport.reading.converters import ArrowArray, CategoryConverter, Converter, NotThisType
from formexport.reading.ids import IdColumn
from formexport.reading.pseudonyms import Pseudonymizing, pseudonyms
from formexport.reading.tally import Tally
from formexport.reading.variable_names import variable_names

if TYPE_CHECKING:
    import pyarrow as pa

METADATA_KEY = b"formexport"
# Values the CSV keeps better than the JSON list: signed links that live as long as the export.
_CSV_ONLY_TYPES = frozenset({"files", "signature"})


class TypeFallbackWarning(UserWarning):
    """A column could not be read as its field's type and is kept as text (or ids undecoded)."""


class Restart(Exception):
    """A column changed type: read the export again from its first block."""


@dataclass(frozen=True)
class ExportContext:
    """Where an export came from, recorded in ``DataFrame.attrs`` and Parquet metadata."""

    form_id: int | None = None
    form_slug: str | None = None
    job_id: str | None = None
    server: str | None = None
    exported_at: datetime | None = None
    excluded: tuple[str, ...] = ()

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready values (``excluded``: the fields left out with ``exclude=``, by name)."""
        when = self.exported_at.isoformat() if self.exported_at else None
        described: dict[str, Any] = {
            "form_id": self.form_id,
            "form_slug": self.form_slug,
            "job_id": self.job_id,
            "server": self.server,
            "exported_at": when,
        }
        if self.excluded:
            described["excluded"] = list(self.excluded)
        return described


class _Column:
    def __init__(
        self, planned: PlannedColumn, reader: Converter | IdColumn, *, pseudonymized: bool = False
    ) -> None:
        self.planned = planned
        self.reader = reader
        self.pseudonymized = pseudonymized

    @property
    def parts(self) -> tuple[str, ...]:
        return ("", "submission_id") if isinstance(self.reader, IdColumn) else self.reader.parts

    def describe(self, part: str, position: int) -> dict[str, Any]:
        planned = self.planned
        info: dict[str, Any] = {"kind": planned.kind, "header": planned.header}
        info["position"] = position
        field = planned.field
        if field is not None:
            info.update(field_id=field.id, field_name=field.name, field_type=field.type)
            info.update(required=field.required, help=field.help)
            if planned.deleted:
                info["deleted"] = True
        options = _options(planned)
        if self.pseudonymized:
            info["pseudonymized"] = True
        elif options:
            info["options"] = options
        if isinstance(self.reader, IdColumn):
            info["type"] = "submission_id" if part else "text"
        else:
            info["type"] = self.reader.label
            if part:
                info["part"] = part
        return info


def _options(planned: PlannedColumn) -> list[str]:
    if planned.kind == column_plan.STATUS:
        return list(column_plan.STATUS_VALUES)
    return list(planned.field.options) if planned.field is not None else []


class TypedReader:
    """Typed record batches for one export.

    Parameters
    ----------
    plan : list of PlannedColumn
        One entry per CSV column, already matched to the header.
    writer : Writer
        Which of OpnForm's two CSV writers produced the CSV.
    naming : str
        ``"name"`` (field names) or ``"id"`` (field ids) for field columns.
    exact_values : ExactValues, optional
        Raw values from the JSON list, used instead of the CSV's for field columns.
    context : ExportContext, optional
        Recorded in the metadata.
    empty : bool
        The export has no rows (nor a header): every column is still there, typed.
    pseudonymizing : Pseudonymizing, optional
        Fields whose answers become pseudonyms (text) before any value leaves the reader.
    """

    def __init__(
        self,
        plan: Sequence[PlannedColumn],
        *,
        writer: Writer,
        naming: str = "name",
        exact_values: ExactValues | None = None,
        context: ExportContext | None = None,
        empty: bool = False,
        pseudonymizing: Pseudonymizing | None = None,
    ) -> None:
        self.writer, self.naming, self.exact_values = Writer(writer), naming, exact_values
        self.empty = empty
        self.context = context or ExportContext()
        self.pseudonymizing = pseudonymizing
        known = exact_values.by_id.keys() if exact_values is not None else None
        self.columns = [self._column(p, known) for p in plan]
        self._schema: tuple[tuple[Any, ...], pa.Schema] | None = None
        # The rows of the current pass (and their submission ids when asked for), to check
        # the export against its request.
        self.tally = Tally()

    def _column(self, planned: PlannedColumn, known: Any) -> _Column:
        field_id = planned.field.id if planned.field is not None else None
        if self.pseudonymizing is not None and self.pseudonymizing.applies_to(field_id):
            # Read as text, then hashed: no typed value of the answer is ever made.
            return _Column(planned, Converter(), pseudonymized=True)
        return _Column(planned, self._reader_for(planned, known))

    def _reader_for(self, planned: PlannedColumn, known: Any) -> Converter | IdColumn:
        if planned.kind == column_plan.ID:
            return IdColumn(coerced=self.writer == Writer.ANSWER, known=known)
        if planned.kind == column_plan.CREATED_AT:
            return dates.CreatedAtConverter()
        if planned.kind == column_plan.STATUS:
            return CategoryConverter(column_plan.STATUS_VALUES)
        if planned.kind == column_plan.FIELD and planned.field is not None:
            if planned.deleted:
                return field_types.deleted_field_converter(planned.field)
            return field_types.converter_for(planned.field)
        # Columns no field explains (utm_*) stay text.
        return Converter()

    # --- names and schema ------------------------------------------------------------

    def names(self) -> list[str]:
        """Output column names, made unique with ``.1``, ``.2`` in column order."""
        raw = []
        for column in self.columns:
            for part in column.parts:
                raw.append(self._name(column, part))
        return unique_names(raw)

    def _name(self, column: _Column, part: str) -> str:
        planned = column.planned
        if planned.kind == column_plan.ID:
            return part or "id"
        if planned.field is not None and planned.kind == column_plan.FIELD:
            base = planned.field.name if self.naming == "name" else planned.field.id
            return f"{base} ({part})" if part else base
        return planned.header

    def describe(self) -> dict[str, dict[str, Any]]:
        """Per output column: kind, CSV header and position, field id and type, read type,
        and its ``variable`` name in Stata and SPSS files."""
        info = [
            column.describe(part, position)
            for position, column in enumerate(self.columns)
            for part in column.parts
        ]
        names = self.names()
        for entry, variable in zip(info, variable_names(names), strict=True):
            entry["variable"] = variable
        return dict(zip(names, info, strict=True))

    def attrs(self) -> dict[str, Any]:
        """What ``DataFrame.attrs`` records (JSON-ready)."""
        values = "exact" if self.exact_values is not None else "csv"
        described = {**self.context.as_dict(), "writer": self.writer.value, "values": values}
        hidden = [name for name, info in self.describe().items() if info.get("pseudonymized")]
        if hidden and self.pseudonymizing is not None:
            described["pseudonymized"] = {"columns": hidden, "key_id": self.pseudonymizing.key_id}
        described["columns"] = self.describe()
        return described

    def schema(self) -> pa.Schema:
        """The Arrow schema of every batch, with field ids and types in its metadata."""
        types = [t for column in self.columns for t in column.reader.types()]
        # Built again only when a column's type changed: every block of an export needs it.
        key = (*types, *(getattr(column.reader, "label", "id") for column in self.columns))
        if self._schema is None or self._schema[0] != key:
            self._schema = (key, self._build_schema(types))
        return self._schema[1]

    def _build_schema(self, types: list[pa.DataType]) -> pa.Schema:
        import pyarrow as pa

        described = self.describe()
        fields = [
            pa.field(name, kind, metadata={METADATA_KEY: json.dumps(described[name])})
            for name, kind in zip(self.names(), types, strict=True)
        ]
        return pa.schema(fields, metadata={METADATA_KEY: json.dumps(self.attrs())})

    # --- conversion ------------------------------------------------------------------

    def convert(self, batch: pa.RecordBatch) -> pa.RecordBatch:
        """Type one block of text columns (in CSV order); raises :class:`Restart`."""
        import pyarrow as pa

        arrays: list[ArrowArray] = []
        submission_ids: ArrowArray | None = None
        restart = False
        for position, column in enumerate(self.columns):
            values = batch.column(position)
            try:
                out = column.reader.convert(values)
                if isinstance(column.reader, IdColumn):
                    submission_ids = out[1]
                elif self.exact_values is not None and submission_ids is not None:
                    out = self._with_exact(column, out, submission_ids)
                if column.pseudonymized:
                    assert self.pseudonymizing is not None
                    out = [pseudonyms(values, self.pseudonymizing.key) for values in out]
            except NotThisType as exc:
                self._fall_back(column, exc)
                restart = True
                continue
            except pa.ArrowException as exc:
                if isinstance(column.reader, IdColumn):
                    raise
                # A value Arrow itself cannot hold: never lose it, keep the column as text.
                self._fall_back(column, NotThisType(f"a value Arrow cannot read ({exc})"))
                restart = True
                continue
            arrays.extend(out)
        if restart:
            raise Restart
        self.tally.add(batch.num_rows, submission_ids)
        return pa.RecordBatch.from_arrays(arrays, schema=self.schema())

    def empty_batch(self) -> pa.RecordBatch:
        """A typed batch of no rows (category columns still carry the form's options)."""
        import pyarrow as pa

        texts = [pa.array([], pa.string())] * len(self.columns)
        return self.convert(pa.RecordBatch.from_arrays(texts, [f"c{i}" for i in range(len(texts))]))

    def _fall_back(self, column: _Column, exc: NotThisType) -> None:
        reader = column.reader
        assert isinstance(reader, Converter)
        wider = reader.wider()
        if wider is not None:
            column.reader = wider
            return
        column.reader = Converter()
        planned = column.planned
        what = f"{planned.field_type} field {planned.field.id}" if planned.field else planned.kind
        warnings.warn(
            f"Column {planned.header!r} ({what}) holds {exc.value!r}, which is not a "
            f"{reader.label}; the whole column is kept as text.",
            TypeFallbackWarning,
            stacklevel=5,
        )

    def _with_exact(
        self, column: _Column, out: list[ArrowArray], submission_ids: ArrowArray
    ) -> list[ArrowArray]:
        import pyarrow as pa

        planned, reader = column.planned, column.reader
        assert self.exact_values is not None
        assert isinstance(reader, Converter)
        if planned.kind == column_plan.CREATED_AT:
            key = "created_at"
        elif planned.kind == column_plan.FIELD and planned.field is not None:
            if planned.field_type in _CSV_ONLY_TYPES:
                return out
            key = planned.field.id
        else:
            return out
        rows: list[Mapping[str, Any] | None] = [
            self.exact_values.by_id.get(i) if i is not None else None
            for i in submission_ids.to_pylist()
        ]
        found = pa.array([row is not None for row in rows], pa.bool_())
        parsed = [reader.from_json(row.get(key)) if row is not None else None for row in rows]
        merged = []
        for index, (csv_values, kind) in enumerate(zip(out, reader.types(), strict=True)):
            part = [None if p is None else p[index] for p in parsed]
            try:
                merged.append(reader.merge(found, part, csv_values, kind))
            except (pa.ArrowInvalid, pa.ArrowTypeError, TypeError, ValueError, OverflowError):
                raise NotThisType(next(p for p in part if p is not None)) from None
        return merged

    def begin(self) -> None:
        """Start a pass over the export (forget what an abandoned pass noted)."""
        self.tally.reset()
        for column in self.columns:
            if isinstance(column.reader, IdColumn):
                column.reader.undecoded.clear()
            elif isinstance(column.reader, CategoryConverter):
                column.reader.restart()

    def finish(self) -> None:
        """Warn about ``id`` cells that are not OpnForm hashids (their submission id is missing)."""
        for column in self.columns:
            reader = column.reader
            if isinstance(reader, IdColumn) and reader.undecoded:
                sample = reader.undecoded[:3]
                warnings.warn(
                    f"{len(reader.undecoded)} id cells could not be decoded to a submission id "
                    f"(for example {sample}); their submission_id is missing. "
                    "values='exact' settles ids the synchronous writer printed as numbers.",
                    TypeFallbackWarning,
                    stacklevel=4,
                )
                reader.undecoded.clear()

"""Date fields and ``created_at``: stored date strings → Arrow dates and timestamps.

OpnForm stores a date as the client wrote it, ``2026-08-21T00:00:00+02:00`` (local midnight with
the browser's offset for dates without time), a range as ``[start, end]`` (``start,end`` in the
CSV), and prints ``created_at`` as ``2026-08-21 14:02`` in UTC. See
:mod:`formexport.reading.converters` for the converter protocol.
"""

from __future__ import annotations

import re
from datetime import date, datetime, timezone
from typing import TYPE_CHECKING, Any

from formexport.reading.converters import (
    ArrowArray,
    Converter,
    NotThisType,
    arrow,
    cast,
    compute,
    require,
)

if TYPE_CHECKING:
    import pyarrow as pa

_DATE = r"\d{4}-\d\d-\d\d"
_DATETIME = _DATE + r"T\d\d:\d\d(:\d\d(\.\d+)?)?([+-]\d\d:\d\d|Z)"
_CREATED_AT = r"^\d{4}-\d\d-\d\d \d\d:\d\d(:\d\d)?$"


class DateConverter(Converter):
    """Stored date strings; ``2026-08-21T00:00:00+02:00`` as the client wrote it.

    Dates without time become calendar dates (the day the respondent picked, whatever the
    offset). Dates with time become timestamps in the values' common UTC offset, or in UTC when
    offsets differ. A date range ``start,end`` becomes two columns.
    """

    def __init__(self, *, with_time: bool, date_range: bool, tz: str | None = None) -> None:
        self.with_time, self.date_range, self.tz = with_time, date_range, tz
        self.parts = ("start", "end") if date_range else ("",)
        self.label = "datetime" if with_time else "date"

    def _type(self) -> Any:
        pa = arrow()
        if not self.with_time:
            return pa.date32()
        return pa.timestamp("us", tz=self.tz or "UTC")

    def types(self) -> list[pa.DataType]:
        return [self._type()] * len(self.parts)

    def convert(self, values: ArrowArray) -> list[ArrowArray]:
        if not self.date_range:
            return [self._one(values)]
        pc = compute()
        pair = pc.split_pattern(values, ",")
        require(values, pc.equal(pc.list_value_length(pair), 2))
        halves = [pc.list_element(pair, i) for i in range(len(self.parts))]
        # An empty end (a range left open) is missing, like an empty cell.
        halves = [pc.if_else(pc.equal(h, ""), None, h) for h in halves]
        return [self._one(h) for h in halves]

    def _one(self, values: ArrowArray) -> ArrowArray:
        pc = compute()
        if not self.with_time:
            # Arrow's cast reads exactly YYYY-MM-DD, so the first ten characters settle it.
            day = pc.utf8_slice_codeunits(values, 0, 10)
            try:
                return cast(day, self._type())
            except NotThisType as exc:
                bad = next(
                    (v for v in values.to_pylist() if v is not None and v[:10] == exc.value),
                    exc.value,
                )
                raise NotThisType(bad) from None
        require(values, pc.match_substring_regex(values, f"^{_DATETIME}$"))
        if self.tz is None:
            self.tz = self._common_offset(values)
        elif self.tz != "UTC" and self._common_offset(values, self.tz) != self.tz:
            raise NotThisType(f"a UTC offset other than {self.tz}")
        return cast(values, self._type())

    @staticmethod
    def _common_offset(values: ArrowArray, default: str = "UTC") -> str:
        pc = compute()
        offsets = pc.unique(pc.drop_null(pc.utf8_slice_codeunits(values, -6))).to_pylist()
        offsets = ["+00:00" if o.endswith("Z") else o for o in offsets]
        if not offsets:
            return default
        return offsets[0] if len(offsets) == 1 and offsets[0] != "+00:00" else "UTC"

    def wider(self) -> Converter | None:
        if self.with_time and self.tz != "UTC":
            return DateConverter(with_time=True, date_range=self.date_range, tz="UTC")
        return None

    def from_json(self, value: Any) -> list[Any]:
        items = list(value) if isinstance(value, list) else [value]
        if not self.date_range and len(items) > 1:
            raise NotThisType(value)
        items = [*items, None, None][: len(self.parts)]
        return [self._parse(item) for item in items]

    def _parse(self, item: Any) -> date | datetime | None:
        if item is None or item == "":
            return None
        text = str(item)
        if not self.with_time:
            if not re.match(_DATE, text):
                raise NotThisType(item)
            return date.fromisoformat(text[:10])
        if not re.fullmatch(_DATETIME, text):
            raise NotThisType(item)
        try:
            return datetime.fromisoformat(text.replace("Z", "+00:00"))
        except ValueError:  # Python 3.10 reads only 3 or 6 fractional digits
            raise NotThisType(item) from None


class CreatedAtConverter(Converter):
    """``created_at``: ``2026-08-21 14:02`` in UTC (the JSON list adds the seconds)."""

    label = "datetime"

    def types(self) -> list[pa.DataType]:
        return [arrow().timestamp("us", tz="UTC")]

    def convert(self, values: ArrowArray) -> list[ArrowArray]:
        pa, pc = arrow(), compute()
        # The server's cells are all 16 characters long: then the cast alone checks them.
        if not pc.all(pc.equal(pc.utf8_length(values), 16)).as_py():
            require(values, pc.match_substring_regex(values, _CREATED_AT))
        # Arrow reads "2026-08-21 14:02"; the naive UTC times take their zone by a cast.
        naive = cast(values, pa.timestamp("us"))
        return [naive.cast(pa.timestamp("us", tz="UTC"))]

    def from_json(self, value: Any) -> list[Any]:
        if value in (None, ""):
            return [None]
        text = str(value).replace("T", " ")[:19]
        try:
            return [datetime.fromisoformat(text).replace(tzinfo=timezone.utc)]
        except ValueError:
            raise NotThisType(value) from None

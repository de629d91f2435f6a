"""File answers with optional ``Range`` support, shared by both file hosts.

``Range: bytes=N-``, ``bytes=N-M`` and ``bytes=-N`` give 206 with ``Content-Range``
when ranges are honoured; a start beyond the end gives 416. With ranges switched off the
header is ignored and the whole file comes back with 200, which real servers also do.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path

from formexport.sandbox.platform.wire import FileBody, Response

_RANGE = re.compile(r"^bytes=(\d*)-(\d*)$")

Unsatisfiable = Callable[[int], Response]


def parse_range(header: str | None, size: int) -> tuple[int, int] | None:
    """``(first, last)`` byte positions of a single range, None when absent or unusable.

    Raises
    ------
    ValueError
        When the range cannot be satisfied (start at or beyond the end).
    """
    if not header:
        return None
    match = _RANGE.match(header.strip())
    if match is None:
        return None  # multiple or malformed ranges: serve the whole file
    first_text, last_text = match.groups()
    if not first_text:
        if not last_text or int(last_text) == 0:
            return None
        return (max(size - int(last_text), 0), size - 1) if size else None
    first = int(first_text)
    last = min(int(last_text), size - 1) if last_text else size - 1
    if first >= size or last < first:
        raise ValueError("unsatisfiable range")
    return first, last


def file_response(
    path: Path,
    *,
    headers: list[tuple[str, str]],
    range_header: str | None,
    honour_range: bool,
    unsatisfiable: Unsatisfiable,
) -> Response:
    """200 with the whole file, or 206 with the requested range."""
    size = path.stat().st_size
    if not honour_range:
        return Response(200, headers, FileBody(path, 0, size))
    try:
        window = parse_range(range_header, size)
    except ValueError:
        return unsatisfiable(size)
    if window is None:
        return Response(200, [*headers, ("Accept-Ranges", "bytes")], FileBody(path, 0, size))
    first, last = window
    return Response(
        206,
        [*headers, ("Accept-Ranges", "bytes"), ("Content-Range", f"bytes {first}-{last}/{size}")],
        FileBody(path, first, last - first + 1),
    )


def shifted_range(response: Response, by: int) -> Response:
    """A ``206`` answer moved ``by`` bytes on, its ``Content-Range`` saying so (at least its
    last byte is kept); any other answer as it is."""
    body = response.body
    if response.status != 206 or not isinstance(body, FileBody):
        return response
    by = min(by, body.length - 1)
    first, last = body.start + by, body.start + body.length - 1
    headers = [
        (name, f"bytes {first}-{last}/{value.rpartition('/')[2]}")
        if name.lower() == "content-range"
        else (name, value)
        for name, value in response.headers
    ]
    return Response(206, headers, FileBody(body.path, first, body.length - by), response.close)


def inside(root: Path, relative: str) -> Path | None:
    """``root / relative`` if it stays inside ``root`` (no ``..`` escapes)."""
    base = root.resolve()
    target = (base / relative).resolve()
    return target if target.is_relative_to(base) else None

"""Laravel's ``LengthAwarePaginator`` as a JSON resource collection renders it.

``{"data": [...], "links": {first, last, prev, next}, "meta": {current_page, from,
last_page, links, path, per_page, to, total}}``; ``meta.links`` follows ``UrlWindow``
(three pages on each side, ``...`` gaps, ``&laquo; Previous`` / ``Next &raquo;``).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any
from urllib.parse import urlencode

_ON_EACH_SIDE = 3


def page_number(raw: str | None) -> int:
    """``?page=``: an integer >= 1, anything else means 1."""
    try:
        page = int(raw) if raw is not None else 1
    except ValueError:
        return 1
    return page if page >= 1 else 1


def paginate(
    items: list[Any],
    *,
    total: int,
    per_page: int,
    page: int,
    path: str,
    query: Mapping[str, str] | None = None,
) -> dict[str, Any]:
    """The paginated body for one page of ``items``.

    Parameters
    ----------
    items : list
        The items of this page, already rendered.
    total, per_page, page : int
        Paginator numbers (``per_page`` may be negative: Laravel does not guard it).
    path : str
        Absolute URL of the list without query string.
    query : mapping, optional
        Query parameters kept in links (``withQueryString``); None drops them.
    """
    last_page = max(math.ceil(total / per_page), 1) if per_page else 1

    def url(number: int) -> str:
        params = dict(query or {})
        params["page"] = str(max(number, 1))
        return f"{path}?{urlencode(params)}"

    first_item = (page - 1) * per_page + 1 if items else None
    return {
        "data": items,
        "links": {
            "first": url(1),
            "last": url(last_page),
            "prev": url(page - 1) if page > 1 else None,
            "next": url(page + 1) if page < last_page else None,
        },
        "meta": {
            "current_page": page,
            "from": first_item,
            "last_page": last_page,
            "links": _link_collection(page, last_page, url),
            "path": path,
            "per_page": per_page,
            "to": first_item + len(items) - 1 if first_item is not None else None,
            "total": total,
        },
    }


def _link_collection(page: int, last: int, url: Any) -> list[dict[str, Any]]:
    links: list[dict[str, Any]] = [
        {"url": url(page - 1) if page > 1 else None, "label": "&laquo; Previous", "active": False}
    ]
    for element in _elements(page, last):
        if isinstance(element, str):
            links.append({"url": None, "label": element, "active": False})
            continue
        links.extend({"url": url(n), "label": str(n), "active": n == page} for n in element)
    links.append(
        {"url": url(page + 1) if page < last else None, "label": "Next &raquo;", "active": False}
    )
    return links


def _elements(page: int, last: int) -> list[list[int] | str]:
    """``UrlWindow``: all pages, or a slider with ``...`` gaps."""
    if last < _ON_EACH_SIDE * 2 + 8:
        return [list(range(1, last + 1))]
    window = _ON_EACH_SIDE + 4
    start, finish = [1, 2], [last - 1, last]
    if page <= window:
        return [list(range(1, window + _ON_EACH_SIDE + 1)), "...", finish]
    if page > last - window:
        return [start, "...", list(range(last - (window + _ON_EACH_SIDE - 1), last + 1))]
    slider = list(range(page - _ON_EACH_SIDE, page + _ON_EACH_SIDE + 1))
    return [start, "...", slider, "...", finish]

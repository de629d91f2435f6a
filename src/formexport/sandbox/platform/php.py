"""PHP semantics the emulator must copy byte for byte.

String conversion of scalars (``precision = 14`` for floats), integers as ``json_decode`` gives
them (beyond 64 bits, floats), ``implode``, Laravel's two JSON encodings (controllers escape
slashes; the exception handler pretty-prints) and ``parse_str`` for bracketed query strings
such as ``columns[created_at]=1``.
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterable
from typing import Any
from urllib.parse import unquote_plus

_PRECISION = 14
PHP_INT_MAX = 2**63 - 1
PHP_INT_MIN = -(2**63)


def php_float(value: float) -> str:
    """``(string) $float`` with PHP's default ``precision`` of 14 significant digits.

    Examples
    --------
    >>> php_float(1.5), php_float(1000.0), php_float(0.1 + 0.2), php_float(1e25)
    ('1.5', '1000', '0.3', '1.0E+25')
    """
    if math.isnan(value):
        return "NAN"
    if math.isinf(value):
        return "INF" if value > 0 else "-INF"
    text = f"{value:.{_PRECISION}g}"
    if "e" not in text:
        return text
    mantissa, exponent = text.split("e")
    if "." not in mantissa:
        mantissa += ".0"
    power = int(exponent)
    return f"{mantissa}E{'+' if power >= 0 else '-'}{abs(power)}"


def php_int(value: int) -> int | float:
    """An integer as PHP holds it after ``json_decode``: a float beyond 64 bits.

    Examples
    --------
    >>> php_int(2**63 - 1), php_int(2**64)
    (9223372036854775807, 1.8446744073709552e+19)
    """
    return value if PHP_INT_MIN <= value <= PHP_INT_MAX else float(value)


def php_json_value(value: Any) -> Any:
    """A decoded JSON value as PHP's ``json_decode`` holds it (integers via :func:`php_int`)."""
    if value.__class__ is int:
        return php_int(value)
    if isinstance(value, list):
        return [php_json_value(item) for item in value]
    if isinstance(value, dict):
        return {key: php_json_value(item) for key, item in value.items()}
    return value


def php_str(value: Any) -> str:
    """PHP's string conversion of a decoded JSON value (arrays become ``Array``)."""
    if value.__class__ is str:
        return value
    if value is None or value is False:
        return ""
    if value is True:
        return "1"
    if isinstance(value, float):
        return php_float(value)
    if isinstance(value, (list, dict)):
        return "Array"
    if isinstance(value, int):
        number = php_int(value)
        return php_float(number) if isinstance(number, float) else str(number)
    return str(value)


def php_implode(separator: str, values: Iterable[Any]) -> str:
    """``implode($separator, $values)``; a dict contributes its values."""
    if isinstance(values, dict):
        values = values.values()
    return separator.join(php_str(item) for item in values)


def json_compact(payload: Any) -> bytes:
    """``json_encode`` with Laravel's response defaults: ``\\/`` and ``\\uXXXX`` escapes."""
    text = json.dumps(payload, ensure_ascii=True, separators=(",", ":"))
    # "/" never occurs inside an escape sequence, so a plain replace is safe.
    return text.replace("/", "\\/").encode("ascii")


def json_pretty(payload: Any) -> bytes:
    """The exception handler's ``JSON_PRETTY_PRINT | JSON_UNESCAPED_SLASHES``."""
    return json.dumps(payload, ensure_ascii=True, indent=4).encode("ascii")


def parse_str(query: str) -> dict[str, Any]:
    """PHP ``parse_str``: nested arrays from ``a[b]=1&a[]=2``; arrays are dicts.

    Examples
    --------
    >>> parse_str("columns[created_at]=1&submissionIds[]=4&submissionIds[]=7")
    {'columns': {'created_at': '1'}, 'submissionIds': {'0': '4', '1': '7'}}
    """
    result: dict[str, Any] = {}
    for pair in query.split("&"):
        if not pair:
            continue
        raw_name, _, raw_value = pair.partition("=")
        name = unquote_plus(raw_name).lstrip(" ")
        if not name:
            continue
        _assign(result, _split_name(name), unquote_plus(raw_value))
    return result


def _split_name(name: str) -> list[str | None]:
    """``a.b[c][]`` → ``["a_b", "c", None]`` (None appends, like ``[]``)."""
    bracket = name.find("[")
    if bracket <= 0 or "]" not in name[bracket:]:
        return [name.replace(".", "_").replace(" ", "_")]
    parts: list[str | None] = [name[:bracket].replace(".", "_").replace(" ", "_")]
    rest = name[bracket:]
    while rest.startswith("["):
        close = rest.find("]")
        if close < 0:
            break
        key = rest[1:close]
        parts.append(key if key else None)
        rest = rest[close + 1 :]
    return parts


def _assign(target: dict[str, Any], path: list[str | None], value: str) -> None:
    node = target
    for index, part in enumerate(path):
        key = part if part is not None else _next_index(node)
        if index == len(path) - 1:
            node[key] = value
            return
        child = node.get(key)
        if not isinstance(child, dict):
            child = {}
            node[key] = child
        node = child


def _next_index(node: dict[str, Any]) -> str:
    numbers = [int(key) for key in node if key.isdigit()]
    return str(max(numbers) + 1 if numbers else 0)


def as_php_array(value: Any) -> dict[str, Any] | None:
    """A JSON list or object as a PHP array (string keys); None for scalars."""
    if isinstance(value, dict):
        return {str(key): item for key, item in value.items()}
    if isinstance(value, list):
        return {str(index): item for index, item in enumerate(value)}
    return None

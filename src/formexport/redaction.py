"""Keep secrets out of reprs, messages, exceptions and logs (urllib3's included)."""

from __future__ import annotations

import contextlib
import logging
import re
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

REDACTED = "REDACTED"

# Query parameters that grant access on their own: a signed link works for anyone who has it.
_SECRET_PARAMS = frozenset(
    {
        "signature",
        "x-amz-signature",
        "x-amz-credential",
        "x-amz-security-token",
        "token",
        "access_token",
        "api_key",
    }
)


# The same names inside free text (a log line, an exception message), and bearer tokens.
_SECRET_IN_TEXT = re.compile(
    r"(?i)\b(" + "|".join(re.escape(name) for name in sorted(_SECRET_PARAMS)) + r")=[^&\s\"'<>#]+"
)
_BEARER = re.compile(r"(?i)\bBearer\s+[^\s\"',]+")
# Loggers whose records may carry a signed URL: ours, and urllib3's (it logs request lines
# at DEBUG and retried URLs at WARNING).
_LOGGERS = (
    "formexport",
    "urllib3.connectionpool",
    "urllib3.connection",
    "urllib3.poolmanager",
    "urllib3.response",
    "urllib3.util.retry",
)


def redact_text(text: str) -> str:
    """Return ``text`` with signature-like query values and bearer tokens replaced."""
    text = _SECRET_IN_TEXT.sub(lambda m: f"{m.group(1)}={REDACTED}", text)
    return _BEARER.sub(f"Bearer {REDACTED}", text)


def redact_url(url: str) -> str:
    """Return ``url`` with signature-like query values replaced by ``REDACTED``."""
    parts = urlsplit(url)
    if not parts.query:
        return url
    pairs = parse_qsl(parts.query, keep_blank_values=True)
    cleaned = [(key, REDACTED if key.lower() in _SECRET_PARAMS else value) for key, value in pairs]
    return urlunsplit(parts._replace(query=urlencode(cleaned, safe="/:")))


class Secret:
    """A string that never shows itself in ``repr``, ``str`` or f-strings."""

    __slots__ = ("_value",)

    def __init__(self, value: str) -> None:
        self._value = value

    def reveal(self) -> str:
        """Return the secret, for the one place that must send it."""
        return self._value

    def __repr__(self) -> str:
        return "Secret(<hidden>)"

    __str__ = __repr__

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Secret) and other._value == self._value

    def __hash__(self) -> int:
        return hash(self._value)

    def __bool__(self) -> bool:
        return bool(self._value)


class RedactingFilter(logging.Filter):
    """Rewrites a log record whose message (or exception) holds a signature or a token."""

    def filter(self, record: logging.LogRecord) -> bool:
        """Redact ``record`` in place; never drop it."""
        try:
            message = record.getMessage()
        except (TypeError, ValueError):
            return True  # a malformed record: logging reports it itself
        cleaned = redact_text(message)
        if cleaned != message:
            record.msg, record.args = cleaned, ()
        if record.exc_info and record.exc_info[1] is not None:
            scrub_exception(record.exc_info[1])
            record.exc_text = None
        return True


_FILTER = RedactingFilter()


def install_log_redaction() -> None:
    """Attach the redacting filter to formexport's and urllib3's loggers (once each).

    Filters change no output of their own and add no handler: configuring logging stays the
    application's business.
    """
    for name in _LOGGERS:
        logger = logging.getLogger(name)
        if _FILTER not in logger.filters:
            logger.addFilter(_FILTER)


def scrub_exception(error: BaseException) -> BaseException:
    """Redact the messages of ``error`` and every exception chained to it; return ``error``.

    requests and urllib3 put the full URL, signature included, in their messages
    ("Max retries exceeded with url: ..."); a chained cause is printed with every traceback.
    """
    pending: list[BaseException] = [error]
    seen: set[int] = set()
    while pending:
        current = pending.pop()
        if id(current) in seen:
            continue
        seen.add(id(current))
        current.args = tuple(redact_text(a) if isinstance(a, str) else a for a in current.args)
        url = getattr(current, "url", None)
        if isinstance(url, str):
            with contextlib.suppress(AttributeError):  # a read-only property
                current.url = redact_url(url)  # type: ignore[attr-defined]
        linked = [current.__cause__, current.__context__, getattr(current, "reason", None)]
        linked += list(current.args)
        pending += [item for item in linked if isinstance(item, BaseException)]
    return error

"""Secrets never reach a log line, at any verbosity.

Every handler of the root logger gets a filter that masks the values registered here
(chat tokens, the webhook secret, the database password), whatever logger wrote the line:
httpx, for one, logs each request's URL at INFO, and Telegram's token is part of every URL.
"""

from __future__ import annotations

import logging
from urllib.parse import urlsplit

MASK = "[secret]"
_SECRETS: set[str] = set()


def add_secret(value: str | None) -> None:
    """Mask `value` from now on (values too short to be secrets are ignored)."""
    if value and len(value) >= 6:
        _SECRETS.add(value)


def add_url_password(url: str) -> None:
    """Mask the password in a database URL (`postgresql://user:PASSWORD@host/db`)."""
    try:
        add_secret(urlsplit(url).password)
    except ValueError:  # not a URL we can read; it holds nothing we can find either
        return


def mask(text: str) -> str:
    for secret in sorted(_SECRETS, key=len, reverse=True):
        text = text.replace(secret, MASK)
    return text


class Redactor(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        if not _SECRETS:
            return True
        message = record.getMessage()
        masked = mask(message)
        if masked != message:
            record.msg, record.args = masked, None
        if record.exc_info and record.exc_text is None:
            # Format the traceback now, masked, so the handler uses this text.
            record.exc_text = mask(logging.Formatter().formatException(record.exc_info))
        elif record.exc_text:
            record.exc_text = mask(record.exc_text)
        return True


def guard(logger: logging.Logger | None = None) -> None:
    """Put the filter on every handler of `logger` (the root logger by default)."""
    for handler in (logger or logging.getLogger()).handlers:
        if not any(isinstance(f, Redactor) for f in handler.filters):
            handler.addFilter(Redactor())

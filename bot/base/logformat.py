"""How log lines look: text for people (the default) or one JSON object a line for machines.

Both carry the turn's fields from `bot.base.logcontext` (correlation id, person, ticket,
event id) where they are known. Secrets are masked by `bot.base.redact` on the same
handlers; what people wrote is never put in a record above DEBUG by our code, so neither
format has to strip it.
"""

from __future__ import annotations

import json
import logging
import sys
from datetime import UTC, datetime
from typing import Any, Literal, get_args

from bot.base import logcontext, redact

LogFormat = Literal["text", "json"]
FORMATS: tuple[str, ...] = get_args(LogFormat)
TEXT = "%(asctime)s %(levelname)s %(name)s%(context)s: %(message)s"
_OURS = "_deskbot_handler"  # marks the handler `install` added (not pytest's, say)


class ContextFilter(logging.Filter):
    """Stamp each record with the turn's fields as it is logged (in the logging task or
    thread, where the context variables hold them); a field given in `extra` wins."""

    def filter(self, record: logging.LogRecord) -> bool:
        known = logcontext.current()
        for name in logcontext.FIELDS:
            if getattr(record, name, None) is None:
                setattr(record, name, known.get(name))
        return True


def _fields(record: logging.LogRecord) -> dict[str, str]:
    found = {name: getattr(record, name, None) for name in logcontext.FIELDS}
    return {name: str(value) for name, value in found.items() if value}


class TextFormatter(logging.Formatter):
    """`2026-12-05 09:30:00,123 INFO bot.chat.engine [correlation=… person=alice]: …`"""

    def __init__(self) -> None:
        super().__init__(TEXT)

    def format(self, record: logging.LogRecord) -> str:
        fields = _fields(record)
        shown = " ".join(f"{name.removesuffix('_id')}={value}" for name, value in fields.items())
        record.context = f" [{shown}]" if shown else ""
        return super().format(record)


class JsonFormatter(logging.Formatter):
    """One JSON object a line: time (ISO 8601, UTC), level, logger, message, process, the
    turn's fields, and the traceback as `exception` when there is one."""

    def format(self, record: logging.LogRecord) -> str:
        at = datetime.fromtimestamp(record.created, UTC)
        line: dict[str, Any] = {
            "time": at.isoformat(timespec="milliseconds").replace("+00:00", "Z"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
            "process": record.process,
            **_fields(record),
        }
        if record.exc_info and not record.exc_text:
            record.exc_text = self.formatException(record.exc_info)
        if record.exc_text:
            line["exception"] = record.exc_text
        if record.stack_info:
            line["stack"] = self.formatStack(record.stack_info)
        return json.dumps(line, ensure_ascii=False, default=str)


def formatter(fmt: str) -> logging.Formatter:
    if fmt == "json":
        return JsonFormatter()
    if fmt == "text":
        return TextFormatter()
    raise ValueError(f"unknown log format {fmt!r} (use one of: {', '.join(FORMATS)})")


# Libraries that log routine work at INFO: APScheduler says so for every round of every job
# (the outbox's is every second). Their INFO lines are shown at debug only.
CHATTY = ("apscheduler",)


def _quiet_chatty(level: int) -> None:
    for name in CHATTY:
        logging.getLogger(name).setLevel(logging.WARNING if level > logging.DEBUG else 0)


def install(level: int, fmt: str = "text") -> None:
    """Log to stderr at `level` in `fmt`, like `logging.basicConfig`: nothing is added when
    the root logger already has handlers (a test's), but every handler gets the turn's
    fields and the secret mask."""
    root = logging.getLogger()
    if not root.handlers:
        ours = logging.StreamHandler(sys.stderr)
        setattr(ours, _OURS, True)
        ours.setFormatter(formatter(fmt))
        root.addHandler(ours)
        root.setLevel(level)
        _quiet_chatty(level)
    for handler in root.handlers:
        if not any(isinstance(f, ContextFilter) for f in handler.filters):
            handler.addFilter(ContextFilter())
    redact.guard()


def use(fmt: str, level: int | None = None) -> None:
    """Switch the handler `install` added to `fmt` (and `level`, if given): the format and
    level come from config.yaml, read after the command line set logging up."""
    root = logging.getLogger()
    mine = [h for h in root.handlers if getattr(h, _OURS, False)]
    for handler in mine:
        handler.setFormatter(formatter(fmt))
    if mine and level is not None:
        root.setLevel(level)
        _quiet_chatty(level)

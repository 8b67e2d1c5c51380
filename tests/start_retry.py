"""Chat platforms that cannot be reached at start, for tests: a short `channels.connect_retry`
(the waits still double), and the waits the log announced."""

from __future__ import annotations

import logging
import re
from collections.abc import Iterable
from datetime import timedelta

from bot.base.config import Settings

_WAIT = re.compile(r"(?:the first|the next) in ([0-9.]+) s\)?$")


def connect_retry(settings: Settings, seconds: float) -> Settings:
    channels = settings.channels.model_copy(update={"connect_retry": timedelta(seconds=seconds)})
    return settings.model_copy(update={"channels": channels})


def waits(records: Iterable[logging.LogRecord], what: str) -> list[float]:
    """The waits between tries to reach `what` (the start of the platform's log lines)."""
    found = []
    for record in records:
        message = record.getMessage()
        match = _WAIT.search(message)
        if record.name == "bot.base.outages" and message.startswith(what) and match:
            found.append(float(match.group(1)))
    return found

"""No token or password reaches a log line, whichever logger writes it and at any level
(httpx logs every request URL at INFO, and Telegram's token is in each)."""

from __future__ import annotations

import io
import logging
from collections.abc import Iterator
from pathlib import Path

import pytest

from bot.app import load_config
from bot.base import redact

ROOT = Path(__file__).resolve().parents[2]
TOKEN = "123456789:AAHsecretTelegramToken_x"
SLACK = "xoxb-1111-2222-secretslacktoken"
APP = "xapp-1-A111-secretapptoken"
SIGNING = "8f14e45fceea167a5a36dedd4bea2543"
PASSWORD = "hunter2-is-my-password"


@pytest.fixture
def log() -> Iterator[io.StringIO]:
    """A handler on the root logger, as `deskbot -v` sets one up, guarded as it guards it."""
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    root = logging.getLogger()
    root.addHandler(handler)
    level = root.level
    root.setLevel(logging.DEBUG)
    redact.guard()
    try:
        yield stream
    finally:
        root.removeHandler(handler)
        root.setLevel(level)


def test_secrets_from_the_settings_never_reach_a_log_line(log: io.StringIO):
    load_config(
        ROOT / "config.yaml",
        {
            "TELEGRAM_BOT_TOKEN": TOKEN,
            "SLACK_BOT_TOKEN": SLACK,
            "SLACK_APP_TOKEN": APP,
            "SLACK_SIGNING_SECRET": SIGNING,
            "DATABASE_URL": f"postgresql://desk:{PASSWORD}@db.example/desk",
        },
    )
    logging.getLogger("httpx").info(
        'HTTP Request: POST %s "HTTP/1.1 200 OK"', f"https://api.telegram.org/bot{TOKEN}/getMe"
    )
    logging.getLogger("slack_sdk").debug("Sending a request with tokens %s %s", SLACK, APP)
    logging.getLogger("deskbot").warning("signing secret %s, db %s", SIGNING, PASSWORD)
    try:
        raise RuntimeError(f"could not connect to postgresql://desk:{PASSWORD}@db.example")
    except RuntimeError:
        logging.getLogger("store").exception("database down")
    text = log.getvalue()
    assert "api.telegram.org/bot[secret]/getMe" in text  # the line is kept, the token is not
    assert "database down" in text and "Traceback" in text
    for secret in (TOKEN, SLACK, APP, SIGNING, PASSWORD):
        assert secret not in text

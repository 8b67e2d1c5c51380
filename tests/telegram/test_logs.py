"""A notice refused by Telegram and sent on a later round is still logged under the turn
that queued it: the correlation id is stored with the outbox row, not kept in memory."""

from __future__ import annotations

import io
import json
import logging
from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import pytest
from sqlmodel import select

from bot.base import logformat
from bot.base.clock import FixedClock
from bot.desk import Desk
from store.models import OutboxMessage
from tests.telegram.conftest import TRIAGE, Harness

ALICE = 1001
SAID = "/human the badge reader zq9 beeps at me"


@pytest.fixture
def json_log() -> Iterator[io.StringIO]:
    """The JSON lines `deskbot serve --log-format json` would print at level info."""
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(logformat.JsonFormatter())
    handler.addFilter(logformat.ContextFilter())
    root = logging.getLogger()
    level = root.level
    root.addHandler(handler)
    root.setLevel(logging.INFO)
    try:
        yield stream
    finally:
        root.removeHandler(handler)
        root.setLevel(level)


async def test_a_retried_triage_card_is_logged_under_the_turn_that_filed_it(
    tg: Harness, tg_desk: Desk, clock: FixedClock, json_log: io.StringIO
) -> None:
    fake = tg.fake
    # Alice's own answer goes through; the triage card fails once (Telegram had a hiccup).
    fake.fail("sendMessage", code=502, description="Bad Gateway", after=1)
    await tg.say(ALICE, SAID)
    assert await tg.flush() == 0
    assert fake.in_chat(TRIAGE) == []
    clock.advance(timedelta(minutes=1))  # past the retry's backoff
    assert await tg.flush() == 1
    [card] = fake.in_chat(TRIAGE)

    lines: list[dict[str, Any]] = [json.loads(line) for line in json_log.getvalue().splitlines()]
    [received] = [line for line in lines if line["message"].endswith("received")]
    turn = received["correlation_id"]
    with tg_desk.store.read() as session:
        [row] = session.exec(
            select(OutboxMessage).where(OutboxMessage.conversation == str(TRIAGE))
        ).all()
    number = row.ticket
    assert number is not None and number in card.text
    assert (row.correlation_id, row.status) == (turn, "sent")

    def of(logger: str, words: str) -> list[dict[str, Any]]:
        return [line for line in lines if line["logger"] == logger and words in line["message"]]

    # The turn, handled on the engine's thread (the id came with the Inbound)...
    [handled] = of("bot.chat.engine", "handled")
    assert (handled["correlation_id"], handled["person_id"], handled["ticket"]) == (
        turn,
        "alice",
        number,
    )
    # ...the failure, and the send a round later: both under Alice's turn, with the ticket.
    [failed] = of("notifications.dispatch", f"outbox message {row.id} failed")
    [sent] = of("notifications.dispatch", f"outbox message {row.id} sent")
    [call] = of("bot.adapters.telegram.channel", f"sendMessage to {TRIAGE} done")
    for line in (failed, sent, call):
        assert (line["correlation_id"], line["ticket"]) == (turn, number), line
    assert failed["level"] == "WARNING" and "attempt 2" in sent["message"]
    assert not [line for line in lines if "badge reader" in json.dumps(line)]

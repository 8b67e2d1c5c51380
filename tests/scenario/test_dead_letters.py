"""A message that breaks its turn is set aside: apologised for, kept as a dead letter,
reported to the admins, never handled again on redelivery, and nobody else is held up."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from bot.adapters.memory import MemoryChat
from bot.base.markup import to_plain
from bot.base.messages import Inbound, Outbound
from bot.cli import main as cli
from bot.desk import Desk
from store import inbox
from store import tickets as repo
from tests.poison import PILL, poisoned

ROOT = Path(__file__).resolve().parents[2]
SORRY = "Sorry, something went wrong on our side with that message"


def plain(replies: list[Outbound]) -> str:
    return "\n".join(to_plain(r.text) for r in replies)


@pytest.fixture
def poison(desk: Desk) -> Iterator[None]:
    with poisoned(desk):
        yield


def test_a_message_that_breaks_its_turn_is_set_aside_and_reported(
    chat: MemoryChat, desk: Desk, poison: None
) -> None:
    bad = Inbound("memory", "alice", "alice", f"/human {PILL} my printer", event_id="ev-bad")
    assert SORRY in plain(chat.send(bad))
    with desk.store.read() as session:
        [kept] = inbox.dead_messages(session)
        assert repo.list_tickets(session=session) == []  # its turn rolled back whole
    assert (kept.person_id, kept.text, kept.event_id) == ("alice", bad.text, "ev-bad")
    assert "poison_pill" in kept.error
    # The admin hears about it in her own chat.
    told = plain(chat.seen_by("priya", channel="console"))
    assert f"dead letter #{kept.id}" in told and "Alice Morgan" in told

    assert chat.send(bad) == [], "a redelivery is not handled (or apologised for) again"
    with desk.store.read() as session:
        assert len(inbox.dead_messages(session)) == 1
    # Nobody is held up, Alice included.
    assert "IT-1000" in plain(chat.say("bob", "/human the printer on floor 3 is jammed"))
    assert "IT-1001" in plain(chat.say("alice", "/human the printer on floor 2 too"))


def test_deskbot_inbox_lists_the_dead_letters(
    chat: MemoryChat,
    desk: Desk,
    poison: None,
    db_url: str,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    chat.say("wang.fang", f"/human 打印机坏了 {PILL}")
    monkeypatch.setenv("DATABASE_URL", db_url)
    capsys.readouterr()
    assert cli(["inbox", "--config", str(ROOT / "config.yaml"), "--format", "json"]) == 0
    [row] = json.loads(capsys.readouterr().out)
    assert row["person"] == "wang.fang" and row["text"] == f"/human 打印机坏了 {PILL}"
    assert "poison_pill" in row["error"]

"""Any text a person can send is stored and handled, on SQLite and PostgreSQL: control
characters (U+0000 cannot be stored by PostgreSQL at all) are dropped on the way in, and
bidi overrides or zero-width characters never reach a ticket's title or card raw."""

from __future__ import annotations

from sqlmodel import select

from bot.adapters.memory import MemoryChat
from bot.base.messages import clean_text
from bot.desk import Desk
from store.models import Ticket

RLO = "\u202e"  # right-to-left override: "txt.exe" shown as "exe.txt"
ZWSP = "\u200b"


def test_clean_text_drops_control_and_invisible_characters_only():
    assert clean_text("a\x00b\x07c\x1bd\x7fe") == "abcde"
    assert clean_text("line one\nline\ttwo\r\n") == "line one\nline\ttwo\r\n"
    assert clean_text(f"pass{ZWSP}word {RLO}gpj.exe") == "password gpj.exe"
    assert clean_text("我的电脑特别卡 👨\u200d👩\u200d👧") == "我的电脑特别卡 👨\u200d👩\u200d👧"


def test_a_message_with_a_nul_character_is_handled_and_nothing_breaks(chat: MemoryChat, desk: Desk):
    # Not understood: the text is kept in the conversation for "talk to a person".
    for text in ("my vpn\x00 keeps dropping", "zzq\x00 blorp"):
        assert chat.say("alice", text), "the message was answered"
    # The person's next message is handled as usual: nothing is stuck.
    assert chat.say("alice", "/status")


def test_odd_characters_never_reach_a_ticket_title_raw(chat: MemoryChat, desk: Desk):
    chat.say("alice", "/human")
    chat.say("alice", f"my files are gone{RLO}{ZWSP}\x00 please help")
    with desk.store.read() as session:
        titles = [t.title + t.description for t in session.exec(select(Ticket)).all()]
    assert titles, "a ticket was raised"
    assert not any(c in text for text in titles for c in (RLO, ZWSP, "\x00"))


def test_an_unknown_command_of_any_length_is_repeated_back_short(chat: MemoryChat):
    [reply] = chat.say("bob", "/" + "x" * 3000)
    assert "/xxxx" in reply.text and "x" * 40 not in reply.text and len(reply.text) < 300

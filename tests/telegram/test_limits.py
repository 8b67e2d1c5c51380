"""Telegram's size limits, end to end: a person types a huge description and everything that
shows it is delivered (split or cut with a pointer), never refused by Telegram. The fake
refuses texts over 4,096 UTF-16 units after entity parsing and malformed HTML, as Telegram
does, so delivery here means Telegram would take it."""

from __future__ import annotations

from sqlmodel import select

from bot.base.markup import escape
from bot.base.messages import Address, CardField, Choice, Message, Outbound, TicketCard
from store import tickets as repo
from store.models import OutboxMessage
from tests.telegram.conftest import TRIAGE, Harness
from tests.telegram.fake_bot_api import FakeBotAPI
from tests.telegram.tg_html import utf16_len

ALICE, DANA = 1001, 1006
# What people paste: markup characters, Chinese, emoji (two UTF-16 units each).
PIECE = "VPN & <wifi> keeps dropping 服务台 😀 since the update; error 0x80070005 "
CUT = "…(cut: the rest does not fit in chat)"


async def test_a_huge_description_is_confirmed_carded_and_shown(tg: Harness, fake: FakeBotAPI):
    text = (PIECE * 100)[:4000]  # about as much as one Telegram message carries
    replies = await tg.say(ALICE, f"/human {text}")
    with tg.desk.store.read() as session:
        [ticket] = repo.list_tickets(session=session)
    number = ticket.number
    assert text in ticket.description and number in replies[-1].text  # the confirmation
    for _ in range(4):  # and four more messages of it
        await tg.say(ALICE, f"/add {number} {text}")
    await tg.flush()
    assert any(number in card.text for card in fake.in_chat(TRIAGE))

    shown = await tg.say(DANA, f"/show {number}")
    # The description, the answer it came in and the four additions (24,000 characters):
    # three messages in order, the last cut with a pointer; the card comes whole after it.
    assert len(shown) == 3
    assert all(utf16_len(s.text) <= 4096 for s in shown)
    assert shown[0].text.startswith(f"{number}: ") and "VPN & <wifi>" in shown[0].text
    assert f"{CUT}\n\n{number} " in shown[-1].text
    assert "Assigned to: Not yet assigned" in shown[-1].text
    with tg.desk.store.read() as session:
        rows = session.exec(select(OutboxMessage)).all()
    assert [m for m in rows if m.status != "sent"] == []  # nothing waiting, nothing dead


async def test_an_edit_fits_in_the_one_message_it_replaces(tg: Harness, fake: FakeBotAPI):
    """A card edited in place must fit in one message: its text is cut (saying where the
    rest is), the card and the buttons stay."""
    card = TicketCard("IT-7", "Printer jammed", "New", (CardField("Assigned to", "nobody"),))
    long = Outbound(
        Address("telegram", str(TRIAGE)),
        Message(text=escape((PIECE * 200)[:9000]), card=card, more="/show IT-7"),
        key="card:IT-7",
    )
    ref = await tg.channel.send(long)
    assert ref is not None and len(fake.in_chat(TRIAGE)) == 3
    claimed = TicketCard(
        "IT-7", "Printer jammed", "In progress", (CardField("Assigned to", "Dana"),)
    )
    edited = Outbound(
        long.to,
        Message(
            text=long.message.text,
            card=claimed,
            more="/show IT-7",
            choices=(Choice("Assign", "t:assign:IT-7"),),
        ),
        key=long.key,
    )
    assert await tg.channel.send(edited, edit=ref) == ref
    last = fake.in_chat(TRIAGE)[-1]
    assert last.edits == 1 and utf16_len(last.text) <= 4096
    assert last.text.startswith("VPN & <wifi> keeps dropping")
    assert "…(cut; see /show IT-7 for the rest)\n\nIT-7 Printer jammed" in last.text
    assert last.text.endswith("Assigned to: Dana") and last.buttons == [("Assign", "t:assign:IT-7")]

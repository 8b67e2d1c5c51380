"""Files on Telegram, through python-telegram-bot against the fake Bot API: a photo or a
document is fetched with getFile and the bot's file URL and kept with the ticket (a photo
used to get "I can only read text"); a technician gets it back with sendDocument."""

from __future__ import annotations

import hashlib

from bot.desk import Desk
from store import attachments as files_repo
from store import tickets as repo
from tests.telegram.conftest import TRIAGE, Harness
from tests.telegram.test_triage import open_ticket

ALICE, BOB, DANA = 1001, 1002, 1006
JPEG = b"\xff\xd8\xff\xe0" + bytes(range(256)) * 12
PDF = b"%PDF-1.7\n" + b"0" * 3000


def kept(desk: Desk, number: str) -> list[tuple[str, str, str]]:
    with desk.store.read() as session:
        ticket = repo.get_ticket(session=session, number=number)
        assert ticket is not None and ticket.id is not None
        rows = files_repo.attachments_of(session=session, ticket_id=ticket.id)
        return [(r.name, r.sha256, r.added_by) for r in rows]


async def test_a_photo_with_add_in_its_caption_is_kept(tg: Harness, tg_desk: Desk) -> None:
    fake = tg.fake
    number = await open_ticket(tg, ALICE, "projector shows no picture")
    photo = fake.photo(JPEG)
    before = len(fake.in_chat(ALICE))
    await tg.deliver(
        fake.message_update(ALICE, None, caption=f"/add {number}", attached={"photo": photo})
    )
    said = fake.texts(ALICE)
    assert f"Added photo-u{photo[-1]['file_id']}.jpg to {number}." in said
    assert "I can only read text" not in said
    assert len(fake.in_chat(ALICE)) == before + 1
    assert fake.downloads == [photo[-1]["file_id"]]  # the largest size only
    [(name, sha, who)] = kept(tg_desk, number)
    assert name.endswith(".jpg") and sha == hashlib.sha256(JPEG).hexdigest() and who == "alice"


async def test_a_document_after_add_is_kept_and_too_big_is_refused(
    tg: Harness, tg_desk: Desk
) -> None:
    fake = tg.fake
    number = await open_ticket(tg, BOB, "expense report upload fails")
    await tg.say(BOB, f"/add {number}")
    big = fake.document(PDF, "scan.pdf", "application/pdf", size=25 * 1024 * 1024)
    await tg.deliver(fake.message_update(BOB, None, attached={"document": big}))
    assert "I couldn't keep scan.pdf: it is 25.0 MB, and the limit is 20.0 MB." in fake.texts(BOB)
    assert fake.downloads == [] and fake.calls_of("getFile") == []
    doc = fake.document(PDF, "expenses.pdf", "application/pdf")
    await tg.deliver(fake.message_update(BOB, None, attached={"document": doc}))
    assert f"Added expenses.pdf to {number}." in fake.texts(BOB)
    assert [k[0] for k in kept(tg_desk, number)] == ["expenses.pdf"]


async def test_a_technician_gets_the_files_by_send_document(tg: Harness, tg_desk: Desk) -> None:
    fake = tg.fake
    number = await open_ticket(tg, BOB, "expense report upload fails")
    doc = fake.document(PDF, "expenses.pdf", "application/pdf")
    await tg.deliver(
        fake.message_update(BOB, None, caption=f"/add {number}", attached={"document": doc})
    )
    await tg.flush()
    card = fake.in_chat(TRIAGE)[0]  # then the notice that Bob added a file
    assert "Files: expenses.pdf" in card.text
    assert f"Bob Okafor added expenses.pdf to {number}" in fake.texts(TRIAGE)
    await tg.deliver(fake.press_update(DANA, card, card.button("Get files")))
    assert fake.documents == []  # not in the group
    await tg.flush()
    assert fake.documents == [(DANA, "expenses.pdf", PDF)]
    assert f"of {number}: expenses.pdf" in fake.texts(DANA)


async def test_a_file_sent_as_a_reply_to_a_notice_goes_to_its_ticket(
    tg: Harness, tg_desk: Desk
) -> None:
    fake = tg.fake
    first = await open_ticket(tg, BOB, "expense report upload fails")
    second = await open_ticket(tg, BOB, "monitor flickers")
    await tg.say(DANA, f"/reply {first} Which browser do you use?")
    await tg.flush()
    notice = next(s for s in reversed(fake.in_chat(BOB)) if first in s.text)
    doc = fake.document(PDF, "browser.pdf", "application/pdf")
    update = fake.message_update(
        BOB, None, caption="this one", attached={"document": doc}, reply_to=notice
    )
    await tg.deliver(update)
    assert f"Added browser.pdf to {first}." in fake.texts(BOB)
    assert [k[0] for k in kept(tg_desk, first)] == ["browser.pdf"]
    assert kept(tg_desk, second) == []


async def test_in_the_triage_group_a_photo_replying_to_a_card_goes_to_its_ticket(
    tg: Harness, tg_desk: Desk
) -> None:
    fake = tg.fake
    number = await open_ticket(tg, ALICE, "printer on floor 3 is jammed")
    card = fake.in_chat(TRIAGE)[0]
    chatter = fake.photo(JPEG)  # a photo for the group, not for us: left alone
    await tg.deliver(fake.message_update(DANA, None, chat_id=TRIAGE, attached={"photo": chatter}))
    assert fake.calls_of("getFile") == [] and len(fake.in_chat(TRIAGE)) == 1
    photo = fake.photo(JPEG)
    update = fake.message_update(
        DANA, None, chat_id=TRIAGE, attached={"photo": photo}, reply_to=card
    )
    await tg.deliver(update)
    assert f"Added photo-u{photo[-1]['file_id']}.jpg to {number}." in fake.texts(TRIAGE)
    [(name, _sha, who)] = kept(tg_desk, number)
    assert who == "dana" and name.endswith(".jpg")
    await tg.flush()
    assert "Files: photo-" in card.text  # the card, edited in place

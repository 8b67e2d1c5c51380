"""Technicians in a queue's triage group: ticket cards with Claim / Assign edited in place,
technician commands, and a group's chatter left alone."""

from __future__ import annotations

from sqlmodel import select

from bot.desk import Desk
from store import chat_moves
from store import tickets as repo
from store.models import ConversationState, TicketEvent
from tests.telegram.conftest import TRIAGE, Harness, started
from tests.telegram.fake_bot_api import FakeBotAPI, Shown

ALICE, BOB, DANA, ALEX, SAM = 1001, 1002, 1006, 1007, 1009


async def open_ticket(tg: Harness, uid: int, text: str) -> str:
    replies = await tg.say(uid, f"/human {text}")
    await tg.flush()
    with tg.desk.store.read() as session:
        ticket = repo.list_tickets(session=session)[-1]
    assert ticket.number in replies[-1].text
    return ticket.number


async def test_claim_by_button_edits_the_card_in_place(tg: Harness, tg_desk: Desk):
    fake = tg.fake
    number = await open_ticket(tg, ALICE, "printer on floor 3 is jammed")
    [card] = fake.in_chat(TRIAGE)
    assert number in card.text and "Not yet assigned" in card.text
    claim = card.button("Claim")
    assert claim == f"t:claim:{number}"

    # An employee in the group may not claim: told privately (a toast), nothing changes.
    before = len(fake.in_chat(TRIAGE))
    await tg.deliver(fake.press_update(BOB, card, claim))
    refused = fake.calls_of("answerCallbackQuery")[-1]
    assert refused.params["text"].startswith("Sorry, /claim is for IT technicians")
    # A technician of another queue may not either.
    await tg.deliver(fake.press_update(SAM, card, claim))
    other_queue = fake.calls_of("answerCallbackQuery")[-1].params["text"]
    assert other_queue.startswith(f"Sorry, {number} belongs to the Service Desk team")
    assert len(fake.in_chat(TRIAGE)) == before

    await tg.deliver(fake.press_update(DANA, card, claim))
    claimed = fake.calls_of("answerCallbackQuery")[-1]
    assert claimed.params["text"].startswith(f"You've claimed {number}")
    assert len(fake.in_chat(TRIAGE)) == before  # the toast, not a message to everyone

    await tg.flush()
    assert fake.in_chat(TRIAGE) == [card]  # no second card: the first one was edited
    assert card.edits == 1
    assert "Assigned to: Dana Whitfield" in card.text and "In progress" in card.text
    assert card.buttons[0] == ("Assign", f"t:assign:{number}")  # nothing left to claim
    assert "Claim" not in [label for label, _ in card.buttons]
    assert any(c.method == "editMessageText" for c in fake.calls)
    assert "Dana from IT is on it" in fake.texts(ALICE)

    # A late press of the old button (from another client) is answered, not obeyed.
    await tg.deliver(fake.press_update(ALEX, card, claim))
    late = fake.calls_of("answerCallbackQuery")[-1]
    assert late.params["text"] == f"{number} is already taken by Dana Whitfield."

    with tg_desk.store.read() as session:
        ticket = repo.get_ticket(session=session, number=number)
        assert ticket is not None and ticket.assignee_id == "dana"
        events = session.exec(select(TicketEvent).where(TicketEvent.kind == "refused")).all()
    assert sorted(e.actor_id or "" for e in events) == ["bob", "sam"]


async def test_technician_commands_typed_in_the_group(tg: Harness, tg_desk: Desk):
    fake = tg.fake
    first = await open_ticket(tg, ALICE, "printer jammed")
    second = await open_ticket(tg, BOB, "keyboard missing keys")

    [queue] = await tg.say(DANA, "/queue", chat_id=TRIAGE)
    assert first in queue.text and second in queue.text

    [claimed] = await tg.say(ALEX, f"/claim@deskbot_test_bot {second}", chat_id=TRIAGE)
    assert claimed.text.startswith(f"You've claimed {second}")
    [refused] = await tg.say(BOB, f"/claim {first}", chat_id=TRIAGE)
    assert refused.text.startswith("Sorry, /claim is for IT technicians")

    await tg.flush()
    second_card = next(s for s in fake.in_chat(TRIAGE) if second in s.text and s.edits)
    assert "Alex Rivera" in second_card.text


async def test_group_chatter_and_other_bots_commands_are_ignored(tg: Harness):
    fake = tg.fake
    assert await tg.say(DANA, "morning all, coffee anyone?", chat_id=TRIAGE) == []
    assert await tg.say(DANA, "/queue@some_other_bot", chat_id=TRIAGE) == []
    # Talking to us by name, or replying to one of our messages, does reach us.
    [answer] = await tg.say(DANA, "@deskbot_test_bot /queue", chat_id=TRIAGE)
    assert "queue is empty" in answer.text
    before = len(fake.in_chat(TRIAGE))
    await tg.deliver(fake.message_update(DANA, "/help", chat_id=TRIAGE, reply_to=answer))
    assert len(fake.in_chat(TRIAGE)) == before + 1


async def test_group_conversation_key_marks_a_shared_place(tg: Harness, tg_desk: Desk):
    replies = await tg.say(DANA, "@deskbot_test_bot I forgot my password", chat_id=TRIAGE)
    assert "Which account is it?" in replies[-1].text
    with tg_desk.store.read() as session:
        [row] = session.exec(select(ConversationState)).all()
    assert (row.channel, row.person_id, row.conversation) == ("telegram", "dana", f"{TRIAGE}:group")


async def test_unknown_person_pressing_a_card_is_told_privately(tg: Harness):
    fake = tg.fake
    await open_ticket(tg, ALICE, "printer jammed")
    [card] = fake.in_chat(TRIAGE)
    await tg.deliver(fake.press_update(4242, card, card.button("Claim")))
    toast = fake.calls_of("answerCallbackQuery")[-1].params["text"]
    assert toast == "I don't know you yet. Message me privately to link your account."
    assert fake.in_chat(TRIAGE) == [card] and card.edits == 0


async def test_other_groups_get_no_technician_commands(tg: Harness):
    """/queue shows ticket titles: only the configured triage groups may see them."""
    fake = tg.fake
    await open_ticket(tg, ALICE, "confidential: salary spreadsheet leaked")
    [told] = await tg.say(DANA, "/queue", chat_id=-100777)
    assert "only work in private chats and in the IT triage groups" in told.text
    assert "salary" not in fake.texts(-100777)
    stray = Shown(
        -100777,
        1,
        "x",
        "x",
        {"inline_keyboard": [[{"text": "Claim", "callback_data": "t:claim:IT-1000"}]]},
    )
    await tg.deliver(fake.press_update(DANA, stray, "t:claim:IT-1000"))
    assert fake.calls_of("answerCallbackQuery")[-1].params["text"].startswith("I only work")
    with tg.desk.store.read() as session:
        ticket = repo.get_ticket(session=session, number="IT-1000")
    assert ticket is not None and ticket.assignee_id is None


SUPER = -1009999  # the triage group after it became a supergroup


def sends_to(fake: FakeBotAPI, chat: int) -> int:
    return sum(1 for c in fake.calls_of("sendMessage") if int(c.params["chat_id"]) == chat)


async def test_a_triage_group_that_became_a_supergroup_keeps_working(tg: Harness, tg_desk: Desk):
    fake = tg.fake
    first = await open_ticket(tg, ALICE, "printer on floor 3 is jammed")
    [old_card] = fake.in_chat(TRIAGE)
    fake.migrate(TRIAGE, SUPER)  # the bot missed Telegram's notices (it was down, say)

    second = await open_ticket(tg, BOB, "my monitor flickers")
    [card] = fake.in_chat(SUPER)  # refused at the old id, followed to the new one
    assert second in card.text and fake.in_chat(TRIAGE) == [old_card]
    with tg_desk.store.read() as session:
        assert chat_moves.all_moves(session, "telegram") == {str(TRIAGE): str(SUPER)}

    # Technicians carry on in the new supergroup: it is still the triage group.
    [listed] = await tg.say(DANA, "/queue", chat_id=SUPER)
    assert first in listed.text and second in listed.text
    await tg.deliver(fake.press_update(DANA, card, card.button("Claim")))
    await tg.flush()
    assert "Assigned to: Dana Whitfield" in card.text and card.edits == 1
    # The first card lived in the old group: its update is posted anew in the supergroup.
    await tg.say(DANA, f"/claim {first}", chat_id=SUPER)
    await tg.flush()
    assert any(first in s.text and "Dana Whitfield" in s.text for s in fake.in_chat(SUPER))
    assert old_card.edits == 0 and fake.problems == []


async def test_the_move_is_followed_from_telegrams_notice_and_remembered(
    tg_desk: Desk, fake: FakeBotAPI
):
    channel, tg = await started(tg_desk, fake, poll_timeout=1.0)
    try:
        for update in fake.migrate(TRIAGE, SUPER):
            await tg.deliver(update)
        await open_ticket(tg, ALICE, "printer on floor 3 is jammed")
        assert len(fake.in_chat(SUPER)) == 1 and sends_to(fake, TRIAGE) == 0
    finally:
        await channel.stop()

    channel, tg = await started(tg_desk, fake, poll_timeout=1.0)  # a restart
    try:
        [listed] = await tg.say(DANA, "/queue", chat_id=SUPER)
        assert "IT-1000" in listed.text  # not "I only work in the triage groups"
    finally:
        await channel.stop()


async def test_a_persons_own_requests_asked_for_in_the_triage_group_go_to_them_privately(
    tg: Harness,
):
    """Everyone in the triage group would read Alice's list: she gets it in her private chat."""
    fake = tg.fake
    number = await open_ticket(tg, ALICE, "confidential: my payslip is wrong")
    [pointer] = await tg.say(ALICE, "/status", chat_id=TRIAGE)
    assert "private message" in pointer.text and "Your open requests" not in fake.texts(TRIAGE)
    await tg.flush()
    listed = fake.texts(ALICE).rpartition("Your open requests")[2]
    assert number in listed

"""Privacy by place: staff views, lists and approvals asked for where others read (a Slack
channel thread, a Telegram group) go to the asker privately, with a pointer left in place.
A queue's triage place may see that queue's tickets; nothing else is shown to a shared place.
"""

from __future__ import annotations

import pytest

from bot.adapters.memory import MemoryChat
from bot.base.buttons import TICKET, button
from bot.base.markup import to_plain
from bot.base.messages import Inbound, Outbound
from bot.chat.places import Audience
from bot.desk import Desk
from tests.tickets.helpers import (
    NETWORK_TRIAGE,
    SLACK_TRIAGE,
    TELEGRAM_TRIAGE,
    get,
    new_ticket,
    plain,
)

GENERAL = "C0GENERAL:1700.1"  # a thread in #general, reached by an @mention
CARD_THREAD = f"{SLACK_TRIAGE}:1700.2"  # a thread in the service desk's triage channel
TG_TRIAGE = f"{TELEGRAM_TRIAGE}:group"  # the service desk's Telegram triage group
POINTER = "I've sent you my answer in a private message"
SECRET = "laptop stolen at the airport"
NOTE = "call her on +44 7700 900123"


@pytest.fixture
def number(tchat: MemoryChat, tdesk: Desk) -> str:
    """A service desk ticket of Alice's with an internal note on it."""
    number = new_ticket(tdesk, "alice", SECRET)
    tchat.say("dana", f"/note {number} {NOTE}")
    tchat.flush()
    return number


def shown_in(chat: MemoryChat, channel: str, conversation: str) -> str:
    return plain(chat.channels[channel].in_conversation(conversation))


def test_ticket_details_asked_for_in_a_channel_thread_go_to_the_asker_privately(
    tchat: MemoryChat, number: str
) -> None:
    replies = tchat.say("dana", f"/show {number}", conversation=GENERAL, channel="slack")
    assert POINTER in plain(replies)
    assert SECRET not in plain(replies) and NOTE not in plain(replies)

    tchat.flush()
    # Dana's private chat with the bot on Slack (her slack_id from the directory).
    private = shown_in(tchat, "slack", "U0DANA")
    assert SECRET in private and NOTE in private
    assert SECRET not in shown_in(tchat, "slack", GENERAL)


def test_the_account_the_person_wrote_from_is_where_the_answer_goes(
    tchat: MemoryChat, number: str
) -> None:
    # Someone matched by email, say, has no slack_id in the directory: the adapter passes the
    # account they wrote from, which is also their private chat with the bot.
    inbound = Inbound(
        "slack", GENERAL, "dana", text=f"/show {number}", event_id="ev-acct", account="U0OTHER"
    )
    assert POINTER in plain(tchat.send(inbound))
    assert SECRET in shown_in(tchat, "slack", "U0OTHER")


def test_the_tickets_own_triage_place_sees_it_and_others_do_not(
    tchat: MemoryChat, tdesk: Desk, number: str
) -> None:
    in_card_thread = tchat.say("dana", f"/show {number}", conversation=CARD_THREAD, channel="slack")
    assert SECRET in plain(in_card_thread) and NOTE in plain(in_card_thread)
    in_group = tchat.say("dana", f"/show {number}", conversation=TG_TRIAGE, channel="telegram")
    assert SECRET in plain(in_group)

    # A network ticket is not the service desk triage's business.
    other = new_ticket(tdesk, "bob", "wifi down in the lab", queue="network")
    replies = tchat.say("alex", f"/show {other}", conversation=CARD_THREAD, channel="slack")
    assert POINTER in plain(replies) and "wifi down" not in plain(replies)
    shown = tchat.say(
        "alex", f"/show {other}", conversation=f"{NETWORK_TRIAGE}:1.2", channel="slack"
    )
    assert "wifi down" in plain(shown)


def test_a_ticket_button_pressed_outside_its_triage_place_answers_privately(
    tchat: MemoryChat, number: str
) -> None:
    claim = button(TICKET, "claim", number)
    replies = tchat.press("dana", claim, conversation=GENERAL, channel="slack")
    assert plain(replies) == to_plain(tchat.desk.texts.render("en", "places.sent_privately"))
    tchat.flush()
    assert number in shown_in(tchat, "slack", "U0DANA")
    # On the card's own thread the confirmation stays where it was pressed.
    other = new_ticket(tchat.desk, "bob", "monitor flickers")
    pressed = tchat.press(
        "dana", button(TICKET, "claim", other), conversation=CARD_THREAD, channel="slack"
    )
    assert other in plain(pressed) and POINTER not in plain(pressed)


def test_lists_stay_only_where_every_queue_they_show_is_triaged(
    tchat: MemoryChat, tdesk: Desk
) -> None:
    new_ticket(tdesk, "alice", "printer jam", queue="service_desk")
    new_ticket(tdesk, "bob", "desk lamp broken", queue="workplace")
    # Dana works the service desk and workplace queues; one triage channel shows one of them.
    listed = tchat.say("dana", "/queue", conversation=CARD_THREAD, channel="slack")
    assert POINTER in plain(listed) and "printer jam" not in plain(listed)
    named = tchat.say("dana", "/queue service_desk", conversation=CARD_THREAD, channel="slack")
    assert "printer jam" in plain(named) and "desk lamp" not in plain(named)
    mine = tchat.say("dana", "/mine", conversation=GENERAL, channel="slack")
    assert POINTER in plain(mine)


def test_a_persons_own_list_and_approvals_are_never_shown_to_a_group(
    achat: MemoryChat, adesk: Desk
) -> None:
    new_ticket(adesk, "alice", "my salary slip is wrong")
    for person, verb in (("alice", "/status"), ("mark", "/approvals"), ("priya", "/report")):
        replies = achat.say(person, verb, conversation=TG_TRIAGE, channel="telegram")
        assert plain(replies).startswith("🔒") and POINTER in plain(replies), verb
    achat.flush()
    assert "salary slip" in shown_in(achat, "telegram", "1001")  # Alice's private chat
    assert "salary slip" not in shown_in(achat, "telegram", TG_TRIAGE)


def test_help_and_journeys_stay_where_people_ask(tchat: MemoryChat) -> None:
    helped = tchat.say("alice", "/help", conversation=GENERAL, channel="slack")
    assert POINTER not in plain(helped) and plain(helped)
    started = tchat.say("alice", "I forgot my password", conversation=GENERAL, channel="slack")
    assert POINTER not in plain(started) and plain(started)


def test_in_a_private_chat_nothing_moves(tchat: MemoryChat, number: str) -> None:
    replies = tchat.say("dana", f"/show {number}", conversation="D0DANA", channel="slack")
    assert SECRET in plain(replies) and NOTE in plain(replies)


def test_every_staff_and_approver_verb_keeps_its_replies_out_of_a_channel_thread(
    tchat: MemoryChat, number: str
) -> None:
    """The rule covers every verb that shows more than help: none is left as ANYONE."""
    engine = tchat.engine
    guarded = [v for v in engine.verbs.ordered if v.staff or v.name in ("approvals", "status")]
    assert all(v.audience is not Audience.ANYONE for v in guarded)
    for verb in guarded:
        replies: list[Outbound] = tchat.say(
            "priya", f"/{verb.name} {number} please", conversation=GENERAL, channel="slack"
        )
        text = plain(replies)
        assert SECRET not in text and NOTE not in text and number not in text, verb.name
        assert POINTER in text, verb.name


def test_a_technicians_reply_to_a_ticket_raised_in_a_channel_thread_goes_to_the_requester_privately(
    tchat: MemoryChat,
) -> None:
    tchat.say("alice", "/human my laptop was stolen", conversation=GENERAL, channel="slack")
    number = "IT-1000"
    tchat.say("dana", f"/reply {number} your temporary password is Tr0ub4dor&3")
    tchat.say("dana", f"/ask {number} which floor are you on?")
    tchat.flush()
    thread = shown_in(tchat, "slack", GENERAL)
    assert number in thread, "the request itself was answered where it was made"
    assert "Tr0ub4dor" not in thread and "which floor" not in thread
    private = shown_in(tchat, "slack", "U0ALICE")
    assert "Tr0ub4dor" in private and "which floor" in private
    # Her answer in the private chat reaches the ticket.
    tchat.say("alice", "the third floor", conversation="U0ALICE", channel="slack")
    assert "waiting" not in get(tchat.desk, number).status

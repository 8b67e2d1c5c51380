"""The triage card: posted once per triage channel, then edited in place as the ticket
moves, with Claim and Assign while nobody has it."""

from __future__ import annotations

from bot.adapters.memory import MemoryChat
from bot.base.markup import to_plain
from bot.desk import Desk
from store import outbox
from tests.tickets.helpers import (
    NETWORK_TRIAGE,
    SLACK_TRIAGE,
    TELEGRAM_TRIAGE,
    buttons,
    card,
    field,
    new_ticket,
)


def test_card_follows_the_ticket_in_place(tchat: MemoryChat, tdesk: Desk) -> None:
    number = new_ticket(tdesk, "bob", "Monitor flickers")
    reply = f"t:reply:{number}"  # the picker of canned replies, while the ticket is open
    transfer = f"t:transfer:{number}"  # the picker of other teams
    tchat.flush()
    for channel, conversation in (("slack", SLACK_TRIAGE), ("telegram", TELEGRAM_TRIAGE)):
        shown = card(tchat, number, channel, conversation)
        assert buttons(shown.out) == [f"t:claim:{number}", f"t:assign:{number}", transfer, reply]
        assert [c.label for c in shown.out.choices] == [
            "Claim",
            "Assign",
            "Transfer",
            "Canned reply",
        ]
        assert field(shown, "Status") == "New" and field(shown, "Assigned to") == "Not yet assigned"

    steps = [
        ("dana", f"/claim {number}", "In progress", [f"t:assign:{number}", transfer, reply]),
        (
            "dana",
            f"/ask {number} Which monitor?",
            "Waiting on the requester",
            [f"t:assign:{number}", transfer, reply],
        ),
        ("bob", "The left one", "In progress", [f"t:assign:{number}", transfer, reply]),
        (
            "dana",
            f"/unclaim {number}",
            "Open",
            [f"t:claim:{number}", f"t:assign:{number}", transfer, reply],
        ),
        ("alex", f"/resolve {number} Replaced the cable", "Resolved", []),
        (
            "bob",
            f"/notfixed {number} still flickers",
            "Reopened",
            [f"t:assign:{number}", transfer, reply],
        ),
        ("bob", f"/cancel {number}", "Cancelled", []),
    ]
    for edits, (who, text, status, expected) in enumerate(steps, start=1):
        tchat.say(who, text)
        for channel, conversation in (("slack", SLACK_TRIAGE), ("telegram", TELEGRAM_TRIAGE)):
            shown = card(tchat, number, channel, conversation)
            assert field(shown, "Status") == status, (text, channel)
            assert buttons(shown.out) == expected, text
            assert shown.edits == edits, text  # one message, edited each time
    assert "Ticket" in to_plain(card(tchat, number).out.text)  # no longer "New ticket"
    with tdesk.store.read() as session:
        ref = outbox.find_ref(
            session=session, channel="slack", key=f"card:{number}", conversation=SLACK_TRIAGE
        )
    assert ref is not None and ref.ref == card(tchat, number).ref


def test_assign_button_offers_colleagues_of_that_queue(tchat: MemoryChat, tdesk: Desk) -> None:
    number = new_ticket(tdesk, "bob", "Switch port dead", queue="network")
    tchat.flush()
    assert buttons(card(tchat, number, "slack", NETWORK_TRIAGE).out)[1] == f"t:assign:{number}"
    picker = tchat.press("alex", f"t:assign:{number}", channel="slack", conversation=NETWORK_TRIAGE)
    assert [c.label for c in picker[-1].choices] == ["Alex Rivera"]  # the only network technician
    assert all(len(c.value.encode()) <= 64 for c in picker[-1].choices)
    # Nobody else in the team once Alex has it.
    tchat.press("alex", picker[-1].choices[0].value, channel="slack", conversation=NETWORK_TRIAGE)
    assert field(card(tchat, number, "slack", NETWORK_TRIAGE), "Assigned to") == "Alex Rivera"
    again = tchat.press("alex", f"t:assign:{number}", channel="slack", conversation=NETWORK_TRIAGE)
    assert "nobody else in this team" in to_plain(again[-1].text)

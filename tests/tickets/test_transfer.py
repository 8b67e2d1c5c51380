"""`/transfer IT-1042 QUEUE [reason]` and the card's Transfer button: the ticket moves to
another team, the old card says where it went, the new queue gets a card, the requester
hears who has it and when to expect it."""

from __future__ import annotations

from datetime import UTC, datetime

from bot.adapters.memory import MemoryChat
from bot.base.markup import to_plain
from bot.desk import Desk
from store import tickets as repo
from tests.tickets.helpers import (
    NETWORK_TRIAGE,
    SLACK_TRIAGE,
    buttons,
    card,
    field,
    get,
    new_ticket,
    plain,
)


def events(desk: Desk, number: str) -> list[tuple[str, dict[str, object]]]:
    with desk.store.read() as session:
        ticket = repo.get_ticket(session=session, number=number)
        assert ticket is not None and ticket.id is not None
        return [
            (e.kind, dict(e.data)) for e in repo.events_of(session=session, ticket_id=ticket.id)
        ]


def test_a_ticket_moves_to_the_team_that_can_fix_it(tchat: MemoryChat, tdesk: Desk) -> None:
    number = new_ticket(tdesk, "bob", "Floor 3 has no network")
    tchat.say("dana", f"/claim {number}")
    done = tchat.say("dana", f"/transfer {number} network It's the switch on floor 3")
    assert f"Moved {number} to Network. Their triage channel has the card now." in plain(done)

    ticket = get(tdesk, number)
    # Dana does not work Network: nobody there has it yet, and it waits to be claimed.
    assert (ticket.queue, ticket.assignee_id, ticket.status) == ("network", None, "open")
    [moved] = [data for kind, data in events(tdesk, number) if kind == "transferred"]
    assert (moved["from"], moved["to"]) == ("service_desk", "network")
    tchat.flush()
    # The old card is updated in place, not deleted: where it went, by whom, no buttons.
    old = card(tchat, number, "slack", SLACK_TRIAGE)
    assert old.edits >= 1 and buttons(old.out) == []
    assert (
        f"{number} (Floor 3 has no network) moved to Network by Dana Whitfield: "
        "It's the switch on floor 3." in to_plain(old.out.text)
    )
    # The new queue's card, ready to be claimed.
    new = card(tchat, number, "slack", NETWORK_TRIAGE)
    assert buttons(new.out)[:2] == [f"t:claim:{number}", f"t:assign:{number}"]
    assert field(new, "Team") == "Network"
    # Bob hears which team has it and that the date stands (same business hours).
    told = to_plain(tchat.seen_by("bob")[-1].text)
    assert f"Your request {number} (Floor 3 has no network) is now with the Network team." in told
    assert "It's still expected by Thu 26 Nov" in told
    # Alex (Network) can claim it now.
    assert "claimed" in plain(tchat.say("alex", f"/claim {number}")).lower()


def test_an_assignee_of_both_teams_keeps_it_and_the_date_follows_the_new_hours(
    tchat: MemoryChat, tdesk: Desk
) -> None:
    number = new_ticket(tdesk, "wang.fang", "可疑邮件", priority="P3")
    tchat.say("alex", f"/claim {number}")
    tchat.say("alex", f"/transfer {number} network")
    assert (get(tdesk, number).assignee_id, get(tdesk, number).status) == ("alex", "in_progress")
    told = to_plain(tchat.seen_by("wang.fang")[-1].text)
    assert "现在由网络团队处理，仍由 Alex Rivera 负责" in told
    # To Security, which works around the clock: what was left of 3 working days (25.5 h
    # of London office time) now runs day and night, so the date moves earlier.
    before = get(tdesk, number).resolution_due
    moved = tchat.say("priya", f"/transfer {number} 信息安全 钓鱼邮件")  # an admin, in Chinese
    assert plain(moved) == f"已将 {number} 转给信息安全。"  # Security has no triage channel here
    after = get(tdesk, number)
    assert after.queue == "security" and after.assignee_id is None
    assert before is not None and after.resolution_due is not None
    assert after.resolution_due < before
    assert after.resolution_due == datetime(2026, 11, 24, 11, 31, tzinfo=UTC)
    assert "预计完成时间改为" in to_plain(tchat.seen_by("wang.fang")[-1].text)


def test_the_cards_button_offers_the_other_teams(tchat: MemoryChat, tdesk: Desk) -> None:
    number = new_ticket(tdesk, "bob", "Printer offline")
    tchat.flush()
    assert f"t:transfer:{number}" in buttons(card(tchat, number, "slack", SLACK_TRIAGE).out)
    offered = tchat.press(
        "dana", f"t:transfer:{number}", conversation=SLACK_TRIAGE, channel="slack"
    )
    values = [c.value for o in offered for c in o.choices]
    assert f"t:transfer:{number} workplace" in values
    assert f"t:transfer:{number} service_desk" not in values  # not where it is already
    tchat.press(
        "dana", f"t:transfer:{number} workplace", conversation=SLACK_TRIAGE, channel="slack"
    )
    assert get(tdesk, number).queue == "workplace"


def test_who_may_move_a_ticket_and_where(tchat: MemoryChat, tdesk: Desk) -> None:
    number = new_ticket(tdesk, "bob", "VPN drops")
    assert "is for IT technicians" in plain(tchat.say("bob", f"/transfer {number} network"))
    refused = plain(tchat.say("sam", f"/transfer {number} security"))
    assert "belongs to the Service Desk team, and you're not one of its technicians" in refused
    unknown = plain(tchat.say("dana", f"/transfer {number} facilities"))
    assert "I don't know a team called facilities" in unknown and "network" in unknown
    same = plain(tchat.say("dana", f"/transfer {number} service desk"))
    assert f"{number} is already with Service Desk" in same
    assert get(tdesk, number).queue == "service_desk"
    kinds = [kind for kind, _ in events(tdesk, number)]
    assert kinds.count("refused") == 2 and "transferred" not in kinds

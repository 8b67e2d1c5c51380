"""Ticket search: `/find` for technicians through the engine, on SQLite and PostgreSQL.

Words in titles, descriptions, answers, replies and notes; English and Chinese; ranked;
filtered; kept inside the technician's queues; never shown to a shared place that may not
see those queues.
"""

from __future__ import annotations

from datetime import timedelta

from sqlmodel import select

from bot.adapters.memory import MemoryChat
from bot.base.clock import FixedClock
from bot.desk import Desk
from store.models import TicketEvent
from tests.tickets.helpers import get, new_ticket, plain

GENERAL = "C0GENERAL:1700.1"  # a thread in #general, reached by an @mention
POINTER = "I've sent you my answer in a private message"


def listed(text: str) -> list[str]:
    """The ticket numbers of a result message, in order."""
    return [line.split()[1] for line in text.splitlines() if line.startswith("•")]


def find(chat: MemoryChat, person: str, query: str) -> str:
    return plain(chat.say(person, f"/find {query}"))


def test_a_requester_is_refused_and_the_attempt_audited(tchat: MemoryChat, tdesk: Desk) -> None:
    new_ticket(tdesk, "bob", "Printer jammed on floor 3")
    said = find(tchat, "alice", "printer")
    assert "/find is for IT technicians" in said and "IT-" not in said
    with tdesk.store.read() as session:
        refused = session.exec(
            select(TicketEvent).where(
                TicketEvent.kind == "refused", TicketEvent.actor_id == "alice"
            )
        ).one()
    assert refused.data["action"] == "find" and refused.data["asked"] == "/find printer"


def test_technicians_find_only_in_their_queues_and_admins_everywhere(
    tchat: MemoryChat, tdesk: Desk
) -> None:
    desk_ticket = new_ticket(tdesk, "alice", "Printer jammed on floor 3")
    network_ticket = new_ticket(tdesk, "bob", "Printer in the server room offline", queue="network")
    # Dana works service_desk and workplace; Alex service_desk and network; Priya is admin.
    assert listed(find(tchat, "dana", "printer")) == [desk_ticket]
    assert sorted(listed(find(tchat, "alex", "printer"))) == sorted([desk_ticket, network_ticket])
    assert sorted(listed(find(tchat, "priya", "printer"))) == sorted([desk_ticket, network_ticket])
    refused = find(tchat, "dana", "printer queue:network")
    assert "not a technician of the Network team" in refused and network_ticket not in refused
    assert listed(find(tchat, "alex", "printer queue:network")) == [network_ticket]
    assert "no queue called payroll" in find(tchat, "alex", "printer queue:payroll")


def test_chinese_words_are_found_by_their_characters(tchat: MemoryChat, tdesk: Desk) -> None:
    printer = new_ticket(tdesk, "wang.fang", "三楼的打印机卡纸了")
    password = new_ticket(tdesk, "wang.fang", "忘记邮箱密码，需要重置")
    new_ticket(tdesk, "alice", "Printer jammed")
    said = find(tchat, "chen.jie", "打印机")
    assert listed(said) == [printer]
    assert "个工单匹配" in said  # Chen Jie reads Chinese
    assert listed(find(tchat, "chen.jie", "密码")) == [password]
    assert listed(find(tchat, "chen.jie", "重置 邮箱")) == [password]
    assert listed(find(tchat, "chen.jie", "卡纸")) == [printer]
    assert listed(find(tchat, "chen.jie", "印刷")) == []  # shares no pair of characters
    assert listed(find(tchat, "chen.jie", "打印机 密码")) == []  # every word is required


def test_replies_notes_and_answers_are_searched_and_the_title_ranks_first(
    tchat: MemoryChat, tdesk: Desk
) -> None:
    in_title = new_ticket(tdesk, "alice", "VPN token expired")
    in_note = new_ticket(tdesk, "bob", "Laptop very slow")
    in_answer = new_ticket(tdesk, "bob", "New keyboard", answers={"model": "ThinkPad X1 Carbon"})
    tchat.say("dana", f"/note {in_note} she also mentions the VPN dropping every hour")
    tchat.say("dana", f"/reply {in_note} Please restart the docking station")
    assert listed(find(tchat, "dana", "vpn")) == [in_title, in_note]
    assert listed(find(tchat, "dana", "docking")) == [in_note]
    assert listed(find(tchat, "dana", "thinkpad")) == [in_answer]
    said = find(tchat, "dana", "docking")
    assert "Please restart the docking station" in said  # the snippet shows where
    # A corrected answer replaces the old one in the index.
    tchat.say("dana", f"/set {in_answer} model Dell Latitude")
    assert listed(find(tchat, "dana", "latitude")) == [in_answer]
    assert listed(find(tchat, "dana", "thinkpad")) == []


def test_filters_narrow_the_results(tchat: MemoryChat, tdesk: Desk, clock: FixedClock) -> None:
    old = new_ticket(tdesk, "alice", "Monitor flickers")
    clock.advance(timedelta(days=10))
    bobs = new_ticket(tdesk, "bob", "Monitor is dead")
    claimed = new_ticket(tdesk, "alice", "Second monitor wanted")
    tchat.say("dana", f"/claim {claimed}")
    assert sorted(listed(find(tchat, "dana", "monitor"))) == sorted([old, bobs, claimed])
    assert listed(find(tchat, "dana", "monitor by:bob")) == [bobs]
    assert sorted(listed(find(tchat, "dana", "monitor since:7d"))) == sorted([bobs, claimed])
    assert listed(find(tchat, "dana", "monitor status:in_progress")) == [claimed]
    assert sorted(listed(find(tchat, "dana", "monitor 状态:new by:alice"))) == [old]
    assert "no status called broken" in find(tchat, "dana", "monitor status:broken")
    assert "can't read yesterday as a time" in find(tchat, "dana", "monitor since:yesterday")
    assert "don't know who nobody is" in find(tchat, "dana", "monitor by:nobody")
    assert "Tell me what to look for" in find(tchat, "dana", "status:open")


def test_ten_results_then_how_many_more(tchat: MemoryChat, tdesk: Desk) -> None:
    for i in range(12):
        new_ticket(tdesk, "alice", f"Badge {i} does not open the door")
    said = find(tchat, "dana", "badge door")
    assert len(listed(said)) == 10
    assert "12 tickets match" in said and "…and 2 more" in said


def test_what_people_wrote_is_escaped(tchat: MemoryChat, tdesk: Desk) -> None:
    number = new_ticket(tdesk, "alice", "<b>printer</b> & <script>x</script>")
    [reply] = tchat.say("dana", "/find printer")
    assert number in reply.text
    assert "&lt;script&gt;" in reply.text and "<script>" not in reply.text


def test_results_never_stay_in_a_shared_place_that_may_not_see_them(
    tchat: MemoryChat, tdesk: Desk
) -> None:
    number = new_ticket(tdesk, "alice", "Printer jammed on floor 3")
    shared = tchat.say("dana", "/find printer", conversation=GENERAL, channel="slack")
    assert POINTER in plain(shared) and number not in plain(shared)
    assert get(tdesk, number).status == "new"

"""`/link IT-1043 IT-1042` (related, shown on both) and `/merge IT-1043 IT-1042` (the
duplicate closes with a pointer, its words stay as a note, its requester follows)."""

from __future__ import annotations

from bot.adapters.memory import MemoryChat
from bot.base.markup import to_plain
from bot.desk import Desk
from store import tickets as repo
from tests.tickets.helpers import get, new_ticket, plain


def kinds(desk: Desk, number: str) -> list[str]:
    with desk.store.read() as session:
        ticket = repo.get_ticket(session=session, number=number)
        assert ticket is not None and ticket.id is not None
        return [e.kind for e in repo.events_of(session=session, ticket_id=ticket.id)]


def test_related_tickets_show_each_other(tchat: MemoryChat, tdesk: Desk) -> None:
    vpn = new_ticket(tdesk, "bob", "VPN drops at home")
    wifi = new_ticket(tdesk, "bob", "Home Wi-Fi slow since the router update")
    said = plain(tchat.say("dana", f"/link {vpn} {wifi}"))
    assert f"Linked {vpn} and {wifi}" in said
    assert f"related to {wifi} Home Wi-Fi slow" in plain(tchat.say("dana", f"/show {vpn}"))
    assert f"related to {vpn} VPN drops at home" in plain(tchat.say("dana", f"/show {wifi}"))
    assert "tied already" in plain(tchat.say("dana", f"/link {wifi} {vpn}"))
    assert kinds(tdesk, vpn).count("related") == 1
    # Bob sees his own tickets, but not the technicians' ties between them.
    assert "related to" not in plain(tchat.say("bob", f"/show {vpn}"))
    assert "is for IT technicians" in plain(tchat.say("bob", f"/link {vpn} {wifi}"))
    # `/link telegram` is still about linking a chat account (not configured here).
    assert "Telegram isn't connected" in plain(tchat.say("bob", "/link telegram"))


def test_a_duplicate_merges_and_its_requester_follows(tchat: MemoryChat, tdesk: Desk) -> None:
    keep = new_ticket(tdesk, "bob", "Printer on floor 3 jammed")
    dup = new_ticket(tdesk, "wang.fang", "三楼打印机卡纸了，显示错误 E52")
    done = plain(tchat.say("dana", f"/merge {dup} {keep}"))
    assert f"Merged {dup} into {keep}" in done and "王芳 will hear about" in done

    assert get(tdesk, dup).status == "cancelled"
    told = to_plain(tchat.seen_by("wang.fang")[-1].text)
    assert f"与 {keep}（Printer on floor 3 jammed）是同一个问题" in told
    # Her words are kept on the ticket that stays, for the technicians.
    shown = plain(tchat.say("dana", f"/show {keep}"))
    assert f"merged here {dup}" in shown and "显示错误 E52" in shown
    # Bob (the other requester) sees neither her words nor the tie.
    assert "E52" not in plain(tchat.say("bob", f"/show {keep}"))
    # She can still look at hers: it points to the one that stays.
    assert f"merged into {keep} Printer on floor 3" in plain(tchat.say("wang.fang", f"/show {dup}"))

    # What happens on the kept ticket reaches her too, in Chinese, without Bob's buttons.
    tchat.say("dana", f"/claim {keep}")
    tchat.say("dana", f"/resolve {keep} Cleared the jam and replaced the roller")
    hers = tchat.seen_by("wang.fang")[-1]
    assert keep in to_plain(hers.text) and "Cleared the jam" in to_plain(hers.text)
    assert hers.choices == ()
    bobs = tchat.seen_by("bob")[-1]
    assert [c.value for c in bobs.choices] == [f"t:fixed:{keep}", f"t:notfixed:{keep}"]

    assert f"{dup} is Cancelled" in plain(tchat.say("dana", f"/merge {dup} {keep}"))
    assert "twice" in plain(tchat.say("dana", f"/merge {keep} {keep}"))


def test_unlink_removes_a_related_link_from_both_and_is_audited(
    tchat: MemoryChat, tdesk: Desk
) -> None:
    vpn = new_ticket(tdesk, "bob", "VPN drops at home")
    router = new_ticket(tdesk, "bob", "Office router reboots", queue="network")
    assert f"Linked {vpn} and {router}" in plain(tchat.say("alex", f"/link {vpn} {router}"))
    # Only staff, and only of one of the two queues (or an admin).
    assert "is for IT technicians" in plain(tchat.say("bob", f"/unlink {vpn} {router}"))
    assert "belongs to the Service Desk team" in plain(tchat.say("sam", f"/unlink {vpn} {router}"))
    assert "Please use it like this" in plain(tchat.say("dana", f"/unlink {vpn}"))
    # Dana works the Service Desk, not Network: one side is enough.
    done = plain(tchat.say("dana", f"/unlink {router} {vpn}"))
    assert f"Unlinked {router} and {vpn}" in done
    assert "related to" not in plain(tchat.say("dana", f"/show {vpn}"))
    assert "related to" not in plain(tchat.say("alex", f"/show {router}"))
    assert kinds(tdesk, vpn)[-1] == kinds(tdesk, router)[-1] == "unrelated"
    assert "aren't linked" in plain(tchat.say("dana", f"/unlink {vpn} {router}"))
    # In Chinese too, for a technician writing Chinese.
    tchat.say("alex", f"/link {vpn} {router}")
    assert f"已取消 {vpn} 和 {router} 的关联" in plain(
        tchat.say("chen.jie", f"/unlink {vpn} {router} 不相关")
    )


def test_unlink_does_not_undo_a_merge(tchat: MemoryChat, tdesk: Desk) -> None:
    keep = new_ticket(tdesk, "bob", "Printer on floor 3 jammed")
    dup = new_ticket(tdesk, "alice", "Floor 3 printer jam")
    tchat.say("dana", f"/merge {dup} {keep}")
    said = plain(tchat.say("dana", f"/unlink {dup} {keep}"))
    assert "are merged, not linked" in said
    assert f"merged here {dup}" in plain(tchat.say("dana", f"/show {keep}"))


def test_help_names_link_unlink_and_merge(tchat: MemoryChat) -> None:
    said = plain(tchat.say("dana", "/help"))
    assert "/link IT-1043 IT-1042" in said and "/unlink IT-1043 IT-1042" in said
    assert "/merge IT-1043 IT-1042" in said
    assert "/unlink" not in plain(tchat.say("bob", "/help"))

"""Canned replies: `/reply IT-1042 #name` sends a reply from content/replies in the
requester's language, by the same path as a typed reply; `/reply IT-1042` and the card's
button offer them; a wrong name gets the close ones."""

from __future__ import annotations

from bot.adapters.memory import MemoryChat
from bot.base.markup import to_plain
from bot.desk import Desk
from store import tickets as repo
from tests.tickets.helpers import SLACK_TRIAGE, buttons, card, get, new_ticket, plain


def _events(desk: Desk, number: str) -> list[tuple[str, str, dict[str, object]]]:
    with desk.store.read() as session:
        ticket = repo.get_ticket(session=session, number=number)
        assert ticket is not None and ticket.id is not None
        found = repo.events_of(session=session, ticket_id=ticket.id)
        return [(e.kind, e.note or "", dict(e.data or {})) for e in found]


def test_a_canned_reply_goes_in_the_requesters_language(tchat: MemoryChat, tdesk: Desk) -> None:
    number = new_ticket(tdesk, "wang.fang", "VPN 连不上")
    said = plain(tchat.say("dana", f"/reply {number} #vpn-reset"))
    assert f"Sent “VPN profile reset” to 王芳 on {number}" in said
    told = to_plain(tchat.seen_by("wang.fang")[-1].text)
    assert "王芳，您好！我已重置您的 VPN 配置" in told
    assert f"请在 {number} 中回复错误截图" in told and told.rstrip().endswith("Dana")
    # The same path as a typed reply: recorded (with the reply's name) and first response.
    kind, note, data = _events(tdesk, number)[-1]
    assert (kind, data) == ("reply", {"canned": "vpn-reset"})
    assert "我已重置您的 VPN 配置" in note
    assert get(tdesk, number).first_response_at is not None


def test_variables_are_filled_in_and_escaped_like_typed_text(
    tchat: MemoryChat, tdesk: Desk
) -> None:
    number = new_ticket(tdesk, "alice", "Excel <b>crashes</b> & freezes")
    tchat.say("dana", f"/reply {number} #NEED-SCREENSHOT")
    told = tchat.seen_by("alice")[-1].text
    assert "Hi Alice, to look into" in to_plain(told)
    assert "Excel &lt;b&gt;crashes&lt;/b&gt; &amp; freezes" in told  # the title is user text
    assert "Thanks, Dana" in to_plain(told)


def test_reply_without_text_offers_the_replies_as_buttons(tchat: MemoryChat, tdesk: Desk) -> None:
    number = new_ticket(tdesk, "bob", "Laptop slow")
    out = tchat.say("dana", f"/reply {number}")[-1]
    assert f"Which canned reply should Bob get on {number}?" in to_plain(out.text)
    assert f"Or type your own: /reply {number} your message" in to_plain(out.text)
    labels = [c.label for c in out.choices]
    assert labels == sorted(labels, key=str.lower) and "Please restart first" in labels
    value = next(c.value for c in out.choices if c.label == "Please restart first")
    assert value == f"t:reply:{number} #restart-first" and len(value.encode()) <= 64
    said = plain(tchat.press("dana", value))
    assert f"Sent “Please restart first” to Bob on {number}" in said
    assert "Hi Bob, many of these problems go away" in to_plain(tchat.seen_by("bob")[-1].text)
    # A typed reply that happens to start with # is still a typed reply.
    tchat.say("dana", f"/reply {number} #1 thing to try: restart")
    assert "#1 thing to try: restart" in to_plain(tchat.seen_by("bob")[-1].text)


def test_the_triage_card_button_opens_the_picker_in_the_triage_channel(
    tchat: MemoryChat, tdesk: Desk
) -> None:
    number = new_ticket(tdesk, "bob", "Printer jams")
    tchat.flush()
    value = buttons(card(tchat, number).out)[-1]
    assert value == f"t:reply:{number}"
    out = tchat.press("dana", value, channel="slack", conversation=SLACK_TRIAGE)[-1]
    assert out.to.conversation == SLACK_TRIAGE  # the queue's own triage place may see it
    assert f"t:reply:{number} #on-site-visit" in buttons(out)


def test_an_unknown_name_lists_the_close_ones(tchat: MemoryChat, tdesk: Desk) -> None:
    number = new_ticket(tdesk, "bob", "VPN down")
    said = plain(tchat.say("dana", f"/reply {number} #vpn-rest"))
    assert "I don't know a canned reply called #vpn-rest. Did you mean #vpn-reset?" in said
    said = plain(tchat.say("dana", f"/reply {number} #zebra"))
    assert "The canned replies are #need-screenshot, #on-site-visit" in said
    assert f"/reply {number} to pick one" in said
    assert [k for k, _, _ in _events(tdesk, number)] == ["created"]  # nothing was sent
    assert "Hi Bob" not in plain(tchat.seen_by("bob"))


def test_only_technicians_of_the_queue_send_canned_replies(tchat: MemoryChat, tdesk: Desk) -> None:
    number = new_ticket(tdesk, "bob", "VPN down")
    assert "is for IT technicians" in plain(tchat.say("alice", f"/reply {number} #vpn-reset"))
    assert "belongs to the Service Desk team" in plain(tchat.say("sam", f"/reply {number}"))
    assert [k for k, _, _ in _events(tdesk, number)] == ["created", "refused", "refused"]

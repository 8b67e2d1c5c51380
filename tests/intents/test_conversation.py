"""What the matcher's readings do in a conversation, through the real engine on the default
catalog: two requests in one message, an explicit ask for a person, referrals for non-IT
requests (and their count in the report)."""

from __future__ import annotations

from datetime import timedelta

from bot.adapters.memory import MemoryChat
from bot.base.clock import FixedClock
from bot.base.markup import to_plain
from bot.base.messages import Outbound
from bot.desk import Desk
from bot.expiry import expire_idle
from bot.insight.metrics import build_report
from bot.insight.render import table
from store import tickets as ticket_repo


def said(replies: list[Outbound]) -> str:
    return "\n".join(to_plain(r.message.text) for r in replies)


def choices(replies: list[Outbound]) -> list[str]:
    return [c.value for c in replies[-1].message.choices]


def test_two_requests_start_the_first_and_offer_the_other_when_it_ends(desk: Desk):
    chat = MemoryChat(desk)
    replies = chat.say("alice", "the vpn keeps dropping, and also the printer on 3 is jammed")
    text = said(replies)
    assert "I see two things here: VPN problem and Printer or scanner problem" in text
    assert "Got it: VPN problem." in text  # the VPN journey started
    left = chat.say("alice", "/cancel")
    assert "You also mentioned Printer or scanner problem" in said(left)
    assert choices(left) == ["s:printer_issue", "m:skip_next"]
    started = chat.press("alice", "s:printer_issue")
    assert "What's the printer problem?" in said(started)


def test_the_urgent_request_goes_first_in_chinese_and_the_other_can_be_let_go(desk: Desk):
    chat = MemoryChat(desk)
    replies = chat.say("bob", "想装个Visio，不过更急的是我好像点了钓鱼链接")
    text = said(replies)
    assert "我看到这里有两件事：信息安全事件和软件申请" in text, text
    left = chat.say("bob", "/cancel")
    assert "您还提到了软件申请" in said(left)
    dropped = chat.press("bob", "m:skip_next")
    assert "先不处理" in said(dropped)
    assert "软件申请" not in said(chat.say("bob", "/cancel"))  # offered once only


def test_when_the_first_request_times_out_the_sweep_offers_the_other_with_its_note(
    desk: Desk, clock: FixedClock
):
    chat = MemoryChat(desk)
    chat.say("alice", "the vpn keeps dropping, and also the printer on 3 is jammed")
    clock.advance(desk.settings.conversation.idle_timeout + timedelta(minutes=1))
    assert expire_idle(desk, clock.now()) == 1
    chat.flush()
    note, offer = chat.seen_by("alice")[-2:]
    assert "Your earlier request (VPN problem) timed out" in said([note])
    assert "You also mentioned Printer or scanner problem" in said([offer])
    assert [c.value for c in offer.message.choices] == ["s:printer_issue", "m:skip_next"]
    started = chat.press("alice", "s:printer_issue")
    assert "What's the printer problem?" in said(started)


def test_when_the_first_request_times_out_the_next_message_brings_the_other_in_chinese(
    desk: Desk, clock: FixedClock
):
    chat = MemoryChat(desk)
    chat.say("bob", "想装个Visio，不过更急的是我好像点了钓鱼链接")
    clock.advance(desk.settings.conversation.idle_timeout + timedelta(minutes=1))
    replies = chat.say("bob", "你好")  # no sweep ran: this message closes the journey
    text = said(replies)
    assert "您之前的请求（信息安全事件）因长时间未回复已自动关闭" in text, text
    assert text.index("自动关闭") < text.index("您还提到了软件申请"), text
    assert choices(replies) == ["s:software_request", "m:skip_next"]


def test_a_new_request_after_the_timeout_goes_first_and_the_kept_one_follows_it(
    desk: Desk, clock: FixedClock
):
    chat = MemoryChat(desk)
    chat.say("alice", "the vpn keeps dropping, and also the printer on 3 is jammed")
    clock.advance(desk.settings.conversation.idle_timeout + timedelta(minutes=1))
    replies = chat.say("alice", "my mailbox is full")
    assert "timed out" in said(replies) and "Got it: Storage full." in said(replies)
    assert "You also mentioned" not in said(replies)  # not in the middle of the new journey
    left = chat.say("alice", "/cancel")
    assert "You also mentioned Printer or scanner problem" in said(left)


def test_the_kept_request_asked_for_again_after_the_timeout_is_not_offered_twice(
    desk: Desk, clock: FixedClock
):
    chat = MemoryChat(desk)
    chat.say("alice", "the vpn keeps dropping, and also the printer on 3 is jammed")
    clock.advance(desk.settings.conversation.idle_timeout + timedelta(minutes=1))
    assert "Got it: Printer or scanner problem." in said(chat.say("alice", "the printer is jammed"))
    assert "You also mentioned" not in said(chat.say("alice", "/cancel"))
    chat.say("alice", "my mailbox is full")
    assert "You also mentioned" not in said(chat.say("alice", "/cancel"))  # done with, not kept


def test_an_explicit_ask_for_a_person_wins_over_a_service(desk: Desk):
    chat = MemoryChat(desk)
    replies = chat.say("alice", "转人工 outlook 又挂了")
    assert "我已将此事转给服务台" in said(replies)
    with desk.store.read() as session:
        tickets = ticket_repo.list_tickets(session=session, requester_id="alice")
    assert len(tickets) == 1 and tickets[0].service_id is None  # a person, not email_issue

    asked = chat.say("bob", "is there a number I can ring?")
    assert "In a sentence, what do you need help with?" in said(asked)


def test_a_non_it_request_gets_the_pointer_in_its_language_and_the_report_counts_it(
    desk: Desk, clock: FixedClock
):
    chat = MemoryChat(desk)
    en = chat.say("alice", "my payslip is wrong this month")
    assert "That sounds like HR and payroll" in said(en)
    assert "Workday" in said(en)
    assert choices(en) == ["m:rephrase", "m:human", "m:general"]
    zh = chat.say("bob", "这个月工资少发了")
    assert "人事与薪资" in said(zh) and "Workday" in said(zh)
    room = chat.say("alice", "can you book a meeting room for Thursday?")
    assert "Facilities and office services" in said(room)

    with desk.store.read() as session:
        day = timedelta(days=1)
        report = build_report(desk, session, clock.now() - day, clock.now() + day)
    assert report.period.referrals == [("hr_payroll", 2), ("facilities", 1)]
    assert (report.period.matcher_referred.part, report.period.matcher_referred.whole) == (3, 3)
    lines = table(desk, "en", report)
    assert "referred to HR and payroll" in lines and "Pointed elsewhere (not for IT)" in lines


def test_pinyin_from_a_chinese_speaker_is_answered_in_chinese(desk: Desk):
    # "wo de diannao hen man" was understood (slow computer) but answered in English.
    chat = MemoryChat(desk)
    text = said(chat.say("wang.fang", "wo de diannao hen man"))
    assert "明白了" in text and "Got it" not in text
    assert "问题解决了吗？" in text  # the journey asks in Chinese too
    # English from someone whose language is English stays English.
    assert "Got it" in said(chat.say("alice", "my computer is very slow"))

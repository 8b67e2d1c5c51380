"""A clear new request mid-journey asks whether to switch; the answer is never lost."""

from __future__ import annotations

from bot.adapters.memory import MemoryChat

from .talk import outcomes, plain, talk, tickets


def test_new_request_mid_journey_offers_to_switch(chat: MemoryChat) -> None:
    talk(chat, "alice", ["!s:new_laptop"])  # waiting for the model choice
    offer = chat.say("alice", "actually my vpn is broken")
    said = plain(offer)
    assert "That sounds like a new request: VPN problem" in said
    assert [c.value for c in offer[-1].choices] == ["j:_:switch:vpn_issue", "j:_:stay"]
    assert [c.label for c in offer[-1].choices] == [
        "Switch to VPN problem",
        "Continue New or replacement laptop",
    ]

    switched = chat.press("alice", "j:_:switch:vpn_issue")
    assert "What is the VPN doing?" in plain(switched)
    assert outcomes(chat) == ["switched"]
    talk(chat, "alice", ["won't connect", "no", "home", "yes", "no"])
    [ticket] = tickets(chat)
    assert ticket.service_id == "vpn_issue"


def test_continue_asks_the_same_question_again(chat: MemoryChat) -> None:
    talk(chat, "alice", ["!s:new_laptop"])
    chat.say("alice", "actually my vpn is broken")
    stay = chat.press("alice", "j:_:stay")
    assert stay[-1].text == "Which model would you like?"
    talk(chat, "alice", ["standard", "collect"])
    [ticket] = tickets(chat)
    assert ticket.service_id == "new_laptop"
    assert outcomes(chat) == []  # still waiting for the manager


def test_chinese_cue_word_offers_to_switch(chat: MemoryChat) -> None:
    talk(chat, "wang.fang", ["!s:storage_quota"])
    offer = chat.say("wang.fang", "其实我的VPN连不上")
    assert "这听起来是一个新请求：VPN 问题" in plain(offer)


def test_free_text_answer_mentioning_another_service_stays_an_answer(chat: MemoryChat) -> None:
    # The hardware fault description mentions the VPN, but answers the question asked.
    talk(chat, "alice", ["!s:hardware_issue", "laptop"])
    replies = chat.say("alice", "the laptop reboots whenever I connect to the vpn")
    assert "Was it dropped" in plain(replies)


def test_continue_keeps_a_typed_answer_that_fits(chat: MemoryChat) -> None:
    talk(chat, "alice", ["!s:hardware_issue", "laptop"])
    offer = chat.say("alice", "actually my vpn is broken")
    assert "new request: VPN problem" in plain(offer)
    stay = chat.press("alice", "j:_:stay")
    assert "Was it dropped" in plain(stay)  # what they typed answered the fault question
    talk(chat, "alice", ["no", "yes"])
    [ticket] = tickets(chat)
    assert ticket.answers["symptom"] == "actually my vpn is broken"


def test_a_stray_word_is_a_wrong_answer_not_a_new_request(chat: MemoryChat) -> None:
    talk(chat, "alice", ["!s:meeting_room_av", "Thames 4.01", "camera", "!j:self_help:no"])
    replies = chat.say("alice", "maybe")
    assert "I need a yes or a no here." in plain(replies)


def test_a_cued_close_call_offers_the_likely_services(chat: MemoryChat) -> None:
    talk(chat, "alice", ["!s:storage_quota"])
    offer = chat.say("alice", "also outlook and the printer are both broken")
    values = [c.value for c in offer[-1].choices]
    assert "j:_:switch:printer_issue" in values and "j:_:switch:email_issue" in values
    assert values[-1] == "j:_:stay"
    assert "Switch to one of these" in plain(offer)
    chat.press("alice", "j:_:switch:printer_issue")
    assert outcomes(chat) == ["switched"]

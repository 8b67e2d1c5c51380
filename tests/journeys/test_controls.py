"""Conversation control at every step type that waits for the person: cancel, back, help,
human and status, typed (or pressed) at a suggest, ask, choose and confirm step."""

from __future__ import annotations

import pytest

from bot.adapters.memory import MemoryChat

from .talk import outcomes, plain, talk, tickets

# Where each step type is in the VPN journey: what gets there, the question, its number.
AT = {
    "suggest": (["won't connect"], "Did this fix it?", 2),
    "ask": (["shows an error", "no"], "What does the error message say?", 3),
    "choose": (["won't connect", "no"], "Where are you connecting from?", 3),
    "confirm": (["won't connect", "no", "home"], "Do websites work normally", 4),
}
PREVIOUS = {
    "suggest": "What is the VPN doing?",
    "ask": "Did this fix it?",
    "choose": "Did this fix it?",
    "confirm": "Where are you connecting from?",
}
HELP = {
    "suggest": "Tell me whether the article fixed it",
    "ask": "Please answer in a few words.",
    "choose": "Pick one of the options",
    "confirm": "Please answer yes or no.",
}
SO_FAR = {
    "suggest": {"symptom": "wont_connect"},
    "ask": {"symptom": "error", "self_help": False},
    "choose": {"symptom": "wont_connect", "self_help": False},
    "confirm": {"symptom": "wont_connect", "self_help": False, "location": "home"},
}


def reach(chat: MemoryChat, step_type: str) -> None:
    inputs, prompt, _ = AT[step_type]
    done = talk(chat, "bob", ["!s:vpn_issue", *inputs])
    assert done.replies[-1].text.startswith(prompt)


@pytest.mark.parametrize("step_type", list(AT))
def test_help_explains_the_step_and_asks_again(chat: MemoryChat, step_type: str) -> None:
    reach(chat, step_type)
    replies = chat.say("bob", "help")
    assert HELP[step_type] in plain(replies)
    assert "back" in plain(replies[:1]) and "cancel" in plain(replies[:1])
    assert replies[-1].text.startswith(AT[step_type][1])
    assert replies[-1].message.progress


@pytest.mark.parametrize("step_type", list(AT))
def test_status_says_where_we_are(chat: MemoryChat, step_type: str) -> None:
    reach(chat, step_type)
    replies = chat.say("bob", "where am i")
    assert f"You're in VPN problem. Step {AT[step_type][2]} of" in plain(replies)
    assert replies[-1].text.startswith(AT[step_type][1])


@pytest.mark.parametrize("step_type", list(AT))
def test_slash_status_shows_the_request_being_filled_in(chat: MemoryChat, step_type: str) -> None:
    # It said only "You have no open requests." and left the question behind.
    reach(chat, step_type)
    replies = chat.say("bob", "/status")
    said = plain(replies)
    assert "Nothing submitted yet." in said and "no open requests" not in said
    assert f"You're in VPN problem. Step {AT[step_type][2]} of" in said
    assert replies[-1].text.startswith(AT[step_type][1])
    chat.say("bob", "cancel")
    assert plain(chat.say("bob", "/status")) == "You have no open requests."


@pytest.mark.parametrize("step_type", list(AT))
def test_back_returns_to_the_previous_question(chat: MemoryChat, step_type: str) -> None:
    reach(chat, step_type)
    replies = chat.say("bob", "back")
    assert "let's change that answer" in plain(replies)
    assert replies[-1].text.startswith(PREVIOUS[step_type])


def test_back_at_the_first_question_says_so(chat: MemoryChat) -> None:
    talk(chat, "bob", ["!s:vpn_issue"])
    replies = chat.say("bob", "back")
    assert "nothing to go back to" in plain(replies)
    assert replies[-1].text == "What is the VPN doing?"


def test_back_then_a_different_answer_replaces_the_old_one(chat: MemoryChat) -> None:
    reach(chat, "confirm")
    talk(chat, "bob", ["back", "back", "no", "office", "yes", "no"])
    [ticket] = tickets(chat)
    assert ticket.answers == {
        "symptom": "wont_connect",
        "self_help": False,
        "location": "office",
        "internet_ok": True,
        "blocked": False,
    }


@pytest.mark.parametrize("step_type", list(AT))
def test_cancel_ends_without_submitting(chat: MemoryChat, step_type: str) -> None:
    reach(chat, step_type)
    replies = chat.say("bob", "cancel")
    assert "Cancelled: VPN problem. Nothing was submitted." in plain(replies)
    assert tickets(chat) == []
    assert outcomes(chat) == ["cancelled"]
    assert "Hi Bob" in plain(chat.say("bob", "hello"))  # no journey left behind


@pytest.mark.parametrize("step_type", list(AT))
def test_human_hands_over_with_the_answers_so_far(chat: MemoryChat, step_type: str) -> None:
    reach(chat, step_type)
    replies = chat.say("bob", "talk to a person")
    [ticket] = tickets(chat)
    assert ticket.number in plain(replies) and "A person will pick it up" in plain(replies)
    assert ticket.title == "Needs a person: VPN problem"
    assert ticket.answers == SO_FAR[step_type]
    assert outcomes(chat) == ["handoff"]


def test_controls_as_buttons(chat: MemoryChat) -> None:
    reach(chat, "choose")
    assert "You're in VPN problem" in plain(chat.press("bob", "j:_:status"))
    assert "Cancelled: VPN problem" in plain(chat.press("bob", "j:_:cancel"))


def test_controls_work_in_chinese(chat: MemoryChat) -> None:
    done = talk(chat, "wang.fang", ["!s:storage_quota", "邮箱", "返回"])
    assert "好的，我们来修改这个回答" in done.text
    assert done.replies[-1].text == "哪里满了？"
    assert "已取消" in plain(chat.say("wang.fang", "取消"))
    assert outcomes(chat) == ["cancelled"]


def test_a_button_pressed_after_an_english_message_keeps_english(chat: MemoryChat) -> None:
    # Wang Fang's directory language is Chinese; she greets in English, then presses a button.
    assert "Hi 王芳" in plain(chat.say("wang.fang", "hello there"))
    pressed = plain(chat.press("wang.fang", "s:password_reset"))
    assert "self-service reset" in pressed and "自助" not in pressed
    # And back: Chinese typed by an English speaker is answered in Chinese after a press too.
    chat.say("alice", "你好")
    assert "自助" in plain(chat.press("alice", "s:password_reset"))


def test_a_general_request_asks_what_it_is_about_and_is_titled_from_the_answer(
    chat: MemoryChat,
) -> None:
    unsure = chat.say("bob", "something is wrong with my computer")
    assert [c.value for c in unsure[-1].choices][-1] == "m:general"
    asked = chat.press("bob", "m:general")
    assert tickets(chat) == []  # nothing filed before it says what it is about
    assert "In a sentence, what do you need help with?" in plain(asked)
    assert "something is wrong with my computer" in plain(asked)
    chat.say("bob", "The docking station stops charging my laptop after lunch every day")
    [ticket] = tickets(chat)
    assert ticket.title == (
        "Needs a person: The docking station stops charging my laptop after lunch every day"
    )
    assert ticket.answers == {
        "request": "The docking station stops charging my laptop after lunch every day",
        "earlier": "something is wrong with my computer",
    }


def test_a_general_request_may_go_as_first_written_in_chinese(chat: MemoryChat) -> None:
    chat.say("wang.fang", "有个事情想问一下，不知道找谁")
    asked = chat.press("wang.fang", "m:general")
    assert "请用一句话说明" in plain(asked) and tickets(chat) == []
    [send] = [c.value for o in asked for c in o.choices]
    chat.press("wang.fang", send)
    [ticket] = tickets(chat)
    assert ticket.title == "Needs a person: 有个事情想问一下，不知道找谁"
    # The button worked once; pressed again, nothing more is filed.
    chat.press("wang.fang", send)
    assert len(tickets(chat)) == 1

"""Conversation control at every interactive step type: cancel, back, help, human, status."""

from __future__ import annotations

import pytest

from bot.adapters.memory import MemoryChat

from .talk import outcomes, plain, talk, tickets

# Where each step type is in the password reset, and how its question starts.
AT = {
    "suggest": ([], "Did this fix it?"),
    "choose": (["no"], "Which account is it?"),
    "confirm": (["no", "email"], "Are you locked out right now"),
    "ask": (["no", "email", "yes"], "To verify it's really you"),
}
PREVIOUS = {"choose": "suggest", "confirm": "choose", "ask": "confirm"}
HELP = {
    "suggest": "Tell me whether the article fixed it",
    "choose": "Pick one of the options",
    "confirm": "Please answer yes or no.",
    "ask": "Digits with an optional +",  # the step's own hint
}


def reach(chat: MemoryChat, step_type: str) -> None:
    inputs, prompt = AT[step_type]
    done = talk(chat, "alice", ["!s:password_reset", *inputs])
    assert done.replies[-1].text.startswith(prompt)


@pytest.mark.parametrize("step_type", list(AT))
def test_help_explains_the_step_and_asks_again(chat: MemoryChat, step_type: str) -> None:
    reach(chat, step_type)
    replies = chat.say("alice", "help")
    assert HELP[step_type] in plain(replies)
    assert "back" in plain(replies[:1]) and "cancel" in plain(replies[:1])
    assert replies[-1].text.startswith(AT[step_type][1])
    assert replies[-1].message.progress


@pytest.mark.parametrize("step_type", list(AT))
def test_status_says_where_we_are(chat: MemoryChat, step_type: str) -> None:
    reach(chat, step_type)
    replies = chat.say("alice", "where am i")
    step_number = list(AT).index(step_type) + 1
    assert f"You're in Password reset. Step {step_number} of" in plain(replies)
    assert replies[-1].text.startswith(AT[step_type][1])


@pytest.mark.parametrize("step_type", list(AT))
def test_back_returns_to_the_previous_question(chat: MemoryChat, step_type: str) -> None:
    reach(chat, step_type)
    replies = chat.say("alice", "back")
    if step_type == "suggest":
        assert "nothing to go back to" in plain(replies)
        assert replies[-1].text.startswith(AT["suggest"][1])
        return
    assert "let's change that answer" in plain(replies)
    assert replies[-1].text.startswith(AT[PREVIOUS[step_type]][1])


def test_back_then_a_different_answer_replaces_the_old_one(chat: MemoryChat) -> None:
    reach(chat, "ask")  # answered: suggest no, account email, locked out yes
    talk(chat, "alice", ["back", "back", "windows", "no", "+44 20 7946 0000"])
    [ticket] = tickets(chat)
    assert ticket.answers == {
        "self_service": False,
        "account": "windows",
        "locked_out": False,
        "phone": "+44 20 7946 0000",
    }


@pytest.mark.parametrize("step_type", list(AT))
def test_cancel_ends_without_submitting(chat: MemoryChat, step_type: str) -> None:
    reach(chat, step_type)
    replies = chat.say("alice", "cancel")
    assert "Cancelled: Password reset. Nothing was submitted." in plain(replies)
    assert tickets(chat) == []
    assert outcomes(chat) == ["cancelled"]
    assert "Hi Alice" in plain(chat.say("alice", "hello"))  # no journey left behind


@pytest.mark.parametrize("step_type", list(AT))
def test_human_hands_over_with_the_answers_so_far(chat: MemoryChat, step_type: str) -> None:
    reach(chat, step_type)
    replies = chat.say("alice", "talk to a person")
    [ticket] = tickets(chat)
    assert ticket.number in plain(replies) and "A person will pick it up" in plain(replies)
    assert ticket.title == "Needs a person: Password reset"
    expected = {"suggest": {}, "choose": {"self_service": False}}.get(step_type)
    if expected is not None:
        assert ticket.answers == expected
    assert outcomes(chat) == ["handoff"]


def test_controls_work_in_chinese(chat: MemoryChat) -> None:
    done = talk(chat, "wang.fang", ["!s:storage_quota", "邮箱", "返回"])
    assert "好的，我们来修改这个回答" in done.text
    assert done.replies[-1].text == "哪里满了？"
    assert "已取消" in plain(chat.say("wang.fang", "取消"))
    assert outcomes(chat) == ["cancelled"]

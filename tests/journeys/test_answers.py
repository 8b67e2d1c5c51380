"""Choices as buttons or a list, typed answers matched in either language, typed yes/no."""

from __future__ import annotations

import pytest

from bot.adapters.memory import MemoryChat

from .talk import plain, talk, tickets


def test_up_to_five_options_are_buttons_more_are_a_select(chat: MemoryChat) -> None:
    five = chat.press("alice", "s:email_issue")[-1]
    assert len(five.choices) == 5 and five.message.select_label is None
    chat.say("alice", "cancel")
    seven = chat.press("alice", "s:software_request")[-1]
    assert len(seven.choices) == 7
    assert seven.message.select_label == "Choose…"
    assert seven.choices[5].label == "A free tool (Zoom, 7-Zip, Python, VLC...)"


@pytest.mark.parametrize(
    ("person", "typed", "value"),
    [
        ("alice", "笔记本电脑", "laptop"),  # English speaker typing the Chinese label
        ("wang.fang", "Phone", "phone"),  # Chinese speaker typing the English label
        ("alice", "my iphone", "phone"),  # a keyword inside a sentence
        ("alice", "Lapotp", "laptop"),  # a typo
        ("alice", "4", "badge"),  # the option's number
        ("wang.fang", "工卡", "badge"),
    ],
)
def test_typed_answers_are_matched_to_options(
    chat: MemoryChat, person: str, typed: str, value: str
) -> None:
    talk(chat, person, ["!s:lost_device", typed, "!j:how:lost", "On the train", "skip"])
    [ticket] = tickets(chat)
    assert ticket.answers["device"] == value


def test_an_unmatched_answer_is_asked_again_with_help(chat: MemoryChat) -> None:
    talk(chat, "alice", ["!s:lost_device"])
    again = chat.say("alice", "my umbrella")
    said = plain(again)
    assert "couldn't match that to one of the options" in said
    assert "press a button, or type its name or number" in said
    assert again[-1].choices[0].value == "j:device:laptop"


@pytest.mark.parametrize(
    ("person", "typed", "expected"),
    [
        ("alice", "y", True),
        ("alice", "yep", True),
        ("wang.fang", "是", True),
        ("wang.fang", "不", False),
    ],
)
def test_confirm_accepts_typed_variants(
    chat: MemoryChat, person: str, typed: str, expected: bool
) -> None:
    talk(chat, person, ["!s:meeting_room_av", "Thames 4.01", "camera", "!j:self_help:no", typed])
    [ticket] = tickets(chat)
    assert ticket.answers["meeting_soon"] is expected


def test_three_failures_offer_a_person(chat: MemoryChat) -> None:
    talk(chat, "alice", ["!s:meeting_room_av", "Thames 4.01", "camera", "!j:self_help:no"])
    talk(chat, "alice", ["perhaps", "maybe"])
    third = chat.say("alice", "who knows")
    assert "talk to a person, try again, or cancel" in plain(third)
    assert [c.value for c in third[-1].choices] == ["j:_:human", "j:_:retry", "j:_:cancel"]


def test_a_flickering_screen_is_taken_from_the_request(chat: MemoryChat) -> None:
    # Tried as a new user: "my screen keeps flickering" was asked "What isn't working?".
    replies = plain(chat.say("bob", "my laptop screen keeps flickering since this morning"))
    assert "I've noted: Laptop screen" in replies
    assert "What isn't working?" not in replies
    chat.say("bob", "cancel")
    assert "I've noted: Laptop screen" in plain(chat.say("bob", "my screen keeps flickering"))

"""Choices as buttons or a list, typed answers matched in either language, typed yes/no."""

from __future__ import annotations

import pytest

from bot.adapters.memory import MemoryChat
from bot.base.texts import Texts
from journeys.answers import yes_no_or_label

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
        ("wang.fang", "有", True),  # to "这个会议室一小时内有会议吗？"
        ("wang.fang", "没有", False),
    ],
)
def test_confirm_accepts_typed_variants(
    chat: MemoryChat, person: str, typed: str, expected: bool
) -> None:
    talk(chat, person, ["!s:meeting_room_av", "Thames 4.01", "camera", "!j:self_help:no", typed])
    [ticket] = tickets(chat)
    assert ticket.answers["meeting_soon"] is expected


TEXTS = Texts()


@pytest.mark.parametrize(
    ("typed", "expected"),
    [
        # A yes or a no leading a longer answer, as people write in chat.
        ("yes, it fell off the desk yesterday", True),
        ("Yeah it was dropped this morning", True),
        ("yep - about an hour ago", True),
        ("it did, thanks!", True),
        ("no, still broken", False),
        ("nope still not working", False),
        ("Nah I haven't tried that", False),
        ("no thanks, I'll wait", False),
        ("是的，昨天摔的", True),
        ("是的昨天从桌上掉下来了", True),  # Chinese runs on without spaces
        ("嗯，刚才", True),
        ("没有，还是不行", False),
        ("没有解决", False),
        ("不，不是这台", False),
        ("可以，我用台式机", True),  # Chinese answers with the question's verb
        ("有，十点开会", True),
        ("不能，电脑完全用不了", False),
        ("不会，不用担心", False),
        # Not clear: asked again.
        ("no idea", None),
        ("yes but only sometimes", None),
        ("yes, it didn't help", None),  # a yes the rest denies
        ("yes, it didn\u2019t help", None),  # a phone's apostrophe
        ("nope, didn\u2019t", False),
        ("it didnt", False),  # typed without the apostrophe
        ("yes, it didnt help", None),
        ("yeah maybe", None),
        ("not sure", None),
        ("ok so it still doesn't work", None),  # "ok", "right" do not lead an answer
        ("right now it's broken", None),
        ("nobody told me", None),  # "no" only as a whole word
        ("yesterday it was fine", None),
        ("是不是要重启", None),  # one character leads only before a space or punctuation
        ("不是很确定", None),
        ("是的，但是还会断", None),
        ("对，不过只有一次", None),
    ],
)
def test_a_yes_or_no_leading_a_longer_answer_is_that_answer(
    typed: str, expected: bool | None
) -> None:
    assert yes_no_or_label(TEXTS, "en", typed) is expected


def test_a_chatty_yes_answers_the_question_in_a_journey(chat: MemoryChat) -> None:
    # It was met with "I need a yes or a no here".
    talk(chat, "alice", ["!s:meeting_room_av", "Thames 4.01", "camera", "!j:self_help:no"])
    talk(chat, "alice", ["yes, in half an hour in Thames"])
    [ticket] = tickets(chat)
    assert ticket.answers["meeting_soon"] is True


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

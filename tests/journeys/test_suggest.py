"""Self-help (`suggest` steps): the article, "Did this fix it?", self-solved or carry on."""

from __future__ import annotations

import pytest

from bot.adapters.memory import MemoryChat
from bot.desk import Desk
from journeys import advance
from journeys.state import Context, Start

from .talk import events, outcomes, plain, talk, tickets


def test_guest_wifi_solved_by_the_article(chat: MemoryChat) -> None:
    first = chat.press("alice", "s:guest_wifi")
    article, question = first[-2], first[-1]
    assert "Wi-Fi for visitors" in plain([article]) and "Example-Guest" in article.text
    assert question.text == "Did this fix it?"
    assert question.message.progress and question.message.progress.startswith("Step 1 of")
    assert [c.value for c in question.choices] == ["j:self_service:yes", "j:self_service:no"]

    done = chat.press("alice", "j:self_service:yes")
    assert "glad that sorted it" in plain(done)
    assert tickets(chat) == []
    assert outcomes(chat) == ["self_solved"]  # a distinct outcome that metrics count
    [ended] = events(chat, "journey_ended")
    assert ended.data == {"service_id": "guest_wifi"}
    # The journey is over: the next message is a new request, not an answer.
    assert "Hi Alice" in plain(chat.say("alice", "hello"))


def test_password_reset_shows_the_self_service_article_with_the_first_question(
    chat: MemoryChat,
) -> None:
    first = chat.say("alice", "I forgot my password")
    article, question = first[-2], first[-1]
    assert "Reset your password yourself" in plain([article])
    assert '<a href="https://passwordreset.example.com">' in article.text
    assert question.text == "Which account is it?"
    assert question.message.progress == "Step 1 of 3-4 · usually done within 4 business hours"
    assert [c.value for c in question.choices][-1] == "j:self_service:yes"
    assert question.choices[-1].label == "That fixed it, thanks"

    done = chat.press("alice", "j:self_service:yes")
    assert "glad that sorted it" in plain(done)
    assert tickets(chat) == [] and outcomes(chat) == ["self_solved"]


def test_password_reset_solved_said_in_words(chat: MemoryChat) -> None:
    talk(chat, "wang.fang", ["忘记密码了"])
    assert "太好了" in plain(chat.say("wang.fang", "好了"))
    assert outcomes(chat) == ["self_solved"]


def test_answering_the_question_means_the_article_was_not_enough(chat: MemoryChat) -> None:
    talk(chat, "alice", ["I forgot my password", "email"])
    locked = chat.say("alice", "back")[-1]  # back to the account question: the offer is back
    assert locked.text == "Which account is it?"
    assert locked.choices[-1].value == "j:self_service:yes"
    talk(chat, "alice", ["vpn", "no", "+44 20 7946 0000"])
    [ticket] = tickets(chat)
    assert ticket.answers == {"account": "vpn", "locked_out": False, "phone": "+44 20 7946 0000"}
    assert "Self-service reset: offered first, not enough" in ticket.description


def test_typed_yes_in_chinese_also_counts_as_self_solved(chat: MemoryChat) -> None:
    talk(chat, "wang.fang", ["!s:guest_wifi"])
    done = talk(chat, "wang.fang", ["解决了"])
    assert "太好了" in done.text
    assert outcomes(chat) == ["self_solved"]


def test_no_continues_and_more_shows_the_next_article(chat: MemoryChat) -> None:
    first = talk(chat, "alice", ["!s:email_issue", "can't send", "outlook on windows"])
    question = first.replies[-1]
    assert [c.value for c in question.choices] == [
        "j:self_help:yes",
        "j:self_help:no",
        "j:self_help:more:1",
    ]
    assert "Outlook not syncing or sending" in first.text
    more = chat.press("alice", "j:self_help:more:1")
    assert "Repair Office apps" in plain(more)
    assert more[-1].text == "Did this fix it?"  # asked again after the other article
    after = chat.say("alice", "no")
    assert "outlook.office.com in a browser" in plain(after)  # the next question
    assert outcomes(chat) == []


def test_the_article_for_the_problem_comes_first(chat: MemoryChat) -> None:
    # Outlook crashing on Windows was shown "Outlook not syncing or sending" first.
    crashing = talk(chat, "alice", ["!s:email_issue", "outlook won't open", "outlook on windows"])
    assert "Repair Office apps" in crashing.text and "Outlook not syncing" not in crashing.text
    chat.say("alice", "cancel")
    # On a Mac the repair (Windows steps) is not offered: the next question comes.
    mac = talk(chat, "alice", ["!s:email_issue", "outlook won't open", "outlook on my mac"])
    assert "Repair Office apps" not in mac.text
    assert "outlook.office.com in a browser" in mac.text


@pytest.mark.parametrize(
    ("person", "typed", "fixed"),
    [
        ("bob", "works now, thanks", True),
        ("bob", "all good now", True),
        ("bob", "still slow after a restart", False),
        ("bob", "same problem", False),
        ("bob", "no luck", False),
        ("wang.fang", "还是很慢，重启过了", False),
        ("wang.fang", "没用", False),
        ("wang.fang", "可以了，谢谢", True),
    ],
)
def test_did_this_fix_it_answered_in_the_words_of_the_problem(
    chat: MemoryChat, person: str, typed: str, fixed: bool
) -> None:
    # "still slow" and "还是很慢，重启过了" were met with "I need a yes or a no here".
    talk(chat, person, ["!s:slow_computer"])
    said = plain(chat.say(person, typed))
    assert "yes or a no" not in said and "是或否" not in said
    assert outcomes(chat) == (["self_solved"] if fixed else [])


def test_suggest_without_articles_is_skipped(desk: Desk) -> None:
    journey = desk.catalog.get("password_reset")
    assert journey is not None
    ctx = Context(texts=desk.texts, language="en", requester={}, kb=None)
    result = advance(journey, None, Start(), ctx)
    assert result.state.step == "account"  # straight to the first question
    assert result.replies[0].text == "Which account is it?"


def test_articles_already_shown_are_not_suggested_again(desk: Desk) -> None:
    journey = desk.catalog.get("password_reset")
    assert journey is not None
    ctx = Context(
        texts=desk.texts,
        language="en",
        requester={},
        kb=desk.catalog.kb,
        seen_articles=frozenset({"password-self-service"}),
    )
    assert advance(journey, None, Start(), ctx).state.step == "account"


def test_a_forged_more_button_is_a_stale_button_not_a_crash(chat: MemoryChat) -> None:
    talk(chat, "alice", ["!s:email_issue", "can't send", "outlook on windows"])
    # "²" passes str.isdigit() but not int(); a client can send any button value.
    reply = plain(chat.press("alice", "j:self_help:more:²"))
    assert "That button belongs to an earlier question" in reply
    assert "Repair Office apps" not in reply
    more = chat.press("alice", "j:self_help:more:1")
    assert "Repair Office apps" in plain(more)


def test_typing_a_self_help_buttons_label_counts_as_pressing_it(chat: MemoryChat) -> None:
    talk(chat, "alice", ["!s:email_issue", "can't send", "outlook on windows"])
    after = chat.say("alice", "No, I still need help")
    assert "outlook.office.com in a browser" in plain(after)  # the next question
    talk(chat, "wang.fang", ["!s:guest_wifi"])
    assert "太好了" in plain(chat.say("wang.fang", "解决了！"))
    talk(chat, "bob", ["!s:guest_wifi"])
    assert "glad that sorted it" in plain(chat.say("bob", "yes, that fixed it"))
    chat.say("mark", "I forgot my password")  # the article shown with the first question
    assert "glad that sorted it" in plain(chat.say("mark", "That fixed it, thanks!"))
    assert outcomes(chat) == ["self_solved", "self_solved", "self_solved"]

"""Requester verbs and the requester's free text: their tickets only, adding information
(typed or after pressing Reply), answers to questions, cancel, and when text is *not*
taken for a ticket (an active journey, another conversation, an expired prompt)."""

from __future__ import annotations

from datetime import timedelta

from bot.adapters.memory import MemoryChat
from bot.base.clock import FixedClock
from bot.base.markup import to_plain
from bot.desk import Desk
from tests.tickets.helpers import SLACK_TRIAGE, get, kinds, new_ticket, plain


def test_status_lists_only_my_open_tickets(tchat: MemoryChat, tdesk: Desk) -> None:
    mine = new_ticket(tdesk, "alice", "Laptop fan loud")
    done = new_ticket(tdesk, "alice", "Old request")
    new_ticket(tdesk, "bob", "Bob's secret project")
    tchat.say("alice", f"/cancel {done}")
    listing = plain(tchat.say("alice", "/status"))
    assert mine in listing and done not in listing and "secret" not in listing
    one = tchat.say("alice", f"/status {mine}")[-1]
    assert one.message.card is not None and one.message.card.status == "New"
    assert "already Cancelled" in plain(tchat.say("alice", f"/add {done} one more thing"))


def test_reply_button_then_text_reaches_the_team(tchat: MemoryChat, tdesk: Desk) -> None:
    number = new_ticket(tdesk, "alice", "Laptop fan loud")
    # Unassigned: information goes to the queue's triage channel.
    assert "What would you like to add" in plain(tchat.press("alice", f"t:add:{number}"))
    assert "added that" in plain(tchat.say("alice", "It gets worse after lunch"))
    posted = tchat.seen_by(SLACK_TRIAGE, "slack")[-1]
    assert "Alice Morgan added information" in to_plain(posted.text)
    # Assigned: it goes to the technician's chat.
    tchat.say("dana", f"/claim {number}")
    tchat.say("alice", f"/add {number} Model is T14")
    assert "Model is T14" in to_plain(tchat.seen_by("dana", "console")[-1].text)
    assert kinds(tdesk, number) == ["created", "info", "claimed", "info"]


def test_an_active_journey_keeps_the_text(tchat: MemoryChat, tdesk: Desk) -> None:
    number = new_ticket(tdesk, "alice", "Laptop fan loud")
    tchat.say("alice", "I forgot my password")  # she is in the middle of a journey...
    tchat.say("dana", f"/ask {number} Is it under warranty?")  # ...when Dana asks
    reply = plain(tchat.say("alice", "2"))  # answers the journey's question
    assert "locked out" in reply
    assert get(tdesk, number).status == "waiting_on_user"
    # She can still answer explicitly, and that counts as the answer.
    tchat.say("alice", f"/add {number} Yes, until March")
    assert get(tdesk, number).status == "open"  # nobody claimed it: back to the queue
    assert kinds(tdesk, number)[-1] == "answered"
    # Dana asked without claiming it, so the answer comes to her.
    assert "Yes, until March" in to_plain(tchat.seen_by("dana", "console")[-1].text)


def test_text_elsewhere_or_too_late_is_not_taken(
    tchat: MemoryChat, tdesk: Desk, clock: FixedClock
) -> None:
    number = new_ticket(tdesk, "alice", "Laptop fan loud")
    tchat.say("dana", f"/ask {number} Which floor?")
    # A message in a shared Slack thread is not an answer to a private question.
    tchat.say("alice", "hello everyone", channel="slack", conversation="C0GENERAL:1700000000.1")
    assert get(tdesk, number).status == "waiting_on_user"
    tchat.say("alice", "Third floor")
    assert get(tdesk, number).status == "open"
    # "Reply" pressed, then silence past the idle timeout: later text is not added.
    tchat.press("alice", f"t:add:{number}")
    clock.advance(timedelta(hours=3))
    tchat.say("alice", "hello")
    assert kinds(tdesk, number).count("info") == 0


def test_cancel_tells_the_assignee_and_is_final(tchat: MemoryChat, tdesk: Desk) -> None:
    number = new_ticket(tdesk, "alice", "Need a headset")
    tchat.say("dana", f"/claim {number}")
    said = plain(tchat.say("alice", f"/cancel {number} borrowed one"))
    assert f"{number} is cancelled" in said
    assert "Alice Morgan cancelled IT-1000" in to_plain(tchat.seen_by("dana", "console")[-1].text)
    again = plain(tchat.say("alice", f"/cancel {number}"))
    assert "is Cancelled, so it can't become Cancelled" in again and "final" in again
    assert "nothing in progress to cancel" in plain(tchat.say("alice", "/cancel"))


def resolved_by_dana(tchat: MemoryChat, tdesk: Desk, title: str, fix: str) -> str:
    """A ticket of Alice's, claimed and resolved by Dana: Alice is asked "Is it fixed?"."""
    number = new_ticket(tdesk, "alice", title)
    tchat.say("dana", f"/claim {number}")
    tchat.say("dana", f"/resolve {number} {fix}")
    return number


def test_a_typed_yes_or_no_answers_is_it_fixed(
    tchat: MemoryChat, tdesk: Desk, clock: FixedClock
) -> None:
    # "yes its working again, thanks!" after "Is it fixed?" got "Sorry, I'm not sure what
    # you need", and a bare "yes" only "OK": the ticket waited for a button press.
    fan = resolved_by_dana(tchat, tdesk, "Laptop fan loud", "cleaned the fan")
    clock.advance(timedelta(minutes=5))
    said = plain(tchat.say("alice", "yes its working again, thanks!"))
    assert get(tdesk, fan).status == "closed" and fan in said
    assert kinds(tdesk, fan)[-1] == "confirmed_fixed"

    screen = resolved_by_dana(tchat, tdesk, "Screen flickers", "new cable")
    clock.advance(timedelta(minutes=5))
    tchat.say("alice", "nope, it still flickers after lunch")
    assert get(tdesk, screen).status == "reopened"
    told = to_plain(tchat.seen_by("dana", "console")[-1].text)
    assert "it still flickers after lunch" in told  # what is still wrong reaches Dana


def test_a_yes_is_no_answer_to_is_it_fixed_once_the_person_wrote_since_or_two_wait(
    tchat: MemoryChat, tdesk: Desk, clock: FixedClock
) -> None:
    fan = resolved_by_dana(tchat, tdesk, "Laptop fan loud", "cleaned the fan")
    clock.advance(timedelta(minutes=5))
    # She wrote here since "Is it fixed?" was asked: a later "ok" is about something else.
    tchat.say("alice", "my mouse is broken")
    tchat.say("alice", "cancel")
    clock.advance(timedelta(minutes=5))
    tchat.say("alice", "ok")
    assert get(tdesk, fan).status == "resolved"

    other = resolved_by_dana(tchat, tdesk, "Dock not charging", "new dock")
    clock.advance(timedelta(minutes=5))
    tchat.say("alice", "yes")  # two tickets wait: which one is not guessed
    assert get(tdesk, fan).status == get(tdesk, other).status == "resolved"


def test_status_lists_a_resolved_ticket_until_the_fix_is_confirmed(
    tchat: MemoryChat, tdesk: Desk
) -> None:
    # "You have no open requests." while the bot waited for "Is it fixed?".
    fan = resolved_by_dana(tchat, tdesk, "Laptop fan loud", "cleaned the fan")
    assert f"{fan} Laptop fan loud (Resolved)" in plain(tchat.say("alice", "/status"))
    tchat.press("alice", f"t:fixed:{fan}")
    assert plain(tchat.say("alice", "/status")) == "You have no open requests."


def test_a_no_that_reads_as_a_new_request_starts_it(
    tchat: MemoryChat, tdesk: Desk, clock: FixedClock
) -> None:
    fan = resolved_by_dana(tchat, tdesk, "Laptop fan loud", "cleaned the fan")
    clock.advance(timedelta(minutes=5))
    said = plain(tchat.say("alice", "no wifi in the whole building since this morning"))
    assert get(tdesk, fan).status == "resolved" and fan not in said

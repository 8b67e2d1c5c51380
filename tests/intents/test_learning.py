"""Learning from use, through the real engine: buttons and misses are recorded, an admin
accepts a phrasing, and the next desk matches it with high confidence."""

from __future__ import annotations

from bot.adapters.memory import MemoryChat
from bot.base.clock import FixedClock
from bot.base.config import Settings
from bot.base.markup import to_plain
from bot.base.messages import Outbound
from bot.desk import Desk
from intents.learned import add_learned, load_learned
from store import intent_feedback as repo
from tests.desks import build_desk

AMBIGUOUS = "the connection keeps dropping"  # VPN or office network? Both could be meant.


def said(replies: list[Outbound]) -> str:
    return "\n".join(to_plain(r.message.text) for r in replies)


def test_button_choice_is_recorded_and_accepted_phrasing_is_then_understood(
    intent_chat: MemoryChat, intent_desk: Desk, intent_settings: Settings, clock: FixedClock
):
    first = intent_chat.say("alice", AMBIGUOUS)
    offered = [c.value for c in first[-1].message.choices]
    assert "s:vpn_issue" in offered and "s:network_issue" in offered
    assert intent_desk.matcher.match(AMBIGUOUS).tier == "medium"

    picked = intent_chat.press("alice", "s:vpn_issue")
    assert "Where are you working from?" in said(picked)
    with intent_desk.store.read() as session:
        [row] = repo.list_feedback(session=session)
    assert (row.kind, row.text, row.intent_id, row.person_id) == (
        "resolved",
        AMBIGUOUS,
        "vpn_issue",
        "alice",
    )
    assert {c[0] for c in row.candidates} >= {"vpn_issue", "network_issue"}

    # The admin accepts it: learned.yaml gets the phrasing, the row is marked.
    path = intent_settings.resolve(intent_settings.paths.learned)
    with intent_desk.store.begin() as session:
        assert repo.review_feedback(
            session=session,
            feedback_id=row.id or 0,
            status="accepted",
            by="dana",
            now=clock.now(),
            intent_id="vpn_issue",
        )
        assert not repo.review_feedback(  # first decision wins
            session=session, feedback_id=row.id or 0, status="dismissed", by="x", now=clock.now()
        )
    assert add_learned(path, "vpn_issue", row.text, row.language)
    assert not add_learned(path, "vpn_issue", row.text.upper(), row.language)  # no duplicates
    assert load_learned(path) == {"vpn_issue": {"en": [AMBIGUOUS]}}

    # At the next start the matcher knows it: high confidence, and the service starts.
    desk = build_desk(intent_settings, clock=clock, migrate=False)
    try:
        result = desk.matcher.match(AMBIGUOUS)
        assert result.tier == "high" and result.top is not None
        assert result.top.intent == "vpn_issue"
        replies = MemoryChat(desk).say("bob", AMBIGUOUS, event_id="after-restart")
        assert "VPN problem" in said(replies)
        assert "Where are you working from?" in said(replies)
    finally:
        desk.store.dispose()


def test_requests_not_understood_and_out_of_scope_are_recorded(
    intent_chat: MemoryChat, intent_desk: Desk
):
    oos = intent_chat.say("alice", "book me a flight to berlin please")
    # A referral topic (catalog/referrals.yaml): the pointer, recorded as out of scope.
    assert "That sounds like Travel and expenses" in said(oos)
    assert [c.value for c in oos[-1].message.choices] == ["m:rephrase", "m:human", "m:general"]
    intent_chat.say("alice", "🙂🙂")
    with intent_desk.store.read() as session:
        rows = repo.list_feedback(session=session)
    assert [(r.kind, r.text) for r in rows] == [
        ("out_of_scope", "book me a flight to berlin please"),
        ("not_understood", "🙂🙂"),
    ]


def test_none_of_these_is_recorded(intent_chat: MemoryChat, intent_desk: Desk):
    intent_chat.say("alice", AMBIGUOUS)
    reply = intent_chat.press("alice", "m:none")
    assert "Tell me again in your own words" in said(reply)
    with intent_desk.store.read() as session:
        [row] = repo.list_feedback(session=session)
    assert row.kind == "none_of_these" and row.text == AMBIGUOUS and row.intent_id is None


def test_chinese_out_of_scope_reply_is_in_chinese(intent_chat: MemoryChat):
    # Not a referral topic (catalog/referrals.yaml points travel bookings elsewhere).
    replies = intent_chat.say("alice", "今天股市怎么样")
    assert "不像是IT服务台处理的事情" in said(replies)

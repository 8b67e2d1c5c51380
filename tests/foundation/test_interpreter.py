"""The journey interpreter is pure: same inputs, same outputs, no store or clock."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest

from bot.base.markup import to_plain
from bot.base.texts import Texts
from journeys.answers import match_option
from journeys.interpreter import advance
from journeys.model import Journey, LocalText, Option
from journeys.state import Context, CreateTicket, Ended, Handoff, JourneyState, Press, Start, Text

TEXTS = Texts()

JOURNEY = Journey.model_validate(
    {
        "id": "demo",
        "type": "request",
        "queue": "service_desk",
        "expected": "1d",
        "title": {"en": "Demo", "zh": "演示"},
        "description": {"en": "d", "zh": "d"},
        "steps": [
            {
                "id": "kind",
                "type": "choose",
                "prompt": {"en": "Kind?", "zh": "类型？"},
                "options": [
                    {"value": "a", "label": {"en": "Alpha", "zh": "甲"}},
                    {"value": "b", "label": {"en": "Beta", "zh": "乙"}},
                ],
            },
            {
                "id": "why",
                "type": "ask",
                "when": "answers.kind == 'b'",
                "prompt": {"en": "Why?", "zh": "为什么？"},
                "validate": {"kind": "text", "min_length": 3},
            },
            {
                "id": "when",
                "type": "ask",
                "prompt": {"en": "By when?", "zh": "什么时候？"},
                "validate": {"kind": "date", "future": True},
            },
            {
                "id": "note",
                "type": "ask",
                "optional": True,
                "prompt": {"en": "Anything else?", "zh": "还有吗？"},
            },
            {
                "id": "ok",
                "type": "confirm",
                "prompt": {"en": "Submit?", "zh": "提交？"},
                "goto": [{"when": "not answers.ok", "to": "bye"}],
            },
            {
                "id": "submit",
                "type": "ticket",
                "summary": "{{ answers.kind }} by {{ answers.when }}",
                "impact": "low",
                "urgency": "'high' if answers.kind == 'b' else 'low'",
            },
            {"id": "bye", "type": "say", "text": {"en": "Nothing sent.", "zh": "未提交。"}},
        ],
    }
)


def ctx(lang: str = "en") -> Context:
    return Context(
        texts=TEXTS,
        language=lang,
        requester={"name": "Alice"},
        now=datetime(2026, 11, 23, 10, tzinfo=UTC),
        today=date(2026, 11, 23),
        priority_matrix={"low": {"high": "P3", "low": "P4"}},
        expected_text="1 business day",
    )


def run(*inputs, lang: str = "en"):
    result = advance(JOURNEY, None, Start(), ctx(lang))
    states = [result]
    for item in inputs:
        result = advance(JOURNEY, result.state, item, ctx(lang))
        states.append(result)
    return states


def said(result) -> str:
    return "\n".join(to_plain(m.text) for m in result.replies)


def test_branching_skips_steps_and_ticket_gets_priority_from_the_matrix():
    *_, last = run(Press("kind", "a"), Text("2026-12-01"), Text("skip"), Text("yes"))
    [ticket] = [e for e in last.effects if isinstance(e, CreateTicket)]
    assert ticket.title == "a by 2026-12-01" and ticket.priority == "P4"
    assert last.state.answers == {"kind": "a", "when": "2026-12-01", "note": None, "ok": True}
    assert Ended("demo", "ticket") in last.effects and last.state.status == "done"


def test_when_condition_asks_the_extra_question_and_goto_ends_early():
    states = run(
        Text("beta"), Text("no"), Text("because"), Text("tomorrow"), Text("none"), Text("nope")
    )
    assert "too short" in said(states[2]) or "a bit short" in said(states[2])
    assert states[4].state.answers["when"] == "2026-11-24"
    last = states[-1]
    assert "Nothing sent." in said(last)
    assert not any(isinstance(e, CreateTicket) for e in last.effects)
    assert Ended("demo", "completed") in last.effects


def test_back_changes_the_previous_answer():
    states = run(Press("kind", "a"), Text("back"))
    back = states[-1]
    assert back.state.step == "kind" and "kind" not in back.state.answers
    assert [c.label for c in back.replies[-1].choices] == ["Alpha", "Beta"]


def test_past_date_is_refused_and_three_failures_offer_a_person():
    states = run(Press("kind", "a"), Text("2020-01-01"), Text("someday"), Text("never"))
    assert "in the past" in said(states[2])
    assert "talk to a person" in said(states[-1])
    human = advance(JOURNEY, states[-1].state, Press("_", "human"), ctx())
    assert any(isinstance(e, Handoff) for e in human.effects) and human.state.status == "done"


def test_cancel_and_help_and_stale_buttons():
    states = run(Text("help"), Press("ok", "yes"), Text("取消"))
    assert "Pick one of the options" in said(states[1])
    assert "earlier question" in said(states[2])
    assert (
        states[-1].state.status == "cancelled" and Ended("demo", "cancelled") in states[-1].effects
    )


def test_progress_line_is_a_range_until_the_path_is_known():
    first = run()[0]  # one question is asked only for some answers to the first
    assert first.replies[-1].progress == "Step 1 of 4-5 · usually done within 1 business day"
    second = run(Press("kind", "a"))[-1]
    assert second.replies[-1].progress == "Step 2 of 4 · usually done within 1 business day"


def test_chinese_journey_and_state_round_trip():
    result = run(Text("乙"), lang="zh")[-1]
    assert "为什么" in said(result)
    again = JourneyState.from_dict(result.state.to_dict())
    assert again == result.state


def test_advance_does_not_mutate_the_given_state():
    start = run()[0].state
    snapshot = start.to_dict()
    advance(JOURNEY, start, Press("kind", "b"), ctx())
    assert start.to_dict() == snapshot


@pytest.mark.parametrize("typed", ["Alpha", "alpha!", "1", "甲", "alpah"])
def test_typed_answers_match_options_in_any_language(typed: str):
    result = run(Text(typed))[-1]
    assert result.state.answers.get("kind") == "a", typed


def test_a_choice_named_in_the_request_is_taken_from_it_and_can_be_changed():
    first = advance(JOURNEY, None, Start(text="I need the beta one please"), ctx())
    assert first.state.answers == {"kind": "b"} and first.state.step == "why"
    assert "From what you said, I've noted: Beta" in said(first)
    back = advance(JOURNEY, first.state, Text("back"), ctx())
    assert back.state.step == "kind" and "kind" not in back.state.answers


def test_a_request_naming_several_options_or_none_asks_as_usual():
    for request in ("alpha or beta, not sure", "something else entirely", "alphabet soup"):
        result = advance(JOURNEY, None, Start(text=request), ctx())
        assert result.state.step == "kind" and result.state.answers == {}, request


def test_a_short_word_is_not_taken_for_an_option_it_is_only_part_of_a_word_of():
    """ "no" to "What's wrong with your email?" is no option ("not syncing" holds it only
    inside a word); whole words still pick theirs, and Chinese still matches inside."""
    options = [
        Option(
            value="sync",
            label=LocalText({"en": "New mail isn't arriving / not syncing", "zh": "收不到新邮件"}),
        ),
        Option(
            value="send", label=LocalText({"en": "Can't send / stuck in Outbox", "zh": "发不出"})
        ),
        Option(value="mac", label=LocalText({"en": "Outlook on Mac", "zh": "Mac 上的 Outlook"})),
    ]
    assert match_option(options, "no", "en") is None
    assert match_option(options, "nope", "en") is None
    assert match_option(options, "the mac one", "en") is options[2]
    assert match_option(options, "not syncing", "en") is options[0]
    assert match_option(options, "outbox", "en") is options[1]
    assert match_option(options, "Mac 上", "zh") is options[2]
